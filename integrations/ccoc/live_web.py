"""Routes of live video at the station: the player's stream, its status, the page, and the hubs' uplink.

``live_url`` (``GET /api/ccoc/views/{view_id}/live.mp4``) streams fragmented
MP4 to the holder of the grant: ``ffprobe`` reads it, and the console's
player feeds it to Media Source Extensions.  The uplink route is public in
the router's sense only: the hub's own broker credential and a stream id the
station issued protect it (:meth:`LiveRelay.authenticate`).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from aiohttp import web

from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from integrations.ccoc.delivery import ConsoleError, console_errors
from integrations.ccoc.labels import labels
from integrations.ccoc.live import LIVE, PROFILES, LiveRelay
from integrations.ccoc.live_labels import live_labels
from integrations.ccoc.live_peers import (
    PEER_UPLINK_PATH,
    PEER_WATCH_PATH,
    peer_uplink,
    peer_watch,
    relay_uplink,
)
from integrations.federation.const import LIVE_UPLINK_PATH
from integrations.federation.protocol import ID_RE

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes", "live_fields")

#: MSE plays from a blob: URL; the core's CSP allows media from 'self' only.
_PLAYER_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "media-src 'self' blob:; frame-ancestors 'none'"
)


def live_fields(view_id: str) -> dict[str, str]:
    """Return what a view's JSON says about live video (``live_url`` is the contract)."""
    return {
        "live_url": f"/api/ccoc/views/{view_id}/live.mp4",
        "live_status_url": f"/api/ccoc/views/{view_id}/live",
        "live_page": f"/ccoc/live/{view_id}",
    }


def _relay(request: web.Request) -> LiveRelay:
    relay = request.app[HUB_KEY].data.get(LIVE)
    if relay is None:
        raise ConsoleError("the station console is not running", 503)
    return relay


def _profile(request: web.Request) -> str:
    profile = request.query.get("profile", "sub")
    if profile not in PROFILES:
        raise ConsoleError(f"profile is one of {', '.join(PROFILES)}", 400)
    return profile


async def live_stream(request: web.Request) -> web.StreamResponse:
    """The live view as fragmented MP4 (``video/mp4``); ``?profile=main`` for the full-resolution stream."""
    relay = _relay(request)
    user = current_user(request)
    view_id = request.match_info["view_id"]
    viewer = await relay.attach(
        view_id,
        username=user.username,
        role=user.role,
        name=user.username,
        profile=_profile(request),
        ip=request.remote or "",
    )
    why = "left"
    try:
        first = await relay.first_unit(viewer, relay.cfg.first_frame_timeout)
        up = viewer.up
        codecs = up.info.codec if up is not None and up.info is not None else ""
        response = web.StreamResponse(
            headers={
                "Content-Type": "video/mp4",
                "Cache-Control": "no-store",
                "X-Content-Codecs": codecs,
                "X-Stream-Id": up.stream_id if up is not None else "",
            }
        )
        await response.prepare(request)
        await response.write(first)
        while True:
            try:
                item = await asyncio.wait_for(viewer.queue.get(), 1.0)
            except TimeoutError:
                # Nothing to send (camera offline): notice a player that went away.
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                continue
            if item is None:
                why = viewer.ended or "ended"
                break
            try:
                await response.write(item)
            except ConnectionResetError:  # the player went away (aiohttp's error is one too)
                break
        return response
    finally:
        await relay.detach(viewer, why)


async def live_status(request: web.Request) -> web.Response:
    """The live stream's state for a view: starting, live, offline (camera), ended, refused or failed."""
    from hub.http.templating import request_lang

    relay = _relay(request)
    user = current_user(request)
    view_id = request.match_info["view_id"]
    try:
        grant = await relay.console.viewing.grant(view_id, user.username)
    except ConsoleError as err:
        if err.status == 403:
            return web.json_response({"state": "expired", "reason": "grant_expired", "text": str(err)})
        raise
    status = relay.status(grant.hub_id, grant.entity_id, _profile(request))
    status["expires"] = grant.expires
    status["text"] = live_labels(request_lang(request)).get(f"live.{status['state']}", status["state"])
    code = str(status.get("reason") or "").split(":", 1)[0]
    if code:
        status["reason_text"] = _reason_text(code, request_lang(request))
    return web.json_response(status, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))


def _reason_text(code: str, lang: str) -> str:
    from integrations.camera.policy import reason_text

    names = live_labels(lang)
    return names.get(f"why.{code}") or reason_text(code, lang)


async def live_page(request: web.Request) -> web.Response:
    """The player page of one view (its own CSP lets Media Source Extensions play from a blob: URL)."""
    from hub.http.templating import render, request_lang

    relay = _relay(request)
    user = current_user(request)
    view_id = request.match_info["view_id"]
    lang = request_lang(request)
    try:
        grant = await relay.console.viewing.grant(view_id, user.username)
    except ConsoleError as err:
        # In the officer's language: the grant ended (403) or is not theirs (404).
        words = live_labels(lang)
        text = words["live.expired"] if err.status == 403 else words["live.failed"]
        return web.Response(status=err.status, text=text, content_type="text/plain")
    camera = await relay.console.viewing.camera(grant.hub_id, grant.entity_id)
    names = live_labels(lang)
    response = render(
        request,
        "console_live.html",
        L={**labels(lang), **names},
        js_labels=names,
        view_id=view_id,
        grant=grant,
        camera=camera,
        reason=grant.reason,
        profile=_profile(request),
        live_url=live_fields(view_id)["live_url"],
        live_status_url=live_fields(view_id)["live_status_url"],
    )
    response.headers["Content-Security-Policy"] = _PLAYER_CSP
    return response


async def uplink(request: web.Request) -> web.StreamResponse:
    """A hub's outgoing live stream (WebSocket): its broker credential and the stream id the station issued."""
    relay = _relay(request)
    stream_id = request.query.get("stream", "")
    if relay.workers is not None and stream_id not in relay.by_id and ID_RE.match(stream_id):
        # Several workers: the balancing proxy gave us a stream another worker asked for.
        return await relay_uplink(request, relay, relay.workers)
    try:
        hub_id, up = relay.authenticate(request)
    except ConsoleError as err:
        await relay.refuse_uplink(request, err)
        return json_error(err.status, str(err))
    return await relay.run_uplink(request, hub_id, up)


async def worker_uplink(request: web.Request) -> web.StreamResponse:
    """A hub's uplink relayed by another station worker (signed with the workers' shared key)."""
    return await peer_uplink(request, _relay(request))


async def worker_watch(request: web.Request) -> web.StreamResponse:
    """Another station worker's copy of an upstream this worker holds (signed with the workers' key)."""
    return await peer_watch(request, _relay(request))


def routes(hub: Hub) -> list[Route]:
    """Return the live video routes (station role)."""
    tags = ("ccoc",)
    return [
        Route(
            "GET",
            "/api/ccoc/views/{view_id}/live.mp4",
            console_errors(live_stream),
            role="operator",
            tags=tags,
            summary=live_stream.__doc__ or "",
            responses={"200": {"description": "fragmented MP4", "content": {"video/mp4": {}}}},
        ),
        Route(
            "GET",
            "/api/ccoc/views/{view_id}/live",
            console_errors(live_status),
            role="operator",
            tags=tags,
            summary=live_status.__doc__ or "",
        ),
        Route(
            "GET",
            "/ccoc/live/{view_id}",
            console_errors(live_page),
            role="operator",
            api=False,
            summary=live_page.__doc__ or "",
        ),
        Route(
            "GET",
            LIVE_UPLINK_PATH,
            uplink,
            public=True,
            csrf=False,
            tags=tags,
            summary=(uplink.__doc__ or "")
            + " Public route: protected by the hub's credential and stream id.",
        ),
        Route(
            "GET",
            PEER_UPLINK_PATH,
            console_errors(worker_uplink),
            public=True,
            csrf=False,
            tags=tags,
            summary=(worker_uplink.__doc__ or "")
            + " Public route: protected by the workers' signature (refused without it).",
        ),
        Route(
            "GET",
            PEER_WATCH_PATH,
            console_errors(worker_watch),
            public=True,
            csrf=False,
            tags=tags,
            summary=(worker_watch.__doc__ or "")
            + " Public route: protected by the workers' signature (refused without it).",
        ),
    ]
