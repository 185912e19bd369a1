"""Live updates over Server-Sent Events at ``GET /api/stream``.

Only an allowlist of event types is streamed: events are the hub's internal
traffic and a plugin could put anything in one.  The list is ``state_changed``
plus what each plugin names in its ``streamed_events`` hook (incidents, SOS
presses, camera motion, the LINE quota, the CCOC board...), read when the app
is built.  Each client has a bounded
queue; a client too slow to keep up is disconnected rather than let the hub
buffer without limit (the browser's EventSource reconnects by itself).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.core.bus import Event
from hub.http.routes import Route, current_user, json_dumps
from hub.http.server import HUB_KEY
from hub.http.server import _resolve_user as resolve_credential
from hub.storage import StorageUnavailable

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes", "setup", "close_all", "streamed_events", "STREAMED")

_LOGGER = logging.getLogger(__name__)

#: What the core itself streams; plugins add theirs (``streamed_events``).
CORE_EVENTS = frozenset({"state_changed"})
#: The allowlist the app was built with.
STREAMED: web.AppKey[frozenset[str]] = web.AppKey("sse_streamed")
_QUEUE_MAX = 1000
_CLIENTS: web.AppKey[set[asyncio.Queue[str | None]]] = web.AppKey("sse_clients")
#: For each open stream: does its credential still hold?
_CHECKS: web.AppKey[dict[asyncio.Queue[str | None], Callable[[], Awaitable[bool]]]] = web.AppKey("sse_checks")
#: Seconds between keepalives (and credential re-checks) on an idle stream.
KEEPALIVE = 15.0


def _encode(event: Event) -> str | None:
    data: dict[str, Any]
    if event.event_type == "state_changed":
        new = event.data.get("new_state")
        data = {"entity_id": event.data["entity_id"], "new_state": new.as_dict() if new is not None else None}
    else:
        data = dict(event.data)
    try:
        payload = json_dumps({"event_type": event.event_type, "data": data, "time_fired": event.time_fired})
    except (TypeError, ValueError):
        return None
    return f"event: {event.event_type}\ndata: {payload}\n\n"


def streamed_events(hub: Hub) -> frozenset[str]:
    """Return the event types the stream sends: the core's and every plugin's."""
    names = set(CORE_EVENTS)
    for info, found in hub.plugins.hooks.streamed_events(hub=hub):
        for name in found or ():
            if isinstance(name, str) and name:
                names.add(name)
            else:
                hub.plugins.record_hook_error(
                    info, "streamed_events", TypeError(f"not an event type: {name!r}")
                )
    return frozenset(names)


def setup(app: web.Application) -> None:
    """Attach the fan-out listener to the app's hub."""
    hub = app[HUB_KEY]
    clients: set[asyncio.Queue[str | None]] = set()
    app[_CLIENTS] = clients
    allowed = app[STREAMED] = streamed_events(hub)

    def fan_out(event: Event) -> None:
        if not clients or event.event_type not in allowed:
            return
        message = _encode(event)
        if message is None:
            return
        for queue in list(clients):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                clients.discard(queue)
                queue.put_nowait(None) if not queue.full() else None

    hub._unsubs.append(hub.bus.listen("*", fan_out))

    checks: dict[asyncio.Queue[str | None], Callable[[], Awaitable[bool]]] = {}
    app[_CHECKS] = checks
    rechecks: set[asyncio.Task[None]] = set()

    async def recheck() -> None:
        for queue, still_allowed in list(checks.items()):
            if not await still_allowed():
                _end(queue)

    def access_changed() -> None:
        task = asyncio.get_running_loop().create_task(recheck())
        rechecks.add(task)
        task.add_done_callback(rechecks.discard)

    auth = getattr(hub, "auth", None)
    if auth is not None:
        hub._unsubs.append(auth.on_access_change(access_changed))


def _end(queue: asyncio.Queue[str | None]) -> None:
    """Ask one stream to end, even when its queue is full."""
    try:
        queue.put_nowait(None)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)


async def close_all(app: web.Application) -> None:
    """Tell every stream to end (on shutdown)."""
    for queue in list(app.get(_CLIENTS, ())):
        _end(queue)


async def stream(request: web.Request) -> web.StreamResponse:
    clients = request.app[_CLIENTS]
    checks = request.app[_CHECKS]
    queue: asyncio.Queue[str | None] = asyncio.Queue(_QUEUE_MAX)
    opened_by = current_user(request)

    async def still_allowed() -> bool:
        # the same credential (token or session cookie) must still name the same user
        try:
            user, _, _ = await resolve_credential(request)
        except StorageUnavailable:
            # The shared accounts database is down: the credential cannot be vouched for, so
            # the stream ends (fail closed); the browser reconnects once it answers again.
            return False
        return user is not None and opened_by is not None and user == opened_by

    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    await response.write(b": connected\n\nretry: 3000\n\n")
    clients.add(queue)
    checks[queue] = still_allowed
    try:
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE)
            except TimeoutError:
                if not await still_allowed():
                    break
                await response.write(b": keepalive\n\n")
                continue
            if message is None:
                break
            await response.write(message.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        clients.discard(queue)
        checks.pop(queue, None)
    return response


def routes() -> list[Route]:
    """Return the stream route."""
    return [
        Route(
            "GET",
            "/api/stream",
            stream,
            summary="Server-Sent Events: state and incident changes",
            tags=("core",),
        )
    ]
