"""The pre-alarm buffer: the last N frames of a camera, kept in memory.

When an SOS (or alarm-panel) incident opens, the frames from *before* the
press are stored and attached to the incident, followed by the next N frames
(*after*).  Without it the first image is taken only once the automation runs,
which misses the person who pressed the button and left.

Cost, per camera with ``prebuffer: N`` and ``prebuffer_interval: S``: one
snapshot request to the camera every S seconds (a JPEG is typically
50–300 KB, so 2 s means roughly 25–150 KB/s of LAN traffic and some camera
CPU), and N frames held in RAM (N × frame size, e.g. 5 × 200 KB = 1 MB).
Nothing is written to disk until an incident opens.  Default: off.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.errors import HubError
from hub.keys import HubKey
from integrations.camera.entity import CameraEntity, SnapshotError, check_jpeg

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("PREBUFFERS", "PreBuffer", "start_prebuffer")

_LOGGER = logging.getLogger(__name__)


@dataclass
class _After:
    incident_id: str
    remaining: int
    stored: list[str] = field(default_factory=list)


class PreBuffer:
    """A ring of the last ``size`` frames of one camera, grabbed every ``interval`` seconds."""

    def __init__(self, hub: Hub, camera: CameraEntity, size: int, interval: float) -> None:
        if size < 1 or interval <= 0:
            raise ValueError("a pre-alarm buffer needs size >= 1 and interval > 0")
        self.hub = hub
        self.camera = camera
        self.size = size
        self.interval = interval
        self.frames: deque[tuple[float, bytes]] = deque(maxlen=size)
        self.failures = 0
        self.captured = 0
        self._after: list[_After] = []

    async def run(self) -> None:
        """Grab frames for ever (a hub background task)."""
        while True:
            await self.capture_once()
            await self.hub.clock.sleep(self.interval)

    async def capture_once(self) -> None:
        """Grab one frame into the ring and hand it to incidents waiting for "after" frames."""
        if not self.camera.available:
            return  # the camera shows unavailable already; try again next interval
        try:
            data = check_jpeg(self.camera.entity_id, await self.camera.fetch_snapshot())
        except (SnapshotError, OSError, TimeoutError) as err:
            self.failures += 1
            # Once per failure streak: an offline camera is already shown as unavailable.
            log = _LOGGER.warning if self.failures == 1 else _LOGGER.debug
            log("Pre-alarm buffer of %s: %s", self.camera.entity_id, err)
            return
        self.failures = 0
        self.captured += 1
        ts = self.hub.clock.time()
        self.frames.append((ts, data))
        for after in list(self._after):
            await self._store(after.incident_id, [(ts, data)], "after", after.stored)
            after.remaining -= 1
            if after.remaining <= 0:
                self._after.remove(after)

    async def attach(self, incident_id: str) -> list[str]:
        """Store the buffered frames as "before" snapshots of ``incident_id``; queue "after" frames."""
        before = list(self.frames)
        stored: list[str] = []
        await self._store(incident_id, before, "before", stored)
        self._after.append(_After(incident_id, self.size))
        return stored

    async def _store(
        self, incident_id: str, frames: list[tuple[float, bytes]], phase: str, stored: list[str]
    ) -> None:
        if not frames:
            return
        ids = [
            await self.camera.keep(data, incident_id=incident_id, phase=phase, ts=ts) for ts, data in frames
        ]
        stored.extend(ids)
        label = "ก่อนเหตุ / before" if phase == "before" else "หลังเหตุ / after"
        try:
            await self.hub.data[INCIDENT_RUNTIME].note(
                incident_id,
                f"{len(ids)} snapshot(s) {label} from {self.camera.name}",
                by=self.camera.entity_id,
                attachments=ids,
                kind="snapshot",
                data={"phase": phase, "taken_at": [ts for ts, _ in frames]},
            )
        except (HubError, ValueError) as err:
            # The incident may be gone (a test hub, a purge); the snapshots are kept anyway.
            _LOGGER.info("Could not note %s frames on %s: %s", phase, incident_id, err)


PREBUFFERS: HubKey[dict[str, PreBuffer]] = HubKey("camera_prebuffers")


def start_prebuffer(hub: Hub, camera: CameraEntity, size: int, interval: float) -> PreBuffer:
    """Create and start a pre-alarm buffer for ``camera`` (called by camera integrations)."""
    buffer = PreBuffer(hub, camera, size, interval)
    buffers = hub.data.get(PREBUFFERS)
    if buffers is None:
        buffers = {}
        hub.data[PREBUFFERS] = buffers
    buffers[camera.entity_id] = buffer
    hub.create_background_task(buffer.run(), f"prebuffer {camera.entity_id}")
    return buffer


async def attach_all(hub: Hub, incident_id: str) -> None:
    """Attach every camera's pre-alarm frames to ``incident_id`` (one SOS concerns the whole site)."""
    buffers = hub.data.get(PREBUFFERS) or {}
    results = await asyncio.gather(*(b.attach(incident_id) for b in buffers.values()), return_exceptions=True)
    for buffer, result in zip(buffers.values(), results, strict=True):
        if isinstance(result, BaseException):
            _LOGGER.error(
                "Pre-alarm frames of %s not attached to %s: %s", buffer.camera.entity_id, incident_id, result
            )
