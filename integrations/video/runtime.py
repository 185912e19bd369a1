"""The hub's video runtime: one restream per camera and profile, recorders, locks and retention.

Other integrations reach it with ``hub.data[VIDEO_RUNTIME]``::

    from integrations.video.const import RUNTIME as VIDEO_RUNTIME

    runtime = hub.data[VIDEO_RUNTIME]
    async with runtime.restream("camera.gate", "sub").subscribe() as sub:
        async for chunk in sub:          # init segment first, then moof+mdat from a keyframe
            ...
    segments = await runtime.recordings.segments("camera.gate", start, end)
    await runtime.recordings.clip("camera.gate", start, end, dest)

See docs/video.md ("For integrations").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.components.incident import IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.bus import Event
from hub.entity import EntityNotFound
from integrations.camera.entity import CameraEntity
from integrations.video.const import EVENT_DISK_ALARM, EVENT_STREAM, PROFILES, RECORD_INCIDENT_KINDS
from integrations.video.index import LockInfo, RecordingIndex
from integrations.video.recorder import Recorder, Retention
from integrations.video.restream import Profile, Restream, StreamError, StreamOptions
from integrations.video.strings import disk_help, disk_text

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.video.config import VideoConfig

__all__ = "VideoRuntime"

_LOGGER = logging.getLogger(__name__)
_GB = 1024**3
#: How often retention by age runs (hub clock).
_EXPIRE_EVERY = 3600.0
#: The notification that carries the disk alarm (replaced, then dismissed when there is room).
DISK_NOTIFICATION = "video_disk_alarm"
#: Recordings of cameras no longer configured are kept this long.
_DEFAULT_RETAIN_DAYS = 7.0


class VideoRuntime:
    """Everything video on one hub; one instance, at ``hub.data[VIDEO_RUNTIME]``."""

    def __init__(self, hub: Hub, config: VideoConfig) -> None:
        self.hub = hub
        self.config = config
        self.options = StreamOptions(
            stall_seconds=config.stall_seconds,
            offline_after=config.offline_after,
            idle_stop=config.idle_stop_seconds,
        )
        root = Path(config.path)
        self.root = root if root.is_absolute() else hub.data_dir / root
        self.recordings = RecordingIndex(hub, self.root, max_clip_seconds=config.max_clip_seconds)
        self.retention = Retention(
            hub,
            self.recordings,
            int(config.disk_budget_gb * _GB),
            int(config.min_free_gb * _GB),
            on_alarm=self._disk_alarm,
        )
        self.recorders: dict[str, Recorder] = {}
        self._restreams: dict[tuple[str, str], Restream] = {}
        self._unsubs: list[Callable[[], None]] = []
        self._expire_task: asyncio.Task[None] | None = None
        #: Motion sensor entity id → camera entity id (for "motion ended").
        self._motion_sensors: dict[str, str] = {}
        self._lock_writes: asyncio.Task[None] | None = None

    # -- public API ------------------------------------------------------------------

    def camera(self, camera_entity_id: str) -> CameraEntity:
        """Return the camera entity; KeyError if there is none."""
        try:
            return self.hub.entities.get(camera_entity_id, CameraEntity)
        except EntityNotFound as err:
            raise KeyError(f"no camera {camera_entity_id!r}") from err

    def restream(self, camera_entity_id: str, profile: Profile = "main") -> Restream:
        """Return the one restream of a camera's ``main`` or ``sub`` profile (created on first use).

        Nothing is pulled until someone subscribes.  KeyError for an unknown
        camera, ValueError for an unknown profile.
        """
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        key = (camera_entity_id, profile)
        restream = self._restreams.get(key)
        if restream is None:
            camera = self.camera(camera_entity_id)
            restream = Restream(
                self.hub,
                camera_entity_id,
                profile,
                lambda: camera.stream_source(profile),
                self.options,
                on_status=self._status_changed,
            )
            self._restreams[key] = restream
        return restream

    def restreams(self) -> list[Restream]:
        """Return every restream created so far."""
        return list(self._restreams.values())

    def status(self, camera_entity_id: str) -> dict[str, Any]:
        """Return the camera's streams and recording, JSON-friendly (camera page, health)."""
        out: dict[str, Any] = {"entity_id": camera_entity_id, "streams": {}}
        for profile in PROFILES:
            restream = self._restreams.get((camera_entity_id, profile))
            if restream is not None:
                out["streams"][profile] = restream.status.as_dict()
        recorder = self.recorders.get(camera_entity_id)
        out["recording"] = (
            {
                "mode": recorder.config.mode,
                "active": recorder.recording,
                "segments_written": recorder.written,
                "error": recorder.last_error,
            }
            if recorder is not None
            else None
        )
        out["disk_alarm"] = self.retention.alarm
        return out

    async def latest_jpeg(self, camera_entity_id: str, *, within: float = 10.0) -> bytes:
        """Return a JPEG of the camera's latest keyframe from its main restream."""
        return await self.restream(camera_entity_id).latest_jpeg(within=within)

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Load the index, follow incidents and motion, start recorders and retention."""
        await self.recordings.load()
        self._unsubs += [
            self.hub.bus.listen("incident_opened", self._incident_opened),
            self.hub.bus.listen("incident_updated", self._incident_updated),
            self.hub.bus.listen("camera_motion", self._motion),
            self.hub.bus.listen("state_changed", self._state_changed),
        ]
        self.start_recorders()
        await self._resume_locks()
        self._expire_task = self.hub.create_background_task(self._expire_loop(), "video retention")

    async def _resume_locks(self) -> None:
        """After a restart: close the locks of incidents closed meanwhile; keep recording for open ones."""
        manager = self.hub.data.get(INCIDENT_RUNTIME)
        post_roll = max((r.config.post_roll for r in self.recorders.values()), default=0)
        for lock in await self.recordings.open_locks():
            try:
                incident = await manager.get(lock.incident_id) if manager is not None else None
            except IncidentNotFound:
                incident = None
            if incident is None or incident.status == "closed":
                closed = (
                    incident.closed_at
                    if incident is not None and incident.closed_at
                    else self.hub.clock.time()
                )
                await self.recordings.close_lock(lock.incident_id, closed, closed + post_roll)
            elif incident.kind in RECORD_INCIDENT_KINDS:
                for recorder in self.recorders.values():
                    recorder.event_started(f"incident:{lock.incident_id}")

    def start_recorders(self) -> None:
        """Start a recorder for every camera with a ``record:`` block that has none yet."""
        for entity in list(self.hub.entities):
            if isinstance(entity, CameraEntity):
                if entity.frame_grabber is None:
                    entity.frame_grabber = self._grabber(entity.entity_id)
                if entity.record is not None:
                    self.record(entity)
                else:
                    self._publish(entity.entity_id)

    def _grabber(self, camera_entity_id: str) -> Callable[[], Awaitable[bytes | None]]:
        """Return the camera's frame grab from its running restream (None when nothing is pulled).

        A camera without a snapshot URL then takes its snapshots (and pre-alarm frames)
        from the stream the hub already pulls, instead of opening another RTSP session.
        """

        async def grab() -> bytes | None:
            restream = self._restreams.get((camera_entity_id, "main"))
            if restream is None or not restream.status.online:
                return None
            try:
                return await restream.latest_jpeg(within=5.0)
            except (StreamError, OSError, TimeoutError):
                return None

        return grab

    def record(self, camera: CameraEntity) -> Recorder:
        """Start recording ``camera`` per its ``record:`` block (idempotent)."""
        recorder = self.recorders.get(camera.entity_id)
        if recorder is not None:
            return recorder
        if camera.record is None:
            raise ValueError(f"{camera.entity_id} has no record: block")
        recorder = Recorder(
            self.hub,
            camera.entity_id,
            self.restream(camera.entity_id, "main"),
            camera.record,
            self.recordings,
            self.retention,
            self.config.segment_seconds,
            on_change=lambda r: self._publish(r.camera_entity_id),
        )
        self.recorders[camera.entity_id] = recorder
        for sensor in camera.sensor_ids():
            if "motion" in sensor:
                self._motion_sensors[sensor] = camera.entity_id
        recorder.start()
        self._publish(camera.entity_id)
        return recorder

    async def stop(self) -> None:
        """Stop recorders and pulls (hub shutdown)."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._expire_task is not None:
            self._expire_task.cancel()
        await asyncio.gather(*(r.stop() for r in self.recorders.values()), return_exceptions=True)
        await asyncio.gather(*(r.close() for r in self._restreams.values()), return_exceptions=True)

    # -- events -----------------------------------------------------------------------

    def _incident_opened(self, event: Event) -> None:
        inc = event.data.get("incident") or {}
        incident_id = str(event.data["incident_id"])
        opened = float(inc.get("opened_at") or self.hub.clock.time())
        pre_roll = max((r.config.pre_roll for r in self.recorders.values()), default=0)
        # Every incident locks the footage around it; only some kinds start event recording.
        self._in_order(self.recordings.lock(incident_id, opened - pre_roll), f"lock {incident_id}")
        if inc.get("kind") not in RECORD_INCIDENT_KINDS:
            return
        for recorder in self.recorders.values():
            recorder.event_started(f"incident:{incident_id}")

    def _incident_updated(self, event: Event) -> None:
        inc = event.data.get("incident") or {}
        if inc.get("status") != "closed":
            return
        incident_id = str(event.data["incident_id"])
        closed = float(inc.get("closed_at") or self.hub.clock.time())
        post_roll = max((r.config.post_roll for r in self.recorders.values()), default=0)
        self._in_order(
            self.recordings.close_lock(incident_id, closed, closed + post_roll), f"unlock {incident_id}"
        )
        for recorder in self.recorders.values():
            recorder.event_ended(f"incident:{incident_id}")

    def _in_order(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run lock writes one after another, in event order (an incident can close before its lock is stored)."""
        previous = self._lock_writes

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await work

        self._lock_writes = self.hub.create_task(run(), name)

    async def locks_settled(self) -> None:
        """Wait until every lock write queued so far is stored."""
        while (task := self._lock_writes) is not None and not task.done():
            await asyncio.gather(task, return_exceptions=True)

    async def release(self, incident_id: str, by: str) -> LockInfo:
        """Release a closed incident's evidence lock, so retention may delete its footage again.

        The incident manager is the truth: an open incident is refused (ValueError),
        an unknown one raises IncidentNotFound.
        """
        incident = await self.hub.data[INCIDENT_RUNTIME].get(incident_id)
        if incident.status != "closed" or incident.closed_at is None:
            raise ValueError(f"incident {incident_id} is still open: close it before releasing its footage")
        await self.locks_settled()
        if await self.recordings.lock_info(incident_id) is None:
            # The bus had not delivered the incident's events yet: store its lock as it would have been.
            pre = max((r.config.pre_roll for r in self.recorders.values()), default=0)
            await self.recordings.lock(incident_id, incident.opened_at - pre)
        closed = incident.closed_at
        post_roll = max((r.config.post_roll for r in self.recorders.values()), default=0)
        await self.recordings.close_lock(incident_id, closed, closed + post_roll)
        return await self.recordings.release(incident_id, by)

    def _motion(self, event: Event) -> None:
        camera_id = str(event.data.get("entity_id", ""))
        recorder = self.recorders.get(camera_id)
        if recorder is None or not recorder.config.motion or event.data.get("kind", "motion") != "motion":
            return
        sensor = str(event.data.get("sensor") or f"motion:{camera_id}")
        self._motion_sensors[sensor] = camera_id
        recorder.event_started(f"motion:{sensor}")

    def _state_changed(self, event: Event) -> None:
        entity_id = event.data.get("entity_id")
        camera_id = self._motion_sensors.get(str(entity_id))
        if camera_id is None:
            return
        new = event.data.get("new_state")
        if new is None or getattr(new, "state", None) != "on":
            recorder = self.recorders.get(camera_id)
            if recorder is not None:
                recorder.event_ended(f"motion:{entity_id}")

    # -- status on the camera entity ----------------------------------------------------

    def _status_changed(self, restream: Restream) -> None:
        self.hub.bus.fire(
            EVENT_STREAM,
            {
                "entity_id": restream.camera_entity_id,
                "profile": restream.profile,
                "state": restream.status.state,
                "reason": restream.status.reason,
            },
        )
        self._publish(restream.camera_entity_id)

    def _publish(self, camera_entity_id: str) -> None:
        """Mirror stream and recording facts into the camera entity's attributes."""
        try:
            camera = self.camera(camera_entity_id)
        except KeyError:
            return
        attrs: dict[str, Any] = {"stream": "idle"}
        main = self._restreams.get((camera_entity_id, "main"))
        if main is not None:
            attrs["stream"] = main.status.state
            if main.status.state != "online" and main.status.reason:
                attrs["stream_reason"] = main.status.reason
                attrs["stream_error"] = main.status.text("en")
        recorder = self.recorders.get(camera_entity_id)
        if recorder is not None:
            attrs["recording"] = recorder.recording
            attrs["record_mode"] = recorder.config.mode
            if recorder.last_error:
                attrs["recording_error"] = recorder.last_error
        if self.retention.alarm and recorder is not None:
            attrs["recording_alarm"] = self.retention.alarm
        if attrs != camera.video_attributes:
            camera.video_attributes = attrs
            camera.write_state(camera.status)

    def _disk_alarm(self, reason: str | None) -> None:
        if reason:
            _LOGGER.error(
                "Recording storage full (%s): every recording left is evidence-locked or the disk is full",
                reason,
            )
        else:
            _LOGGER.warning("Recording storage has room again")
        self.hub.bus.fire(EVENT_DISK_ALARM, {"alarm": reason is not None, "reason": reason})
        for camera_id in self.recorders:
            self._publish(camera_id)
        if self.hub.services.has("persistent_notification", "create"):
            self.hub.create_task(self._notify(reason), "video disk notification")

    async def _notify(self, reason: str | None) -> None:
        """Show (or take down) the disk alarm on the hub's notifications page, in Thai and English."""
        try:
            if reason is None:
                await self.hub.services.call(
                    "persistent_notification", "dismiss", {"notification_id": DISK_NOTIFICATION}
                )
                return
            await self.hub.services.call(
                "persistent_notification",
                "create",
                {
                    "notification_id": DISK_NOTIFICATION,
                    "title": f"{disk_text(reason, 'th')} / {disk_text(reason, 'en')}",
                    "message": f"{disk_help('th')}\n\n{disk_help('en')}",
                },
            )
        except Exception:  # noqa: BLE001 - the alarm is also on the cameras and in the log
            _LOGGER.exception("Could not show the recording storage notification")

    # -- retention by age ------------------------------------------------------------------

    def _retain_days(self, camera_entity_id: str) -> float:
        recorder = self.recorders.get(camera_entity_id)
        return recorder.config.retain_days if recorder is not None else _DEFAULT_RETAIN_DAYS

    async def expire(self) -> int:
        """Delete recordings past their camera's ``retain_days`` (unless locked); return how many."""
        count = await self.retention.expire(self._retain_days)
        if count:
            _LOGGER.info("Deleted %d recording segment(s) past their retention", count)
        if self.retention.alarm:
            await self.retention.make_room(0)  # clears the alarm when there is room again
        return count

    async def _expire_loop(self) -> None:
        while True:
            try:
                await self.expire()
            except Exception:  # noqa: BLE001 - a failed sweep is retried at the next one
                _LOGGER.exception("Recording retention sweep failed")
            await self.hub.clock.sleep(_EXPIRE_EVERY)
