"""The recordings index (SQLite): segments, evidence locks, clips and retention.

Each segment is a short, self-contained fragmented MP4 (init + fragments)
that starts on a keyframe, so any run of segments plays on its own and
concatenates without re-encoding.  A segment is *locked* while it overlaps an
incident's window and that incident has not been closed **and** released; no
retention rule deletes a locked segment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from hub.hub import Hub

__all__ = ("LockInfo", "NoFootage", "RecordingIndex", "Segment")

_LOGGER = logging.getLogger(__name__)

#: Whether a segment (alias ``s``) overlaps an unreleased lock: used by every query that shows or deletes.
_LOCKED = (
    "EXISTS (SELECT 1 FROM video_locks l WHERE l.released_at IS NULL "
    "AND s.end >= l.start AND (l.end IS NULL OR s.start <= l.end))"
)
_COLUMNS = f"s.id, s.camera, s.start, s.end, s.path, s.size, s.trigger, {_LOCKED} AS locked"


class NoFootage(LookupError):
    """No recording covers the asked window (a footage request answers "no footage", not an error)."""


@dataclass(frozen=True)
class Segment:
    """One recorded MP4 segment of one camera."""

    id: int
    camera: str
    #: Hub-clock UNIX times of the first frame and the end of the last.
    start: float
    end: float
    #: Absolute path of the file.
    path: Path
    size: int
    locked: bool
    #: ``continuous`` or ``event``.
    trigger: str

    @property
    def duration(self) -> float:
        """Return the length in seconds."""
        return self.end - self.start

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form (no filesystem path: pages fetch it by id)."""
        return {
            "id": self.id,
            "camera": self.camera,
            "start": self.start,
            "end": self.end,
            "size": self.size,
            "locked": self.locked,
            "trigger": self.trigger,
        }


@dataclass(frozen=True)
class LockInfo:
    """An incident's evidence lock over every camera's recordings."""

    incident_id: str
    start: float
    end: float | None
    closed_at: float | None
    released_at: float | None
    released_by: str | None


class RecordingIndex:
    """Segments on disk and their rows; the one place that adds, finds, locks and deletes them."""

    def __init__(
        self, hub: Hub, root: Path, *, ffmpeg: str = "ffmpeg", max_clip_seconds: float = 7200
    ) -> None:
        self.hub = hub
        self.root = root
        self.ffmpeg = ffmpeg
        self.max_clip_seconds = max_clip_seconds
        #: Sum of segment sizes (bytes), kept in memory so a write never waits on a SUM query.
        self.total_bytes = 0

    async def load(self) -> None:
        """Read the total size (at start)."""
        row = await self.hub.storage.fetchone("SELECT COALESCE(SUM(size), 0) AS n FROM video_segments")
        self.total_bytes = int(row["n"]) if row is not None else 0

    def _segment(self, row: sqlite3.Row) -> Segment:
        return Segment(
            id=int(row["id"]),
            camera=str(row["camera"]),
            start=float(row["start"]),
            end=float(row["end"]),
            path=self.root / str(row["path"]),
            size=int(row["size"]),
            locked=bool(row["locked"]),
            trigger=str(row["trigger"]),
        )

    # -- reading --------------------------------------------------------------------

    async def segments(self, camera_entity_id: str, start: float, end: float) -> list[Segment]:
        """Return the camera's segments that overlap ``[start, end]``, oldest first."""
        if end < start:
            raise ValueError("end is before start")
        rows = await self.hub.storage.fetchall(
            f"SELECT {_COLUMNS} FROM video_segments s WHERE s.camera = ? AND s.end > ? AND s.start < ? "
            "ORDER BY s.start",
            (camera_entity_id, start, end),
        )
        return [self._segment(r) for r in rows]

    async def get(self, segment_id: int) -> Segment | None:
        """Return one segment by id."""
        row = await self.hub.storage.fetchone(
            f"SELECT {_COLUMNS} FROM video_segments s WHERE s.id = ?", (segment_id,)
        )
        return self._segment(row) if row is not None else None

    async def clip(self, camera_entity_id: str, start: float, end: float, dest: Path) -> Path:
        """Write the camera's footage over ``[start, end]`` to ``dest`` (MP4) and return ``dest``.

        Keyframe-aligned and never re-encoded: the clip begins at the start of
        the segment holding ``start`` (a keyframe at or before it) and ends with
        the segment holding ``end``.  Raises :class:`NoFootage` when no segment
        overlaps, ValueError for a bad window.
        """
        if end <= start:
            raise ValueError("end must be after start")
        if end - start > self.max_clip_seconds:
            raise ValueError(f"a clip is at most {self.max_clip_seconds:g} s")
        segments = [s for s in await self.segments(camera_entity_id, start, end) if s.path.is_file()]
        if not segments:
            raise NoFootage(f"no recordings of {camera_entity_id} between {start:.0f} and {end:.0f}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="clip-", dir=dest.parent) as tmp:
            listing = Path(tmp) / "segments.txt"
            # The concat demuxer's quoting: single quotes, with ' written as '\''.
            listing.write_text(
                "".join("file '" + str(s.path).replace("'", "'\\''") + "'\n" for s in segments),
                encoding="utf-8",
            )
            part = Path(tmp) / "clip.mp4"
            proc = await asyncio.create_subprocess_exec(
                self.ffmpeg,
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(listing),
                "-map",
                "0:v:0",
                "-c",
                "copy",
                "-movflags",
                "+faststart",
                "-y",
                str(part),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await proc.communicate()
            if proc.returncode != 0:
                lines = err.decode("utf-8", "replace").strip().splitlines()
                raise OSError(
                    f"ffmpeg could not join the segments: {lines[-1] if lines else proc.returncode}"
                )
            os.replace(part, dest)
        return dest

    # -- writing --------------------------------------------------------------------

    async def add(
        self, camera_entity_id: str, start: float, end: float, rel: str, size: int, trigger: str
    ) -> int:
        """Index a segment file already written under ``root``; return its id."""
        seg_id = await self.hub.storage.execute(
            "INSERT INTO video_segments (camera, start, end, path, size, trigger) VALUES (?,?,?,?,?,?)",
            (camera_entity_id, start, end, rel, size, trigger),
        )
        self.total_bytes += size
        return seg_id

    async def delete(self, segments: list[Segment]) -> int:
        """Delete segment files and rows; return the bytes freed."""
        if not segments:
            return 0
        await self.hub.loop.run_in_executor(None, _unlink_all, [s.path for s in segments])
        await self.hub.storage.executemany(
            "DELETE FROM video_segments WHERE id = ?", [(s.id,) for s in segments]
        )
        freed = sum(s.size for s in segments)
        self.total_bytes = max(0, self.total_bytes - freed)
        return freed

    async def oldest_unlocked(self, limit: int = 50) -> list[Segment]:
        """Return the oldest segments no lock protects (what retention deletes first)."""
        rows = await self.hub.storage.fetchall(
            f"SELECT {_COLUMNS} FROM video_segments s WHERE NOT {_LOCKED} ORDER BY s.start LIMIT ?", (limit,)
        )
        return [self._segment(r) for r in rows]

    async def expired(self, camera_entity_id: str | None, before: float, limit: int = 500) -> list[Segment]:
        """Return unlocked segments that ended before ``before`` (one camera, or all when None)."""
        where = "s.end < ? AND NOT " + _LOCKED
        params: tuple[Any, ...] = (before,)
        if camera_entity_id is not None:
            where += " AND s.camera = ?"
            params += (camera_entity_id,)
        rows = await self.hub.storage.fetchall(
            f"SELECT {_COLUMNS} FROM video_segments s WHERE {where} ORDER BY s.start LIMIT ?",
            (*params, limit),
        )
        return [self._segment(r) for r in rows]

    async def cameras(self) -> list[str]:
        """Return every camera that has recordings."""
        rows = await self.hub.storage.fetchall("SELECT DISTINCT camera FROM video_segments")
        return [str(r["camera"]) for r in rows]

    # -- evidence locks -----------------------------------------------------------

    async def lock(self, incident_id: str, start: float) -> None:
        """Lock every camera's recordings from ``start`` on, until the incident is closed and released."""
        await self.hub.storage.execute(
            "INSERT INTO video_locks (incident_id, start) VALUES (?, ?) ON CONFLICT(incident_id) DO NOTHING",
            (incident_id, start),
        )

    async def close_lock(self, incident_id: str, closed_at: float, end: float) -> None:
        """The incident closed: the lock now ends at ``end`` (post-roll included) but stays until released."""
        await self.hub.storage.execute(
            "UPDATE video_locks SET end = ?, closed_at = ? WHERE incident_id = ? AND end IS NULL",
            (end, closed_at, incident_id),
        )

    async def release(self, incident_id: str, by: str) -> LockInfo:
        """Release a closed incident's lock (retention may delete its footage again)."""
        info = await self.lock_info(incident_id)
        if info is None:
            raise KeyError(f"incident {incident_id} locked no recordings")
        if info.closed_at is None:
            raise ValueError(f"incident {incident_id} is still open: close it before releasing its footage")
        if info.released_at is not None:
            return info
        await self.hub.storage.execute(
            "UPDATE video_locks SET released_at = ?, released_by = ? WHERE incident_id = ?",
            (self.hub.clock.time(), by, incident_id),
        )
        released = await self.lock_info(incident_id)
        assert released is not None
        return released

    async def lock_info(self, incident_id: str) -> LockInfo | None:
        """Return an incident's lock, or None."""
        row = await self.hub.storage.fetchone(
            "SELECT * FROM video_locks WHERE incident_id = ?", (incident_id,)
        )
        if row is None:
            return None
        return LockInfo(
            str(row["incident_id"]),
            float(row["start"]),
            row["end"],
            row["closed_at"],
            row["released_at"],
            row["released_by"],
        )

    async def open_locks(self) -> list[LockInfo]:
        """Return locks whose incident is still open (no end yet)."""
        rows = await self.hub.storage.fetchall(
            "SELECT incident_id FROM video_locks WHERE end IS NULL AND released_at IS NULL"
        )
        out = []
        for row in rows:
            info = await self.lock_info(str(row["incident_id"]))
            if info is not None:
                out.append(info)
        return out

    # -- disk ---------------------------------------------------------------------

    def free_bytes(self) -> int:
        """Return the free space on the recordings' disk."""
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # the day folder, once empty
