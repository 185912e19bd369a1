"""The hub-user pages and JSON API of patrol_qr (the phone's pages are in :mod:`.checkin`).

Forms post to page routes, which call the plugin's services (one code path
with the REST API and automations) and write the audit log; the core's
middleware has already checked the role and the CSRF token.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pydantic
from aiohttp import web

from hub.auth import role_at_least
from hub.core.context import Context
from hub.core.errors import ServiceValidationError
from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from hub.i18n import format_time
from plugins.patrol_qr import checkin, links
from plugins.patrol_qr.const import DOMAIN, MAX_REPORT_DAYS, RUNTIME
from plugins.patrol_qr.manager import PatrolManager
from plugins.patrol_qr.patrols import Coverage, composition_label
from plugins.patrol_qr.problems import Refused, error_text, from_validation
from plugins.patrol_qr.strings import flag_text, translator

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)


def _mgr(request: web.Request) -> PatrolManager:
    mgr = request.app[HUB_KEY].data.get(RUNTIME)
    if mgr is None:
        # Routes exist even when the plugin has no config block; they show nothing then.
        raise web.HTTPNotFound(text="patrol_qr is not set up on this hub")
    return mgr


def _page(request: web.Request, name: str, status: int = 200, **ctx: Any) -> web.Response:
    lang = request_lang(request)
    return render(
        request,
        f"patrol_qr/{name}",
        status=status,
        t=translator(lang),
        composition=lambda comp: composition_label(comp, lang),
        **ctx,
    )


def _days(request: web.Request, default: int) -> int:
    raw = request.query.get("days", "")
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPORT_DAYS:
        raise web.HTTPBadRequest(text=f"days must be 1–{MAX_REPORT_DAYS}")
    return int(raw)


def _grid_rows(mgr: PatrolManager, grid: Coverage, lang: str) -> list[dict[str, Any]]:
    t = translator(lang)
    shifts = {s.id: (s.name_th if lang == "th" else s.name_en) for s in grid.shifts}
    rows = []
    for cp in mgr.checkpoints:
        gaps = []
        for gap in grid.gaps:
            if gap.checkpoint_id == cp.id:
                key = "patrol.gap_at_least" if gap.at_least else "patrol.gap"
                gaps.append(t(key, cp=cp.name, shift=shifts[gap.shift_id], days=gap.days))
        ratio = grid.ratio(cp.id)
        rows.append(
            {
                "checkpoint": cp,
                "gaps": gaps,
                "ratio": None if ratio is None else round(ratio * 100),
                "gap_shifts": {g.shift_id for g in grid.gaps if g.checkpoint_id == cp.id},
            }
        )
    return rows


async def index(request: web.Request) -> web.StreamResponse:
    """Checkpoints, gaps and recent patrols."""
    mgr = _mgr(request)
    hub = request.app[HUB_KEY]
    lang = request_lang(request)
    grid = await mgr.coverage()
    ratio = grid.ratio()
    user = current_user(request)
    patrols = await mgr.recent_patrols()
    return _page(
        request,
        "index.html",
        checkpoints=mgr.checkpoints,
        patrols=patrols,
        flagged=await mgr.flagged_checkins(),
        flag_text=lambda c: flag_text(c, lang),
        rows=_grid_rows(mgr, grid, lang),
        ratio=None if ratio is None else round(ratio * 100),
        names={cp.id: cp.name for cp in mgr.checkpoints},
        far=mgr.config.far_meters,
        is_admin=role_at_least(user.role, "admin"),
        days=mgr.config.report_days,
        public_url=hub.core.web.public_url,
    )


async def coverage_page(request: web.Request) -> web.StreamResponse:
    """The checkpoint × day × shift grid."""
    mgr = _mgr(request)
    lang = request_lang(request)
    days = _days(request, mgr.config.report_days)
    grid = await mgr.coverage(days)
    ratio = grid.ratio()
    return _page(
        request,
        "coverage.html",
        grid=grid,
        rows=_grid_rows(mgr, grid, lang),
        days=days,
        ratio=None if ratio is None else round(ratio * 100),
    )


def _coverage_json(mgr: PatrolManager, grid: Coverage) -> dict[str, Any]:
    ratio = grid.ratio()
    return {
        "days": [d.isoformat() for d in grid.days],
        "shifts": [
            {"id": s.id, "name_th": s.name_th, "name_en": s.name_en, "start": s.start, "end": s.end}
            for s in grid.shifts
        ],
        "coverage": ratio,
        "cells": [
            {
                "checkpoint_id": cp,
                "day": day.isoformat(),
                "shift": shift,
                "status": c.status,
                "patrols": c.patrols,
                "joint": c.joint,
                "mixed": c.mixed,
                "flagged": c.flagged,
            }
            for (cp, day, shift), c in sorted(grid.cells.items())
        ],
        "gaps": [
            {
                "checkpoint_id": g.checkpoint_id,
                "shift": g.shift_id,
                "days": g.days,
                "at_least": g.at_least,
                "last_visit": g.last_visit,
            }
            for g in grid.gaps
        ],
    }


async def api_coverage(request: web.Request) -> web.StreamResponse:
    """The coverage grid as JSON."""
    mgr = _mgr(request)
    return web.json_response(_coverage_json(mgr, await mgr.coverage(_days(request, mgr.config.report_days))))


async def api_checkpoints(request: web.Request) -> web.StreamResponse:
    """Live checkpoints (no sheet links: those are for admins, through ``patrol_qr.sheet_link``)."""
    mgr = _mgr(request)
    return web.json_response([{**cp.public(), "source": cp.source} for cp in mgr.checkpoints])


async def api_checkins(request: web.Request) -> web.StreamResponse:
    """Check-ins of the last ``days`` days, newest first."""
    mgr = _mgr(request)
    days = _days(request, 7)
    since = request.app[HUB_KEY].clock.time() - days * 86400
    rows = await mgr.store.checkins(since, limit=1000)
    return web.json_response([c.as_dict() for c in rows])


# -- admin ------------------------------------------------------------------------


async def _call(request: web.Request, service: str, data: dict[str, Any], audit_target: str) -> Any:
    hub = request.app[HUB_KEY]
    user = current_user(request)
    schema = hub.services.get(DOMAIN, service).schema
    if schema is not None:
        # Checked here first so the page can name the field in its language; the service checks again.
        try:
            schema.model_validate(data)
        except pydantic.ValidationError as err:
            errors = from_validation(err)
            raise Refused(f"{DOMAIN}.{service}: " + "; ".join(str(e) for e in errors), errors) from err
    result = await hub.services.call(DOMAIN, service, data, Context(user_id=user.id, origin="ui"))
    await hub.audit.log(
        user.username,
        f"{DOMAIN}.{service}",
        audit_target,
        role=user.role,
        detail={k: v for k, v in data.items() if k != "phone"},
        ip=request.remote or "",
    )
    return result


def _back() -> web.Response:
    return web.Response(status=303, headers={"Location": f"/{DOMAIN}"})


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def add_checkpoint(request: web.Request) -> web.StreamResponse:
    """Add a checkpoint from the form."""
    _mgr(request)
    form = await request.post()
    data: dict[str, Any] = {
        "id": _form_text(form, "id"),
        "name": _form_text(form, "name"),
        "risk": _form_text(form, "risk"),
    }
    for key in ("lat", "lon"):
        if _form_text(form, key):
            data[key] = _form_text(form, key)
    try:
        await _call(request, "add_checkpoint", data, data["id"])
    except ServiceValidationError as err:
        return _page(request, "error.html", 400, message=error_text(err, request_lang(request)))
    return _back()


def _confirmed(form: Any) -> bool:
    return _form_text(form, "confirm") == "yes"


def _confirm(request: web.Request, question: str, button: str, cancel: str) -> web.Response:
    """Ask before an action that cannot be undone; the page posts back here with ``confirm=yes``."""
    return _page(
        request, "confirm.html", question=question, button=button, action=request.path, cancel=cancel
    )


async def checkpoint_action(request: web.Request) -> web.StreamResponse:
    """Remove a checkpoint or make a new sheet for it, once the admin has confirmed."""
    mgr = _mgr(request)
    action = request.match_info["action"]
    cp_id = request.match_info["checkpoint_id"]
    service = {"remove": "remove_checkpoint", "new_sheet": "new_sheet"}.get(action)
    if service is None:
        raise web.HTTPNotFound()
    form = await request.post()
    if not _confirmed(form):
        cp = await mgr.store.checkpoint(cp_id)
        if cp is None:
            return _page(
                request, "error.html", 404, message=translator(request_lang(request))("patrol.no_such")
            )
        t = translator(request_lang(request))
        return _confirm(
            request, t(f"patrol.confirm.{action}", cp=cp.name), t(f"patrol.{action}"), f"/{DOMAIN}"
        )
    try:
        await _call(request, service, {"id": cp_id}, cp_id)
    except ServiceValidationError as err:
        return _page(request, "error.html", 400, message=error_text(err, request_lang(request)))
    return _back()


async def accept_checkin(request: web.Request) -> web.StreamResponse:
    """Accept a flagged check-in as a proven visit (audited)."""
    _mgr(request)
    checkin_id = request.match_info["checkin_id"]
    try:
        await _call(request, "accept_checkin", {"checkin_id": checkin_id}, checkin_id)
    except ServiceValidationError as err:
        return _page(request, "error.html", 400, message=error_text(err, request_lang(request)))
    return _back()


async def sheet(request: web.Request) -> web.StreamResponse:
    """The printable A4 sheet (PNG or PDF) carrying the signed check-in link."""
    mgr = _mgr(request)
    hub = request.app[HUB_KEY]
    cp = await mgr.store.checkpoint(request.match_info["checkpoint_id"])
    if cp is None:
        return json_error(404, "no such checkpoint")
    fmt = request.match_info["fmt"]
    from plugins.patrol_qr.sheet import SheetText, render_sheet

    path = mgr.signed_link(cp)
    expires = links.link_expiry(path) or hub.clock.time()
    text = SheetText(
        cp.id,
        cp.name,
        cp.risk,
        links.absolute_url(hub, path, request),
        hub.name,
        hub.core.zone or "",
        format_time(expires, "th", hub.clock.tz).rsplit(" ", 1)[0],
        cp.sheet,
    )
    # Drawing an A4 page takes a few hundred ms of CPU: keep the loop free for SOS traffic.
    data = await asyncio.get_running_loop().run_in_executor(None, lambda: render_sheet(text, fmt=fmt))
    user = current_user(request)
    await hub.audit.log(
        user.username,
        f"{DOMAIN}.sheet",
        cp.id,
        role=user.role,
        detail={"format": fmt},
        ip=request.remote or "",
    )
    filename = f"patrol-{cp.id}-{datetime.fromtimestamp(hub.clock.time(), hub.clock.tz):%Y%m%d}.{fmt}"
    return web.Response(
        body=data,
        content_type="application/pdf" if fmt == "pdf" else "image/png",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )


async def volunteers(request: web.Request) -> web.StreamResponse:
    """Volunteers and their links."""
    mgr = _mgr(request)
    return _page(request, "volunteers.html", volunteers=await mgr.store.volunteers(), issued=None)


async def issue_volunteer(request: web.Request) -> web.StreamResponse:
    """Issue a personal link and show it once, with a QR to scan from this screen."""
    mgr = _mgr(request)
    form = await request.post()
    data = {"name": _form_text(form, "name"), "phone": _form_text(form, "phone")}
    try:
        result = await _call(request, "issue_volunteer_link", data, data["name"])
    except ServiceValidationError as err:
        return _page(request, "error.html", 400, message=error_text(err, request_lang(request)))
    return await _show_link(request, mgr, result["name"], result["path"])


async def _active_volunteer(request: web.Request, mgr: PatrolManager) -> Any:
    vol_id = request.match_info["volunteer_id"]
    vol = next((v for v in await mgr.store.volunteers() if v.id == vol_id and v.revoked_at is None), None)
    return vol


async def revoke_volunteer(request: web.Request) -> web.StreamResponse:
    """Revoke a volunteer's link, once the admin has confirmed."""
    mgr = _mgr(request)
    vol_id = request.match_info["volunteer_id"]
    form = await request.post()
    t = translator(request_lang(request))
    if not _confirmed(form):
        vol = await _active_volunteer(request, mgr)
        if vol is None:
            return _page(request, "error.html", 400, message=t("patrol.no_such_volunteer"))
        return _confirm(
            request, t("patrol.confirm.revoke", name=vol.name), t("patrol.revoke"), f"/{DOMAIN}/volunteers"
        )
    try:
        await _call(request, "revoke_volunteer", {"volunteer_id": vol_id}, vol_id)
    except ServiceValidationError as err:
        return _page(request, "error.html", 400, message=error_text(err, request_lang(request)))
    return web.Response(status=303, headers={"Location": f"/{DOMAIN}/volunteers"})


async def move_volunteer(request: web.Request) -> web.StreamResponse:
    """Move a volunteer's link to a new phone: confirm, then show the new link once."""
    mgr = _mgr(request)
    vol_id = request.match_info["volunteer_id"]
    form = await request.post()
    t = translator(request_lang(request))
    vol = await _active_volunteer(request, mgr)
    if vol is None:
        return _page(request, "error.html", 400, message=t("patrol.no_such_volunteer"))
    if not _confirmed(form):
        return _confirm(
            request, t("patrol.confirm.move", name=vol.name), t("patrol.move"), f"/{DOMAIN}/volunteers"
        )
    try:
        result = await _call(request, "move_volunteer", {"volunteer_id": vol_id}, vol_id)
    except ServiceValidationError as err:
        return _page(request, "error.html", 400, message=error_text(err, request_lang(request)))
    return await _show_link(request, mgr, vol.name, result["path"])


async def _show_link(request: web.Request, mgr: PatrolManager, name: str, path: str) -> web.Response:
    """Show a volunteer's new personal link once, with a QR to scan from this screen."""
    import segno

    url = links.absolute_url(request.app[HUB_KEY], path, request)
    qr = segno.make(url, error="m").svg_data_uri(scale=6, border=4)
    return _page(
        request,
        "volunteers.html",
        volunteers=await mgr.store.volunteers(),
        issued={"name": name, "url": url, "qr": qr},
    )


def routes(hub: Hub) -> list[Route]:
    """Return every route of the plugin."""
    del hub

    def page(method: str, path: str, handler: Any, **kw: Any) -> Route:
        return Route(method, path, handler, api=False, tags=(DOMAIN,), **kw)

    api = (DOMAIN,)
    return [
        page(
            "GET",
            "/patrol_qr/c/{checkpoint_id}/{sheet}",
            checkin.checkin_page,
            public=True,
            summary="Check-in page behind a sheet's QR: needs the signed, expiring link (exp, sig)",
        ),
        page(
            "POST",
            "/patrol_qr/c/{checkpoint_id}/{sheet}",
            checkin.checkin_submit,
            public=True,
            csrf=False,
            summary="Record a check-in: signed link, plus an officer login (with CSRF) or a volunteer's "
            "personal cookie, plus a form token signed for that person in the last 15 minutes",
        ),
        page(
            "GET",
            "/patrol_qr/v/{token}",
            checkin.volunteer_link,
            public=True,
            summary="A volunteer's personal link: the unguessable token is the credential (revocable)",
        ),
        page("GET", "/patrol_qr", index, summary="Checkpoints, gaps and recent patrols"),
        page("GET", "/patrol_qr/coverage", coverage_page, summary="Coverage per checkpoint × day × shift"),
        page("POST", "/patrol_qr/checkpoints", add_checkpoint, role="admin", summary="Add a checkpoint"),
        page(
            "POST",
            "/patrol_qr/checkpoints/{checkpoint_id}/{action}",
            checkpoint_action,
            role="admin",
            summary="Remove a checkpoint or make a new sheet (asks first)",
        ),
        page(
            "GET",
            "/patrol_qr/checkpoints/{checkpoint_id}/sheet.{fmt:png|pdf}",
            sheet,
            role="admin",
            summary="The printable A4 sheet with the signed QR",
        ),
        page("GET", "/patrol_qr/volunteers", volunteers, role="admin", summary="Volunteers"),
        page(
            "POST", "/patrol_qr/volunteers", issue_volunteer, role="admin", summary="Issue a volunteer link"
        ),
        page(
            "POST",
            "/patrol_qr/volunteers/{volunteer_id}/revoke",
            revoke_volunteer,
            role="admin",
            summary="Revoke a volunteer link (asks first)",
        ),
        page(
            "POST",
            "/patrol_qr/volunteers/{volunteer_id}/move",
            move_volunteer,
            role="admin",
            summary="Move a volunteer's link to a new phone (asks first; shows the new link once)",
        ),
        page(
            "POST",
            "/patrol_qr/checkins/{checkin_id}/accept",
            accept_checkin,
            role="admin",
            summary="Accept a flagged check-in as a proven visit",
        ),
        Route("GET", "/api/patrol_qr/checkpoints", api_checkpoints, summary="Live checkpoints", tags=api),
        Route("GET", "/api/patrol_qr/checkins", api_checkins, summary="Recent check-ins (?days=7)", tags=api),
        Route(
            "GET",
            "/api/patrol_qr/coverage",
            api_coverage,
            summary="Coverage grid and gaps (?days=7)",
            tags=api,
        ),
    ]
