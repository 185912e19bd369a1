"""The camera entity and snapshot storage."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.core.ids import ulid
from hub.entity import Entity
from integrations.camera.const import DOMAIN, MAX_SNAPSHOT_BYTES

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("CameraEntity", "Owner", "SnapshotError", "is_jpeg", "store_snapshot", "MIGRATIONS")

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


def is_jpeg(data: bytes) -> bool:
    """Return whether ``data`` looks like a complete JPEG (SOI ... EOI)."""
    return len(data) > 4 and data[:3] == b"\xff\xd8\xff" and data.rstrip(b"\x00\r\n")[-2:] == b"\xff\xd9"


@dataclass(frozen=True)
class Owner:
    """Who owns a camera and how to reach them (shared in the registry)."""

    name: str = ""
    phone: str = ""


class CameraEntity(Entity):
    """Base for cameras.  Subclasses implement :meth:`fetch_snapshot`."""

    domain = DOMAIN

    def __init__(self, hub: Hub, object_id: str, name: str | None = None, *, share: str = "never",
                 owner: Owner | None = None, location: tuple[float, float] | None = None) -> None:
        super().__init__(hub, object_id, name)
        self.share = share
        self.owner = owner or Owner()
        self.location = location
        self.status = "idle"
        self.last_snapshot_id: str | None = None
        self.error: str | None = None

    async def fetch_snapshot(self) -> bytes:
        """Return one JPEG frame from the camera."""
        raise NotImplementedError

    def stream_uri(self) -> str | None:
        """Return the stream URI (hub admins and operators only)."""
        return None

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return share policy, owner and the latest snapshot."""
        attrs: dict[str, Any] = {"share": self.share, "owner": self.owner.name, "owner_phone": self.owner.phone,
                                 "last_snapshot_id": self.last_snapshot_id}
        if self.error:
            attrs["error"] = self.error
        if self.location is not None:
            attrs["latitude"], attrs["longitude"] = self.location
        return attrs

    async def snapshot(self, incident_id: str | None = None, phase: str = "after") -> str:
        """Fetch, check and store a snapshot; return its id."""
        data = await self.fetch_snapshot()
        if len(data) > MAX_SNAPSHOT_BYTES:
            raise SnapshotError(f"{self.entity_id}: snapshot of {len(data)} bytes is over the limit")
        if not is_jpeg(data):
            raise SnapshotError(f"{self.entity_id}: camera did not return a JPEG")
        snap_id = await store_snapshot(self.hub, self.entity_id, data, incident_id=incident_id, phase=phase)
        self.last_snapshot_id = snap_id
        self.write_state(self.status)
        return snap_id


async def store_snapshot(hub: Hub, entity_id: str, data: bytes, *, incident_id: str | None = None,
                         phase: str = "after", ts: float | None = None) -> str:
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
