"""Live video across station workers: one upstream per camera, whichever worker the hub and the officers use.

**The hub's uplink.**

The worker whose officer asked for a stream owns its upstream (the viewers
are its open responses) and claims the stream id in the station's registry
(:mod:`integrations.station.workers`) before the hub is asked.  The hub
dials the station's public address; a balancing proxy may hand the
connection to any worker.  That worker, finding no such stream of its own:

1. reads the Basic header and looks the stream up in the registry: a stream
   asked of another hub is refused (403) *before* the password is checked,
   as on one worker, so the public route is no lever for burning PBKDF2;
   a stream whose worker stopped is refused with 503;
2. checks the hub's broker password;
3. opens a WebSocket to the owner's :data:`PEER_UPLINK_PATH`, signed with the
   workers' key; the owner checks the stream (this hub, this camera, not
   used yet) and answers 101 or the refusal, which the hub is given as is;
4. accepts the hub's WebSocket and copies every message to the owner
   unchanged (the video is neither parsed nor transcoded here; the owner
   checks each box as for a direct uplink), and the owner's close back to
   the hub.

The owner runs the uplink exactly as a direct one (stall detection, grant
expiry, audits and the mirror to the owner's hub), naming the relaying
worker in its ``upstream_start`` audit.  If the relaying worker dies
mid-stream, the owner ends the stream as ``worker_lost``, which the player
says plainly in Thai.

**Officers on other workers.**  The worker that starts an upstream also
claims its camera (hub, camera, profile).  Another worker whose officer asks
for that camera reads a copy from the owner's :data:`PEER_WATCH_PATH`
(:func:`follow`, :func:`peer_watch`): a hello naming the stream id, then the
init segment, the GOP so far and each fragment, as to a viewer of the
owner's, the camera's status each second, and an ``end`` with the state and
reason.  The copy is an upstream of that worker's own (its viewers, stall
watch, grant expiry and audits), counted as one viewer at the owner, so the
hub's single uplink lasts until the last officer on any worker leaves.  An
owner that goes away ends the copies as ``worker_lost``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from hub.core.ids import ulid
from hub.http.routes import json_error
from integrations.ccoc.delivery import ConsoleError
from integrations.ccoc.live import Viewer
from integrations.federation.protocol import ID_RE, NAME_RE
from integrations.station.workers import WorkerCallRefused, caller
from integrations.video.mp4 import MAX_BOX

if TYPE_CHECKING:
    from integrations.ccoc.live import LiveRelay, Upstream
    from integrations.station.workers import Claim, Workers

__all__ = (
    "PEER_UPLINK_PATH",
    "PEER_WATCH_PATH",
    "relay_uplink",
    "peer_uplink",
    "stop_relaying",
    "follow",
    "peer_watch",
)

_LOGGER = logging.getLogger(__name__)

#: Where a worker that received a hub's uplink hands it to the worker that owns the stream.
PEER_UPLINK_PATH = "/api/station/workers/live/uplink"
#: Where a worker whose officer wants a camera another worker streams already reads a copy of it.
PEER_WATCH_PATH = "/api/station/workers/live/watch"


async def relay_uplink(request: web.Request, relay: LiveRelay, workers: Workers) -> web.StreamResponse:
    """Relay a hub's uplink for a stream another worker asked for (see the module's steps)."""
    stream_id = request.query.get("stream", "")
    camera = request.query.get("camera", "")
    try:
        user, password = relay.hub_credential(request)
        claim = await workers.owner("live", stream_id)
        if claim is None or claim.hub_id != user or claim.worker_id == workers.id:
            raise ConsoleError("no such stream was asked of this hub", 403)
        if not claim.alive or not claim.url:
            raise ConsoleError("the station worker that asked for this stream has stopped", 503)
        if not relay.password_ok(user, password):
            raise ConsoleError("wrong hub credentials", 401)
    except ConsoleError as err:
        await relay.refuse_uplink(request, err)
        return json_error(err.status, str(err))
    assert workers.session is not None
    path_qs = f"{PEER_UPLINK_PATH}?{urlencode({'stream': stream_id, 'camera': camera, 'hub': user})}"
    try:
        peer = await workers.session.ws_connect(
            claim.url + path_qs,
            headers=workers.sign("GET", path_qs, remote=request.remote or ""),
            heartbeat=15,
            max_msg_size=MAX_BOX,
            compress=0,
        )
    except aiohttp.WSServerHandshakeError as err:
        # The owner refused (the stream ended meanwhile, or was taken): the hub hears the same.
        return json_error(err.status, "the station refused this stream")
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        _LOGGER.warning("Live: could not reach worker %s for stream %s: %s", claim.worker_id, stream_id, err)
        return json_error(503, "the station worker that asked for this stream cannot be reached")
    relay.relaying.add(peer)
    try:
        ws = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_BOX, compress=False)
        await ws.prepare(request)
        await _pipe(ws, peer)
        return ws
    except asyncio.CancelledError:
        await stop_relaying(peer)
        raise
    finally:
        relay.relaying.discard(peer)
        if not peer.closed:
            await peer.close()


async def stop_relaying(peer: aiohttp.ClientWebSocketResponse) -> None:
    """This worker is stopping: close a relayed uplink so the owner does not take it for the hub's end."""
    with contextlib.suppress(Exception):
        await asyncio.shield(peer.close(code=WSCloseCode.GOING_AWAY, message=b"worker_stopping"))


async def _pipe(hub_ws: web.WebSocketResponse, peer: aiohttp.ClientWebSocketResponse) -> None:
    """Copy the hub's messages to the owner until either side ends; pass the owner's close back."""
    said: list[str] = []

    async def upward() -> None:
        async for msg in hub_ws:
            if msg.type == WSMsgType.BINARY:
                await peer.send_bytes(msg.data)
            elif msg.type == WSMsgType.TEXT:
                await peer.send_str(msg.data)

    async def downward() -> None:
        while True:  # the owner sends nothing but its close, whose reason the hub is given
            msg = await peer.receive()
            if msg.type == WSMsgType.CLOSE:
                said.append(str(msg.extra or ""))
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return

    tasks = [asyncio.ensure_future(upward()), asyncio.ensure_future(downward())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if not hub_ws.closed:
            # The owner ended it (the last viewer left, the grant expired) or went away.
            reason = said[0] if said else "station_closed"
            with contextlib.suppress(Exception):
                await hub_ws.close(code=1000, message=reason.encode()[:120])


async def peer_uplink(request: web.Request, relay: LiveRelay) -> web.StreamResponse:
    """The owner's side: a hub's uplink relayed by another worker (signed with the workers' key)."""
    workers = relay.workers
    if workers is None:
        return json_error(404, "this station runs one worker")
    try:
        if workers.check(request) is None:
            raise WorkerCallRefused("only the station's workers may call this")
    except WorkerCallRefused as err:
        await relay.refuse_uplink(request, ConsoleError(str(err), 403))
        return json_error(403, str(err))
    hub_id = request.query.get("hub", "")
    try:
        if not NAME_RE.match(hub_id) or not ID_RE.match(request.query.get("stream", "")):
            raise ConsoleError("no such stream was asked of this hub", 403)
        # The relaying worker checked the hub's password; the stream is checked here, where it lives.
        up = relay.stream_for(hub_id, request.query.get("stream", ""), request.query.get("camera", ""))
    except ConsoleError as err:
        await relay.refuse_uplink(request, err)
        return json_error(err.status, str(err))
    return await relay.run_uplink(request, hub_id, up, via=caller(request))


# -- one upstream for the officers of every worker -------------------------------------------------


async def follow(relay: LiveRelay, up: Upstream, owner: Claim) -> aiohttp.ClientWebSocketResponse | None:
    """Open a copy of the upstream ``owner`` holds for ``up``'s camera; None if it has none (or is away).

    The owner sends a hello naming its stream id, then the init segment, the
    GOP so far and every fragment, as to a viewer of its own; status
    messages (the camera's, from the hub) every second; and an ``end`` with
    its state and reason when the upstream ends.
    """
    workers = relay.workers
    assert workers is not None and workers.session is not None
    if not owner.url:
        return None
    query = urlencode({"hub": up.hub_id, "camera": up.entity_id, "profile": up.profile})
    path_qs = f"{PEER_WATCH_PATH}?{query}"
    try:
        ws = await workers.session.ws_connect(
            owner.url + path_qs,
            headers=workers.sign("GET", path_qs),
            heartbeat=15,
            max_msg_size=MAX_BOX,
            compress=0,
        )
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        _LOGGER.info("Live: worker %s has no upstream for %s: %s", owner.worker_id, query, err)
        return None
    try:
        hello = await ws.receive(timeout=5)
        doc = json.loads(hello.data) if hello.type == WSMsgType.TEXT else {}
        stream_id = str(doc.get("stream_id") or "")
        if doc.get("type") != "hello" or not ID_RE.match(stream_id):
            raise ValueError("no hello")
    except (ValueError, TimeoutError, AttributeError, aiohttp.ClientError) as err:
        _LOGGER.warning("Live: worker %s did not greet: %s", owner.worker_id, err)
        await ws.close()
        return None
    up.stream_id = stream_id  # the owner's: the audits on both workers name the same stream
    up.owner_ws = ws
    return ws


async def peer_watch(request: web.Request, relay: LiveRelay) -> web.StreamResponse:
    """The owner's side: another worker's copy of an upstream held here (signed with the workers' key)."""
    workers = relay.workers
    if workers is None:
        return json_error(404, "this station runs one worker")
    try:
        worker = workers.check(request)
        if worker is None:
            raise WorkerCallRefused("only the station's workers may call this")
    except WorkerCallRefused as err:
        await relay.refuse_uplink(request, ConsoleError(str(err), 403))
        return json_error(403, str(err))
    key = (request.query.get("hub", ""), request.query.get("camera", ""), request.query.get("profile", ""))
    up = relay.streams.get(key)
    if up is None or up.owner_ws is not None or up.state in ("ended", "refused", "failed"):
        return json_error(404, "no such upstream at this worker")
    viewer = Viewer(
        ulid(), "", f"worker:{worker}", "worker", worker, "", None, math.inf, request.remote or "",
        relay.hub.clock.time(), peer=True,
    )  # fmt: skip
    relay.join(up, viewer)
    ws = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_BOX, compress=False)
    try:
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "stream_id": up.stream_id}))
        reader = asyncio.ensure_future(_until_closed(ws))
        try:
            await _serve_copy(ws, up, viewer, reader)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
    finally:
        await relay.detach(viewer, "left")
    return ws


async def _until_closed(ws: web.WebSocketResponse) -> None:
    async for _msg in ws:
        pass  # the follower sends nothing but its close


async def _serve_copy(
    ws: web.WebSocketResponse, up: Upstream, viewer: Viewer, reader: asyncio.Future[None]
) -> None:
    while not reader.done():
        try:
            item = await asyncio.wait_for(viewer.queue.get(), 1.0)
        except TimeoutError:
            status = {"type": "status", "state": up.state, "reason": up.reason, "camera": up.hub_status}
            with contextlib.suppress(ConnectionResetError):
                await ws.send_str(json.dumps(status, default=str))
            continue
        try:
            if item is None:
                reason = up.reason or viewer.ended or "ended"
                if reason.startswith("station_stopping"):
                    # This worker stops, not the station: the other worker's officers may open it again.
                    reason = "worker_lost: the station worker that holds this stream stopped"
                await ws.send_str(json.dumps({"type": "end", "state": up.state, "reason": reason}))
                await ws.close()
                return
            await ws.send_bytes(item)
        except ConnectionResetError:
            return
