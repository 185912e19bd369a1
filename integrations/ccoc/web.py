"""The console's pages and JSON API.  Every route declares its least role; the core enforces it.

Roles at a station: ``viewer`` watches (board, hubs, map, KPIs, CAP);
``operator`` acts (acknowledge, dispatch, note, close, hub commands) and
views camera pictures with a reason; ``supervisor`` also reads and exports
the audit log; ``admin`` is everything.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.auth import role_at_least
from hub.http.charts import bar_chart, column_chart
from hub.http.routes import Route, current_user
from hub.http.server import HUB_KEY
from integrations.ccoc import auditlog, command_forms, kpi, kpi_tables, map_checkpoints
from integrations.ccoc.board import (
    hub_zone,
    line_entries,
    matches,
    merged_timeline,
    snapshot_phases,
)
from integrations.ccoc.camera_health import camera_health, with_health
from integrations.ccoc.cap import CAP_CONTENT_TYPE
from integrations.ccoc.const import RUNTIME
from integrations.ccoc.delivery import ConsoleError, console_errors
from integrations.ccoc.labels import JS_KEYS, labels
from integrations.ccoc.live_web import live_fields
from integrations.ccoc.map_leaflet import leaflet_data, map_csp
from integrations.ccoc.map_svg import render_map
from integrations.ccoc.service import Console
from integrations.ccoc.viewing import camera_actions
from integrations.federation.const import ALLOWED_COMMANDS, LIVE_COMMAND
from integrations.federation.protocol import ID_RE, NAME_RE
from integrations.station.supervision_figures import labels as sup_labels
from integrations.station.supervision_figures import month_figures

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)

_ACTIONS = {
    "ack": "incident.ack",
    "dispatch": "incident.dispatch",
    "note": "incident.note",
    "close": "incident.close",
}
_INCIDENT_ID = re.compile(r"^[^\s/]{1,64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KINDS_DEFAULT = ("sos", "alarm", "tip", "manual", "supervision")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def _console(request: web.Request) -> Console:
    console = request.app[HUB_KEY].data.get(RUNTIME)
    if console is None:
        raise ConsoleError("the station console is not running", 503)
    return console


def _hub_id(request: web.Request) -> str:
    hub_id = request.match_info["hub_id"]
    if not NAME_RE.match(hub_id):
        raise ConsoleError(f"no hub {hub_id!r}", 404)
    return hub_id


def _incident_id(request: web.Request) -> str:
    incident_id = request.match_info["incident_id"]
    if not _INCIDENT_ID.match(incident_id):
        raise ConsoleError(f"no incident {incident_id!r}", 404)
    return incident_id


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as err:
        raise ConsoleError("body is not valid JSON") from err
    if not isinstance(data, dict):
        raise ConsoleError("body must be a JSON object")
    return data


def _text(body: dict[str, Any], key: str, limit: int = 2000) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConsoleError(f"{key!r} must be text")
    value = value.strip()
    if len(value) > limit:
        raise ConsoleError(f"{key!r} is too long (at most {limit} characters)")
    return value


def _render(request: web.Request, template: str, **context: Any) -> web.Response:
    from hub.http.templating import render, request_lang

    lang = request_lang(request)
    names = labels(lang)
    user = current_user(request)
    return render(
        request,
        template,
        L=names,
        js_labels={k: names[k] for k in JS_KEYS},
        can_act=user is not None and role_at_least(user.role, "operator"),
        can_audit=user is not None and role_at_least(user.role, "supervisor"),
        **context,
    )


# -- the board -------------------------------------------------------------------------------------


async def api_board(request: web.Request) -> web.Response:
    """Open incidents from every hub, filtered by zone, hub and kind."""
    console = _console(request)
    q = request.query
    items = [
        i
        for i in await console.board()
        if matches(i, zone=q.get("zone", ""), hub_id=q.get("hub_id", ""), kind=q.get("kind", ""))
    ]
    return web.json_response(items, dumps=_dumps)


async def board_page(request: web.Request) -> web.Response:
    """The live incident board."""
    console = _console(request)
    items = await console.board()
    directory = await console.hubs.all()
    zones = sorted({hub_zone(h) for h in directory.values()} - {""})
    kinds = sorted(set(_KINDS_DEFAULT) | {i["kind"] for i in items})
    q = request.query
    return _render(
        request,
        "console_board.html",
        items=items,
        hubs=sorted(directory.values(), key=lambda h: h["id"]),
        zones=zones,
        kinds=kinds,
        units=console.cfg.units,
        now=request.app[HUB_KEY].clock.time(),
        flt={"zone": q.get("zone", ""), "hub_id": q.get("hub_id", ""), "kind": q.get("kind", "")},
    )


# -- incidents ------------------------------------------------------------------------------------


async def _incident_context(console: Console, hub_id: str, incident_id: str) -> dict[str, Any]:
    inc = await console.station.store.incident(incident_id, hub_id)
    if inc is None:
        raise ConsoleError(f"no incident {incident_id} from hub {hub_id}", 404)
    hub = await console.hubs.get(hub_id)
    views = await console.viewing.views(hub_id, incident_id)
    item = await console.item(hub_id, incident_id)
    open_incident = inc.get("status") != "closed"
    cameras = with_health(
        [
            {**cam, "actions": camera_actions(cam, open_incident)}
            for cam in ((hub or {}).get("registry") or {}).get("cameras") or []
        ],
        hub,
    )
    return {
        "incident": item,
        "timeline": await merged_timeline(inc, console.delivery, views),
        "line": line_entries(inc.get("timeline") or []),
        "phases": snapshot_phases(inc.get("timeline") or []),
        # Not under the key "hub": the page frame's top bar names *this* station by it.
        "cameras": cameras,
    }


async def api_incident(request: web.Request) -> web.Response:
    """One incident: the board view, the merged timeline, LINE entries and cameras allowed by policy."""
    ctx = await _incident_context(_console(request), _hub_id(request), _incident_id(request))
    return web.json_response(ctx, dumps=_dumps)


async def incident_page(request: web.Request) -> web.Response:
    """The incident page."""
    console = _console(request)
    ctx = await _incident_context(console, _hub_id(request), _incident_id(request))
    return _render(request, "console_incident.html", units=console.cfg.units, **ctx)


async def incident_action(request: web.Request) -> web.Response:
    """Acknowledge, dispatch, note or close: sent to the hub (queued while it is offline)."""
    console = _console(request)
    hub_id, incident_id = _hub_id(request), _incident_id(request)
    action = request.match_info["action"]
    if action not in _ACTIONS:
        raise ConsoleError(f"unknown action {action!r} (ack, dispatch, note, close)", 404)
    body = await _body(request)
    text = _text(body, "text")
    inc = await console.station.store.incident(incident_id, hub_id)
    if inc is None:
        raise ConsoleError(f"no incident {incident_id} from hub {hub_id}", 404)
    if inc.get("status") == "closed":
        raise ConsoleError(f"incident {incident_id} is already closed", 409)
    data: dict[str, Any] = {"incident_id": incident_id, "text": text}
    unit = ""
    if action == "dispatch":
        unit = _text(body, "unit", 200)
        if not unit:
            raise ConsoleError("dispatch needs a unit: pick one or type its name")
        data["unit"] = unit
    if action == "note" and not text:
        raise ConsoleError("a note needs text")
    user = current_user(request)
    if (inc.get("data") or {}).get("station_made"):
        # The station's own incident (a hub that stopped reporting): the hub knows nothing of it.
        from integrations.station.supervision import local_action

        done = await local_action(
            console.hub,
            console.station,
            inc,
            action,
            text=text,
            actor=_text(body, "name", 100) or user.username,
            unit=unit,
        )
        return web.json_response(done, status=200, dumps=_dumps)
    record = await console.delivery.submit(
        hub_id,
        _ACTIONS[action],
        data,
        user=user.username,
        role=user.role,
        name=_text(body, "name", 100) or user.username,
        unit=unit,
        incident_id=incident_id,
        ip=request.remote or "",
    )
    await console.announce(hub_id, incident_id, "pending")
    return web.json_response(record, status=202, dumps=_dumps)


async def incident_cap(request: web.Request) -> web.Response:
    """The incident as an OASIS CAP 1.2 alert."""
    console = _console(request)
    incident_id = _incident_id(request)
    hub_id = request.query.get("hub_id") or None
    if hub_id is not None and not NAME_RE.match(hub_id):
        raise ConsoleError(f"no hub {hub_id!r}", 404)
    inc = await console.station.store.incident(incident_id, hub_id)
    if inc is None:
        raise ConsoleError(f"no federated incident {incident_id}", 404)
    made = await console.cap_xml(inc["hub_id"], incident_id)
    assert made is not None
    return web.Response(
        body=made[1],
        headers={
            "Content-Type": f"{CAP_CONTENT_TYPE}; charset=utf-8",
            "Content-Disposition": f'inline; filename="{incident_id}.cap"',
        },
    )


async def api_commands(request: web.Request) -> web.Response:
    """Console commands (newest first), optionally of one hub or incident."""
    console = _console(request)
    q = request.query
    items = await console.delivery.commands(
        hub_id=q.get("hub_id") or None, incident_id=q.get("incident_id") or None
    )
    return web.json_response(items, dumps=_dumps)


# -- hubs ------------------------------------------------------------------------------------------


def _hub_facts(h: dict[str, Any]) -> dict[str, Any]:
    health = h.get("health") or {}
    integrations = health.get("integrations") or {}
    failures = {
        k: v.get("error") or ""
        for k, v in integrations.items()
        if isinstance(v, dict) and v.get("status") == "failed"
    }
    return {
        **h,
        "zone": hub_zone(h),
        "failures": failures,
        "battery_list": health.get("battery_alarms") or [],
        "camera_list": with_health((h.get("registry") or {}).get("cameras") or [], h),
    }


async def hubs_page(request: web.Request) -> web.Response:
    """Every hub: link, last seen, version, failures, battery alarms, cameras per policy."""
    console = _console(request)
    hubs = [_hub_facts(h) for h in (await console.hubs.all()).values()]
    from hub.http.templating import request_lang

    return _render(
        request,
        "console_hubs.html",
        hubs=sorted(hubs, key=lambda h: h["id"]),
        sup=await month_figures(console.station),
        S=sup_labels(request_lang(request)),
    )


async def hub_page(request: web.Request) -> web.Response:
    """One hub with its command panel."""
    console = _console(request)
    hub_id = _hub_id(request)
    console.hubs.invalidate()
    hub = await console.hubs.get(hub_id)
    if hub is None:
        raise ConsoleError(f"no hub {hub_id!r} at this station", 404)
    facts = _hub_facts(hub)
    incidents = await console.station.store.incidents(hub_id=hub_id, status="active", limit=50)
    open_incident = bool(incidents)
    for cam in facts["camera_list"]:
        cam["actions"] = camera_actions(cam, open_incident)
    return _render(
        request,
        "console_hub.html",
        h=facts,
        incidents=incidents,
        commands=await console.delivery.commands(hub_id=hub_id, limit=30),
        allowed=ALLOWED_COMMANDS,
        devices=(hub.get("registry") or {}).get("devices") or [],
        online=console.delivery.hub_online(hub_id),
        command_forms=command_forms.forms_for(ALLOWED_COMMANDS),
        command_choices=command_forms.choices_for(hub.get("registry"), incidents),
    )


async def hub_command(request: web.Request) -> web.Response:
    """Send an allowlisted command; refused with the reason when the hub is offline (device commands)."""
    console = _console(request)
    hub_id = _hub_id(request)
    body = await _body(request)
    command, data = body.get("command"), body.get("data", {})
    if isinstance(command, str) and command in command_forms.FORMS and isinstance(body.get("fields"), dict):
        # The panel's form: checked here against what the hub lists, the error in the page's language.
        data = await _form_data(request, console, hub_id, command, body["fields"])
    if isinstance(data, str):
        try:
            data = json.loads(data) if data.strip() else {}
        except ValueError as err:
            raise ConsoleError("'data' is not valid JSON") from err
    if not isinstance(command, str) or not isinstance(data, dict):
        raise ConsoleError("body needs 'command' (e.g. light.flash) and 'data' (an object)")
    if command == LIVE_COMMAND:
        raise ConsoleError("live video is opened through a reasoned view: POST /api/ccoc/views")
    if command not in ALLOWED_COMMANDS:
        # audit.station_view included: only a real, reasoned view may write to an owner's audit log.
        raise ConsoleError(f"{command!r} is not on the allowlist ({', '.join(ALLOWED_COMMANDS)})")
    user = current_user(request)
    incident_id = data.get("incident_id") if isinstance(data.get("incident_id"), str) else None
    record = await console.delivery.submit(
        hub_id,
        command,
        data,
        user=user.username,
        role=user.role,
        name=_text(body, "name", 100) or user.username,
        unit=_text(body, "unit", 200),
        incident_id=incident_id,
        ip=request.remote or "",
    )
    return web.json_response(record, status=202, dumps=_dumps)


async def _form_data(
    request: web.Request, console: Console, hub_id: str, command: str, fields: dict[str, Any]
) -> dict[str, Any]:
    from hub.http.templating import request_lang

    hub = await console.hubs.get(hub_id)
    incidents = await console.station.store.incidents(hub_id=hub_id, status="active", limit=200)
    choices = command_forms.choices_for((hub or {}).get("registry"), incidents)
    try:
        return command_forms.parse(command, fields, choices)
    except command_forms.FormError as err:
        raise ConsoleError(err.text(request_lang(request))) from err


# -- cameras -----------------------------------------------------------------------------------------


async def open_view(request: web.Request) -> web.Response:
    """Open a camera's pictures: a reason is required; audited here and on the owner's hub."""
    console = _console(request)
    body = await _body(request)
    hub_id, entity_id = _text(body, "hub_id", 64), _text(body, "entity_id", 200)
    if not NAME_RE.match(hub_id) or not entity_id:
        raise ConsoleError("body needs hub_id and entity_id")
    incident_id = _text(body, "incident_id", 64) or None
    user = current_user(request)
    result = await console.viewing.open(
        user=user.username,
        role=user.role,
        name=_text(body, "name", 100) or user.username,
        hub_id=hub_id,
        entity_id=entity_id,
        reason=_text(body, "reason", 1000),
        incident_id=incident_id,
        ip=request.remote or "",
    )
    if body.get("fresh") and incident_id:
        # A new picture into the incident: the hub checks the owner's policy again.
        try:
            result["fresh"] = await console.delivery.submit(
                hub_id,
                "camera.snapshot",
                {"entity_id": entity_id, "incident_id": incident_id},
                user=user.username,
                role=user.role,
                name=user.username,
                incident_id=incident_id,
                ip=request.remote or "",
            )
        except ConsoleError as err:
            result["fresh_error"] = str(err)
    return web.json_response(result, status=201, dumps=_dumps)


async def view_images(request: web.Request) -> web.Response:
    """The pictures an open view covers now."""
    console = _console(request)
    user = current_user(request)
    view_id = request.match_info["view_id"]
    images = await console.viewing.view_images(view_id, user.username)
    return web.json_response({"view_id": view_id, "images": images, **live_fields(view_id)}, dumps=_dumps)


def _jpeg(path: str, max_age: int = 0) -> web.FileResponse:
    cache = f"private, max-age={max_age}" if max_age else "private, no-store"
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg", "Cache-Control": cache})


async def view_image(request: web.Request) -> web.StreamResponse:
    """One picture under an open view."""
    console = _console(request)
    msg_id = request.match_info["msg_id"]
    if not ID_RE.match(msg_id):
        raise ConsoleError("no such picture", 404)
    user = current_user(request)
    return _jpeg(await console.viewing.image_path(request.match_info["view_id"], msg_id, user.username))


async def thumbnail(request: web.Request) -> web.StreamResponse:
    """An incident's picture on the board (its reason is the incident; audited, coalesced)."""
    console = _console(request)
    hub_id, msg_id = _hub_id(request), request.match_info["msg_id"]
    if not ID_RE.match(msg_id):
        raise ConsoleError("no such picture", 404)
    user = current_user(request)
    path = await console.viewing.thumbnail_path(
        hub_id, msg_id, user=user.username, role=user.role, name=user.username, ip=request.remote or ""
    )
    return _jpeg(path, int(console.cfg.view_coalesce))


async def map_page(request: web.Request) -> web.Response:
    """Hubs and cameras on an SVG of the zone (offline; tiles optional)."""
    from hub.http.templating import request_lang

    console = _console(request)
    hubs = list((await console.hubs.all()).values())
    lang = request_lang(request)
    boxes = map_checkpoints.checkpoints(
        hubs, now=console.hub.clock.time(), tz=console.hub.clock.tz, lang=lang
    )
    svg = render_map(
        hubs,
        title=labels(lang)["map"],
        zoom=console.cfg.map.tile_zoom,
        tiles_url=console.cfg.map.tiles_url,
        checkpoints=boxes,
    )
    open_hubs = {i["hub_id"] for i in await console.station.store.incidents(status="active", limit=1000)}
    cameras = []
    for h in sorted(hubs, key=lambda h: h["id"]):
        for cam in (h.get("registry") or {}).get("cameras") or []:
            cameras.append(
                {
                    **cam,
                    "hub_id": h["id"],
                    "hub_name": h.get("name"),
                    "actions": camera_actions(cam, h["id"] in open_hubs),
                    "health": camera_health(h).get(str(cam.get("entity_id"))),
                }
            )
    response = _render(
        request,
        "console_map.html",
        svg=svg,
        cameras=cameras,
        checkpoints=boxes,
        leaflet=leaflet_data(hubs, cameras, console.cfg.map, boxes),
    )
    csp = map_csp(console.cfg.map)
    if csp:
        response.headers["Content-Security-Policy"] = csp
    return response


async def map_svg(request: web.Request) -> web.Response:
    """The map alone, as an SVG file."""
    console = _console(request)
    svg = render_map(
        list((await console.hubs.all()).values()),
        title="CCOC",
        zoom=console.cfg.map.tile_zoom,
        tiles_url=console.cfg.map.tiles_url,
    )
    return web.Response(text=str(svg), content_type="image/svg+xml")


# -- KPIs ------------------------------------------------------------------------------------------


def _month(request: web.Request) -> str:
    month = request.query.get("month") or datetime.fromtimestamp(
        request.app[HUB_KEY].clock.time(), request.app[HUB_KEY].clock.tz
    ).strftime("%Y-%m")
    if not kpi.MONTH_RE.match(month):
        raise ConsoleError(f"{month!r}: a month is YYYY-MM")
    return month


async def api_kpi(request: web.Request) -> web.Response:
    """The month's figures."""
    console = _console(request)
    return web.json_response(
        await kpi.compute(console.hub, console.station, console.hubs, _month(request)), dumps=_dumps
    )


async def kpi_page(request: web.Request) -> web.Response:
    """The monthly evaluation page with SVG charts."""
    console = _console(request)
    month = _month(request)
    figures, station_kpis = await kpi.compute_with(console.hub, console.station, console.hubs, month)
    series = []
    for back in range(5, -1, -1):
        m = kpi.shift_month(month, -back)
        start, end = kpi.month_bounds(m, console.hub.clock.tz)
        directory = await console.hubs.all()
        share = await kpi.hubs_online_share(console.hub, sorted(directory), start, end)
        series.append((m[2:], None if share is None else round(share * 100, 1)))
    from hub.http.templating import request_lang

    L = labels(request_lang(request))
    charts = {
        "kind": bar_chart(
            sorted(figures["incidents"]["by_kind"].items(), key=lambda kv: -kv[1]), title=L["by_kind"]
        ),
        "zone": bar_chart(
            sorted(figures["incidents"]["by_zone"].items(), key=lambda kv: -kv[1]), title=L["by_zone"]
        ),
        "cameras": bar_chart(
            [(L.get(f"policy.{k}", k), v) for k, v in sorted(figures["cameras"]["by_policy"].items())],
            title=L["cameras_linked"],
        ),
        "online": column_chart(series, title=L["hubs_online"], unit="%", maximum=100),
        "ack": bar_chart(
            [(L["p50"], round(figures["sos"]["p50"], 1)), (L["p90"], round(figures["sos"]["p90"], 1))]
            if figures["sos"]["p50"] is not None
            else [],
            title=L["sos_to_ack"],
            unit=" s",
        ),
    }
    return _render(
        request,
        "console_kpi.html",
        f=figures,
        charts=charts,
        month=month,
        programme=kpi_tables.context(station_kpis, request_lang(request)),
        fmt=kpi_tables.fmt,
        prev=kpi.shift_month(month, -1),
        next=kpi.shift_month(month, 1),
    )


# -- audit -------------------------------------------------------------------------------------------


def _audit_filter(request: web.Request) -> auditlog.AuditFilter:
    q = request.query
    tz = request.app[HUB_KEY].clock.tz
    bounds: list[float | None] = []
    for key, shift in (("from", 0), ("to", 1)):
        value = q.get(key, "")
        if not value:
            bounds.append(None)
            continue
        if not _DATE.match(value):
            raise ConsoleError(f"{key!r} is a date, YYYY-MM-DD")
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=tz)
        bounds.append(day.timestamp() + shift * 86400)
    return auditlog.AuditFilter(
        since=bounds[0],
        until=bounds[1],
        actor=q.get("actor", "").strip(),
        action=q.get("action", "").strip(),
        hub_id=q.get("hub_id", "").strip(),
        camera=q.get("camera", "").strip(),
        result=q.get("result", "").strip(),
    )


async def api_audit(request: web.Request) -> web.Response:
    """The station's audit log, filtered."""
    hub = request.app[HUB_KEY]
    entries = await auditlog.query(
        hub, _audit_filter(request), limit=int(request.query.get("limit", "500") or 500)
    )
    return web.json_response(entries, dumps=_dumps)


async def audit_csv(request: web.Request) -> web.Response:
    """The filtered audit log as CSV (UTF-8 with BOM, opens in Excel with Thai intact)."""
    hub = request.app[HUB_KEY]
    entries = await auditlog.query(hub, _audit_filter(request), limit=100_000, oldest_first=True)
    user = current_user(request)
    await hub.audit.log(
        user.username,
        "station.audit.export",
        "audit_log",
        role=user.role,
        detail={"rows": len(entries), "query": dict(request.query)},
        source="console",
        ip=request.remote or "",
    )
    stamp = datetime.fromtimestamp(hub.clock.time(), hub.clock.tz).strftime("%Y%m%d-%H%M")
    return web.Response(
        body=auditlog.to_csv(entries, hub.clock.tz).encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="ccoc-audit-{stamp}.csv"',
        },
    )


async def audit_page(request: web.Request) -> web.Response:
    """The audit page."""
    hub = request.app[HUB_KEY]
    flt = _audit_filter(request)
    entries = await auditlog.query(hub, flt, limit=500)
    return _render(
        request, "console_audit.html", entries=entries, q=dict(request.query), csv_query=request.query_string
    )


async def cap_pending(request: web.Request) -> web.Response:
    """CAP messages not yet accepted by the configured receiver."""
    console = _console(request)
    if console.cap is None:
        return web.json_response({"push": False, "pending": []})
    return web.json_response(
        {
            "push": True,
            "pending": await console.cap.pending(),
            "pushed": console.cap.pushed,
            "failed": console.cap.failed,
        },
        dumps=_dumps,
    )


def routes(hub: Hub) -> list[Route]:
    """Return the console's routes (station role only)."""
    tags = ("ccoc",)

    def api(method: str, path: str, handler: Any, role: str = "viewer", **kw: Any) -> Route:
        return Route(
            method, path, console_errors(handler), role=role, tags=tags, summary=handler.__doc__ or "", **kw
        )

    def page(path: str, handler: Any, role: str = "viewer") -> Route:
        return Route(
            "GET", path, console_errors(handler), role=role, api=False, summary=handler.__doc__ or ""
        )

    return [
        page("/ccoc", board_page),
        page("/ccoc/incidents/{hub_id}/{incident_id}", incident_page),
        page("/ccoc/hubs", hubs_page),
        page("/ccoc/hubs/{hub_id}", hub_page),
        page("/ccoc/map", map_page),
        page("/ccoc/kpi", kpi_page),
        page("/ccoc/audit", audit_page, "supervisor"),
        page("/ccoc/thumbs/{hub_id}/{msg_id}.jpg", thumbnail, "operator"),
        page("/ccoc/views/{view_id}/{msg_id}.jpg", view_image, "operator"),
        api("GET", "/api/ccoc/board", api_board),
        api("GET", "/api/ccoc/incidents/{hub_id}/{incident_id}", api_incident),
        api(
            "POST",
            "/api/ccoc/incidents/{hub_id}/{incident_id}/{action}",
            incident_action,
            "operator",
            request_schema={
                "type": "object",
                "properties": {"text": {"type": "string"}, "unit": {"type": "string"}},
            },
        ),
        api("GET", "/api/ccoc/commands", api_commands),
        api(
            "POST",
            "/api/ccoc/hubs/{hub_id}/commands",
            hub_command,
            "operator",
            request_schema={
                "type": "object",
                "required": ["command"],
                "properties": {"command": {"enum": list(ALLOWED_COMMANDS)}, "data": {"type": "object"}},
            },
        ),
        api(
            "POST",
            "/api/ccoc/views",
            open_view,
            "operator",
            request_schema={
                "type": "object",
                "required": ["hub_id", "entity_id", "reason"],
                "properties": {
                    "hub_id": {"type": "string"},
                    "entity_id": {"type": "string"},
                    "reason": {"type": "string", "minLength": 1},
                    "incident_id": {"type": "string"},
                    "fresh": {"type": "boolean"},
                },
            },
        ),
        api("GET", "/api/ccoc/views/{view_id}", view_images, "operator"),
        api("GET", "/api/ccoc/kpi", api_kpi),
        api("GET", "/api/ccoc/map.svg", map_svg),
        api("GET", "/api/ccoc/audit", api_audit, "supervisor"),
        api("GET", "/api/ccoc/audit.csv", audit_csv, "supervisor"),
        api("GET", "/api/ccoc/cap", cap_pending, "supervisor"),
        api("GET", "/api/incidents/{incident_id}.cap", incident_cap),
    ]
