"""Cameras: entities ``camera.<id>``, snapshots, PTZ, the owner's sharing policy, and the camera pages.

Camera integrations (onvif, demo) subclass :class:`CameraEntity`.  The hub,
not the station, decides what leaves it: :mod:`integrations.camera.policy`
(``may_share``) is the single gate, and ``docs/cameras.md`` explains it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl
from hub.core.bus import Event
from hub.http.routes import Route
from hub.keys import HubKey
from integrations.camera.const import LINK_TTL, PREBUFFER_INCIDENT_KINDS
from integrations.camera.entity import (
    MIGRATIONS,
    CameraEntity,
    Owner,
    PtzError,
    PtzPreset,
    SnapshotError,
    store_snapshot,
)
from integrations.camera.policy import ALARM_WINDOW, AlarmWindow, Decision, Party, may_share

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "CameraEntity",
    "Decision",
    "Owner",
    "Party",
    "PtzError",
    "PtzPreset",
    "SnapshotError",
    "add_camera",
    "may_share",
    "snapshot_link",
    "store_snapshot",
)

_LOGGER = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent
_UNSUBS: HubKey[list[Callable[[], None]]] = HubKey("camera_unsubs")


def add_camera(hub: Hub, camera: CameraEntity) -> CameraEntity:
    """Register a camera entity."""
    hub.entities.add(camera)
    camera.write_state(camera.status)
    return camera


def snapshot_link(hub: Hub, snapshot_id: str, ttl: float = LINK_TTL, *, party: str = "") -> str:
    """Return a signed, expiring path to a snapshot for other parties.

    ``party`` names who the link is for (``line:big6``, ``station:angthong-mueang``):
    it is covered by the signature and written to the audit log when the link
    is opened.  Opening the link still obeys the camera's share policy.
    """
    path = f"/api/snapshots/{snapshot_id}.jpg"
    signed = hub.signer.sign(path, ttl, extra=party)
    if not party:
        return signed
    from urllib.parse import quote

    return f"{signed}&for={quote(party, safe='')}"


@hookimpl
def storage_migrations() -> Any:
    """Return the snapshot table, then the owners' consent records."""
    from integrations.camera.consent import CONSENT_MIGRATIONS

    return MIGRATIONS + CONSENT_MIGRATIONS


@hookimpl
async def setup(hub: Hub) -> None:
    """Register the services, follow incidents for ``on_alarm`` windows and pre-alarm buffers."""
    from integrations.camera import services
    from integrations.camera.prebuffer import attach_all

    window = AlarmWindow()
    await window.load(hub)
    hub.data[ALARM_WINDOW] = window
    unsubs = window.listen(hub)

    def on_incident(event: Event) -> None:
        inc = event.data.get("incident") or {}
        if inc.get("kind") in PREBUFFER_INCIDENT_KINDS:
            hub.create_task(attach_all(hub, event.data["incident_id"]), "attach pre-alarm frames")

    unsubs.append(hub.bus.listen("incident_opened", on_incident))
    hub.data[_UNSUBS] = unsubs
    services.register(hub)


@hookimpl
def shutdown(hub: Hub) -> None:
    """Stop following incidents."""
    for unsub in hub.data.get(_UNSUBS) or []:
        unsub()


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the snapshot, live proxy, stream, camera API and page routes."""
    from integrations.camera.views import routes

    return routes()


@hookimpl
def template_dirs() -> list[Path]:
    """Return the camera pages' templates."""
    return [_HERE / "templates"]


@hookimpl
def static_dirs() -> Mapping[str, Path]:
    """Serve the camera wall's script and styles at ``/static/camera/``."""
    return {"camera": _HERE / "static"}


@hookimpl
def nav_links(hub: Hub, user: Mapping[str, Any] | None) -> list[Mapping[str, str]]:
    """Link the camera wall when there are cameras (the audit list is one click from it)."""
    if user is None or not any(isinstance(e, CameraEntity) for e in hub.entities):
        return []
    return [{"href": "/cameras", "label_th": "กล้อง", "label_en": "Cameras", "role": "viewer"}]


@hookimpl
def registry_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return the cameras the station may know about: never a ``never`` camera, never credentials."""
    station = Party.station("registry")
    cameras = []
    for camera in hub.entities:
        if not isinstance(camera, CameraEntity) or not may_share(hub, camera, station, "registry"):
            continue
        cameras.append(
            {
                "entity_id": camera.entity_id,
                "name": camera.name,
                "share": camera.share,
                "owner": {"name": camera.owner.name, "phone": camera.owner.phone},
                "location": {"lat": camera.location[0], "lon": camera.location[1]}
                if camera.location
                else None,
                "on_alarm_minutes": camera.on_alarm_minutes if camera.share == "on_alarm" else None,
            }
        )
    return {"cameras": cameras} if cameras else None


@hookimpl
def health_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return how many cameras are online (the station's hub-health view)."""
    cameras = [e for e in hub.entities if isinstance(e, CameraEntity)]
    if not cameras:
        return None
    offline = sorted(c.entity_id for c in cameras if not c.available)
    return {"total": len(cameras), "online": len(cameras) - len(offline), "offline": offline}


@hookimpl
def service_schemas() -> Any:
    """Return the camera services' schemas (for ``check``)."""
    from integrations.camera.services import MoveSchema, PresetSchema, SnapshotSchema

    return {
        "camera.snapshot": SnapshotSchema,
        "camera.ptz_preset": PresetSchema,
        "camera.ptz_move": MoveSchema,
    }


@hookimpl
def timeline_attachments(hub: Hub, user: Any, entry: Any) -> Any:
    """Show a snapshot entry's pictures to the roles the camera's policy allows (decided, not audited:
    opening the picture is audited by the snapshot route)."""
    if entry.kind != "snapshot" or user is None:
        return None
    from hub.entity import EntityNotFound
    from integrations.camera.entity import CameraEntity
    from integrations.camera.policy import Party, may_share

    try:
        camera = hub.entities.get(entry.actor, CameraEntity)
    except EntityNotFound:
        camera = None
    party = Party.user(user.username, user.role, "")
    allowed = camera is not None and bool(may_share(hub, camera, party, "snapshot"))
    return [
        {"text": f"{entry.actor} {a}", "href": f"/api/snapshots/{a}.jpg"}
        if allowed or party.is_hub_staff
        else {"text": "", "href": None, "withheld": True}
        for a in entry.attachments
    ]


@hookimpl
def streamed_events() -> list[str]:
    """Camera pages show motion as it happens."""
    from integrations.camera.const import EVENT_CAMERA_MOTION

    return [EVENT_CAMERA_MOTION]
