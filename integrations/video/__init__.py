"""Video: one restream per camera (remux only), recording with retention and evidence locks, live view.

Thin hooks; the work is in :mod:`.restream` (the supervised ffmpeg pull and
its subscribers), :mod:`.recorder` (segments, pre-roll, retention),
:mod:`.index` (the SQLite index, locks and clips), :mod:`.runtime` (what
other integrations use, at ``hub.data[VIDEO_RUNTIME]``) and :mod:`.views` (HTTP).
Configured by the hub-level ``video:`` block and each camera's ``record:``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hub import hookimpl
from integrations.video.config import VideoConfig
from integrations.video.const import AUDIT_RELEASE, DOMAIN, MIGRATIONS, RUNTIME
from integrations.video.index import NoFootage, RecordingIndex, Segment
from integrations.video.restream import Restream, StreamError, StreamStatus, Subscription
from integrations.video.runtime import VideoRuntime

if TYPE_CHECKING:
    from hub.core.services import ServiceCall
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = (
    "VIDEO",
    "NoFootage",
    "RecordingIndex",
    "Restream",
    "Segment",
    "StreamError",
    "StreamStatus",
    "Subscription",
    "VideoConfig",
    "VideoRuntime",
)

_LOGGER = logging.getLogger(__name__)
_HERE = Path(__file__).resolve().parent


class ReleaseSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    incident_id: str = Field(min_length=1, max_length=64)


@hookimpl
def config_schema() -> Any:
    """Return the ``video:`` block type."""
    return VideoConfig


@hookimpl
def storage_migrations() -> Any:
    """Return the recordings index and evidence-lock tables."""
    return MIGRATIONS


@hookimpl
async def setup(hub: Hub, config: VideoConfig | None) -> None:
    """Create the runtime; register the release service."""
    config = config or VideoConfig()
    runtime = VideoRuntime(hub, config)
    hub.data[RUNTIME] = runtime
    await runtime.start()
    from integrations.video.footage import start_footage

    # Footage requests from the station (docs/video.md): cut from these recordings.
    await start_footage(hub, config.footage, runtime.recordings)

    async def release(call: ServiceCall) -> dict[str, Any]:
        incident_id = call.data["incident_id"]
        by = await hub.auth.actor(call.context)
        info = await runtime.release(incident_id, by)
        await hub.audit.log(by, AUDIT_RELEASE, incident_id, detail={"released_at": info.released_at})
        return {"incident_id": incident_id, "released_at": info.released_at}

    hub.services.register(
        DOMAIN,
        "release",
        release,
        ReleaseSchema,
        role="supervisor",
        description="Release a closed incident's evidence lock, so retention may delete its recordings",
    )


@hookimpl
async def hub_started(hub: Hub) -> None:
    """Record cameras that were added after setup (integrations that connect late)."""
    runtime = hub.data.get(RUNTIME)
    if runtime is not None:
        runtime.start_recorders()


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Stop footage uploads (they resume at the next start), recorders and every ffmpeg."""
    from integrations.video.footage import stop_footage

    await stop_footage(hub)
    runtime = hub.data.get(RUNTIME)
    if runtime is not None:
        await runtime.stop()


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the live stream, status, recordings and segment routes."""
    from integrations.video.footage_views import routes as footage_routes
    from integrations.video.views import routes

    return routes() + footage_routes(hub)


@hookimpl
def registry_info(hub: Hub) -> Mapping[str, Any] | None:
    """Tell the station this hub's evidence key (it checks the hub's footage uploads with it)."""
    from integrations.video.footage import registry_part

    return registry_part(hub)


@hookimpl
def nav_links(hub: Hub, user: Any) -> Any:
    """Link the footage requests page for the hub's admins."""
    if hub.role != "hub":
        return []
    return [
        {"href": "/video/footage", "label_th": "คำขอวิดีโอ", "label_en": "Footage requests", "role": "admin"}
    ]


@hookimpl
def template_dirs() -> list[Path]:
    """Return the video section of the camera page."""
    return [_HERE / "templates"]


@hookimpl
def static_dirs() -> Mapping[str, Path]:
    """Serve the MSE player at ``/static/video/``."""
    return {"video": _HERE / "static"}


@hookimpl
def health_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return per-camera stream health for the station (online, recording, last frame, fps, bitrate)."""
    runtime = hub.data.get(RUNTIME)
    if runtime is None:
        return None
    cameras: dict[str, Any] = {}
    for restream in runtime.restreams():
        if restream.profile != "main":
            continue
        status = restream.status
        recorder = runtime.recorders.get(restream.camera_entity_id)
        cameras[restream.camera_entity_id] = {
            "online": status.online,
            "reason": status.reason if not status.online else None,
            "recording": bool(recorder and recorder.recording),
            "last_frame": status.last_frame,
            "fps": status.fps,
            "bitrate_kbps": status.bitrate_kbps,
        }
    if not cameras and runtime.retention.alarm is None:
        return None
    return {"cameras": cameras, "disk_alarm": runtime.retention.alarm}
