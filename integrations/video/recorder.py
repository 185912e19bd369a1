"""Recording: cut a camera's restream into keyframe-aligned MP4 segments and keep the right ones.

A recorder is one more subscriber of the camera's main restream (no second
RTSP session).  Every ``segment_seconds`` it closes a segment at the next
keyframe.  In ``continuous`` mode each segment is written; in ``events``
mode segments stay in a rolling memory buffer of ``pre_roll`` seconds and are
written only while an event (motion, an SOS or alarm incident) is active or
within ``post_roll`` seconds after it, so the footage starts *before* the
button was pressed.

Disk: before each write, :class:`Retention` makes room (oldest unlocked
segments first, across cameras) within the ``disk_budget_gb`` and the
disk's own free space.  When nothing more can be deleted (everything left is
evidence-locked) or the write fails, the hub raises an alarm and keeps going:
recording never holds up anything else, least of all an SOS.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from integrations.video.index import RecordingIndex, Segment
from integrations.video.mp4 import Fragment, rebase_fragment

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.camera.config import RecordConfig
    from integrations.video.restream import Restream

__all__ = ("ClosedSegment", "Recorder", "Retention", "Segmenter")

_LOGGER = logging.getLogger(__name__)
#: Re-anchor media time to the hub clock when they drift apart by more than this (a gap, a drop).
_MAX_DRIFT = 2.0


@dataclass
class ClosedSegment:
    """A finished segment in memory: init + fragments, with hub-clock times."""

    start: float
    end: float
    data: bytes


@dataclass
class Segmenter:
    """Group fragments into segments of at least ``seconds`` that each start on a keyframe."""

    seconds: float
    clock: Callable[[], float]
    _init: bytes | None = None
    _parts: list[bytes] = field(default_factory=list)
    #: Media times (seconds) of the open segment's first frame and of the end of its last.
    _start: float | None = None
    _end: float = 0.0
    _anchor: float | None = None
    _timescale: int = 90000
    _base: int = 0

    def new_init(self, data: bytes, timescale: int) -> ClosedSegment | None:
        """A new ffmpeg session: close what is open and start over with ``data``."""
        closed = self._close()
        self._init, self._timescale, self._anchor = data, timescale, None
        return closed

    def add(self, frag: Fragment) -> ClosedSegment | None:
        """Add a fragment; return the segment it closed, if any."""
        if self._init is None:
            return None
        media_start = frag.decode_time / self._timescale
        media_end = media_start + frag.duration / self._timescale
        # Media time → hub clock.  A fragment arrives at or after its end, so the smallest
        # (arrival - media end) seen is the best offset: a new subscriber's first fragments
        # come from the GOP cache, late.  A jump of more than _MAX_DRIFT (a gap, a reset) re-anchors.
        candidate = self.clock() - media_end
        if self._anchor is None or candidate < self._anchor or candidate - self._anchor > _MAX_DRIFT:
            self._anchor = candidate
        closed = None
        if frag.keyframe and self._start is not None and self._end - self._start >= self.seconds:
            closed = self._close()
        if self._start is None:
            if not frag.keyframe:
                return closed  # a segment must start on a keyframe
            self._start = media_start
            self._base = frag.decode_time
        self._parts.append(rebase_fragment(frag.data, self._base))
        self._end = media_end
        return closed

    def _close(self) -> ClosedSegment | None:
        if self._start is None or not self._parts or self._init is None or self._anchor is None:
            self._parts, self._start = [], None
            return None
        anchor = self._anchor
        seg = ClosedSegment(anchor + self._start, anchor + self._end, self._init + b"".join(self._parts))
        self._parts, self._start = [], None
        return seg

    def flush(self) -> ClosedSegment | None:
        """Close the open segment (shutdown)."""
        return self._close()


class Retention:
    """Deletes recordings by age and to stay within the disk budget; raises the disk alarm."""

    def __init__(
        self,
        hub: Hub,
        index: RecordingIndex,
        budget_bytes: int,
        min_free_bytes: int,
        *,
        on_alarm: Callable[[str | None], None],
    ) -> None:
        self.hub = hub
        self.index = index
        self.budget_bytes = budget_bytes
        self.min_free_bytes = min_free_bytes
        self.on_alarm = on_alarm
        self.alarm: str | None = None
        self.deleted = 0
        self._lock = asyncio.Lock()

    def set_alarm(self, reason: str | None) -> None:
        """Raise (a reason) or clear (None) the disk alarm."""
        if reason != self.alarm:
            self.alarm = reason
            self.on_alarm(reason)

    async def make_room(self, size: int) -> bool:
        """Delete the oldest unlocked segments until ``size`` more bytes fit; return whether they do."""
        async with self._lock:
            while True:
                over_budget = self.index.total_bytes + size - self.budget_bytes
                short_disk = self.min_free_bytes + size - self.index.free_bytes()
                if over_budget <= 0 and short_disk <= 0:
                    self.set_alarm(None)
                    return True
                victims = await self.index.oldest_unlocked(limit=20)
                if not victims:
                    self.set_alarm("budget" if over_budget > 0 else "disk")
                    return False
                need = max(over_budget, short_disk)
                chosen: list[Segment] = []
                for seg in victims:
                    chosen.append(seg)
                    need -= seg.size
                    if need <= 0:
                        break
                await self.index.delete(chosen)
                self.deleted += len(chosen)

    async def expire(self, retain_days: Callable[[str], float]) -> int:
        """Delete unlocked segments older than each camera's ``retain_days``; return how many."""
        now = self.hub.clock.time()
        count = 0
        for camera in await self.index.cameras():
            before = now - retain_days(camera) * 86400
            while batch := await self.index.expired(camera, before):
                await self.index.delete(batch)
                count += len(batch)
        self.deleted += count
        return count


class Recorder:
    """Records one camera's main restream according to its ``record:`` block."""

    def __init__(
        self,
        hub: Hub,
        camera_entity_id: str,
        restream: Restream,
        config: RecordConfig,
        index: RecordingIndex,
        retention: Retention,
        segment_seconds: float,
        *,
        on_change: Callable[[Recorder], None] | None = None,
    ) -> None:
        self.hub = hub
        self.camera_entity_id = camera_entity_id
        self.restream = restream
        self.config = config
        self.index = index
        self.retention = retention
        self.on_change = on_change
        self.segmenter = Segmenter(segment_seconds, hub.clock.time)
        #: events mode: write segments that start before this hub-clock time (inf while an incident is open).
        self.until = math.inf if config.mode == "continuous" else 0.0
        self.pre_roll: deque[ClosedSegment] = deque()
        self.written = 0
        self.failed = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._active: set[str] = set()

    @property
    def recording(self) -> bool:
        """Return whether segments are being written now."""
        return self.config.mode == "continuous" or bool(self._active) or self.until > self.hub.clock.time()

    def start(self) -> None:
        """Subscribe to the restream and record (a hub background task)."""
        if self._task is None or self._task.done():
            self._task = self.hub.create_background_task(self._run(), f"record {self.camera_entity_id}")

    async def stop(self) -> None:
        """Stop recording; the open segment is written if it should be."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- events --

    def event_started(self, key: str) -> None:
        """An event (``incident:<id>``, ``motion``) began: record from the pre-roll on, until it ends."""
        self._active.add(key)
        self.until = math.inf
        self._changed()

    def event_ended(self, key: str) -> None:
        """An event ended: keep recording for ``post_roll`` seconds after the last one ends."""
        self._active.discard(key)
        if not self._active and self.config.mode == "events":
            self.until = self.hub.clock.time() + self.config.post_roll
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    # -- the loop --

    async def _run(self) -> None:
        sub = self.restream.subscribe()
        try:
            while True:
                item = await sub.next_item()
                if isinstance(item, Fragment):
                    closed = self.segmenter.add(item)
                else:
                    closed = self.segmenter.new_init(item.data, item.track.timescale)
                if closed is not None:
                    await self._segment_done(closed)
        except StopAsyncIteration:
            return
        finally:
            sub.close()
            closed = self.segmenter.flush()
            if closed is not None and self._should_write(closed):
                # Shutdown: write the tail without waiting on the (cancelled) loop's tasks.
                with contextlib.suppress(Exception):
                    await asyncio.shield(
                        self._write(closed, "continuous" if self.config.mode == "continuous" else "event")
                    )

    def _should_write(self, seg: ClosedSegment) -> bool:
        return self.config.mode == "continuous" or bool(self._active) or seg.start < self.until

    async def _segment_done(self, seg: ClosedSegment) -> None:
        if self.config.mode == "continuous":
            await self._write(seg, "continuous")
            return
        if self._should_write(seg):
            while self.pre_roll:
                await self._write(self.pre_roll.popleft(), "event")
            await self._write(seg, "event")
            return
        self.pre_roll.append(seg)
        horizon = seg.end - self.config.pre_roll
        while self.pre_roll and self.pre_roll[0].end <= horizon:
            self.pre_roll.popleft()

    async def _write(self, seg: ClosedSegment, trigger: str) -> None:
        size = len(seg.data)
        if not await self.retention.make_room(size):
            if self.retention.alarm == "disk":
                self._fail("the disk is full: segments are dropped until there is room (min_free_gb)")
            else:
                self._fail("the disk budget is full and every recording left is evidence-locked")
            return
        when = datetime.fromtimestamp(seg.start, self.hub.clock.tz)
        object_id = self.camera_entity_id.split(".", 1)[-1]
        rel = (
            f"{object_id}/{when:%Y-%m-%d}/{when:%H%M%S}-{int(seg.start * 1000) % 1000:03d}-{self.written}.mp4"
        )
        try:
            await self.hub.loop.run_in_executor(None, _write_file, self.index.root / rel, seg.data)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                # The disk filled under us (another program): free what we can and try once more.
                if await self.retention.make_room(size * 4):
                    with contextlib.suppress(OSError):
                        await self.hub.loop.run_in_executor(
                            None, _write_file, self.index.root / rel, seg.data
                        )
                        await self._indexed(seg, rel, size, trigger)
                        return
                self.retention.set_alarm("disk")
            self._fail(f"could not write a segment: {err.strerror or err}")
            return
        await self._indexed(seg, rel, size, trigger)

    async def _indexed(self, seg: ClosedSegment, rel: str, size: int, trigger: str) -> None:
        await self.index.add(self.camera_entity_id, seg.start, seg.end, rel, size, trigger)
        self.written += 1
        if self.last_error is not None:
            self.last_error = None
            self._changed()

    def _fail(self, message: str) -> None:
        self.failed += 1
        if message != self.last_error:
            _LOGGER.error("Recording %s: %s", self.camera_entity_id, message)
            self.last_error = message
            self._changed()


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
