"""ONVIF cameras: ``camera.<id>`` plus ``binary_sensor.<id>_motion`` (and tamper/analytics sensors).

Thin hooks; the work is in :mod:`.device` (connection, snapshots, PTZ),
:mod:`.events` (PullPoint and parsing), :mod:`.webhook` and :mod:`.client`
(the SOAP edge).  onvif-zeep-async is imported only when a camera is
configured.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from hub import hookimpl
from hub.core.errors import PluginSetupError
from hub.keys import HubKey
from integrations.onvif.config import OnvifCameraConfig
from integrations.onvif.const import DOMAIN, MIGRATIONS, START_SPACING

if TYPE_CHECKING:
    import aiohttp

    from hub.http.routes import Route
    from hub.hub import Hub
    from integrations.onvif.device import OnvifCamera

__all__ = ("CAMERAS", "OnvifCameraConfig")

_LOGGER = logging.getLogger(__name__)

#: entity_id → camera
CAMERAS: HubKey[dict[str, OnvifCamera]] = HubKey("onvif_cameras")
_SESSION: HubKey[aiohttp.ClientSession] = HubKey("onvif_http")
_STARTER: HubKey[asyncio.Task[None]] = HubKey("onvif_starter")


class EntitySchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]


@hookimpl
def config_schema() -> Any:
    """Return the ``onvif:`` block type: a list of cameras (the loader refuses a repeated id)."""
    return list[OnvifCameraConfig]


@hookimpl
def storage_migrations() -> Any:
    """Return the table that remembers each camera's snapshot auth."""
    return MIGRATIONS


@hookimpl
async def setup(hub: Hub, config: list[OnvifCameraConfig] | None) -> None:
    """Create the cameras and start connecting them (in the background: offline cameras don't delay start)."""
    import aiohttp

    from integrations.camera import add_camera
    from integrations.camera.prebuffer import start_prebuffer
    from integrations.onvif.client import prepare
    from integrations.onvif.device import OnvifCamera
    from integrations.onvif.webhook import WEBHOOKS, consumer_url, new_token

    cameras: dict[str, OnvifCamera] = {}
    hub.data[CAMERAS] = cameras
    hub.data[WEBHOOKS] = {}
    if not config:
        return
    for cfg in config:
        if cfg.events == "webhook":
            try:
                consumer_url(hub, cfg, "x")
            except ValueError as err:
                raise PluginSetupError(f"onvif camera {cfg.id}: {err}") from err
    session = aiohttp.ClientSession()
    hub.data[_SESSION] = session
    rows = await hub.storage.fetchall("SELECT camera_id, snapshot_auth FROM onvif_state")
    known = {row["camera_id"]: row["snapshot_auth"] for row in rows}

    async def remember(camera: OnvifCamera, mode: str) -> None:
        await hub.storage.execute(
            "INSERT INTO onvif_state (camera_id, snapshot_auth, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(camera_id) DO UPDATE SET snapshot_auth = excluded.snapshot_auth, "
            "updated_at = excluded.updated_at",
            (camera.object_id, mode, hub.clock.time()),
        )

    for cfg in config:
        mode = known.get(cfg.id)
        camera = OnvifCamera(hub, cfg, session, mode if mode in ("digest", "basic", "none") else None)
        camera.on_snapshot_auth = remember
        if cfg.events == "webhook":
            camera.webhook_token = new_token()
            hub.data[WEBHOOKS][camera.webhook_token] = camera
        add_camera(hub, camera)
        cameras[camera.entity_id] = camera
        if cfg.prebuffer:
            start_prebuffer(hub, camera, cfg.prebuffer, cfg.prebuffer_interval)

    async def start_all() -> None:
        # Off the start-up path: loading the library and its WSDLs takes about a second.
        await prepare()
        for n, camera in enumerate(cameras.values()):
            if n:
                # Connecting costs ~25 ms of CPU per camera (zeep clients, WSDL bindings): spread
                # a big site's cameras out so the loop (and the SOS path) never stalls at start.
                await asyncio.sleep(START_SPACING)
            camera.start()

    hub.data[_STARTER] = hub.create_background_task(start_all(), "onvif start")

    async def reconnect(call: Any) -> None:
        for entity_id in (
            [call.data["entity_id"]] if isinstance(call.data["entity_id"], str) else call.data["entity_id"]
        ):
            camera = cameras.get(entity_id)
            if camera is None:
                raise ValueError(f"no ONVIF camera {entity_id!r}")
            await camera.reconnect()

    hub.services.register(
        DOMAIN,
        "reconnect",
        reconnect,
        EntitySchema,
        role="admin",
        description="Reconnect ONVIF cameras now (after fixing a password or the network)",
    )


@hookimpl
async def config_changed(
    hub: Hub, old: list[OnvifCameraConfig] | None, new: list[OnvifCameraConfig] | None
) -> bool:
    """Add new cameras live; a changed or removed camera, or one that records, needs a restart.

    A new camera is built and connected exactly as at start (pull-point events, no
    prebuffer).  Changing a running camera would have to stop its event subscription,
    recorder and live uplinks in order: that is left to a restart rather than half done.
    """
    import aiohttp

    from integrations.camera import add_camera
    from integrations.onvif.client import prepare
    from integrations.onvif.device import OnvifCamera

    before = {cfg.id: cfg for cfg in old or []}
    after = {cfg.id: cfg for cfg in new or []}
    if any(after.get(ident) != cfg for ident, cfg in before.items()):
        return False
    added = [cfg for ident, cfg in after.items() if ident not in before]
    if any(cfg.record is not None or cfg.prebuffer or cfg.events == "webhook" for cfg in added):
        return False
    cameras = hub.data.get(CAMERAS)
    if cameras is None:
        return False
    session = hub.data.get(_SESSION)
    if session is None:
        session = hub.data[_SESSION] = aiohttp.ClientSession()
    await prepare()
    for cfg in added:
        camera = OnvifCamera(hub, cfg, session, None)
        add_camera(hub, camera)
        cameras[camera.entity_id] = camera
        camera.start()
    return True


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Unsubscribe from every camera's events and close connections."""
    starter = hub.data.get(_STARTER)
    if starter is not None:
        starter.cancel()
        await asyncio.gather(starter, return_exceptions=True)
    cameras = hub.data.get(CAMERAS) or {}
    await asyncio.gather(*(camera.stop() for camera in cameras.values()), return_exceptions=True)
    session = hub.data.get(_SESSION)
    if session is not None:
        await session.close()


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the webhook route, only when a camera posts events to the hub."""
    from integrations.onvif.webhook import WEBHOOKS, routes

    return routes() if hub.data.get(WEBHOOKS) else []


@hookimpl
def config_entities(loaded: Any) -> Any:
    """Return ``camera.<id>`` per configured camera (for ``check``)."""
    return [f"camera.{item.id}" for item in loaded.blocks.get("onvif") or []]
