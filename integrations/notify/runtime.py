"""Notify targets and the persistent notifications shown in the hub's UI.

Home Assistant's ``notify.<target>`` services take ``message``, ``title``, ``data`` (and
``target`` for platforms with recipients).  Here a target is a name and an async sender; an
integration adds its own with :meth:`NotifyRuntime.add_target` (LINE adds ``line_<alias>`` for
each group), which also registers ``notify.<name>``.  ``notify.notify`` fans out to the
configured default targets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hub.core.context import Context
from hub.core.ids import ulid
from integrations.notify.const import (
    DOMAIN,
    EVENT_NOTIFICATIONS_UPDATED,
    MAX_MESSAGE,
    MAX_NOTIFICATIONS,
    PERSISTENT_TARGET,
)

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("Notification", "NotifyMessage", "NotifyRuntime", "NotifySchema", "Sender")


class NotifySchema(BaseModel):
    """Data of every ``notify.*`` service, as in HA."""

    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    title: str | None = Field(default=None, max_length=200)
    #: Recipients, for targets that have them (LINE: group aliases or user ids).
    target: str | list[str] | None = None
    #: Target-specific extras (LINE: ``image``, ``incident_id``); a target refuses keys it does not know.
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NotifyMessage:
    """One message on its way to a target."""

    message: str
    title: str | None
    target: list[str]
    data: Mapping[str, Any]
    context: Context
    key: str | None


#: A target's sender; it raises ``ValueError`` for data it cannot use.
Sender = Callable[[NotifyMessage], Awaitable[Any]]


@dataclass
class Notification:
    """A persistent notification in the hub's UI (HA keeps them until dismissed)."""

    notification_id: str
    message: str
    title: str | None
    created_at: float
    context_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class NotifyRuntime:
    """The notify targets of one hub and its persistent notifications."""

    def __init__(self, hub: Hub, defaults: list[str]) -> None:
        self.hub = hub
        self.defaults = list(defaults)
        self._targets: dict[str, Sender] = {}
        self.notifications: OrderedDict[str, Notification] = OrderedDict()

    @property
    def targets(self) -> list[str]:
        return sorted(self._targets)

    def add_target(self, name: str, sender: Sender, *, description: str = "") -> None:
        """Add ``notify.<name>``; a second target of the same name replaces the first (a reload)."""
        self._targets[name] = sender

        async def handler(call: Any) -> Any:
            return await sender(self._message(call))

        self.hub.services.register(
            DOMAIN, name, handler, NotifySchema, role="operator", description=description or f"Notify {name}"
        )

    def remove_target(self, name: str) -> None:
        self._targets.pop(name, None)
        self.hub.services.remove(DOMAIN, name)

    def _message(self, call: Any) -> NotifyMessage:
        model: NotifySchema = call.model
        target = [model.target] if isinstance(model.target, str) else list(model.target or [])
        return NotifyMessage(model.message, model.title, target, model.data or {}, call.context, call.key)

    async def notify_default(self, call: Any) -> dict[str, Any]:
        """``notify.notify``: every default target, each isolated from the others' failures."""
        message = self._message(call)
        unknown = [name for name in self.defaults if name not in self._targets]
        sent: list[str] = []
        failed: dict[str, str] = {}
        for name in self.defaults:
            if name in unknown:
                continue
            # Each target gets its own retry key, so a re-run repeats none of them twice.
            key = f"{message.key}:{name}" if message.key else None
            try:
                await self._targets[name](
                    NotifyMessage(
                        message.message, message.title, message.target, message.data, message.context, key
                    )
                )
            except (ValueError, RuntimeError, OSError) as err:
                failed[name] = str(err)
            else:
                sent.append(name)
        if unknown or (failed and not sent):
            problems = [f"no notify target {name!r}" for name in unknown]
            problems += [f"{name}: {why}" for name, why in failed.items()]
            raise ValueError("notify.notify: " + "; ".join(problems))
        return {"sent": sent, "failed": failed}

    # -- persistent notifications ------------------------------------------------------------

    def create(self, message: str, title: str | None, notification_id: str | None, context: Context) -> str:
        """Show (or replace) a notification; the oldest goes when there are too many."""
        nid = notification_id or ulid()
        self.notifications.pop(nid, None)
        self.notifications[nid] = Notification(nid, message, title, self.hub.clock.time(), context.id)
        while len(self.notifications) > MAX_NOTIFICATIONS:
            self.notifications.popitem(last=False)
        self.hub.bus.fire(EVENT_NOTIFICATIONS_UPDATED, {"action": "created", "notification_id": nid}, context)
        return nid

    def dismiss(self, notification_id: str, context: Context) -> bool:
        if self.notifications.pop(notification_id, None) is None:
            return False
        self.hub.bus.fire(
            EVENT_NOTIFICATIONS_UPDATED, {"action": "dismissed", "notification_id": notification_id}, context
        )
        return True

    def dismiss_all(self, context: Context) -> int:
        ids = list(self.notifications)
        for nid in ids:
            self.dismiss(nid, context)
        return len(ids)

    async def send_persistent(self, message: NotifyMessage) -> dict[str, Any]:
        """The ``persistent_notification`` notify target (HA's ``notify.persistent_notification``)."""
        unknown = sorted(set(message.data) - {"notification_id"})
        if unknown:
            raise ValueError(f"persistent_notification does not take data {', '.join(unknown)}")
        nid = self.create(
            message.message, message.title, message.data.get("notification_id"), message.context
        )
        return {"notification_id": nid, "target": PERSISTENT_TARGET}
