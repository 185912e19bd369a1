"""One ONVIF camera: connection supervisor, snapshots, stream URI, PTZ and events.

Each camera runs its own supervisor task, so a slow, offline or broken camera
never holds up another or the hub's loop:

    connect (adjust_time → xaddrs → device info → profile → URIs → PTZ → events)
      ├─ fails: ``unavailable`` with the reason; retry with backoff
      │         (5 s doubling to 5 min), or after 30 min for wrong credentials
      └─ works: ``idle``; events run; a watchdog asks the time every minute and
                reconnects after two missed answers.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

from hub.core.retry import Backoff
from integrations.camera.entity import CameraEntity, Owner, PtzError, PtzPreset, SnapshotError
from integrations.onvif.client import (
    OnvifAuthError,
    OnvifError,
    OnvifMalformed,
    OnvifUnsupported,
    new_camera,
    soap,
)
from integrations.onvif.const import (
    AUTH_RETRY_SECONDS,
    BACKOFF_FIRST,
    BACKOFF_MAX,
    CLOCK_SKEW_WARN,
    EVENTS_NAMESPACE,
    PTZ_NAMESPACE,
    PULL_TIMEOUT,
    WATCHDOG_MISSES,
    WATCHDOG_SECONDS,
)
from integrations.onvif.events import EventRouter, PullPoint
from integrations.onvif.snapshot import AuthMode, fetch_http, grab_rtsp_frame, with_credentials

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.onvif.config import OnvifCameraConfig

__all__ = ("OnvifCamera", "choose_profile")

_LOGGER = logging.getLogger(__name__)
AUTH_FAILED = "authentication failed"


def choose_profile(profiles: list[Any], wanted: str | None) -> Any:
    """Return the profile named/tokened ``wanted``, else the first H.264 one, else the first."""
    if not profiles:
        raise OnvifError("the camera has no media profiles")
    if wanted:
        for profile in profiles:
            if wanted in (getattr(profile, "token", None), getattr(profile, "Name", None)):
                return profile
        names = ", ".join(str(getattr(p, "token", "?")) for p in profiles)
        raise OnvifError(f"no media profile {wanted!r} (the camera has: {names})")
    for profile in profiles:
        encoder = getattr(profile, "VideoEncoderConfiguration", None)
        if str(getattr(encoder, "Encoding", "")).upper() == "H264":
            return profile
    return profiles[0]


def choose_sub_profile(profiles: list[Any], main_token: str, wanted: str | None) -> Any:
    """Return the substream profile: ``wanted`` (token or name), else the smallest other H.264 profile."""
    if wanted:
        for profile in profiles:
            if wanted in (getattr(profile, "token", None), getattr(profile, "Name", None)):
                return profile
        names = ", ".join(str(getattr(p, "token", "?")) for p in profiles)
        raise OnvifError(f"no media profile {wanted!r} for the substream (the camera has: {names})")

    def pixels(profile: Any) -> int:
        resolution = getattr(getattr(profile, "VideoEncoderConfiguration", None), "Resolution", None)
        return int(getattr(resolution, "Width", 0) or 0) * int(getattr(resolution, "Height", 0) or 0)

    others = [
        p
        for p in profiles
        if str(getattr(p, "token", "")) != main_token
        and str(getattr(getattr(p, "VideoEncoderConfiguration", None), "Encoding", "")).upper() == "H264"
    ]
    return min(others, key=pixels) if others else None


class OnvifCamera(CameraEntity):
    """A camera reached over ONVIF."""

    def __init__(
        self,
        hub: Hub,
        cfg: OnvifCameraConfig,
        session: aiohttp.ClientSession,
        snapshot_auth: AuthMode | None = None,
        *,
        pull_timeout: float = PULL_TIMEOUT,
    ) -> None:
        location = (cfg.location.lat, cfg.location.lon) if cfg.location else None
        super().__init__(
            hub,
            cfg.id,
            cfg.name,
            share=cfg.share,
            owner=Owner(cfg.owner.name, cfg.owner.phone),
            location=location,
            on_alarm_minutes=cfg.on_alarm_minutes,
            on_alarm_max_hours=cfg.on_alarm_max_hours,
        )
        self.cfg = cfg
        self.record = cfg.record
        self.notify_owner = cfg.notify_owner
        self.session = session
        self.snapshot_auth: AuthMode | None = snapshot_auth
        self.pull_timeout = pull_timeout
        self.cam: Any = None
        self.available = False
        self.error = "connecting"
        self.profile_token: str | None = None
        self.snapshot_uri: str | None = None
        self._stream_uri: str | None = None
        self._sub_stream_uri: str | None = None
        self._ptz: Any = None
        self._presets: list[PtzPreset] = []
        self.presets_error: str | None = None
        self.info: dict[str, str] = {}
        self.clock_skew: float | None = None
        self.connects = 0
        self.connect_attempts = 0
        #: When the next connection attempt is due (hub clock), while waiting to retry.
        self.retry_at: float | None = None
        self.router = EventRouter(hub, self)
        self.pullpoint: PullPoint | None = None
        self.notifications: Any = None
        self.events_status = "off" if cfg.events == "off" else "waiting"
        self.webhook_token: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._events_task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.on_snapshot_auth: Any = None

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        """Start the supervisor (a hub background task)."""
        self._task = self.hub.create_background_task(self._supervise(), f"onvif {self.entity_id}")

    async def stop(self) -> None:
        """Stop everything and give the event subscription back to the camera."""
        if self._task is not None:
            await _cancel(self._task)
            self._task = None
        await self._disconnect()

    async def wait_connected(self, within: float) -> bool:
        """Wait (real time) up to ``within`` seconds for the camera to connect; for tests and benchmarks."""
        try:
            await asyncio.wait_for(self._connected.wait(), within)
        except TimeoutError:
            return False
        return True

    async def reconnect(self) -> None:
        """Drop the connection and try again now (after the owner fixed a password, say)."""
        await self.stop()
        self.start()

    async def _supervise(self) -> None:
        failures = 0
        while True:
            self.connect_attempts += 1
            try:
                await self._connect()
            except OnvifAuthError as err:
                await self._offline(AUTH_FAILED, err)
                await self._retry_in(AUTH_RETRY_SECONDS)
                continue
            except OnvifError as err:
                failures += 1
                await self._offline(str(err), err, first=failures == 1)
                await self._retry_in(_backoff(failures))
                continue
            except Exception as err:  # noqa: BLE001 - a reply shape nobody foresaw must not end the loop
                failures += 1
                _LOGGER.exception("%s: unexpected error while connecting", self.entity_id)
                await self._offline(
                    f"unexpected error: {type(err).__name__}: {err}", err, first=failures == 1
                )
                await self._retry_in(_backoff(failures))
                continue
            failures = 0
            self._online()
            try:
                await self._watch()
            except OnvifAuthError as err:
                await self._offline(AUTH_FAILED, err)
                await self._retry_in(AUTH_RETRY_SECONDS)
                continue
            failures = 1
            await self._offline("the camera stopped answering", None)
            await self._retry_in(_backoff(failures))

    async def _retry_in(self, delay: float) -> None:
        """Wait before the next connection attempt; ``retry_at`` tells the UI (and tests) when."""
        self.retry_at = self.hub.clock.time() + delay
        self.write_state(self.status)
        try:
            await self.hub.clock.sleep(delay)
        finally:
            self.retry_at = None

    async def _watch(self) -> None:
        """Return when the camera has missed WATCHDOG_MISSES time checks in a row."""
        misses = 0
        while misses < WATCHDOG_MISSES:
            # Jittered, so cameras that connected together don't all get asked at the same instant.
            await self.hub.clock.sleep(WATCHDOG_SECONDS * random.uniform(0.9, 1.1))
            device = self.cam
            try:
                devicemgmt = await soap(device.create_devicemgmt_service, "device service", self.cfg.timeout)
                await soap(devicemgmt.GetSystemDateAndTime, "GetSystemDateAndTime", self.cfg.timeout)
            except OnvifAuthError:
                raise
            except OnvifError as err:
                misses += 1
                _LOGGER.debug("%s: watchdog miss %d: %s", self.entity_id, misses, err)
            else:
                misses = 0

    def _online(self) -> None:
        self.available = True
        self.error = None
        self.connects += 1
        self._connected.set()
        self.write_state(self.status)
        # Sensors of a camera that sends no events show "unavailable", not a reassuring "off".
        self.router.set_available(self.cfg.events != "off")
        if self.cfg.events != "off" and self.cam is not None:
            self._events_task = self.hub.create_background_task(
                self._run_events(), f"onvif events {self.entity_id}"
            )
        if self.connects == 1:
            _LOGGER.info(
                "%s connected: %s %s, profile %s",
                self.entity_id,
                self.info.get("manufacturer", "?"),
                self.info.get("model", "?"),
                self.profile_token,
            )

    async def _offline(self, reason: str, err: Exception | None, *, first: bool = True) -> None:
        was_available = self.available
        self.available = False
        self._connected.clear()
        await self._disconnect()
        # Set after the last await: whoever sees the new error sees the retry timer already armed.
        changed = reason != self.error
        self.error = reason
        self.write_state(self.status)
        self.router.set_available(False)
        if was_available or changed or first:
            # Logged once per change, not once per retry: an offline camera must not flood the log.
            _LOGGER.warning("%s unavailable: %s", self.entity_id, reason if err is None else err)

    async def _disconnect(self) -> None:
        if self._events_task is not None:
            await _cancel(self._events_task)
            self._events_task = None
        if self.pullpoint is not None:
            await self.pullpoint.unsubscribe()
        if self.notifications is not None:
            manager, self.notifications = self.notifications, None
            try:
                await asyncio.wait_for(manager.shutdown(), 5)
            except Exception as err:  # noqa: BLE001 - best effort on a camera that may be gone
                _LOGGER.debug("%s: notification unsubscribe failed: %s", self.entity_id, err)
        self._ptz = None
        cam, self.cam = self.cam, None
        if cam is not None:
            try:
                await cam.close()
            except Exception as err:  # noqa: BLE001 - closing sockets must not stop the reconnect loop
                _LOGGER.debug("%s: close failed: %s", self.entity_id, err)

    # -- connecting ----------------------------------------------------------------

    async def _connect(self) -> None:
        cfg = self.cfg
        t = cfg.timeout
        await self._disconnect()
        self.cam = cam = new_camera(cfg.host, cfg.port, cfg.username, cfg.password, nat=cfg.nat)
        # update_xaddrs first asks the camera's clock without credentials (adjust_time), so
        # WS-Security timestamps are right even when the camera's clock is not.
        await soap(cam.update_xaddrs, "connect", t)
        skew = cam.dt_diff.total_seconds() if cam.dt_diff is not None else None
        self.clock_skew = skew
        if skew is not None and abs(skew) >= CLOCK_SKEW_WARN:
            _LOGGER.warning(
                "%s: the camera's clock is %+.0f s off; compensating (set NTP on the camera)",
                self.entity_id,
                skew,
            )
        devicemgmt = await soap(cam.create_devicemgmt_service, "device service", t)
        info = await soap(devicemgmt.GetDeviceInformation, "GetDeviceInformation", t)
        self.info = {
            key: str(getattr(info, attr, "") or "")
            for key, attr in (
                ("manufacturer", "Manufacturer"),
                ("model", "Model"),
                ("firmware", "FirmwareVersion"),
                ("serial", "SerialNumber"),
            )
        }
        media = await soap(cam.create_media_service, "media service", t)
        profiles = await soap(media.GetProfiles, "GetProfiles", t)
        profile = choose_profile(list(profiles or []), cfg.profile)
        token = str(profile.token)
        self.profile_token = token
        self._stream_uri = cfg.stream_url or await self._get_stream_uri(media, token)
        sub = None if cfg.sub_stream_url else choose_sub_profile(list(profiles or []), token, cfg.sub_profile)
        self._sub_stream_uri = cfg.sub_stream_url or (
            await self._get_stream_uri(media, str(sub.token)) if sub is not None else None
        )
        self.snapshot_uri = cfg.snapshot_url or await self._get_snapshot_uri(token)
        await self._connect_ptz(profile, token)

    async def _get_stream_uri(self, media: Any, token: str) -> str | None:
        request = {
            "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
            "ProfileToken": token,
        }
        try:
            reply = await soap(lambda: media.GetStreamUri(request), "GetStreamUri", self.cfg.timeout)
        except (OnvifUnsupported, OnvifMalformed) as err:
            _LOGGER.warning("%s: no stream URI: %s", self.entity_id, err)
            return None
        uri = getattr(reply, "Uri", None)
        if not uri:
            return None
        if self.cfg.nat:
            # The library rewrites HTTP addresses for NAT but not RTSP ones.
            from yarl import URL

            uri = str(URL(str(uri)).with_host(self.cfg.host))
        return str(uri)

    async def _get_snapshot_uri(self, token: str) -> str | None:
        try:
            uri = await soap(lambda: self.cam.get_snapshot_uri(token), "GetSnapshotUri", self.cfg.timeout)
        except (OnvifUnsupported, OnvifMalformed) as err:
            _LOGGER.info("%s: no snapshot URI (%s); snapshots will come from the stream", self.entity_id, err)
            return None
        return str(uri) if uri else None

    async def _connect_ptz(self, profile: Any, token: str) -> None:
        self._presets, self.presets_error = [], None
        if PTZ_NAMESPACE not in self.cam.xaddrs or getattr(profile, "PTZConfiguration", None) is None:
            return
        t = self.cfg.timeout
        try:
            self._ptz = await soap(self.cam.create_ptz_service, "PTZ service", t)
        except OnvifError as err:
            _LOGGER.info("%s: PTZ advertised but unusable: %s", self.entity_id, err)
            return
        try:
            presets = await soap(lambda: self._ptz.GetPresets({"ProfileToken": token}), "GetPresets", t)
        except OnvifAuthError:
            raise
        except OnvifError as err:
            # Cheap firmware often breaks this reply; GotoPreset by token still works.
            self.presets_error = f"the camera's preset list is unreadable: {err}"
            _LOGGER.warning("%s: %s", self.entity_id, self.presets_error)
            return
        for preset in presets or []:
            tok = getattr(preset, "token", None)
            if tok is None:
                continue
            self._presets.append(PtzPreset(str(tok), str(getattr(preset, "Name", None) or tok)))

    async def _run_events(self) -> None:
        if self.cfg.events == "webhook" and await self._start_webhook():
            return
        if not self._has_events():
            self._no_events()
            return
        self.pullpoint = PullPoint(self, self.router, pull_timeout=self.pull_timeout)
        self.events_status = "pullpoint"
        self.write_state(self.status)
        await self.pullpoint.run()
        if self.pullpoint.status == "unsupported":
            self._no_events()

    def _no_events(self) -> None:
        self.events_status = "unsupported"
        self.write_state(self.status)
        self.router.set_available(False)

    def _has_events(self) -> bool:
        return self.cam is not None and EVENTS_NAMESPACE in self.cam.xaddrs

    async def _start_webhook(self) -> bool:
        """Subscribe the camera to post events to the hub; return False to fall back to PullPoint."""
        import datetime as dt

        from integrations.onvif.const import SUBSCRIPTION_SECONDS
        from integrations.onvif.webhook import consumer_url

        if not self._has_events() or self.webhook_token is None:
            return False
        address = consumer_url(self.hub, self.cfg, self.webhook_token)
        try:
            self.notifications = await soap(
                lambda: self.cam.create_notification_manager(
                    address, dt.timedelta(seconds=SUBSCRIPTION_SECONDS), self._notifications_lost
                ),
                "Subscribe",
                self.cfg.timeout,
            )
        except OnvifError as err:
            _LOGGER.warning("%s: webhook subscription refused (%s); using PullPoint", self.entity_id, err)
            return False
        self.events_status = "webhook"
        self.write_state(self.status)
        return True

    def _notifications_lost(self) -> None:
        _LOGGER.warning(
            "%s: the camera's webhook subscription lapsed; the library re-subscribes", self.entity_id
        )

    # -- entity -------------------------------------------------------------------------

    def extra_attributes(self) -> Mapping[str, Any]:
        """Add connection facts (never credentials or URIs: viewers can read states)."""
        attrs = dict(super().extra_attributes())
        if self.info.get("model"):
            attrs["manufacturer"], attrs["model"] = self.info.get("manufacturer", ""), self.info["model"]
        attrs["events"] = self.events_status
        if self.retry_at is not None:
            attrs["retry_at"] = round(self.retry_at)
        if self.clock_skew is not None and abs(self.clock_skew) >= CLOCK_SKEW_WARN:
            attrs["clock_skew_s"] = round(self.clock_skew)
        return attrs

    def stream_uri(self) -> str | None:
        """Return the RTSP URI without credentials (hand it out only through the share policy)."""
        return self._stream_uri

    def stream_source(self, profile: str = "main") -> str | None:
        """Return the main or sub stream's address with the camera's credentials (for the hub's ffmpeg only)."""
        uri = (self._stream_uri or self.cfg.stream_url) if profile == "main" else self._sub_stream_uri
        if not uri:
            return None
        return with_credentials(uri, self.cfg.username, self.cfg.password)

    def device_info(self) -> Mapping[str, str]:
        """Return make, model, firmware and connection facts for the camera page."""
        out = {k.capitalize(): v for k, v in self.info.items() if v}
        if self.profile_token:
            out["Profile"] = self.profile_token
        out["Events"] = self.events_status
        if self.snapshot_auth:
            out["Snapshot auth"] = self.snapshot_auth
        if self.clock_skew is not None:
            out["Clock offset"] = f"{self.clock_skew:+.0f} s"
        if self.retry_at is not None:
            import datetime as dt

            out["Next try"] = dt.datetime.fromtimestamp(self.retry_at, self.hub.clock.tz).strftime("%H:%M:%S")
        return out

    def sensor_ids(self) -> list[str]:
        """Return this camera's event sensors."""
        return [s.entity_id for s in self.router.sensors.values()]

    # -- snapshots ------------------------------------------------------------------------

    async def fetch_snapshot(self) -> bytes:
        """Return a JPEG from the snapshot URI, or one frame of the stream when there is none."""
        cfg = self.cfg
        url = self.snapshot_uri or cfg.snapshot_url
        if url:
            from yarl import URL

            plain = str(URL(url).with_user(None))
            data, mode = await fetch_http(
                self.session, plain, cfg.username, cfg.password, known=self.snapshot_auth, limit=cfg.timeout
            )
            if mode != self.snapshot_auth:
                self.snapshot_auth = mode
                if self.on_snapshot_auth is not None:
                    await self.on_snapshot_auth(self, mode)
            return data
        stream = self._stream_uri or cfg.stream_url
        if stream and self.frame_grabber is not None:
            frame = await self.frame_grabber()  # the hub's running restream: no second RTSP session
            if frame is not None:
                return frame
        if stream:
            return await grab_rtsp_frame(
                with_credentials(stream, cfg.username, cfg.password), limit=max(cfg.timeout, 15.0)
            )
        if not self.available:
            raise SnapshotError(f"{self.entity_id} is unavailable: {self.error}")
        raise SnapshotError(f"{self.entity_id} has neither a snapshot URL nor a stream")

    # -- PTZ ------------------------------------------------------------------------------

    @property
    def supports_ptz(self) -> bool:
        """Return whether a PTZ service was found for the profile."""
        return self._ptz is not None

    async def ptz_presets(self) -> list[PtzPreset]:
        """Return the presets read at connect time."""
        if self.presets_error and not self._presets:
            raise PtzError(self.presets_error)
        return list(self._presets)

    def _resolve(self, preset: str) -> PtzPreset:
        for p in self._presets:
            if p.token == preset:
                return p
        wanted = preset.casefold()
        for p in self._presets:
            if p.name.casefold() == wanted:
                return p
        if self._presets:
            known = ", ".join(f"{p.name} ({p.token})" for p in self._presets)
            raise PtzError(f"{self.entity_id} has no preset {preset!r}; it has: {known}")
        # Presets unknown (unreadable list): trust the caller's token.
        return PtzPreset(preset, preset)

    async def _ptz_call(self, what: str, request: dict[str, Any]) -> None:
        ptz = self._ptz
        if ptz is None or not self.available:
            raise PtzError(
                f"{self.entity_id}: no pan/tilt/zoom"
                if self.available
                else f"{self.entity_id} is unavailable: {self.error}"
            )
        body = {"ProfileToken": self.profile_token, **request}
        try:
            await soap(lambda: getattr(ptz, what)(body), what, self.cfg.timeout)
        except OnvifError as err:
            raise PtzError(f"{self.entity_id}: {err}") from err

    async def goto_preset(self, preset: str) -> PtzPreset:
        """Move to a preset by token or name."""
        chosen = self._resolve(preset)
        await self._ptz_call("GotoPreset", {"PresetToken": chosen.token})
        return chosen

    async def ptz_move(self, pan: float, tilt: float, zoom: float, *, mode: str = "continuous") -> None:
        """ContinuousMove (velocities), RelativeMove (offsets) or AbsoluteMove (position)."""
        vector = {"PanTilt": {"x": pan, "y": tilt}, "Zoom": {"x": zoom}}
        if mode == "continuous":
            await self._ptz_call("ContinuousMove", {"Velocity": vector})
        elif mode == "relative":
            await self._ptz_call("RelativeMove", {"Translation": vector})
        elif mode == "absolute":
            await self._ptz_call("AbsoluteMove", {"Position": vector})
        else:
            raise PtzError(f"unknown PTZ mode {mode!r}")

    async def ptz_stop(self) -> None:
        """Stop pan, tilt and zoom."""
        await self._ptz_call("Stop", {"PanTilt": True, "Zoom": True})


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it, cancelling again if a cancellation gets lost.

    Python 3.11's ``asyncio.wait_for`` drops a cancellation that arrives just
    as the call it guards finishes; a single ``cancel()`` can then leave a
    camera loop running (and hub shutdown waiting on it).
    """
    for _ in range(20):
        if task.done():
            break
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: a failure here was already logged by the loop itself


#: Jittered so a site's cameras, offline together after a power cut, don't retry in step.
_BACKOFF = Backoff(BACKOFF_FIRST, BACKOFF_MAX, jitter=(0.8, 1.2))


def _backoff(failures: int) -> float:
    """Return the wait before reconnect attempt ``failures + 1``."""
    return _BACKOFF.delay(failures)
