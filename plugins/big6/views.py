"""The Big 6 pages (directory, meetings) and CSV/JSON API.

Forms post to page routes that call the ``big6.*`` services (the same code
path as the REST API and automations) and write the audit log; the core
middleware has already checked the role and the CSRF token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pydantic
from aiohttp import web

from hub.auth import role_at_least
from hub.core.context import Context
from hub.core.errors import ServiceValidationError
from hub.http.routes import Route, current_user
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from plugins.big6 import csvio
from plugins.big6.const import DOMAIN, MAX_IMPORT_BYTES, RESOLUTION_STATUSES, RUNTIME, SECTORS
from plugins.big6.line_link import linker
from plugins.big6.manager import Big6Manager, sector_counts
from plugins.big6.problems import Refused, from_validation
from plugins.big6.strings import month_label, translator

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)

#: Blank resolution rows on the "record a meeting" form.
_FORM_RESOLUTIONS = 5


def _mgr(request: web.Request) -> Big6Manager:
    mgr = request.app[HUB_KEY].data.get(RUNTIME)
    if mgr is None:
        raise web.HTTPNotFound(text="big6 is not set up on this hub")
    return mgr


def _page(request: web.Request, name: str, status: int = 200, **ctx: Any) -> web.Response:
    lang = request_lang(request)
    return render(request, f"big6/{name}", status=status, t=translator(lang), sectors=SECTORS, **ctx)


async def _call(request: web.Request, service: str, data: dict[str, Any], target: str) -> Any:
    hub = request.app[HUB_KEY]
    user = current_user(request)
    schema = hub.services.get(DOMAIN, service).schema
    if schema is not None:
        # Checked here first so a page can name the field in Thai; the service checks again.
        try:
            schema.model_validate(data)
        except pydantic.ValidationError as err:
            problems = from_validation(err)
            raise Refused(f"{DOMAIN}.{service}: " + "; ".join(str(p) for p in problems), problems) from err
    result = await hub.services.call(DOMAIN, service, data, Context(user_id=user.id, origin="ui"))
    # Phone numbers and CSV contents stay out of the append-only log.
    detail = {k: v for k, v in data.items() if k not in ("phone", "csv")}
    await hub.audit.log(
        user.username, f"{DOMAIN}.{service}", target, role=user.role, detail=detail, ip=request.remote or ""
    )
    return result


def _error(request: web.Request, err: ServiceValidationError) -> str:
    """Return a refusal as the page's language says it (never pydantic's English)."""
    lang = request_lang(request)
    if isinstance(err, Refused):
        return "; ".join(p.text(lang) for p in err.problems)
    return str(err)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


# -- directory ---------------------------------------------------------------------


async def directory(request: web.Request, **extra: Any) -> web.Response:
    """Members by sector, with the forms for admins."""
    mgr = _mgr(request)
    members = await mgr.store.members()
    user = current_user(request)
    status = extra.pop("status", 200)
    return _page(
        request,
        "directory.html",
        status,
        members=members,
        counts=sector_counts(members),
        is_admin=role_at_least(user.role, "admin"),
        line_on=linker(request.app[HUB_KEY]) is not None,
        **extra,
    )


async def directory_page(request: web.Request) -> web.StreamResponse:
    """GET the directory."""
    return await directory(request)


async def add_member(request: web.Request) -> web.StreamResponse:
    """Add a member from the form."""
    _mgr(request)
    form = await request.post()
    data = {k: _text(form, k) for k in ("name", "sector", "organisation", "phone", "line_user_id")}
    try:
        await _call(request, "add_member", data, data["name"])
    except ServiceValidationError as err:
        return await directory(request, status=400, error=_error(request, err))
    return _see_other("/big6")


async def remove_member(request: web.Request) -> web.StreamResponse:
    """Take a member off the directory."""
    _mgr(request)
    member_id = request.match_info["member_id"]
    try:
        await _call(request, "remove_member", {"member_id": member_id}, member_id)
    except ServiceValidationError as err:
        return await directory(request, status=400, error=_error(request, err))
    return _see_other("/big6")


async def line_code(request: web.Request) -> web.StreamResponse:
    """Show a member's LINE registration code."""
    mgr = _mgr(request)
    member_id = request.match_info["member_id"]
    member = await mgr.store.member(member_id)
    try:
        result = await _call(request, "line_code", {"member_id": member_id}, member_id)
    except ServiceValidationError as err:
        return await directory(request, status=400, error=_error(request, err))
    return await directory(request, code={"name": member.name if member else member_id, **result})


async def import_members(request: web.Request) -> web.StreamResponse:
    """Import a CSV file (multipart upload) or pasted CSV text."""
    _mgr(request)
    data: bytes | None = None
    form = await request.post()
    upload = form.get("file")
    if isinstance(upload, web.FileField):
        data = upload.file.read(MAX_IMPORT_BYTES + 1)
    if not data:
        data = _text(form, "csv").encode("utf-8")
    hub = request.app[HUB_KEY]
    user = current_user(request)
    mgr = _mgr(request)
    try:
        members = await mgr.import_members(data)
    except csvio.ImportRefused as err:
        await hub.audit.log(
            user.username,
            f"{DOMAIN}.import_members",
            "members",
            role=user.role,
            result="refused",
            detail={"problems": len(err.errors)},
            ip=request.remote or "",
        )
        lang = request_lang(request)
        return await directory(request, status=400, import_errors=[e.text(lang) for e in err.errors])
    await hub.audit.log(
        user.username,
        f"{DOMAIN}.import_members",
        "members",
        role=user.role,
        detail={"imported": len(members)},
        ip=request.remote or "",
    )
    return await directory(request, imported=len(members))


async def members_csv(request: web.Request) -> web.StreamResponse:
    """The directory as CSV (re-importable)."""
    mgr = _mgr(request)
    body = csvio.export_members(await mgr.store.members())
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="big6-members.csv"'},
    )


async def resolutions_csv(request: web.Request) -> web.StreamResponse:
    """Every resolution with its meeting's date, owner, due date and status, as CSV."""
    mgr = _mgr(request)
    body = csvio.export_resolutions(await mgr.store.all_resolutions())
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="big6-resolutions.csv"'},
    )


async def members_json(request: web.Request) -> web.StreamResponse:
    """The directory as JSON."""
    mgr = _mgr(request)
    return web.json_response([m.as_dict() for m in await mgr.store.members()])


# -- meetings ------------------------------------------------------------------------


async def meetings(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    """Each month: did the meeting happen, who came, and what came of its resolutions."""
    mgr = _mgr(request)
    lang = request_lang(request)
    user = current_user(request)
    months = await mgr.months()
    return _page(
        request,
        "meetings.html",
        status,
        months=months,
        month_name=lambda m: month_label(m, lang),
        today=mgr.today().isoformat(),
        statuses=RESOLUTION_STATUSES,
        can_edit=role_at_least(user.role, "operator"),
        blank_rows=range(_FORM_RESOLUTIONS),
        owners=[m.name for m in await mgr.store.members()] if role_at_least(user.role, "operator") else [],
        **extra,
    )


async def meetings_page(request: web.Request) -> web.StreamResponse:
    """GET the meetings page."""
    return await meetings(request)


async def record_meeting(request: web.Request) -> web.StreamResponse:
    """Record a meeting from the form."""
    _mgr(request)
    form = await request.post()
    attendance: dict[str, Any] = {}
    for sector in SECTORS:
        raw = _text(form, f"attendance_{sector}")
        if raw:
            attendance[sector] = int(raw) if raw.isdigit() else raw
    resolutions = []
    for i in range(_FORM_RESOLUTIONS):
        text, owner, due = (_text(form, f"res_{i}_{k}") for k in ("text", "owner", "due"))
        if text or owner or due:
            resolutions.append({"text": text, "owner": owner, "due_date": due})
    data: dict[str, Any] = {
        "date": _text(form, "date"),
        "title": _text(form, "title"),
        "agenda": _text(form, "agenda"),
        "notes": _text(form, "notes"),
        "attendance": attendance,
        "resolutions": resolutions,
    }
    try:
        await _call(request, "record_meeting", data, data["date"])
    except ServiceValidationError as err:
        return await meetings(request, 400, error=_error(request, err))
    return _see_other("/big6/meetings")


async def update_resolution(request: web.Request) -> web.StreamResponse:
    """Change a resolution's status from the meetings page."""
    _mgr(request)
    form = await request.post()
    res_id = request.match_info["resolution_id"]
    data = {"resolution_id": res_id, "status": _text(form, "status"), "note": _text(form, "note")}
    try:
        await _call(request, "update_resolution", data, res_id)
    except ServiceValidationError as err:
        return await meetings(request, 400, error=_error(request, err))
    return _see_other("/big6/meetings")


async def meetings_json(request: web.Request) -> web.StreamResponse:
    """Months with their meetings and resolution counts, as JSON."""
    mgr = _mgr(request)
    return web.json_response(
        [
            {
                "month": row.month,
                "held": row.held,
                "resolutions": row.resolutions,
                "done": row.done,
                "open": row.open,
                "overdue": row.overdue,
                "meetings": [m.as_dict() for m in row.meetings],
            }
            for row in await mgr.months()
        ]
    )


def routes(hub: Hub) -> list[Route]:
    """Return the plugin's routes."""
    del hub

    def page(method: str, path: str, handler: Any, **kw: Any) -> Route:
        return Route(method, path, handler, api=False, tags=(DOMAIN,), **kw)

    api = (DOMAIN,)
    return [
        page("GET", "/big6", directory_page, role="operator", summary="Member directory (has phone numbers)"),
        page("POST", "/big6/members", add_member, role="admin", summary="Add a member"),
        page("POST", "/big6/members/import", import_members, role="admin", summary="Import members from CSV"),
        page(
            "POST", "/big6/members/{member_id}/remove", remove_member, role="admin", summary="Remove a member"
        ),
        page(
            "POST",
            "/big6/members/{member_id}/line_code",
            line_code,
            role="admin",
            summary="Get a LINE registration code for a member",
        ),
        page("GET", "/big6/meetings", meetings_page, summary="Monthly meetings and what came of them"),
        page("POST", "/big6/meetings", record_meeting, role="operator", summary="Record a meeting"),
        page(
            "POST",
            "/big6/resolutions/{resolution_id}/status",
            update_resolution,
            role="operator",
            summary="Update a resolution's status",
        ),
        Route("GET", "/api/big6/members", members_json, role="operator", summary="Members", tags=api),
        Route(
            "GET", "/api/big6/members.csv", members_csv, role="operator", summary="Members as CSV", tags=api
        ),
        Route("GET", "/api/big6/resolutions.csv", resolutions_csv, summary="Resolutions as CSV", tags=api),
        Route(
            "GET", "/api/big6/meetings", meetings_json, summary="Months, meetings and resolutions", tags=api
        ),
    ]
