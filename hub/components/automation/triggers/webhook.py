"""The ``webhook`` trigger: ``POST /api/webhook/{webhook_id}`` fires it.

The route is public; its protection is the id itself, which must be a long
random secret (at least 16 characters; ``python -c "import secrets;
print(secrets.token_urlsafe(24))"``).  The body becomes ``trigger.json``
(JSON) or ``trigger.data`` (a form), the query string ``trigger.query``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from hub.components.automation.const import WEBHOOKS
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.components.automation.types import PlatformModel
from hub.core.bus import Unsubscribe
from hub.core.context import Context

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("WebhookTrigger", "WebhookTriggerConfig", "WebhookInUse", "is_local_address", "MIN_ID_LENGTH")

#: Shortest webhook id accepted: the id is the only secret.
MIN_ID_LENGTH = 16


class WebhookInUse(ValueError):
    """Another automation already uses this webhook id."""


def is_local_address(remote: str | None) -> bool:
    """Return whether ``remote`` is a loopback or private-network address."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


Method = Literal["POST", "PUT", "GET", "HEAD"]
_DEFAULT_METHODS: tuple[Method, ...] = ("POST", "PUT")


def _default_methods() -> list[Method]:
    return list(_DEFAULT_METHODS)


class WebhookTriggerConfig(PlatformModel):
    webhook_id: str = Field(min_length=MIN_ID_LENGTH)
    allowed_methods: list[Method] = Field(default_factory=_default_methods)
    local_only: bool = True


class WebhookTrigger:
    """The built-in ``webhook`` trigger platform."""

    schema: type[BaseModel] = WebhookTriggerConfig

    def attach(
        self, hub: Hub, config: WebhookTriggerConfig, fire: TriggerFire, info: TriggerInfo
    ) -> Unsubscribe:
        """Register the id with the webhook route."""
        hooks = hub.data.get(WEBHOOKS)
        if hooks is None:
            hooks = {}
            hub.data[WEBHOOKS] = hooks
        webhook_id = config.webhook_id
        if webhook_id in hooks:
            raise WebhookInUse(f"webhook id already used by automation {hooks[webhook_id].owner}")

        def handle(method: str, remote: str | None, payload: Mapping[str, Any]) -> bool:
            if method not in config.allowed_methods:
                return False
            if config.local_only and not is_local_address(remote):
                return False
            fire(
                {"platform": "webhook", "webhook_id": webhook_id, "description": "webhook", **payload},
                Context(origin="webhook"),
            )
            return True

        handle.owner = info.automation_id  # type: ignore[attr-defined]
        hooks[webhook_id] = handle

        def detach() -> None:
            if hooks.get(webhook_id) is handle:
                del hooks[webhook_id]

        return detach
