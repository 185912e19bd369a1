"""LINE as HA notify targets: ``notify.line_<alias>`` per group, and ``notify.line`` with ``target``.

So a Home Assistant notification blueprint alerts the Big 6 unchanged:
``action: notify.line_big6`` with ``message`` and ``title``.  The title has no place of its own
in a LINE text message, so it becomes the first line.  ``data`` takes what ``line.send`` takes
beyond the text (``image``, ``incident_id``, ``quick_replies``); any other key is refused, never
dropped silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.line.config import LineConfig
from integrations.line.const import DOMAIN

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.notify import NotifyMessage

__all__ = ("add_notify_targets", "send_data")

#: ``data`` keys passed on to ``line.send``.
DATA_KEYS = frozenset({"image", "incident_id", "quick_replies"})


def send_data(message: NotifyMessage, to: list[str]) -> dict[str, Any]:
    """The ``line.send`` data for a notify message (``ValueError`` for what LINE cannot take)."""
    unknown = sorted(set(message.data) - DATA_KEYS)
    if unknown:
        raise ValueError(
            f"LINE does not take data {', '.join(unknown)} (it takes {', '.join(sorted(DATA_KEYS))})"
        )
    if not to:
        raise ValueError("give a target: a LINE group alias or a user id")
    text = f"{message.title}\n{message.message}" if message.title else message.message
    return {"to": to, "message": text, **{k: v for k, v in message.data.items() if k in DATA_KEYS}}


def add_notify_targets(hub: Hub, config: LineConfig) -> None:
    """Register ``notify.line`` and ``notify.line_<alias>`` (when the notify integration runs)."""
    from integrations.notify.const import RUNTIME as NOTIFY_RUNTIME

    notify = hub.data.get(NOTIFY_RUNTIME)
    if notify is None:
        return

    def sender(fixed: list[str] | None) -> Any:
        async def send(message: NotifyMessage) -> Any:
            data = send_data(message, fixed if fixed is not None else message.target)
            return await hub.services.call(DOMAIN, "send", data, message.context, key=message.key)

        return send

    notify.add_target("line", sender(None), description="Send to LINE groups or users named in target")
    for alias in config.groups:
        notify.add_target(f"line_{alias}", sender([alias]), description=f"Send to the LINE group {alias}")
