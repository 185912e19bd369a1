"""Webhook events: the camera posts WS-Notification ``Notify`` messages to the hub.

Optional (``events: webhook``), for cameras that can reach the hub: it costs the
camera no open long-poll, but fails behind NAT, which is why PullPoint is the
default.  The URL carries a random per-camera token made at start-up, since a
camera cannot sign its requests; an unknown token gets 404 and the body is
never parsed.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from aiohttp import web

from hub.http.routes import Route, json_error
from hub.http.server import HUB_KEY
from hub.keys import HubKey

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.onvif.config import OnvifCameraConfig
    from integrations.onvif.device import OnvifCamera

__all__ = ("WEBHOOKS", "consumer_url", "new_token", "routes")

_LOGGER = logging.getLogger(__name__)
PATH = "/api/onvif/notify/{token}"

#: token → camera
WEBHOOKS: HubKey[dict[str, OnvifCamera]] = HubKey("onvif_webhooks")


def new_token() -> str:
    """Return a fresh unguessable token for one camera's notify URL."""
    return secrets.token_urlsafe(24)


def consumer_url(hub: Hub, cfg: OnvifCameraConfig, token: str) -> str:
    """Return the URL the camera should post to."""
    base = cfg.webhook_url or hub.core.web.public_url
    if not base:
        raise ValueError("events: webhook needs webhook_url on the camera or hub.web.public_url")
    return base.rstrip("/") + PATH.format(token=token)


async def notify(request: web.Request) -> web.Response:
    """Accept a Notify from a camera."""
    hub = request.app[HUB_KEY]
    camera = (hub.data.get(WEBHOOKS) or {}).get(request.match_info["token"])
    if camera is None:
        return json_error(404, "unknown notification address")
    manager = camera.notifications
    body = await request.read()
    if manager is None:
        return json_error(409, "no subscription for this camera right now")
    try:
        result = manager.process(body)
    except Exception as err:  # noqa: BLE001 - a camera's bad XML must not become a 500 loop
        _LOGGER.warning("%s: unreadable notification: %s", camera.entity_id, err)
        return json_error(400, "unreadable notification")
    if result is None:
        return json_error(400, "unreadable notification")
    await camera.router.handle(getattr(result, "NotificationMessage", None) or [])
    return web.Response(status=200)


def routes() -> list[Route]:
    """Return the notification route."""
    return [
        Route(
            "POST",
            PATH,
            notify,
            public=True,
            csrf=False,
            tags=("cameras",),
            summary="ONVIF cameras post events here; protected by an unguessable per-camera token",
        )
    ]
