"""Cameras: entities ``camera.<id>``, snapshots stored under the data dir, signed links.

Camera integrations (onvif, demo) subclass :class:`CameraEntity`.  The hub,
not the station, decides what leaves it: see ``docs/privacy.md``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from hub import hookimpl
from hub.auth import role_at_least
from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from hub.incidents import INCIDENTS
from integrations.camera.const import DOMAIN, EVENT_SNAPSHOT, LINK_TTL
from integrations.camera.entity import MIGRATIONS, CameraEntity, Owner, SnapshotError, store_snapshot

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("CameraEntity", "Owner", "SnapshotError", "add_camera", "snapshot_link", "store_snapshot")

_LOGGER = logging.getLogger(__name__)


class SnapshotSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]
    incident_id: str | None = None


def add_camera(hub: Hub, camera: CameraEntity) -> CameraEntity:
    """Register a camera entity."""
    hub.entities.add(camera)
    camera.write_state(camera.status)
    return camera


def snapshot_link(hub: Hub, snapshot_id: str, ttl: float = LINK_TTL) -> str:
    """Return a signed, expiring path to a snapshot for other parties."""
    return hub.signer.sign(f"/api/snapshots/{snapshot_id}.jpg", ttl)


@hookimpl
def storage_migrations() -> Any:
    """Return the snapshot table."""
    return MIGRATIONS


@hookimpl
def setup(hub: Hub) -> None:
    """Register ``camera.snapshot``."""

    async def snapshot(call: Any) -> dict[str, Any]:
        incident_id = call.data.get("incident_id")
        taken: list[str] = []
        errors: list[str] = []
        for camera in hub.entities.resolve(call.data["entity_id"], CameraEntity):
            try:
                snap_id = await camera.snapshot(incident_id)
            except (SnapshotError, OSError, TimeoutError) as err:
                errors.append(str(err) or type(err).__name__)
                camera.error = str(err)
                continue
            taken.append(snap_id)
            hub.bus.fire(EVENT_SNAPSHOT, {"entity_id": camera.entity_id, "snapshot_id": snap_id,
                                          "incident_id": incident_id}, call.context)
            if incident_id:
                await hub.data[INCIDENTS].note(incident_id, f"snapshot from {camera.name}", by=camera.entity_id,
                                               attachments=[snap_id], kind="snapshot", context=call.context)
        if errors and incident_id:
            await hub.data[INCIDENTS].note(incident_id, "snapshot failed: " + "; ".join(errors), kind="error",
                                           by="camera", context=call.context)
        return {"snapshot_ids": taken, "errors": errors}

    hub.services.register(DOMAIN, "snapshot", snapshot, SnapshotSchema,
                          description="Take a snapshot, optionally into an incident's timeline")


async def get_snapshot(request: web.Request) -> web.StreamResponse:
    """Serve a stored snapshot to a hub user or to the holder of a signed link."""
    hub = request.app[HUB_KEY]
    snap_id = request.match_info["snapshot_id"]
    user = current_user(request)
    signed = hub.signer.verify(request.path, request.query.get("exp"), request.query.get("sig"))
    if not signed and (user is None or not role_at_least(user.role, "viewer")):
        return json_error(403 if "sig" in request.query else 401, "a valid signed link or a login is required")
    row = await hub.storage.fetchone("SELECT * FROM snapshots WHERE id = ?", (snap_id,))
    if row is None:
        return json_error(404, "no such snapshot")
    if signed and user is None:
        await hub.audit.log("link", "snapshot.view", row["entity_id"], detail={"snapshot_id": snap_id,
                            "incident_id": row["incident_id"]}, ip=request.remote or "", source="signed_link")
    path = hub.data_dir / row["path"]
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=300"})


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the snapshot route."""
    return [Route("GET", "/api/snapshots/{snapshot_id}.jpg", get_snapshot, public=True,
                  summary="A stored snapshot: needs a login or a valid signed, expiring link (exp, sig)",
                  tags=("cameras",))]
