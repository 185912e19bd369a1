"""The camera entity and snapshot storage."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.core.ids import ulid
from hub.entity import Entity
from integrations.camera.config import RecordConfig
from integrations.camera.const import (
    DEFAULT_ON_ALARM_MAX_HOURS,
    DEFAULT_ON_ALARM_MINUTES,
    DOMAIN,
    LIVE_CACHE_SECONDS,
    MAX_SNAPSHOT_BYTES,
    SHARE_POLICIES,
)

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "CameraEntity",
    "Owner",
    "PtzError",
    "PtzPreset",
    "SnapshotError",
    "check_jpeg",
    "is_jpeg",
    "store_snapshot",
    "MIGRATIONS",
)

_LOGGER = logging.getLogger(__name__)

MIGRATIONS = (
    """
    CREATE TABLE snapshots (
        id TEXT PRIMARY KEY,
        entity_id TEXT NOT NULL,
        incident_id TEXT,
        ts REAL NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        phase TEXT
    );
    CREATE INDEX ix_snapshots_entity ON snapshots (entity_id, ts);
    CREATE INDEX ix_snapshots_incident ON snapshots (incident_id);
    """,
)


class SnapshotError(Exception):
    """A snapshot could not be taken or was not acceptable."""


class PtzError(Exception):
    """A pan/tilt/zoom command could not be carried out (no PTZ, unknown preset, camera refused)."""


@dataclass(frozen=True)
class PtzPreset:
    """A stored camera position: ``token`` is what the camera wants, ``name`` what people call it."""

    token: str
    name: str


def is_jpeg(data: bytes) -> bool:
    """Return whether ``data`` looks like a complete JPEG (SOI ... EOI)."""
    return len(data) > 4 and data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00\r\n")[-2:] == b"\xff\xd9"


def check_jpeg(entity_id: str, data: bytes) -> bytes:
    """Return ``data`` if it is a complete JPEG under the size limit, else raise SnapshotError."""
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise SnapshotError(f"{entity_id}: snapshot of {len(data)} bytes is over the limit")
    if not is_jpeg(data):
        raise SnapshotError(f"{entity_id}: camera did not return a JPEG")
    return data


@dataclass(frozen=True)
class Owner:
    """Who owns a camera and how to reach them (shared in the registry)."""

    name: str = ""
    phone: str = ""


class CameraEntity(Entity):
    """Base for cameras.  Subclasses implement :meth:`fetch_snapshot`.

    PTZ-capable subclasses override :attr:`supports_ptz`, :meth:`ptz_presets`,
    :meth:`goto_preset`, :meth:`ptz_move` and :meth:`ptz_stop`; the
    ``camera.ptz_*`` services dispatch to them.
    """

    domain = DOMAIN

    def __init__(
        self,
        hub: Hub,
        object_id: str,
        name: str | None = None,
        *,
        share: str = "never",
        owner: Owner | None = None,
        location: tuple[float, float] | None = None,
        on_alarm_minutes: int = DEFAULT_ON_ALARM_MINUTES,
        on_alarm_max_hours: float = DEFAULT_ON_ALARM_MAX_HOURS,
    ) -> None:
        super().__init__(hub, object_id, name)
        if share not in SHARE_POLICIES:
            raise ValueError(f"share must be one of {', '.join(SHARE_POLICIES)}, not {share!r}")
        self.share = share
        self.owner = owner or Owner()
        self.location = location
        self.on_alarm_minutes = on_alarm_minutes
        self.on_alarm_max_hours = on_alarm_max_hours
        self.status = "idle"
        self.last_snapshot_id: str | None = None
        self.last_snapshot_at: float | None = None
        self.error: str | None = None
        # The live view is fetched at most once per LIVE_CACHE_SECONDS however
        # many screens show the camera wall: a shop camera is a small CPU.
        self._live: tuple[float, bytes] | None = None
        self._live_lock = asyncio.Lock()
        #: The ``record:`` block (the video integration records only cameras that have one).
        self.record: RecordConfig | None = None
        #: Stream and recording facts the video integration adds to the state (online, reason, fps...).
        self.video_attributes: dict[str, Any] = {}
        #: Set by the video integration: a JPEG from the stream it already pulls, or None when it
        #: pulls nothing now (cameras without a snapshot URL use it before opening an RTSP session).
        self.frame_grabber: Callable[[], Awaitable[bytes | None]] | None = None

    async def fetch_snapshot(self) -> bytes:
        """Return one JPEG frame from the camera."""
        raise NotImplementedError

    def stream_uri(self) -> str | None:
        """Return the stream URI (hand it out only through the share policy)."""
        return None

    def stream_source(self, profile: str = "main") -> str | None:
        """Return the address the hub's restream pulls for ``profile`` ("main" or "sub").

        Credentials are included: it goes to the hub's own ffmpeg only, never
        to a page, a log or the station.  The default is :meth:`stream_uri`
        for the main profile and no substream.
        """
        return self.stream_uri() if profile == "main" else None

    def device_info(self) -> Mapping[str, str]:
        """Return what the camera says about itself (make, model, firmware...) for the camera page."""
        return {}

    def sensor_ids(self) -> list[str]:
        """Return the entity ids of this camera's event sensors (motion, tamper...)."""
        return []

    # -- PTZ -------------------------------------------------------------------

    @property
    def supports_ptz(self) -> bool:
        """Return whether the camera can pan, tilt or zoom."""
        return False

    async def ptz_presets(self) -> list[PtzPreset]:
        """Return the camera's stored positions (empty without PTZ)."""
        return []

    async def goto_preset(self, preset: str) -> PtzPreset:
        """Move to a preset given by name or token; return the preset used."""
        raise PtzError(f"{self.entity_id} has no pan/tilt/zoom")

    async def ptz_move(self, pan: float, tilt: float, zoom: float, *, mode: str = "continuous") -> None:
        """Start a move: velocities for ``continuous``, offsets for ``relative``, a position for ``absolute``."""
        raise PtzError(f"{self.entity_id} has no pan/tilt/zoom")

    async def ptz_stop(self) -> None:
        """Stop any movement."""
        raise PtzError(f"{self.entity_id} has no pan/tilt/zoom")

    # -- images ------------------------------------------------------------------

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return share policy, owner and the latest snapshot (never a stream URI: viewers read states)."""
        attrs: dict[str, Any] = {
            "share": self.share,
            "owner": self.owner.name,
            "owner_phone": self.owner.phone,
            "last_snapshot_id": self.last_snapshot_id,
        }
        if self.share == "on_alarm":
            attrs["on_alarm_minutes"] = self.on_alarm_minutes
        if self.error:
            attrs["error"] = self.error
        if self.location is not None:
            attrs["latitude"], attrs["longitude"] = self.location
        if self.supports_ptz:
            attrs["ptz"] = True
        attrs.update(self.video_attributes)
        return attrs

    async def snapshot(self, incident_id: str | None = None, phase: str = "after") -> str:
        """Fetch, check and store a snapshot; return its id."""
        data = check_jpeg(self.entity_id, await self.fetch_snapshot())
        return await self.keep(data, incident_id=incident_id, phase=phase)

    async def keep(
        self, data: bytes, *, incident_id: str | None = None, phase: str = "after", ts: float | None = None
    ) -> str:
        """Store an already-checked JPEG as this camera's latest snapshot; return its id."""
        snap_id = await store_snapshot(
            self.hub, self.entity_id, data, incident_id=incident_id, phase=phase, ts=ts
        )
        taken = self.hub.clock.time() if ts is None else ts
        if self.last_snapshot_at is None or taken >= self.last_snapshot_at:
            self.last_snapshot_id, self.last_snapshot_at = snap_id, taken
            self.write_state(self.status)
        return snap_id

    async def live_image(self) -> bytes:
        """Return a recent checked JPEG for live views, fetching at most every few seconds."""
        async with self._live_lock:
            now = self.hub.loop.time()
            if self._live is not None and now - self._live[0] < LIVE_CACHE_SECONDS:
                return self._live[1]
            data = check_jpeg(self.entity_id, await self.fetch_snapshot())
            self._live = (self.hub.loop.time(), data)
            return data


async def store_snapshot(
    hub: Hub,
    entity_id: str,
    data: bytes,
    *,
    incident_id: str | None = None,
    phase: str = "after",
    ts: float | None = None,
) -> str:
    """Write a JPEG under ``<data_dir>/snapshots/`` and index it; return the id."""
    snap_id = ulid()
    ts = hub.clock.time() if ts is None else ts
    rel = Path("snapshots") / snap_id[:6] / f"{snap_id}.jpg"
    path = hub.data_dir / rel
    await hub.loop.run_in_executor(None, _write_file, path, data)
    await hub.storage.execute(
        "INSERT INTO snapshots (id, entity_id, incident_id, ts, path, size, sha256, phase) VALUES (?,?,?,?,?,?,?,?)",
        (snap_id, entity_id, incident_id, ts, str(rel), len(data), hashlib.sha256(data).hexdigest(), phase),
    )
    return snap_id


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
