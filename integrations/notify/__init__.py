"""HA's ``notify.*`` and ``persistent_notification.*`` services.

``notify.<target>`` takes HA's ``message``, ``title``, ``data`` (and ``target``), so Home
Assistant notification blueprints run unchanged: LINE groups are targets (``notify.line_big6``),
the hub's UI is one (``notify.persistent_notification``), and ``notify.notify`` goes to the
``notify: {default: [...]}`` list.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hub import hookimpl
from integrations.notify.config import NotifyConfig
from integrations.notify.const import DOMAIN, MAX_MESSAGE, PERSISTENT_DOMAIN, PERSISTENT_TARGET, RUNTIME
from integrations.notify.runtime import NotifyMessage, NotifyRuntime, NotifySchema, Sender

if TYPE_CHECKING:
    from hub.bootstrap import LoadedConfig
    from hub.config import ConfigError
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("NOTIFY", "NotifyConfig", "NotifyMessage", "NotifyRuntime", "Sender")

_HERE = Path(__file__).resolve().parent


class CreateSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    title: str | None = Field(default=None, max_length=200)
    notification_id: str | None = Field(default=None, min_length=1, max_length=100)


class DismissSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notification_id: str = Field(min_length=1, max_length=100)


class DismissAllSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")


@hookimpl
def config_schema() -> Any:
    """Return the ``notify:`` block type."""
    return NotifyConfig


@hookimpl
def setup(hub: Hub, config: NotifyConfig | None) -> None:
    """Register ``notify.notify``, ``notify.persistent_notification`` and ``persistent_notification.*``."""
    rt = NotifyRuntime(hub, (config or NotifyConfig()).default)
    hub.data[RUNTIME] = rt
    rt.add_target(PERSISTENT_TARGET, rt.send_persistent, description="Show a notification in the hub's UI")
    hub.services.register(
        DOMAIN,
        "notify",
        rt.notify_default,
        NotifySchema,
        description="Notify the default targets (notify.default)",
    )

    def create(call: Any) -> dict[str, Any]:
        model: CreateSchema = call.model
        return {"notification_id": rt.create(model.message, model.title, model.notification_id, call.context)}

    def dismiss(call: Any) -> dict[str, Any]:
        return {"dismissed": rt.dismiss(call.model.notification_id, call.context)}

    def dismiss_all(call: Any) -> dict[str, Any]:
        return {"dismissed": rt.dismiss_all(call.context)}

    hub.services.register(
        PERSISTENT_DOMAIN, "create", create, CreateSchema, description="Show a notification"
    )
    hub.services.register(
        PERSISTENT_DOMAIN, "dismiss", dismiss, DismissSchema, description="Remove a notification"
    )
    hub.services.register(
        PERSISTENT_DOMAIN,
        "dismiss_all",
        dismiss_all,
        DismissAllSchema,
        description="Remove every notification",
    )


@hookimpl
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError] | None:
    """``notify.default`` names only targets this config will have."""
    from hub.config import ConfigError, position_of

    block = loaded.blocks.get(DOMAIN)
    if not isinstance(block, NotifyConfig):
        return None
    groups = {}
    line = loaded.raw.get("line") if isinstance(loaded.raw, dict) else None
    if isinstance(line, dict) and isinstance(line.get("groups"), dict):
        groups = line["groups"]
    known = {PERSISTENT_TARGET, *(f"line_{alias}" for alias in groups)}
    errors = []
    for i, name in enumerate(block.default):
        if name not in known:
            where = position_of(loaded.raw, (DOMAIN, "default", i)) or (loaded.file_label, None)
            hint = ", ".join(sorted(known))
            errors.append(
                ConfigError(
                    where[0], where[1], f"notify.default[{i}]", f"no notify target {name!r} (known: {hint})"
                )
            )
    return errors


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """The notifications page."""
    from integrations.notify.views import routes

    return routes(hub)


@hookimpl
def template_dirs() -> list[Path]:
    """The notifications page's template."""
    return [_HERE / "templates"]


@hookimpl
def nav_links(hub: Hub, user: Any) -> Any:
    """Link the notifications page, with how many there are."""
    rt = hub.data.get(RUNTIME)
    count = len(rt.notifications) if rt is not None else 0
    suffix = f" ({count})" if count else ""
    return [
        {
            "href": "/notifications",
            "label_th": f"การแจ้งเตือน{suffix}",
            "label_en": f"Notifications{suffix}",
            "role": "viewer",
        }
    ]
