"""The hub's side of live video at the station: check the owner's policy, dial out, push, stop on time.

The station asks with the federation command ``camera.live`` (an officer
holds a reasoned view grant there).  The hub decides, as for every image,
with :func:`integrations.camera.policy.may_share` (``always``; ``on_alarm``
inside its window; ``registry`` and ``never`` refused, the reason sent back
in the command's answer).  Then it **dials out**: a WebSocket to the
station's web server (``federation.station_url`` + ``/api/ccoc/live/uplink``),
authenticated with the hub's own broker account and naming the stream id the
station issued, so the hub never opens a port and the station accepts only
the stream it asked for.  Each message is one init segment or one fragment
of the camera's restream (``video`` integration); JSON text messages carry
the camera's status (online, fps, bitrate), so the console says "camera
offline" while the restream reconnects by itself.

The stream ends when the station closes it (the last viewer left, the grant
expired), when the owner's ``on_alarm`` window closes (checked twice a
second), or when the camera is removed.  Start and stop are audited here
(``camera.stream``); the station's per-officer records arrive as
``audit.station_view`` mirrors and feed :meth:`LiveUplinks.watching`, which
the owner's camera page shows ("officer X is watching camera Y for reason
Z").  A camera with ``notify_owner`` sends its owner a LINE message when
watching starts.

Video never starves the alarm path: all live uplinks share one token
bucket of ``video.uplink_kbps``; a fragment over budget is dropped and the
stream resumes at the next keyframe that fits, and for
``SOS_YIELD_SECONDS`` after an SOS the budget is cut to a quarter so the
incident, its pictures and the federation queue go first.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.core.bus import Event
from hub.keys import HubKey
from integrations.federation.const import ID_PATTERN, LIVE_UPLINK_PATH
from integrations.video.mp4 import Fragment

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.camera.entity import CameraEntity
    from integrations.federation.config import FederationConfig
    from integrations.federation.protocol import CommandDoc

__all__ = (
    "LIVE_UPLINKS",
    "live_uplinks",
    "LiveUplinks",
    "LiveRefused",
    "TokenBucket",
    "Watcher",
    "SOS_YIELD_SECONDS",
)

_LOGGER = logging.getLogger(__name__)

LIVE_UPLINKS: HubKey[LiveUplinks] = HubKey("video_live_uplinks")
#: After an SOS the video budget is cut to a quarter for this long.
SOS_YIELD_SECONDS = 30.0
#: An owner is told once per officer and camera within this many seconds.
NOTIFY_COALESCE_SECONDS = 600.0
#: Fired on the hub's bus when who is watching a camera changes (the camera page follows it).
EVENT_WATCHERS = "camera_live_watchers"
_GUARD_TICK = 0.5
_STATUS_EVERY = 1.0


class LiveRefused(Exception):
    """The hub will not stream this camera to the station (policy, no such camera, not set up)."""


class _LiveData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str = Field(min_length=1, max_length=200)
    stream_id: str = Field(pattern=ID_PATTERN)
    profile: Literal["sub", "main"] = "sub"
    view_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=1000)
    incident_id: str | None = Field(default=None, max_length=64)


@dataclass
class Watcher:
    """One officer watching one camera from the station."""

    officer: str
    reason: str
    since: float
    view_id: str
    incident_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the camera page's form."""
        return {
            "officer": self.officer,
            "reason": self.reason,
            "since": self.since,
            "view_id": self.view_id,
            "incident_id": self.incident_id,
        }


class TokenBucket:
    """The hub's video upload budget, shared by every live uplink (monotonic time)."""

    def __init__(
        self, kbps: float, burst_seconds: float = 2.0, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = kbps * 1000 / 8
        self.burst = self.rate * burst_seconds
        self.tokens = self.burst
        self._now = now
        self._last = now()
        self.slow_until = 0.0
        self.dropped = 0

    def _refill(self) -> None:
        now = self._now()
        rate = self.rate / 4 if now < self.slow_until else self.rate
        self.tokens = min(self.burst, self.tokens + (now - self._last) * rate)
        self._last = now

    def take(self, size: int, keyframe: bool) -> bool:
        """Spend ``size`` bytes if the budget allows; a keyframe may borrow (it must get through)."""
        self._refill()
        if self.tokens >= size or (keyframe and self.tokens > 0):
            self.tokens -= size
            return True
        self.dropped += 1
        return False

    def yield_to_sos(self, seconds: float = SOS_YIELD_SECONDS) -> None:
        """Cut the budget to a quarter for a while (an SOS is being sent)."""
        self.slow_until = self._now() + seconds


def live_uplinks(hub: Hub, cfg: FederationConfig) -> LiveUplinks:
    """Return the hub's live uplinks (made on first use: most hubs never stream)."""
    uplinks = hub.data.get(LIVE_UPLINKS)
    if uplinks is None:
        uplinks = LiveUplinks(hub, cfg)
        hub.data[LIVE_UPLINKS] = uplinks
    return uplinks


class LiveUplinks:
    """Every live stream this hub is pushing to its station, and who is watching."""

    def __init__(self, hub: Hub, cfg: FederationConfig) -> None:
        self.hub = hub
        self.cfg = cfg
        self.active: dict[str, _Uplink] = {}
        self.watchers: dict[str, dict[str, Watcher]] = {}
        self._stopped: dict[str, float] = {}
        self._notified: dict[tuple[str, str], float] = {}
        self.bucket = TokenBucket(_uplink_kbps(hub))
        self._unsubs = [
            hub.bus.listen("sos_pressed", self._on_sos),
            hub.bus.listen("incident_opened", self._on_incident),
        ]

    def _on_sos(self, event: Event) -> None:
        self.bucket.yield_to_sos()

    def _on_incident(self, event: Event) -> None:
        if (event.data.get("incident") or {}).get("kind") in ("sos", "alarm"):
            self.bucket.yield_to_sos()

    async def close(self) -> None:
        """End every uplink (the hub is stopping)."""
        for unsub in self._unsubs:
            unsub()
        for uplink in list(self.active.values()):
            uplink.stop("hub_stopping")
        for uplink in list(self.active.values()):
            if uplink.task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(uplink.task, 3)

    # -- starting --------------------------------------------------------------------------------

    async def start(self, cmd: CommandDoc) -> dict[str, Any]:
        """Check the command and the owner's policy, then dial out; raise LiveRefused saying why not."""
        from integrations.camera.entity import CameraEntity
        from integrations.camera.policy import Party, audit_handout, may_share

        try:
            data = _LiveData.model_validate(cmd.data)
        except ValidationError as err:
            first = err.errors()[0]
            raise LiveRefused(
                f"bad_request: {'.'.join(str(p) for p in first['loc']) or 'data'}: {first['msg']}"
            ) from err
        try:
            camera = self.hub.entities.get(data.entity_id, CameraEntity)
        except LookupError as err:
            raise LiveRefused(f"no_camera: no camera {data.entity_id}") from err
        if camera.share == "never":
            raise LiveRefused(f"no_camera: no camera {data.entity_id}")  # the station is not told it exists
        officer = cmd.by.name or cmd.by.user
        party = Party.station(self.cfg.station, cmd.by.user)
        decision = may_share(self.hub, camera, party, "live")
        detail = {
            "phase": "request",
            "stream_id": data.stream_id,
            "profile": data.profile,
            "reason_given": data.reason,
            "officer": officer,
            "view_id": data.view_id,
            "incident_id": data.incident_id,
        }
        if not decision:
            await audit_handout(self.hub, camera, party, decision, "stream", detail=detail)
            raise LiveRefused(f"{decision.reason}: {decision.text('en')}")
        if not self.cfg.station_url:
            raise LiveRefused("no_station_url: federation.station_url is not set on this hub")
        restream = _restream(self.hub, camera, data.profile)
        if restream is None:
            raise LiveRefused(f"no_video_source: {data.entity_id} has no video stream set up on this hub")
        if data.stream_id in self.active:
            raise LiveRefused("bad_request: this stream is already running")
        await audit_handout(self.hub, camera, party, decision, "stream", detail=detail)
        uplink = _Uplink(self, camera, data, officer, restream)
        self.active[data.stream_id] = uplink
        uplink.task = self.hub.create_background_task(uplink.run(), f"live uplink {data.entity_id}")
        return {"stream_id": data.stream_id, "profile": data.profile, "state": "dialing"}

    # -- who is watching -------------------------------------------------------------------------

    def watching(self, entity_id: str | None = None) -> list[dict[str, Any]]:
        """Return who is watching (one camera, or all), oldest first."""
        # Only while video is leaving the hub for that camera: a mirror that arrives late cannot
        # show someone watching a camera nobody streams.
        items = [
            {"entity_id": eid, **w.as_dict()}
            for eid, table in self.watchers.items()
            if (entity_id is None or eid == entity_id) and self.streaming(eid)
            for w in table.values()
        ]
        return sorted(items, key=lambda i: float(i["since"]))

    def station_view(
        self,
        entity_id: str,
        *,
        officer: str,
        reason: str,
        view_id: str,
        viewer_id: str,
        incident_id: str | None,
        phase: str | None,
        at: float,
    ) -> None:
        """Follow the station's mirror of one officer's player starting or stopping."""
        key = viewer_id or view_id or officer
        if phase == "start":
            if key in self._stopped:
                return  # its stop overtook it (commands are handled concurrently)
            self.watchers.setdefault(entity_id, {})[key] = Watcher(officer, reason, at, view_id, incident_id)
            if self.streaming(entity_id):
                # Only once video really leaves the hub (a refused request tells the owner nothing).
                self._notify_owner(entity_id, officer, reason, at)
        elif phase == "stop":
            table = self.watchers.get(entity_id) or {}
            if table.pop(key, None) is None:
                self._stopped[key] = at
                if len(self._stopped) > 1000:
                    self._stopped.pop(next(iter(self._stopped)))
            if not table:
                self.watchers.pop(entity_id, None)
        else:
            return
        self._changed(entity_id)

    def streaming(self, entity_id: str) -> bool:
        """Return whether video of this camera is leaving the hub now."""
        return any(u.connected and u.camera.entity_id == entity_id for u in self.active.values())

    def _connected(self, entity_id: str) -> None:
        """An uplink is up: the officers already recorded as watching are told to the owner now."""
        for watcher in list((self.watchers.get(entity_id) or {}).values()):
            self._notify_owner(entity_id, watcher.officer, watcher.reason, self.hub.clock.time())
        self._changed(entity_id)

    def _notify_owner(self, entity_id: str, officer: str, reason: str, at: float) -> None:
        """Tell the owner on LINE (``notify_owner``), once per officer and camera per 10 minutes."""
        from integrations.camera.entity import CameraEntity

        try:
            camera = self.hub.entities.get(entity_id, CameraEntity)
        except LookupError:
            return
        target = camera.notify_owner
        if not target or not self.hub.services.has("line", "send"):
            return
        last = self._notified.get((entity_id, officer))
        if last is not None and at - last < NOTIFY_COALESCE_SECONDS:
            return
        self._notified[(entity_id, officer)] = at
        station = self.cfg.station
        text = (
            f"📹 เจ้าหน้าที่ {officer} จากสถานี {station} กำลังดูภาพสดจากกล้อง {camera.name} "
            f"เหตุผล: {reason or '-'}\n"
            f"Officer {officer} ({station}) is watching your camera {camera.name} live. Reason: {reason or '-'}"
        )
        self.hub.create_task(self._send_line(entity_id, target, text), "tell the camera owner on LINE")

    async def _send_line(self, entity_id: str, target: str, text: str) -> None:
        from hub.core.context import Context

        try:
            await self.hub.services.call(
                "line", "send", {"to": target, "message": text}, Context(origin="federation")
            )
        except Exception as err:  # noqa: BLE001 - a LINE outage must not touch the stream or the audit
            _LOGGER.warning("Live: could not tell the owner of %s on LINE: %s", entity_id, err)

    def _changed(self, entity_id: str) -> None:
        self.hub.bus.fire(EVENT_WATCHERS, {"entity_id": entity_id, "watchers": self.watching(entity_id)})

    def _ended(self, uplink: _Uplink) -> None:
        self.active.pop(uplink.data.stream_id, None)
        entity_id = uplink.camera.entity_id
        still = any(u.camera.entity_id == entity_id for u in self.active.values())
        if not still and self.watchers.pop(entity_id, None) is not None:
            self._changed(entity_id)

    def stats(self) -> list[dict[str, Any]]:
        """Return each running uplink's figures (the hub's status page and health)."""
        return [u.stats() for u in self.active.values()]


class _Uplink:
    """One camera's stream to the station."""

    def __init__(
        self, owner: LiveUplinks, camera: CameraEntity, data: _LiveData, officer: str, restream: Any
    ) -> None:
        self.owner = owner
        self.hub = owner.hub
        self.camera = camera
        self.data = data
        self.officer = officer
        self.restream = restream
        self.task: asyncio.Task[Any] | None = None
        self.why: str | None = None
        self.connected = False
        self.started = self.hub.clock.time()
        self.sent_bytes = 0
        self.sent_fragments = 0
        self.dropped = 0
        self._stop = asyncio.Event()
        self._recent: list[tuple[float, int]] = []

    def stop(self, why: str) -> None:
        """Ask the uplink to end (it closes the WebSocket and audits)."""
        if self.why is None:
            self.why = why
        self._stop.set()

    def stats(self) -> dict[str, Any]:
        """Return this uplink's figures."""
        now = time.monotonic()
        recent = [(t, n) for t, n in self._recent if now - t <= 5]
        kbps = round(sum(n for _t, n in recent) * 8 / 5 / 1000, 1) if recent else 0.0
        return {
            "entity_id": self.camera.entity_id,
            # What is really sent: a camera without a substream is sent at its main profile.
            "profile": getattr(self.restream, "profile", self.data.profile),
            "stream_id": self.data.stream_id,
            "since": self.started,
            "kbps": kbps,
            "fragments": self.sent_fragments,
            "dropped": self.dropped,
        }

    def _url(self) -> str:
        from urllib.parse import urlencode

        base = str(self.owner.cfg.station_url).rstrip("/")
        query = urlencode({"stream": self.data.stream_id, "camera": self.camera.entity_id})
        return f"{base}{LIVE_UPLINK_PATH}?{query}"

    def _ssl(self) -> ssl.SSLContext | bool:
        cfg = self.owner.cfg
        if not str(cfg.station_url).startswith("https://"):
            return False
        context = ssl.create_default_context()
        if cfg.ca_file:
            path = Path(cfg.ca_file)
            context.load_verify_locations(str(path if path.is_absolute() else self.hub.config_dir / path))
        return context

    async def run(self) -> None:
        """Dial out, push until told to stop, audit the end."""
        from integrations.camera.policy import Party

        cfg = self.owner.cfg
        credential = base64.b64encode(f"{cfg.username or self.hub.id}:{cfg.password or ''}".encode()).decode()
        party = Party.station(cfg.station, self.officer)
        connected = False
        try:
            timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_connect=10)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.ws_connect(
                    self._url(),
                    headers={"Authorization": f"Basic {credential}"},
                    heartbeat=15,
                    ssl=self._ssl(),
                    max_msg_size=4 * 1024 * 1024,
                    compress=0,
                ) as ws,
            ):
                connected = self.connected = True
                await self._audit(party, "start")
                self.owner._connected(self.camera.entity_id)
                await self._serve(ws, party)
                if not ws.closed:
                    await ws.send_str(json.dumps({"type": "end", "reason": self.why or "ended"}))
                    await ws.close()
                elif self.why is None:
                    self.why = "station_closed"
        except aiohttp.WSServerHandshakeError as err:
            self.why = f"station_refused: HTTP {err.status}"
            _LOGGER.warning(
                "Live: the station refused the uplink for %s: %s", self.camera.entity_id, err.status
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            self.why = self.why or f"station_unreachable: {type(err).__name__}"
            _LOGGER.warning("Live: could not reach the station for %s: %s", self.camera.entity_id, err)
        except asyncio.CancelledError:
            self.why = self.why or "hub_stopping"
            raise
        finally:
            self.owner._ended(self)
            if connected:
                with contextlib.suppress(Exception):
                    await self._audit(party, "stop")
            else:
                with contextlib.suppress(Exception):
                    await self._audit(party, "failed")

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse, party: Any) -> None:
        sub = self.restream.subscribe()
        tasks = [
            asyncio.ensure_future(self._pump(ws, sub)),
            asyncio.ensure_future(self._guard(ws, party)),
            asyncio.ensure_future(self._listen(ws)),
            asyncio.ensure_future(self._stop.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sub.close()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse, sub: Any) -> None:
        bucket = self.owner.bucket
        need_key = False
        try:
            while True:
                item = await sub.next_item()
                data: bytes = item.data
                if not isinstance(item, Fragment):  # an init segment (first, or the camera came back)
                    need_key = False
                    await ws.send_bytes(data)
                    continue
                keyframe = item.keyframe
                if need_key and not keyframe:
                    self.dropped += 1
                    continue
                if not bucket.take(len(data), keyframe):
                    # Over the uplink budget: skip to the next keyframe rather than fall behind.
                    self.dropped += 1
                    need_key = True
                    continue
                need_key = False
                await ws.send_bytes(data)
                self.sent_bytes += len(data)
                self.sent_fragments += 1
                now = time.monotonic()
                self._recent.append((now, len(data)))
                if len(self._recent) > 200:
                    self._recent = [(t, n) for t, n in self._recent if now - t <= 5]
        except StopAsyncIteration:
            self.why = self.why or "stream_closed"
        except (ConnectionResetError, aiohttp.ClientError):
            self.why = self.why or "station_closed"

    async def _guard(self, ws: aiohttp.ClientWebSocketResponse, party: Any) -> None:
        """End the stream when the owner's window closes or the camera goes; report its status."""
        from integrations.camera.entity import CameraEntity
        from integrations.camera.policy import may_share

        last_sent = 0.0
        last_status: dict[str, Any] | None = None
        while True:
            try:
                camera = self.hub.entities.get(self.camera.entity_id, CameraEntity)
            except LookupError:
                self.why = "no_camera: the camera was removed"
                return
            decision = may_share(self.hub, camera, party, "live")
            if not decision:
                self.why = f"window_closed: {decision.reason}"
                return
            status = self._status()
            now = time.monotonic()
            if status != last_status or now - last_sent >= 5 * _STATUS_EVERY:
                with contextlib.suppress(ConnectionResetError, aiohttp.ClientError):
                    await ws.send_str(json.dumps({"type": "status", **status}))
                last_status, last_sent = status, now
            await asyncio.sleep(_GUARD_TICK)

    def _status(self) -> dict[str, Any]:
        status = getattr(self.restream, "status", None)
        if status is None:
            return {"online": True}
        return {
            "online": bool(status.online),
            "reason": status.reason if not status.online else None,
            "fps": status.fps,
            "kbps": status.bitrate_kbps,
            "last_frame": status.last_frame,
            "width": status.width,
            "height": status.height,
        }

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
        extra = ws.close_code
        self.why = self.why or f"station_closed{f': {extra}' if extra else ''}"

    async def _audit(self, party: Any, phase: str) -> None:
        from integrations.camera.const import AUDIT_STREAM

        detail: dict[str, Any] = {
            "what": "live",
            "phase": phase,
            "stream_id": self.data.stream_id,
            "profile": self.data.profile,
            "officer": self.officer,
            "reason_given": self.data.reason,
            "view_id": self.data.view_id,
            "incident_id": self.data.incident_id,
        }
        if phase != "start":
            detail.update(
                seconds=round(self.hub.clock.time() - self.started, 1),
                bytes=self.sent_bytes,
                fragments=self.sent_fragments,
                dropped=self.dropped,
                why=self.why,
            )
        await self.hub.audit.log_done(
            party.name,
            AUDIT_STREAM,
            self.camera.entity_id,
            role=party.audit_role,
            detail=detail,
            source=party.audit_source,
            result="ok" if phase != "failed" else "error",
        )


def _uplink_kbps(hub: Hub) -> float:
    from integrations.video.const import RUNTIME

    runtime = hub.data.get(RUNTIME)
    return float(runtime.config.uplink_kbps) if runtime is not None else 2000.0


def _restream(hub: Hub, camera: CameraEntity, profile: str) -> Any:
    """Return the camera's restream for ``profile``, or None when the hub has no video for it.

    A camera without a substream is sent at its main profile: the uplink cap
    still bounds what it costs the shop's line.
    """
    from integrations.video.const import RUNTIME

    runtime = hub.data.get(RUNTIME)
    if runtime is None:
        return None
    chosen: Literal["main", "sub"] = "sub" if profile == "sub" else "main"
    if chosen == "sub" and camera.stream_source("sub") is None:
        chosen = "main"
    if camera.stream_source(chosen) is None:
        return None
    return runtime.restream(camera.entity_id, chosen)
