"""The station's REST API and its plain hubs page.

``/api/hubs`` lists the zone's hubs with their link state; ``/api/hubs/{id}``
adds the retained registry and health; ``POST /api/hubs/{id}/commands`` sends
an allowlisted command (``wait`` seconds for the answer, at most 30).
Federated incidents appear in the core's ``/api/incidents`` with a
``hub_id`` (the station registers itself as an incident source).  Every view
of a hub's snapshot is audited: who, when, which camera, which incident
(DESIGN §9).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from hub.i18n import register_by_lang
from integrations.federation.protocol import ID_RE, NAME_RE
from integrations.station.const import AUDIT_SNAPSHOT_VIEW, RUNTIME
from integrations.station.runtime import CommandError, Station

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)

_MAX_WAIT = 30.0


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def _station(request: web.Request) -> Station | None:
    return request.app[HUB_KEY].data.get(RUNTIME)


def _hub_id(request: web.Request) -> str | None:
    hub_id = request.match_info["hub_id"]
    return hub_id if NAME_RE.match(hub_id) else None


async def list_hubs(request: web.Request) -> web.Response:
    station = _station(request)
    if station is None:
        return json_error(503, "the station is not running")
    hubs = await station.store.hubs()
    return web.json_response(hubs, dumps=_dumps)


async def get_hub(request: web.Request) -> web.Response:
    station = _station(request)
    hub_id = _hub_id(request)
    if station is None:
        return json_error(503, "the station is not running")
    item = await station.store.hub(hub_id) if hub_id else None
    if item is None or hub_id is None:
        return json_error(404, f"no hub {request.match_info['hub_id']!r} at this station")
    item["rejected_since_start"] = station.ingest.rejected_by_hub.get(hub_id, 0)
    item["last_reject_since_start"] = station.ingest.last_reject.get(hub_id)
    item["incidents"] = await station.store.incidents(hub_id=hub_id, status="active", limit=50)
    item["events"] = await station.store.events(hub_id, limit=20)
    item["commands"] = [c.as_dict() for c in await station.store.commands(hub_id, limit=20)]
    from integrations.station.supervision_figures import month_figures

    # Interval, detection time, this month's SOS latency and the EN 50136 grade (docs/operations.md).
    item["supervision"] = (await month_figures(station)).get(hub_id)
    return web.json_response(item, dumps=_dumps)


async def hub_events(request: web.Request) -> web.Response:
    station = _station(request)
    hub_id = _hub_id(request)
    if station is None or hub_id is None:
        return json_error(404, "no such hub")
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return json_error(400, "limit must be an integer")
    return web.json_response(await station.store.events(hub_id, limit=limit), dumps=_dumps)


async def post_command(request: web.Request) -> web.Response:
    station = _station(request)
    hub_id = _hub_id(request)
    if station is None:
        return json_error(503, "the station is not running")
    if hub_id is None:
        return json_error(404, "no such hub")
    body = await request.json() if request.can_read_body else {}
    if not isinstance(body, dict):
        return json_error(400, "body must be a JSON object")
    command, data, wait = body.get("command"), body.get("data", {}), body.get("wait", 0)
    if not isinstance(command, str) or not isinstance(data, dict):
        return json_error(400, "body needs 'command' (e.g. light.flash) and 'data' (an object)")
    if not isinstance(wait, int | float) or isinstance(wait, bool) or not 0 <= wait <= _MAX_WAIT:
        return json_error(400, f"'wait' is seconds, 0 to {_MAX_WAIT:g}")
    user = current_user(request)
    try:
        record = await station.send_command(
            hub_id,
            command,
            data,
            user=user.username,
            role=user.role,
            name=str(body.get("name") or ""),
            unit=str(body.get("unit") or ""),
            ip=request.remote or "",
        )
    except CommandError as err:
        return json_error(err.status, str(err))
    final = await station.wait_command(record.id, float(wait)) if wait else record
    result = final or record
    return web.json_response(result.as_dict(), status=202 if result.status == "sent" else 200, dumps=_dumps)


async def list_commands(request: web.Request) -> web.Response:
    station = _station(request)
    hub_id = _hub_id(request)
    if station is None or hub_id is None:
        return json_error(404, "no such hub")
    return web.json_response([c.as_dict() for c in await station.store.commands(hub_id)], dumps=_dumps)


async def get_command(request: web.Request) -> web.Response:
    station = _station(request)
    if station is None:
        return json_error(503, "the station is not running")
    record = await station.store.command(request.match_info["command_id"])
    if record is None or record.hub_id != request.match_info["hub_id"]:
        return json_error(404, "no such command")
    return web.json_response(record.as_dict(), dumps=_dumps)


async def get_snapshot(request: web.Request) -> web.StreamResponse:
    station = _station(request)
    hub_id = _hub_id(request)
    msg_id = request.match_info["msg_id"]
    if station is None or hub_id is None or not ID_RE.match(msg_id):
        return json_error(404, "no such snapshot")
    row = await station.store.snapshot(hub_id, msg_id)
    if row is None:
        return json_error(404, "no such snapshot")
    user = current_user(request)
    hub = request.app[HUB_KEY]
    # DESIGN §9 / the CCOC rule: every view of a shared image says why (an incident id
    # or free text), so the owner can see what their camera was used for.
    reason = (request.query.get("reason") or "").strip()
    if not reason:
        await hub.audit.log(
            user.username,
            AUDIT_SNAPSHOT_VIEW,
            f"{hub_id}/{row['entity_id']}",
            role=user.role,
            detail={"hub_id": hub_id, "snapshot": msg_id},
            source="api",
            ip=request.remote or "",
            result="refused: no reason",
        )
        return json_error(400, "a reason is required to view a shared image (?reason=incident id or text)")
    from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME

    # The owner's rule and record, as for a console view: the window of an on_alarm
    # camera, and a copy of the view in the owner's hub audit.
    console = hub.data.get(CCOC_RUNTIME)
    refusal = (
        await console.viewing.picture_refusal(hub_id, row)
        if console is not None
        else "the console is not running"
    )
    detail = {
        "hub_id": hub_id,
        "camera": row["entity_id"],
        "incident_id": row["incident_id"],
        "snapshot": msg_id,
        "reason": reason[:200],
    }
    if refusal is not None or console is None:
        await hub.audit.log(
            user.username,
            AUDIT_SNAPSHOT_VIEW,
            f"{hub_id}/{row['entity_id']}",
            role=user.role,
            detail={**detail, "error": refusal},
            source="api",
            ip=request.remote or "",
            result="refused",
        )
        return json_error(403, refusal or "refused")
    # Written before the picture is served: a view that cannot be recorded is not allowed.
    await hub.audit.log(
        user.username,
        AUDIT_SNAPSHOT_VIEW,
        f"{hub_id}/{row['entity_id']}",
        role=user.role,
        detail=detail,
        source="api",
        ip=request.remote or "",
    )
    await console.viewing.mirror_picture(
        hub_id, row, user=user.username, role=user.role, name=user.username, reason=reason[:200]
    )
    path = station.ingest.snapshot_dir / row["path"]
    return web.FileResponse(
        path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, no-store"}
    )


async def station_status(request: web.Request) -> web.Response:
    station = _station(request)
    if station is None:
        return json_error(503, "the station is not running")
    # peer_incidents: incidents other workers stored, shown here (several workers on PostgreSQL).
    peers = {"peer_incidents": station.peers.heard} if station.peers is not None else {}
    return web.json_response({"id": station.id, **station.ingest.stats(), **peers}, dumps=_dumps)


_LABELS = {
    "en": {
        "title": "Hubs",
        "station": "Station",
        "hub": "Hub",
        "status": "Link",
        "last_seen": "Last seen",
        "incidents": "Open incidents",
        "battery": "Battery alarms",
        "cameras": "Shared cameras",
        "rejected": "Rejected messages",
        "version": "Version",
        "none": "No hub is registered yet: add one with `safetyhub station add-hub HUB_ID`.",
        "online": "online",
        "offline": "offline",
        "silent": "silent",
        "unknown": "not seen yet",
    },
    "th": {
        "title": "ฮับในพื้นที่",
        "station": "สถานี",
        "hub": "ฮับ",
        "status": "การเชื่อมต่อ",
        "last_seen": "ติดต่อล่าสุด",
        "incidents": "เหตุที่ยังเปิด",
        "battery": "แบตเตอรี่ต่ำ",
        "cameras": "กล้องที่แชร์",
        "rejected": "ข้อความที่ถูกปฏิเสธ",
        "version": "รุ่น",
        "none": "ยังไม่มีฮับที่ลงทะเบียน: เพิ่มด้วยคำสั่ง `safetyhub station add-hub HUB_ID`",
        "online": "ออนไลน์",
        "offline": "ออฟไลน์",
        "silent": "เงียบหาย",
        "unknown": "ยังไม่เคยติดต่อ",
    },
}
# One catalogue for the whole UI: the table is registered with hub.i18n (same shape back).
_LABELS = register_by_lang("station.api", _LABELS, prefix="station.api.")


async def hubs_page(request: web.Request) -> web.StreamResponse:
    from hub.http.templating import render, request_lang

    station = _station(request)
    hubs = await station.store.hubs() if station is not None else []
    labels = _LABELS["th" if request_lang(request) == "th" else "en"]
    return render(request, "station_hubs.html", hubs=hubs, station_id=station.id if station else "", L=labels)


def routes(hub: Hub) -> list[Route]:
    """Return the station's routes."""
    tags = ("station",)
    return [
        Route("GET", "/api/hubs", list_hubs, summary="The station's hubs with link state", tags=tags),
        Route(
            "GET",
            "/api/hubs/{hub_id}",
            get_hub,
            summary="One hub: registry, health, incidents, commands",
            tags=tags,
        ),
        Route("GET", "/api/hubs/{hub_id}/events", hub_events, summary="A hub's latest events", tags=tags),
        Route(
            "POST",
            "/api/hubs/{hub_id}/commands",
            post_command,
            role="operator",
            tags=tags,
            summary="Send an allowlisted command to a hub (optionally wait for its answer)",
            request_schema={
                "type": "object",
                "required": ["command"],
                "properties": {
                    "command": {"type": "string"},
                    "data": {"type": "object"},
                    "wait": {"type": "number", "minimum": 0, "maximum": _MAX_WAIT},
                },
            },
        ),
        Route(
            "GET", "/api/hubs/{hub_id}/commands", list_commands, summary="Commands sent to a hub", tags=tags
        ),
        Route(
            "GET",
            "/api/hubs/{hub_id}/commands/{command_id}",
            get_command,
            summary="One command and its answer",
            tags=tags,
        ),
        Route(
            "GET",
            "/api/hubs/{hub_id}/snapshots/{msg_id}.jpg",
            get_snapshot,
            role="operator",
            tags=tags,
            summary="A snapshot a hub shared: needs ?reason=; every view (and refusal) is audited",
        ),
        Route(
            "GET",
            "/api/station",
            station_status,
            role="operator",
            summary="Ingest counters and broker link",
            tags=tags,
        ),
        Route("GET", "/station/hubs", hubs_page, summary="Hubs", api=False),
    ]
