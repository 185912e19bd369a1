"""Live video at the station (DESIGN §12): one upstream per camera, relayed to every officer with a grant.

The hub sits behind the shop's router and opens no port.  When an officer
with a reasoned view grant (``POST /api/ccoc/views``) starts playing its
``live_url``, the station sends the hub ``camera.live`` over federation with
a fresh stream id.  The hub checks the owner's policy (refusing with the
reason) and **dials out** to :data:`LIVE_UPLINK_PATH` on this web server, a
WebSocket authenticated with the hub's own broker credential and bound to
that stream id: the station accepts it once, from that hub, for that camera.
The hub then pushes fragmented MP4, one init segment or fragment per
message (:mod:`integrations.video.fragments` checks each).

Every viewer of the same camera and profile shares the one upstream: a
viewer that joins late gets the init segment and the fragments since the
last keyframe (so the picture starts at once; the player then catches up to
the live edge), or, when that GOP is too long to keep, starts at the next
keyframe; one that cannot keep up skips to the next keyframe rather than
slowing the others.  The upstream ends within a second of the last viewer
leaving, and each viewer's stream ends within a second of its grant
expiring (the watchdog runs four times a second).  A camera that stops
sending is shown as offline within ``stall_seconds`` and resumes by itself
when the hub's restream does.

Each viewer's start and stop is written to the station's audit log
(``station.camera.live``) and mirrored to the owner's hub
(``audit.station_view`` with ``what: live``), whose camera page shows who is
watching and why.

A station with several workers keeps all of this per camera, not per
worker: the hub's uplink and the officers of other workers reach the
worker holding the upstream through :mod:`integrations.ccoc.live_peers`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import WSMsgType, web

from hub.core.bus import Event
from hub.core.ids import ulid
from hub.keys import HubKey
from integrations.ccoc.delivery import ConsoleError
from integrations.federation.const import LIVE_COMMAND, STATION_VIEW_COMMAND
from integrations.federation.protocol import ID_RE, NAME_RE
from integrations.station.const import EVENT_COMMAND_RESULT, EVENT_PEER_COMMAND
from integrations.video.mp4 import MAX_BOX, BoxError, TrackInfo, iter_boxes, parse_fragment, parse_init

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.ccoc.service import Console

__all__ = ("LIVE", "LiveRelay", "Viewer", "AUDIT_LIVE", "PROFILES")

_LOGGER = logging.getLogger(__name__)

LIVE: HubKey[LiveRelay] = HubKey("station_live")
#: The station's audit action for live video (viewer start/stop, upstream start/stop, refused uplinks).
AUDIT_LIVE = "station.camera.live"
#: ``sub`` is the camera's low-resolution profile (the default over a shop's uplink); ``main`` on request.
PROFILES = ("sub", "main")
#: Fragments queued for one viewer before it is skipped to the next keyframe.
_VIEWER_QUEUE = 90
_TICK = 0.25
#: A refused uplink from the same address for the same reason is audited once per this many seconds.
_REFUSAL_COALESCE = 60.0
#: Largest GOP kept for viewers who join (bytes).
_GOP_BYTES = 8 * 1024 * 1024


@dataclass(eq=False)
class Viewer:
    """One officer's player attached to an upstream."""

    id: str
    view_id: str
    username: str
    role: str
    name: str
    reason: str
    incident_id: str | None
    expires: float
    ip: str
    started: float
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(_VIEWER_QUEUE))
    need_key: bool = True
    ended: str | None = None
    skipped: int = 0
    up: Upstream | None = None
    stopped: bool = False
    #: Another worker's follower of this upstream (its officers are audited there, not here).
    peer: bool = False


@dataclass(eq=False)
class Upstream:
    """One camera's stream from its hub, shared by every viewer."""

    hub_id: str
    entity_id: str
    profile: str
    stream_id: str
    created: float
    state: str = "starting"  # starting | live | offline | ended | refused | failed
    reason: str = ""
    command_id: str | None = None
    ws: web.WebSocketResponse | None = None
    init: bytes | None = None
    info: TrackInfo | None = None
    #: Fragments since the last keyframe: a viewer who joins starts there at once instead of
    #: waiting up to a whole GOP (a cheap camera sends a keyframe every few seconds or worse).
    gop: list[bytes] = field(default_factory=list)
    gop_bytes: int = 0
    viewers: dict[str, Viewer] = field(default_factory=dict)
    connected_at: float | None = None
    last_fragment: float | None = None
    #: Monotonic times for the watchdog: a stall is measured in real seconds, whatever the hub clock says.
    created_mono: float = field(default_factory=time.monotonic)
    last_fragment_mono: float | None = None
    fragments: int = 0
    bytes_in: int = 0
    hub_status: dict[str, Any] = field(default_factory=dict)
    #: Why the hub ended the stream, when it said so before closing.
    end_reason: str = ""
    #: (monotonic time, bytes) of recent fragments, for the bitrate shown on the console.
    recent: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=400))
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: Several workers: the connection to the worker that owns this upstream, when this is a copy.
    owner_ws: aiohttp.ClientWebSocketResponse | None = None
    #: Whether this worker claimed the camera in the registry (and releases it at the end).
    claimed: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.hub_id, self.entity_id, self.profile)

    def kbps(self) -> float | None:
        """Return the received bitrate over the last few seconds (kbit/s)."""
        now = time.monotonic()
        window = [(t, n) for t, n in self.recent if now - t <= 5.0]
        if len(window) < 2:
            return None
        span = max(now - window[0][0], 1.0)
        return round(sum(n for _t, n in window) * 8 / span / 1000, 1)


class LiveRelay:
    """Starts upstreams on demand, relays them to viewers, and ends them on time."""

    def __init__(self, hub: Hub, console: Console) -> None:
        self.hub = hub
        self.console = console
        self.station = console.station
        self.cfg = console.cfg.live
        self.streams: dict[tuple[str, str, str], Upstream] = {}
        self.by_id: dict[str, Upstream] = {}
        #: The last end of each (hub, camera, profile): shown to a player that asks after it.
        self.last_end: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._unsubs: list[Any] = []
        self._task: asyncio.Task[Any] | None = None
        self.refused_uplinks = 0
        self._refusals: dict[tuple[str, str], float] = {}
        #: Several workers (PostgreSQL): the hub's uplink may land on another worker, which relays
        #: it here (integrations.ccoc.live_peers); None on a single station.
        self.workers = self.station.workers
        #: Uplinks this worker relays to the worker that owns them (closed first when stopping).
        self.relaying: set[aiohttp.ClientWebSocketResponse] = set()
        #: Copies of other workers' upstreams being read (integrations.ccoc.live_peers.follow).
        self._following: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Follow command answers (stored here or by another worker) and start the watchdog."""
        self._unsubs = [
            self.hub.bus.listen(EVENT_COMMAND_RESULT, self._on_result),
            self.hub.bus.listen(EVENT_PEER_COMMAND, self._on_peer_result),
        ]
        self._task = self.hub.create_background_task(self._watchdog(), "live video watchdog")

    async def stop(self) -> None:
        """End every stream."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for up in list(self.streams.values()):
            await self._end(up, "ended", "station_stopping")
        from integrations.ccoc.live_peers import stop_relaying

        for peer in list(self.relaying):
            await stop_relaying(peer)
        for task in list(self._following):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 3)

    # -- viewers ---------------------------------------------------------------------------------

    async def attach(
        self, view_id: str, *, username: str, role: str, name: str, profile: str, ip: str
    ) -> Viewer:
        """Attach a viewer to the camera of its grant, starting the upstream if needed."""
        if profile not in PROFILES:
            raise ConsoleError(f"profile is one of {', '.join(PROFILES)}", 400)
        grant = await self.console.viewing.grant(view_id, username)
        now = self.hub.clock.time()
        viewer = Viewer(
            ulid(),
            view_id,
            username,
            role,
            name,
            grant.reason,
            grant.incident_id,
            grant.expires,
            ip,
            now,
        )
        key = (grant.hub_id, grant.entity_id, profile)
        up = self.streams.get(key)
        if up is not None and up.state in ("ended", "refused", "failed"):
            up = None
        if up is None:
            if sum(1 for u in self.streams.values()) >= self.cfg.max_streams:
                raise ConsoleError("too many live streams at this station now; try again shortly", 503)
            up = Upstream(grant.hub_id, grant.entity_id, profile, ulid(), now)
            self.streams[key] = up
            up.viewers[viewer.id] = viewer
            viewer.up = up
            if self.workers is not None and await self._follow_owner(up):
                # Another worker has this camera's upstream: its copy serves this officer.
                await self._audit_viewer(up, viewer, "start")
                return viewer
            self.by_id[up.stream_id] = up
            try:
                if self.workers is not None:
                    # Before the hub is asked: its uplink may land on another worker, which looks here.
                    await self.workers.claim("live", up.stream_id, grant.hub_id)
                record = await self.console.delivery.submit(
                    grant.hub_id,
                    LIVE_COMMAND,
                    {
                        "entity_id": grant.entity_id,
                        "stream_id": up.stream_id,
                        "profile": profile,
                        "view_id": view_id,
                        "reason": viewer.reason,
                        "incident_id": viewer.incident_id,
                    },
                    user=username,
                    role=role,
                    name=name,
                    incident_id=viewer.incident_id,
                    ip=ip,
                )
            except Exception as err:
                if not isinstance(err, ConsoleError):
                    # The registry is out of reach (the database went away): nothing was asked.
                    up.viewers.clear()
                    viewer.stopped = True
                    await self._end(up, "failed", f"not_sent: {err}")
                    raise ConsoleError(
                        "the request could not be sent to the hub", 503, code="not_sent"
                    ) from err
                up.viewers.clear()
                viewer.stopped = True  # never started: nothing to audit as a stop
                code = "hub_offline" if err.status == 409 else "not_sent"
                await self._end(up, "failed", f"{code}: {err}")
                err.extra.setdefault("code", code)
                raise
            up.command_id = str(record["id"])
        else:
            self.join(up, viewer)
        await self._audit_viewer(up, viewer, "start")
        return viewer

    def join(self, up: Upstream, viewer: Viewer) -> None:
        """Add a viewer to a running upstream: the init segment and the GOP so far, so it starts at once."""
        up.viewers[viewer.id] = viewer
        viewer.up = up
        if up.init is not None:
            viewer.queue.put_nowait(up.init)
            for fragment in up.gop[: _VIEWER_QUEUE - 1]:
                viewer.queue.put_nowait(fragment)
            viewer.need_key = not up.gop

    async def _follow_owner(self, up: Upstream) -> bool:
        """Several workers: claim the camera, or copy the upstream of the worker that has it; True if copied."""
        from integrations.ccoc.live_peers import follow

        assert self.workers is not None
        camera = _camera_key(up)
        for force in (False, True):
            try:
                owner = await self.workers.claim_first("live_camera", camera, up.hub_id, force=force)
            except Exception as err:  # noqa: BLE001 - the registry is away: this worker asks the hub itself
                _LOGGER.warning("Live: could not claim %s: %s", camera, err)
                return False
            if owner is None:
                up.claimed = True
                return False
            ws = await follow(self, up, owner)
            if ws is not None:
                task = self.hub.create_background_task(self._read_owner(up, ws), f"live copy of {camera}")
                self._following.add(task)
                task.add_done_callback(self._following.discard)
                return True
            # The owner just ended it, or cannot be reached: this worker takes the camera over.
        return False

    async def _read_owner(self, up: Upstream, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Feed a copy from its owner's messages until it ends; a lost owner ends it as worker_lost."""
        import json

        state, why = "ended", ""
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    problem = self._media(up, msg.data)
                    if problem is not None:
                        state, why = "failed", problem
                        break
                    continue
                if msg.type != WSMsgType.TEXT:
                    break
                with contextlib.suppress(ValueError, AttributeError):
                    doc = json.loads(msg.data)
                    if doc.get("type") == "status":
                        up.hub_status = dict(doc.get("camera") or {})
                    elif doc.get("type") == "end":
                        state = str(doc.get("state") or "ended")
                        why = str(doc.get("reason") or "ended")[:200]
                        break
        except Exception as err:  # noqa: BLE001 - whatever broke the connection, the viewers are told
            _LOGGER.warning("Live: lost the owner of stream %s: %s", up.stream_id, err)
        finally:
            if state not in ("ended", "refused", "failed"):
                state = "ended"
            await self._end(
                up, state, why or "worker_lost: the station worker that holds this stream stopped"
            )

    async def detach(self, viewer: Viewer, why: str) -> None:
        """Detach a viewer (it left, its grant expired, or the stream ended); audit and mirror once."""
        if viewer.ended is None:
            viewer.ended = why
        up = viewer.up
        if up is None or viewer.stopped:
            return
        viewer.stopped = True
        up.viewers.pop(viewer.id, None)
        if not viewer.peer:
            await self._audit_viewer(up, viewer, "stop", _code(viewer.ended))
        if not up.viewers and up.state not in ("ended", "refused", "failed"):
            # The last viewer left: the hub's uplink closes now, not at the next tick.
            await self._end(up, "ended", "no_viewers")

    async def first_unit(self, viewer: Viewer, within: float) -> bytes:
        """Wait for the init segment; raise ConsoleError with the reason if the stream never came."""
        try:
            item = await asyncio.wait_for(viewer.queue.get(), within)
        except TimeoutError as err:
            raise ConsoleError("the hub did not start the stream in time", 504, code="hub_timeout") from err
        if item is None:
            code, text = self._ended_reason(viewer)
            raise ConsoleError(text, 403 if code in _POLICY_CODES else 502, code=code)
        return item

    def _ended_reason(self, viewer: Viewer) -> tuple[str, str]:
        why = viewer.ended or "ended"
        code, _, text = why.partition(": ")
        return code, text or code

    def status(self, hub_id: str, entity_id: str, profile: str) -> dict[str, Any]:
        """Return what the console shows about a camera's live stream now."""
        up = self.streams.get((hub_id, entity_id, profile))
        if up is None:
            state, reason = self.last_end.get((hub_id, entity_id, profile), ("idle", ""))
            return {"state": state, "reason": reason, "profile": profile, "viewers": 0}
        return {
            "state": up.state,
            "reason": up.reason,
            "profile": up.profile,
            "stream_id": up.stream_id,
            "viewers": len(up.viewers),
            "codecs": up.info.codec if up.info else None,
            "last_fragment": up.last_fragment,
            "kbps": up.kbps(),
            "fps": up.hub_status.get("fps"),
            "camera": up.hub_status,
        }

    # -- the uplink from the hub -------------------------------------------------------------------

    def authenticate(self, request: web.Request) -> tuple[str, Upstream]:
        """Check the hub's credential and the stream it names; return (hub id, upstream) or raise."""
        user, password = self.hub_credential(request)
        # The stream is checked before the password: only a hub the station just asked for a
        # stream can make it run PBKDF2, so the public route is no lever for burning CPU.
        up = self.stream_for(user, request.query.get("stream", ""), request.query.get("camera", ""))
        if not self.password_ok(user, password):
            raise ConsoleError("wrong hub credentials", 401)
        return user, up

    def hub_credential(self, request: web.Request) -> tuple[str, str]:
        """Return (hub id, password) from the uplink's Basic header, for a hub registered here; else raise."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            raise ConsoleError("hub credentials required (Basic)", 401)
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            # Not chained: the decode error holds the header's bytes, the hub's broker password.
            raise ConsoleError("hub credentials are malformed", 401) from None
        if not NAME_RE.match(user) or user not in self.station.ingest.registered:
            raise ConsoleError("unknown hub", 401)
        return user, password

    def stream_for(self, user: str, stream_id: str, camera: str) -> Upstream:
        """Return the upstream this worker asked hub ``user`` for, waiting for its uplink; else raise 403."""
        up = self.by_id.get(stream_id) if ID_RE.match(stream_id) else None
        if up is None or up.hub_id != user:
            # Not a stream this station asked this hub for (or another hub's): refused, never relayed.
            raise ConsoleError("no such stream was asked of this hub", 403)
        if up.entity_id != camera:
            raise ConsoleError("this stream was asked for another camera", 403)
        if up.ws is not None or up.state != "starting":
            raise ConsoleError("this stream token was already used", 403)
        return up

    def password_ok(self, hub_id: str, password: str) -> bool:
        """Return whether ``password`` is the hub's broker password (PBKDF2: call after the cheap checks)."""
        from integrations.station.broker import BrokerFiles, read_passwd, verify_password

        config_dir = self.hub.config_dir
        files = BrokerFiles(self.station.cfg, config_dir)
        encoded = read_passwd(files.passwd).get(hub_id)
        return bool(password) and encoded is not None and verify_password(password, encoded)

    async def refuse_uplink(self, request: web.Request, err: ConsoleError) -> None:
        """Audit a refused uplink (wrong credential, foreign or reused stream token)."""
        self.refused_uplinks += 1
        key = (request.remote or "", str(err))
        now = time.monotonic()
        last = self._refusals.get(key)
        if last is not None and now - last < _REFUSAL_COALESCE:
            return  # the same caller knocking again: logged once a minute, not once a try
        self._refusals[key] = now
        if len(self._refusals) > 1000:
            self._refusals.clear()
        _LOGGER.warning("Live: refused an uplink from %s: %s", request.remote, err)
        await self.hub.audit.log(
            "hub:?",
            AUDIT_LIVE,
            f"uplink/{request.query.get('stream', '')[:64]}",
            role="hub",
            detail={"phase": "uplink", "error": str(err), "camera": request.query.get("camera", "")[:200]},
            source="federation",
            ip=request.remote or "",
            result="refused",
        )

    async def run_uplink(
        self, request: web.Request, hub_id: str, up: Upstream, *, via: tuple[str, str] | None = None
    ) -> web.WebSocketResponse:
        """Receive one hub's stream until either side ends it.

        ``via`` is (worker id, the hub's address) when another worker received
        the hub's connection and relays it here.
        """
        ws = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_BOX, compress=False)
        await ws.prepare(request)
        up.ws = ws
        up.connected_at = self.hub.clock.time()
        detail: dict[str, Any] = {"phase": "upstream_start", "stream_id": up.stream_id, "profile": up.profile}
        if via is not None:
            detail["via_worker"] = via[0]
        await self.hub.audit.log(
            f"hub:{hub_id}",
            AUDIT_LIVE,
            f"{hub_id}/{up.entity_id}",
            role="hub",
            detail=detail,
            source="federation",
            ip=(via[1] if via is not None else request.remote) or "",
        )
        why = "hub_closed"
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    problem = self._media(up, msg.data)
                    if problem is not None:
                        why = problem
                        break
                elif msg.type == WSMsgType.TEXT:
                    self._hub_message(up, msg.data)
                else:
                    break
            if up.state in ("ended", "refused", "failed"):
                why = up.reason
            elif up.end_reason:
                why = up.end_reason  # the hub said why it ended (the owner's window closed...)
            elif via is not None and ws.close_code != 1000:
                # The relaying worker went away mid-stream (no close from it, nor an end from the hub).
                why = "worker_lost: the station worker relaying this stream stopped"
        finally:
            if up.state not in ("ended", "refused", "failed"):
                final = "failed" if why.startswith("bad_media") or why.startswith("unsupported") else "ended"
                await self._end(up, final, why)
        return ws

    def _media(self, up: Upstream, data: bytes) -> str | None:
        """Check and relay one message from the hub; return why the stream must end, or None."""
        try:
            boxes: dict[bytes, tuple[int, int]] = {}
            pos = 0
            for kind, _body, end in iter_boxes(data):
                boxes.setdefault(kind, (pos, end))  # whole boxes: top-level boxes are contiguous
                pos = end
            if b"moov" in boxes:
                info = parse_init(data)
                if not info.is_h264:
                    return f"unsupported_codec: {info.codec}"
                up.init, up.info = data, info
                up.gop, up.gop_bytes = [], 0
                for viewer in up.viewers.values():
                    self._offer(viewer, data, init=True)
                return None
            if b"moof" not in boxes or b"mdat" not in boxes:
                return "bad_media: neither an init segment nor a fragment"
            if up.info is None:
                return "bad_media: a fragment before the init segment"
            moof, mdat = boxes[b"moof"], boxes[b"mdat"]
            keyframe = parse_fragment(data[moof[0] : moof[1]], data[mdat[0] : mdat[1]], up.info).keyframe
        except BoxError as err:
            return f"bad_media: {err}"
        now = self.hub.clock.time()
        up.fragments += 1
        up.bytes_in += len(data)
        up.last_fragment = now
        up.last_fragment_mono = time.monotonic()
        up.recent.append((up.last_fragment_mono, len(data)))
        if up.state != "live":
            up.state, up.reason = "live", ""
            up.changed.set()
        if keyframe:
            up.gop, up.gop_bytes = [data], len(data)
        elif up.gop:
            up.gop.append(data)
            up.gop_bytes += len(data)
            if up.gop_bytes > _GOP_BYTES or len(up.gop) >= _VIEWER_QUEUE - 1:
                up.gop, up.gop_bytes = [], 0  # too long a GOP to keep: joiners wait for the next keyframe
        for viewer in up.viewers.values():
            if viewer.need_key and not keyframe:
                continue
            self._offer(viewer, data)
        return None

    def _offer(self, viewer: Viewer, data: bytes, *, init: bool = False) -> None:
        if init:
            # A new init (the camera came back): start over at its next keyframe.
            _drain(viewer.queue)
            viewer.need_key = True
            viewer.queue.put_nowait(data)
            return
        try:
            viewer.queue.put_nowait(data)
            viewer.need_key = False
        except asyncio.QueueFull:
            # A slow player: keep the others going; this one skips to the next keyframe.  An init
            # segment it has not read yet stays (it gets no second one it would have to parse).
            viewer.skipped += 1
            up = viewer.up
            kept = [item for item in _drain(viewer.queue) if up is not None and item is up.init]
            for item in kept:
                viewer.queue.put_nowait(item)
            viewer.need_key = True

    def _hub_message(self, up: Upstream, text: str) -> None:
        import json

        try:
            msg = json.loads(text)
        except ValueError:
            return
        if not isinstance(msg, dict):
            return
        if msg.get("type") == "status":
            up.hub_status = {
                k: msg.get(k) for k in ("online", "reason", "fps", "kbps", "last_frame", "width", "height")
            }
            if msg.get("online") is False and up.state == "live":
                up.state, up.reason = "offline", str(msg.get("reason") or "camera_offline")[:200]
                up.changed.set()
        elif msg.get("type") == "end":
            up.end_reason = str(msg.get("reason") or "hub_ended")[:200]

    # -- ending ----------------------------------------------------------------------------------

    async def _end(self, up: Upstream, state: str, reason: str) -> None:
        if up.state in ("ended", "refused", "failed"):
            return
        up.state, up.reason = state, reason
        up.changed.set()
        if self.streams.get(up.key) is up:
            del self.streams[up.key]
        owned = self.by_id.pop(up.stream_id, None) is not None
        if self.workers is not None and (owned or up.claimed):
            try:
                if owned:
                    await self.workers.release("live", up.stream_id)
                if up.claimed:
                    await self.workers.release("live_camera", _camera_key(up))
            except Exception as err:  # noqa: BLE001 - a leftover claim is dropped when it is a day old
                _LOGGER.warning("Live: could not drop the claims of stream %s: %s", up.stream_id, err)
        if up.owner_ws is not None and not up.owner_ws.closed:
            with contextlib.suppress(Exception):
                await up.owner_ws.close()
        self.last_end[up.key] = (state, reason)
        if len(self.last_end) > 5000:
            self.last_end.clear()
        viewers = list(up.viewers.values())
        for viewer in viewers:
            viewer.ended = f"{_code(reason)}: {reason}" if ": " not in reason else reason
            _drain(viewer.queue)
            viewer.queue.put_nowait(None)
        if up.ws is not None and not up.ws.closed:
            with contextlib.suppress(Exception):
                await up.ws.close(code=1000, message=_code(reason).encode()[:120])
        if up.connected_at is not None:
            await self.hub.audit.log_done(
                f"hub:{up.hub_id}",
                AUDIT_LIVE,
                f"{up.hub_id}/{up.entity_id}",
                role="hub",
                detail={
                    "phase": "upstream_stop",
                    "stream_id": up.stream_id,
                    "reason": reason,
                    "seconds": round(self.hub.clock.time() - up.connected_at, 1),
                    "fragments": up.fragments,
                    "bytes": up.bytes_in,
                },
                source="federation",
            )

    async def _on_result(self, event: Event) -> None:
        data = event.data
        if data.get("command") != LIVE_COMMAND:
            return
        await self._hub_answered(
            str(data.get("command_id") or ""), str(data.get("status")), data.get("error")
        )

    async def _on_peer_result(self, event: Event) -> None:
        """The hub's answer landed on another worker: a refusal must still reach the viewers here."""
        command_id = str(event.data.get("command_id") or "")
        if not any(up.command_id == command_id for up in self.streams.values()):
            return
        record = await self.station.store.command(command_id)
        if record is not None and record.command == LIVE_COMMAND and record.status in ("refused", "error"):
            await self._hub_answered(command_id, record.status, record.error)

    async def _hub_answered(self, command_id: str, answer: str, hub_error: Any) -> None:
        for up in list(self.streams.values()):
            if up.command_id == command_id and answer != "ok":
                status = "refused" if answer == "refused" else "failed"
                error = str(hub_error or status)
                if not _CODED.match(error):
                    # Not the live path's own answer (e.g. the owner turned camera.live off in
                    # commands.allow): still a reason the console can say in Thai.
                    error = f"{'hub_refused' if status == 'refused' else 'hub_error'}: {error}"
                await self._end(up, status, error)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(_TICK)
            try:
                await self.tick()
            except Exception:
                _LOGGER.exception("Live: watchdog failed")

    async def tick(self) -> None:
        """End expired grants and streams that never connected; mark stalled cameras offline."""
        now = self.hub.clock.time()
        mono = time.monotonic()
        for up in list(self.streams.values()):
            for viewer in list(up.viewers.values()):
                if viewer.expires <= now:
                    viewer.ended = "grant_expired: the view has ended; open the camera again with a reason"
                    _drain(viewer.queue)
                    viewer.queue.put_nowait(None)
                    await self.detach(viewer, "grant_expired")
            if (
                up.state == "starting"
                and up.ws is None
                and up.owner_ws is None  # a copy: its owner times the hub out, and says so
                and mono - up.created_mono > self.cfg.connect_timeout
            ):
                await self._end(up, "failed", "hub_timeout: the hub did not connect")
            elif (
                up.state == "live"
                and up.last_fragment_mono is not None
                and mono - up.last_fragment_mono > self.cfg.stall_seconds
            ):
                up.state, up.reason = "offline", "no_video"
                up.changed.set()

    # -- audit -----------------------------------------------------------------------------------

    async def _audit_viewer(self, up: Upstream, viewer: Viewer, phase: str, why: str = "") -> None:
        now = self.hub.clock.time()
        detail: dict[str, Any] = {
            "phase": phase,
            "view_id": viewer.view_id,
            "hub_id": up.hub_id,
            "camera": up.entity_id,
            "profile": up.profile,
            "stream_id": up.stream_id,
            "reason": viewer.reason,
            "incident_id": viewer.incident_id,
        }
        if phase == "stop":
            detail["seconds"] = round(now - viewer.started, 1)
            detail["why"] = why
        await self.hub.audit.log_done(
            viewer.username,
            AUDIT_LIVE,
            f"{up.hub_id}/{up.entity_id}",
            role=viewer.role,
            detail=detail,
            source="console",
            ip=viewer.ip,
        )
        # The owner's copy: queued if the hub is offline, like every other view.
        try:
            await self.console.delivery.submit(
                up.hub_id,
                STATION_VIEW_COMMAND,
                {
                    "entity_id": up.entity_id,
                    "reason": viewer.reason or "live",
                    "incident_id": viewer.incident_id,
                    "what": "live",
                    "phase": phase,
                    "viewed_at": now,
                    "view_id": viewer.view_id,
                    "viewer_id": viewer.id,
                    **({"seconds": detail["seconds"]} if phase == "stop" else {}),
                },
                user=viewer.username,
                role=viewer.role,
                name=viewer.name,
                incident_id=viewer.incident_id,
            )
        except ConsoleError as err:
            _LOGGER.warning("Live: could not mirror a %s to hub %s: %s", phase, up.hub_id, err)


#: End reasons that come from the owner's policy: the player says so plainly.
_POLICY_CODES = frozenset(
    {"policy_never", "registry_only", "outside_alarm_window", "unknown_policy", "no_camera", "hub_refused"}
)
#: A reason that starts with its code (``outside_alarm_window: ...``).
_CODED = re.compile(r"^[a-z_]{2,40}: ")


def _camera_key(up: Upstream) -> str:
    return f"{up.hub_id}/{up.entity_id}/{up.profile}"


def _code(reason: str) -> str:
    return reason.split(":", 1)[0].strip() or "ended"


def _drain(queue: asyncio.Queue[bytes | None]) -> list[bytes | None]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
