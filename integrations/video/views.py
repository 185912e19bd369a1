"""HTTP: the hub's local live view (fragmented MP4), stream status, recordings and their playback.

Every hand-out goes through the camera's share policy
(:func:`integrations.camera.policy.check_and_audit`): hub staff always pass,
and every start of a live view and every recording played is audited.  The
live view is for the hub's admins (DESIGN §12: the station's live view is
the federated path, not this one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web

from hub.auth import role_at_least
from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from hub.i18n import normalize_lang
from integrations.camera.policy import Party, check_and_audit
from integrations.video.const import AUDIT_LIVE, PROFILES, RUNTIME
from integrations.video.runtime import VideoRuntime
from integrations.video.strings import STRINGS, reason_text

if TYPE_CHECKING:
    from integrations.camera.entity import CameraEntity

__all__ = ("routes",)

_LOGGER = logging.getLogger(__name__)
#: A live view waits this long for the first keyframe before answering 503 with the reason.
_FIRST_FRAME_WAIT = 12.0
_DAY = 86400.0
_PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "media-src 'self' data: blob:; frame-ancestors 'none'"
)


def _party(request: web.Request) -> Party:
    user = current_user(request)
    assert user is not None  # every route here needs a login
    return Party.user(user.username, user.role, request.remote or "")


def _lookup(request: web.Request) -> tuple[VideoRuntime, CameraEntity] | web.Response:
    runtime = request.app[HUB_KEY].data.get(RUNTIME)
    if runtime is None:
        return json_error(503, "video is not set up")
    try:
        return runtime, runtime.camera(request.match_info["entity_id"])
    except KeyError:
        return json_error(404, "no such camera")


async def live(request: web.Request) -> web.StreamResponse:
    """Stream the camera as fragmented MP4 (``video/mp4``) while the client reads; audited."""
    found = _lookup(request)
    if isinstance(found, web.Response):
        return found
    runtime, camera = found
    hub = runtime.hub
    profile = request.query.get("profile", "main")
    if profile not in PROFILES:
        return json_error(400, f"profile must be one of {', '.join(PROFILES)}")
    party = _party(request)
    lang = request_lang(request)
    decision = await check_and_audit(
        hub, camera, party, "live", detail={"via": "hub live view", "profile": profile}
    )
    if not decision:
        return json_error(403, f"not shared: {decision.text(lang)}", reason=decision.reason)
    restream = runtime.restream(camera.entity_id, profile)  # type: ignore[arg-type]
    started = time.monotonic()
    async with restream.subscribe() as sub:
        try:
            first = await asyncio.wait_for(sub.next_item(), _FIRST_FRAME_WAIT)
        except (TimeoutError, StopAsyncIteration):
            status = restream.status
            return json_error(
                503,
                status.text(lang) or reason_text("offline", lang),
                reason=status.reason or "offline",
            )
        response = web.StreamResponse(
            headers={
                "Content-Type": "video/mp4",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            }
        )
        await response.prepare(request)
        try:
            await response.write(first.data)
            async for chunk in sub:
                await response.write(chunk)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await hub.audit.log(
                    party.name,
                    AUDIT_LIVE,
                    camera.entity_id,
                    role=party.audit_role,
                    detail={
                        "event": "stop",
                        "profile": profile,
                        "seconds": round(time.monotonic() - started),
                    },
                    source=party.audit_source,
                    ip=party.ip,
                )
    return response


async def status(request: web.Request) -> web.Response:
    """Return the camera's stream and recording status (texts in the caller's language)."""
    found = _lookup(request)
    if isinstance(found, web.Response):
        return found
    runtime, camera = found
    lang = normalize_lang(request.query.get("lang")) or request_lang(request)
    out = runtime.status(camera.entity_id)
    main = runtime.restream(camera.entity_id, "main")
    out["text"] = main.status.text(lang) if main.status.state != "idle" else ""
    out["state"] = main.status.state
    out["state_text"] = STRINGS[lang].get(main.status.state, main.status.state)
    return web.json_response(out)


def _window(request: web.Request, now: float) -> tuple[float, float]:
    try:
        end = float(request.query.get("end", now))
        start = float(request.query.get("start", end - _DAY))
    except ValueError as err:
        raise web.HTTPBadRequest(text="start and end are UNIX times") from err
    if end < start:
        raise web.HTTPBadRequest(text="end is before start")
    if end - start > 31 * _DAY:
        raise web.HTTPBadRequest(text="ask for at most 31 days at a time")
    return start, end


async def recordings(request: web.Request) -> web.Response:
    """Return the camera's recorded segments in ``[start, end]`` (default: the last 24 hours)."""
    found = _lookup(request)
    if isinstance(found, web.Response):
        return found
    runtime, camera = found
    try:
        start, end = _window(request, runtime.hub.clock.time())
    except web.HTTPBadRequest as err:
        return json_error(400, err.text or "bad window")
    segments = await runtime.recordings.segments(camera.entity_id, start, end)
    return web.json_response(
        {
            "entity_id": camera.entity_id,
            "start": start,
            "end": end,
            "segments": [s.as_dict() for s in segments],
        }
    )


async def segment(request: web.Request) -> web.StreamResponse:
    """Serve one recorded segment (MP4) when the camera's policy allows; audited."""
    runtime = request.app[HUB_KEY].data.get(RUNTIME)
    if runtime is None:
        return json_error(503, "video is not set up")
    try:
        seg_id = int(request.match_info["segment_id"])
    except ValueError:
        return json_error(404, "no such recording")
    seg = await runtime.recordings.get(seg_id)
    if seg is None:
        return json_error(404, "no such recording")
    try:
        camera = runtime.camera(seg.camera)
    except KeyError:
        return json_error(403, "not shared: the camera is no longer configured")
    party = _party(request)
    decision = await check_and_audit(
        runtime.hub,
        camera,
        party,
        "recording",
        detail={"segment": seg.id, "start": seg.start, "end": seg.end},
        coalesce=True,
    )
    if not decision:
        return json_error(403, f"not shared: {decision.text(request_lang(request))}", reason=decision.reason)
    if not seg.path.is_file():
        return json_error(404, "the recording file is missing")
    return web.FileResponse(
        seg.path, headers={"Content-Type": "video/mp4", "Cache-Control": "private, max-age=3600"}
    )


async def video_page(request: web.Request) -> web.Response:
    """The camera's video: the live view (admins), stream status, and a day's timeline of recordings."""
    found = _lookup(request)
    if isinstance(found, web.Response):
        raise web.HTTPNotFound(text="no such camera")
    runtime, camera = found
    user = current_user(request)
    assert user is not None
    lang = request_lang(request)
    recorder = runtime.recorders.get(camera.entity_id)
    response = render(
        request,
        "video_page.html",
        camera=camera,
        can_live=role_at_least(user.role, "admin"),
        can_recordings=role_at_least(user.role, "operator"),
        record_mode=recorder.config.mode if recorder is not None else None,
        strings=STRINGS,
        L=lang,
        reasons={code: reason_text(code, lang) for code in ("offline", "stalled", "starting")},
    )
    # The hub's policy plus ``blob:`` media: Media Source Extensions play through a blob: URL.
    # Set here, the server's middleware keeps it (it only sets the header when absent).
    response.headers["Content-Security-Policy"] = _PAGE_CSP
    return response


def routes() -> list[Route]:
    """Return the video routes."""
    tags = ("video",)
    return [
        Route(
            "GET",
            "/api/video/{entity_id}/live.mp4",
            live,
            role="admin",
            tags=tags,
            summary="The camera's live restream as fragmented MP4 (profile=main|sub), for the hub's admins; "
            "audited at start and stop",
        ),
        Route(
            "GET",
            "/api/video/{entity_id}/status",
            status,
            tags=tags,
            summary="Stream state (online/offline and why), fps, bitrate, last frame; recording and disk alarm",
        ),
        Route(
            "GET",
            "/api/video/{entity_id}/recordings",
            recordings,
            role="operator",
            tags=tags,
            summary="Recorded segments of a camera between start and end (UNIX times; default the last 24 h)",
        ),
        Route(
            "GET",
            "/api/video/segments/{segment_id}.mp4",
            segment,
            role="operator",
            tags=tags,
            summary="One recorded MP4 segment, when the camera's share policy allows (audited)",
        ),
        Route(
            "GET", "/video/{entity_id}", video_page, api=False, summary="A camera's live view and recordings"
        ),
    ]
