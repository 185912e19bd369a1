"""The setup wizard, the Repairs page, and the user actions the Users page calls.

The wizard runs right after the first admin is created (``/onboarding`` sends
them to ``/setup``): hub name, zone, a map pin, language and time zone, saved in
one write through ``hub.ui_config`` (validated like ``check``, nothing half
saved), then "what do you have?" links to the setup flows.  Pages read; they
change the hub only through the JSON routes here, which audit every change.
"""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.auth import MIN_PASSWORD, AuthError, UnknownAccess
from hub.components.onboarding.checks import collect
from hub.components.onboarding.strings import translator
from hub.config.ui_writer import ConfigConflict, ConfigRejected
from hub.http.routes import Route, current_user, json_error, read_json_object
from hub.http.server import HUB_KEY
from hub.http.templating import LANG_COOKIE, render, request_lang

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("FLOW_LINKS", "routes")

#: The setup flows "what do you have?" links to: (href, title key, hint key).
FLOW_LINKS = (
    ("/setup/devices", "wizard.have.devices", "wizard.have.devices_hint"),
    ("/setup/cameras", "wizard.have.cameras", "wizard.have.cameras_hint"),
    ("/setup/line", "wizard.have.line", "wizard.have.line_hint"),
    ("/automations", "wizard.have.automations", "wizard.have.automations_hint"),
)
_ZONE = re.compile(r"^[a-z0-9-]{1,64}$")
_TILE = re.compile(r"^\d{1,7}$")
_LANG_MAX_AGE = 365 * 24 * 3600
TILES_DIR = "tiles"


def _tr(request: web.Request) -> Any:
    return translator(request_lang(request))


def _tiles(hub: Hub) -> bool:
    """Offline map tiles under ``<config dir>/tiles/{z}/{x}/{y}.png`` (none: the SVG grid)."""
    return (hub.config_dir / TILES_DIR).is_dir()


# -- the wizard ------------------------------------------------------------------------------------


async def wizard_page(request: web.Request) -> web.Response:
    """Render the wizard with the hub's current values."""
    hub: Hub = request.app[HUB_KEY]
    tr = _tr(request)
    ui = hub.ui_config
    values: dict[str, Any] = hub.core.model_dump()
    etag = ""
    problems: list[str] = []
    if ui is not None:
        try:
            block, etag = await ui.get_block("hub")
        except ConfigRejected as err:
            problems = err.errors
        else:
            if isinstance(block, dict):
                values.update(block)
        problems = problems or await ui.problems()
    location = values.get("location") or {}
    return render(
        request,
        "setup_wizard.html",
        tr=tr,
        values=values,
        lat="" if location.get("lat") is None else location["lat"],
        lon="" if location.get("lon") is None else location["lon"],
        etag=etag,
        writable=ui is not None,
        problems=problems,
        flows=FLOW_LINKS,
        tiles=_tiles(hub),
    )


def _check(body: dict[str, Any], tr: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The hub fields from the form, and a Thai (or English) message per bad field."""
    bad: dict[str, str] = {}
    data: dict[str, Any] = {}
    name = str(body.get("name") or "").strip()
    if not name or len(name) > 80:
        bad["name"] = tr("error.name")
    data["name"] = name
    zone = str(body.get("zone") or "").strip()
    if zone and not _ZONE.match(zone):
        bad["zone"] = tr("error.zone")
    data["zone"] = zone or None
    lat, lon = body.get("lat"), body.get("lon")
    if lat in (None, "") and lon in (None, ""):
        data["location"] = None
    else:
        try:
            flat, flon = float(lat), float(lon)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            bad["location"] = tr("error.location")
        else:
            if not (-90 <= flat <= 90 and -180 <= flon <= 180):
                bad["location"] = tr("error.location")
            data["location"] = {"lat": round(flat, 6), "lon": round(flon, 6)}
    language = body.get("language") or "th"
    if language not in ("th", "en"):
        bad["language"] = tr("error.language")
    data["language"] = language
    timezone = str(body.get("timezone") or "Asia/Bangkok").strip()
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        bad["timezone"] = tr("error.timezone")
    data["timezone"] = timezone
    return data, bad


async def save_hub(request: web.Request) -> web.Response:
    """Save the wizard's answers as the UI's part of ``hub:``; apply them live."""
    hub: Hub = request.app[HUB_KEY]
    tr = _tr(request)
    ui = hub.ui_config
    if ui is None:
        return json_error(409, tr("wizard.no_file"))
    body = await read_json_object(request)
    data, bad = _check(body, tr)
    if bad:
        return json_error(400, next(iter(bad.values())), fields=bad)
    if data["location"] is None:
        del data["location"]  # leave a hand-written position alone
    if data["zone"] is None:
        del data["zone"]
    user = current_user(request)
    etag = body.get("etag") or None
    try:
        new_etag = await ui.set_block("hub", data, etag=str(etag) if etag else None, actor=user.username)
    except ConfigConflict:
        return json_error(409, tr("error.conflict"), code="conflict")
    except ConfigRejected as err:
        return json_error(422, tr("error.rejected"), code="rejected", errors=err.errors)
    restart = ui.restart_needed.get("hub")
    response = web.json_response({"etag": new_etag, "restart_needed": restart is not None})
    # The admin sees the language they chose at once (the hub's default follows too).
    response.set_cookie(
        LANG_COOKIE,
        data["language"],
        max_age=_LANG_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )
    return response


async def tile(request: web.Request) -> web.StreamResponse:
    """Serve one offline map tile from ``<config dir>/tiles``."""
    hub: Hub = request.app[HUB_KEY]
    parts = [request.match_info[k] for k in ("z", "x", "y")]
    if not all(_TILE.match(p) for p in parts):
        raise web.HTTPNotFound()
    path = hub.config_dir / TILES_DIR / parts[0] / parts[1] / f"{parts[2]}.png"
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "max-age=86400"})


# -- repairs -----------------------------------------------------------------------------------------


async def repairs_page(request: web.Request) -> web.Response:
    """List what needs the admin."""
    hub: Hub = request.app[HUB_KEY]
    lang = request_lang(request)
    items = await collect(hub)
    return render(request, "repairs.html", tr=_tr(request), items=items, lang_suffix=lang)


async def repairs_api(request: web.Request) -> web.Response:
    """The same list as JSON."""
    return web.json_response({"repairs": await collect(request.app[HUB_KEY])})


# -- users -------------------------------------------------------------------------------------------


async def reset_password(request: web.Request) -> web.Response:
    """Give a user a new password (their sessions end); audited, never logged."""
    hub: Hub = request.app[HUB_KEY]
    tr = _tr(request)
    admin = current_user(request)
    user_id = request.match_info["user_id"]
    body = await read_json_object(request)
    password = body.get("password")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return json_error(400, tr("users.short_password"))
    try:
        user = await hub.auth.set_password(user_id, password)
    except UnknownAccess:
        return json_error(404, tr("users.not_found"))
    except AuthError:
        return json_error(400, tr("users.short_password"))
    await hub.audit.log(
        admin.username,
        "user.password_reset",
        user_id,
        role=admin.role,
        detail={"user": user["username"]},
        ip=request.remote or "",
    )
    return web.json_response({"id": user["id"], "username": user["username"]})


def explain_user_error(status: int, lang: str) -> str:
    """The Users page's message for an answer of the user API (last admin, gone, other)."""
    tr = translator(lang)
    return {409: tr("users.last_admin"), 404: tr("users.not_found")}.get(status, tr("users.failed"))


def routes() -> list[Route]:
    """The wizard, Repairs and user-action routes (admin only)."""
    return [
        Route("GET", "/setup", wizard_page, role="admin", api=False, tags=("pages",), summary="Setup wizard"),
        Route(
            "POST",
            "/api/setup/hub",
            save_hub,
            role="admin",
            tags=("setup",),
            summary="Save the wizard's hub name, zone, location, language and time zone (409 on a stale etag)",
            request_schema={
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "zone": {"type": "string"},
                    "lat": {"type": ["number", "string"]},
                    "lon": {"type": ["number", "string"]},
                    "language": {"type": "string", "enum": ["th", "en"]},
                    "timezone": {"type": "string"},
                    "etag": {"type": "string"},
                },
            },
        ),
        Route(
            "GET",
            "/setup/tiles/{z}/{x}/{y}.png",
            tile,
            role="admin",
            api=False,
            tags=("pages",),
            summary="Offline map tiles for the wizard's map pin",
        ),
        Route("GET", "/repairs", repairs_page, role="admin", api=False, tags=("pages",), summary="Repairs"),
        Route(
            "GET", "/api/repairs", repairs_api, role="admin", tags=("setup",), summary="What needs the admin"
        ),
        Route(
            "POST",
            "/api/users/{user_id}/password",
            reset_password,
            role="admin",
            tags=("users",),
            summary="Reset a user's password (their sessions end)",
            request_schema={
                "type": "object",
                "required": ["password"],
                "properties": {"password": {"type": "string"}},
            },
        ),
    ]


#: Leaflet, vendored once for the station console, reused for the wizard's map pin.
LEAFLET_DIR = Path(__file__).resolve().parents[3] / "integrations" / "station" / "static" / "leaflet"
