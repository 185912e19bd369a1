"""HTTP: stored snapshots, the live proxy, the stream URI, and the camera pages.

Every hand-out goes through :mod:`integrations.camera.policy`: hub admins and
operators always get images; viewers, signed-link holders and the station get
them only when the owner's policy allows, and every hand-out or refusal is
audited.  A plain unauthenticated request (no login, no signature) is answered
401 without an audit entry: it names nobody and would only let anyone fill the
owner's log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.auth import role_at_least
from hub.entity import EntityNotFound
from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from hub.i18n import register_by_lang
from integrations.camera.const import AUDIT_STREAM, AUDIT_VIEW, DOMAIN
from integrations.camera.entity import CameraEntity, PtzError, SnapshotError
from integrations.camera.policy import (
    Decision,
    Party,
    audit_handout,
    check_and_audit,
    explain_policy,
    may_share,
    reason_text,
)

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)

_LOGGER = logging.getLogger(__name__)
_LINK_PARTY_PARAM = "for"
_AUDIT_PAGE_LIMIT = 200


def _party(request: web.Request) -> Party | None:
    user = current_user(request)
    if user is None:
        return None
    return Party.user(user.username, user.role, request.remote or "")


def _camera(hub: Hub, entity_id: str) -> CameraEntity | None:
    try:
        return hub.entities.get(entity_id, CameraEntity)
    except EntityNotFound:
        return None


def _cameras(hub: Hub) -> list[CameraEntity]:
    return sorted((e for e in hub.entities if isinstance(e, CameraEntity)), key=lambda c: c.entity_id)


def _refused(decision: Decision, lang: str = "en") -> web.Response:
    return json_error(
        403, f"not shared: {decision.text(lang)}", reason=decision.reason, policy=decision.policy
    )


# -- stored snapshots -------------------------------------------------------------


async def get_snapshot(request: web.Request) -> web.StreamResponse:
    """Serve a stored snapshot to hub staff, or to others when the owner's policy allows."""
    hub = request.app[HUB_KEY]
    snap_id = request.match_info["snapshot_id"]
    user = current_user(request)
    issued_for = request.query.get(_LINK_PARTY_PARAM, "")
    has_sig = "sig" in request.query
    signed = has_sig and hub.signer.verify(
        request.path, request.query.get("exp"), request.query.get("sig"), extra=issued_for
    )
    if user is None and not has_sig:
        return json_error(401, "a valid signed link or a login is required")
    row = await hub.storage.fetchone("SELECT * FROM snapshots WHERE id = ?", (snap_id,))
    camera = _camera(hub, row["entity_id"]) if row is not None else None
    ip = request.remote or ""
    if user is None and not signed:
        if camera is not None:
            # A wrong or expired link for a real snapshot is worth the owner's attention.
            refusal = Decision(False, "link_invalid", camera.share)
            await audit_handout(
                hub,
                camera,
                Party.link(issued_for, ip),
                refusal,
                "snapshot",
                detail={"snapshot_id": snap_id},
                coalesce=True,
            )
        return json_error(403, "the link is invalid or has expired")
    if row is None:
        return json_error(404, "no such snapshot")
    party = Party.user(user.username, user.role, ip) if user is not None else Party.link(issued_for, ip)
    if signed and not party.is_hub_staff:
        # A link is issued for someone outside the hub: it is judged as that party, not as the browser's login.
        party = Party.link(issued_for, ip)
    detail = {"snapshot_id": snap_id, "incident_id": row["incident_id"], "taken_at": row["ts"]}
    if camera is None:
        if not party.is_hub_staff:
            # The camera left the config: nobody can say what its owner allows, so nothing leaves.
            await hub.audit.log(
                party.name,
                AUDIT_VIEW,
                row["entity_id"],
                role=party.audit_role,
                detail={**detail, "reason": "camera_unknown"},
                source=party.audit_source,
                ip=ip,
                result="refused",
            )
            return json_error(403, "not shared: the camera is no longer configured")
        return _file(hub, row["path"])
    decision = await check_and_audit(
        hub, camera, party, "snapshot", detail=detail, coalesce=party.is_hub_staff
    )
    if not decision:
        return _refused(decision)
    return _file(hub, row["path"])


def _file(hub: Hub, rel: str) -> web.StreamResponse:
    path = hub.data_dir / rel
    if not path.is_file():
        return json_error(404, "the snapshot file is missing")
    return web.FileResponse(
        path, headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=300"}
    )


# -- live image and stream ---------------------------------------------------------


async def camera_proxy(request: web.Request) -> web.StreamResponse:
    """Serve a fresh frame (the camera wall), falling back to the latest stored snapshot."""
    hub = request.app[HUB_KEY]
    party = _party(request)
    camera = _camera(hub, request.match_info["entity_id"])
    if party is None:
        return json_error(401, "login required")
    if camera is None:
        return json_error(404, "no such camera")
    decision = await check_and_audit(hub, camera, party, "live", coalesce=True)
    if not decision:
        return _refused(decision)
    headers = {"Content-Type": "image/jpeg", "Cache-Control": "no-store"}
    try:
        data = await camera.live_image()
    except (SnapshotError, OSError, TimeoutError, NotImplementedError) as err:
        row = await hub.storage.fetchone(
            "SELECT path FROM snapshots WHERE entity_id = ? ORDER BY ts DESC LIMIT 1", (camera.entity_id,)
        )
        if row is None or not (hub.data_dir / row["path"]).is_file():
            return json_error(503, f"no image from {camera.entity_id}: {err}")
        data = await hub.loop.run_in_executor(None, (hub.data_dir / row["path"]).read_bytes)
        headers["X-Camera-Stale"] = "1"
    return web.Response(body=data, headers=headers)


async def get_stream(request: web.Request) -> web.Response:
    """Hand out the camera's stream URI when the policy allows; always audited."""
    hub = request.app[HUB_KEY]
    party = _party(request)
    camera = _camera(hub, request.match_info["entity_id"])
    if party is None:
        return json_error(401, "login required")
    if camera is None:
        return json_error(404, "no such camera")
    uri = camera.stream_uri()
    decision = await check_and_audit(hub, camera, party, "stream", detail={"has_stream": uri is not None})
    if not decision:
        return _refused(decision)
    if uri is None:
        return json_error(404, f"{camera.entity_id} has no stream")
    return web.json_response(
        {"entity_id": camera.entity_id, "stream_uri": uri, "decision": decision.as_dict()}
    )


# -- JSON -----------------------------------------------------------------------


def _sees(hub: Hub, camera: CameraEntity, party: Party) -> str:
    """How much of a camera's entry ``party`` may see: ``full``, ``registry`` or ``none``.

    ``full`` (device facts, the latest picture's id) needs what a picture
    needs; ``never`` cameras show a viewer only that they exist and why
    nothing more is shown.
    """
    if may_share(hub, camera, party, "snapshot"):
        return "full"
    return "registry" if may_share(hub, camera, party, "registry") else "none"


def _camera_summary(hub: Hub, camera: CameraEntity, party: Party) -> dict[str, Any]:
    state = hub.states.get(camera.entity_id)
    sees = _sees(hub, camera, party)
    out: dict[str, Any] = {
        "entity_id": camera.entity_id,
        "name": camera.name,
        "state": state.state if state is not None else "unknown",
        "share": camera.share,
        "live": may_share(hub, camera, party, "live").as_dict(),
    }
    if sees == "none":
        return out
    out.update(
        {
            "owner": {"name": camera.owner.name, "phone": camera.owner.phone},
            "location": {"lat": camera.location[0], "lon": camera.location[1]} if camera.location else None,
            "ptz": camera.supports_ptz,
            "sensors": camera.sensor_ids(),
        }
    )
    if sees == "full":
        out["last_snapshot_id"] = camera.last_snapshot_id
        out["error"] = camera.error
    return out


async def list_cameras(request: web.Request) -> web.Response:
    """Return every camera with its policy and what the caller may see now."""
    hub = request.app[HUB_KEY]
    party = _party(request)
    assert party is not None  # the route needs a login
    return web.json_response(
        {"cameras": [_camera_summary(hub, c, party) for c in _cameras(hub)]}, dumps=_dumps
    )


async def get_camera(request: web.Request) -> web.Response:
    """Return one camera with device facts and PTZ presets."""
    hub = request.app[HUB_KEY]
    party = _party(request)
    camera = _camera(hub, request.match_info["entity_id"])
    assert party is not None
    if camera is None:
        return json_error(404, "no such camera")
    out = _camera_summary(hub, camera, party)
    sees = _sees(hub, camera, party)
    if sees == "none":
        return web.json_response(out, dumps=_dumps)
    if sees == "full":
        out["device"] = dict(camera.device_info())
    try:
        out["presets"] = [{"token": p.token, "name": p.name} for p in await camera.ptz_presets()]
    except PtzError as err:
        out["presets"], out["presets_error"] = [], str(err)
    return web.json_response(out, dumps=_dumps)


async def camera_audit(request: web.Request) -> web.Response:
    """Return who viewed what (camera hand-outs and refusals), newest first."""
    hub = request.app[HUB_KEY]
    entity_id = request.query.get("entity_id") or None
    try:
        limit = max(1, min(int(request.query.get("limit", "100")), 1000))
    except ValueError:
        return json_error(400, "limit must be a number")
    entries = await _audit_entries(hub, entity_id, limit)
    return web.json_response({"entries": [e.as_dict() for e in entries]}, dumps=_dumps)


async def _audit_entries(hub: Hub, entity_id: str | None, limit: int) -> list[Any]:
    entries = [
        *await hub.audit.query(action=AUDIT_VIEW, target=entity_id, limit=limit),
        *await hub.audit.query(action=AUDIT_STREAM, target=entity_id, limit=limit),
    ]
    entries.sort(key=lambda e: (e.ts, e.id), reverse=True)
    return entries[:limit]


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, default=str)


# -- pages -----------------------------------------------------------------------


async def wall_page(request: web.Request) -> web.Response:
    """The camera wall: the latest image of every camera the visitor may see, refreshed live."""
    hub = request.app[HUB_KEY]
    party = _party(request)
    assert party is not None
    lang = request_lang(request)
    tiles = []
    for camera in _cameras(hub):
        decision = may_share(hub, camera, party, "live")
        state = hub.states.get(camera.entity_id)
        tiles.append(
            {
                "camera": camera,
                "decision": decision,
                "reason": decision.text(lang),
                "state": state.state if state is not None else "unknown",
            }
        )
    return render(request, "camera_wall.html", tiles=tiles, strings=_STRINGS, L=lang)


async def camera_page(request: web.Request) -> web.Response:
    """One camera: facts, live image, stream URI (admins), PTZ presets, sensors, policy, recent views."""
    hub = request.app[HUB_KEY]
    party = _party(request)
    user = current_user(request)
    assert party is not None and user is not None
    camera = _camera(hub, request.match_info["entity_id"])
    if camera is None:
        raise web.HTTPNotFound(text="no such camera")
    lang = request_lang(request)
    decision = may_share(hub, camera, party, "live")
    sees = _sees(hub, camera, party)
    stream_uri = None
    if role_at_least(user.role, "admin"):
        # Shown on the page, so the hand-out is audited like the API's.
        await audit_handout(
            hub, camera, party, decision, "stream", detail={"via": "camera page"}, coalesce=True
        )
        stream_uri = camera.stream_uri()
    try:
        presets = await camera.ptz_presets() if sees != "none" else []
    except PtzError as err:
        presets, presets_error = [], str(err)
    else:
        presets_error = ""
    sensors = []
    for entity_id in camera.sensor_ids() if sees != "none" else ():
        sensor = hub.states.get(entity_id)
        if sensor is not None:
            sensors.append(sensor)
    state = hub.states.get(camera.entity_id)
    recent = await _audit_entries(hub, camera.entity_id, 20) if role_at_least(user.role, "operator") else []
    public_decision = may_share(hub, camera, Party.station("—"), "live")
    return render(
        request,
        "camera_page.html",
        camera=camera,
        decision=decision,
        reason=decision.text(lang),
        explain=explain_policy(camera, lang),
        public_decision=public_decision,
        public_reason=public_decision.text(lang),
        stream_uri=stream_uri,
        presets=presets,
        presets_error=presets_error,
        can_ptz=role_at_least(user.role, "operator") and camera.supports_ptz,
        sensors=sensors,
        state=state.state if state is not None else "unknown",
        device=dict(camera.device_info()) if sees == "full" else {},
        sees=sees,
        recent=recent,
        strings=_STRINGS,
        L=lang,
    )


async def audit_page(request: web.Request) -> web.Response:
    """Who viewed which camera, when, and what was refused."""
    hub = request.app[HUB_KEY]
    entity_id = request.query.get("entity_id") or None
    entries = await _audit_entries(hub, entity_id, _AUDIT_PAGE_LIMIT)
    lang = request_lang(request)
    rows = [
        {
            "entry": e,
            "reason": reason_text(str(e.detail.get("reason", "")), lang) if e.detail.get("reason") else "",
        }
        for e in entries
    ]
    return render(
        request,
        "camera_audit.html",
        rows=rows,
        cameras=_cameras(hub),
        selected=entity_id or "",
        strings=_STRINGS,
        L=lang,
    )


#: Page strings, Thai and English (kept here so hub/i18n.py stays the core's).
_STRINGS: dict[str, dict[str, str]] = {
    "th": {
        "wall": "กล้อง",
        "wall_intro": "ภาพล่าสุดจากกล้องทุกตัวที่ท่านมีสิทธิ์ดู ภาพจะอัปเดตเองทุก 10 วินาที",
        "no_cameras": "ยังไม่มีกล้อง",
        "not_shared": "ไม่แชร์",
        "open": "เปิดดู",
        "audit": "บันทึกการเข้าดู",
        "stale": "ภาพเก่า (กล้องไม่ตอบ)",
        "info": "ข้อมูลกล้อง",
        "owner": "เจ้าของ",
        "phone": "โทร",
        "location": "ตำแหน่ง",
        "policy": "การแชร์ภาพ",
        "now": "ขณะนี้",
        "shared_until": "แชร์ได้ถึง",
        "stream": "ที่อยู่สตรีม (RTSP)",
        "stream_note": "แสดงเฉพาะผู้ดูแล และบันทึกไว้ทุกครั้ง",
        "no_stream": "กล้องไม่มีสตรีม",
        "presets": "ตำแหน่งที่ตั้งไว้ (PTZ)",
        "no_presets": "ไม่มีตำแหน่งที่ตั้งไว้",
        "goto": "หันไป",
        "sensors": "เซนเซอร์",
        "no_sensors": "กล้องไม่ส่งเหตุการณ์",
        "recent": "การเข้าดูล่าสุด",
        "when": "เวลา",
        "who": "ผู้ดู",
        "what": "อะไร",
        "result": "ผล",
        "reason": "เหตุผล",
        "camera": "กล้อง",
        "all": "ทั้งหมด",
        "ok": "ให้ดู",
        "refused": "ปฏิเสธ",
        "state": "สถานะ",
        "error": "ข้อผิดพลาด",
        "for_others": "สำหรับสถานีและผู้อื่น",
        "device": "อุปกรณ์",
        "back": "กล้องทั้งหมด",
        "policy_never": "ไม่แชร์",
        "policy_registry": "แชร์เฉพาะทะเบียน",
        "policy_on_alarm": "แชร์เมื่อมีเหตุ",
        "policy_always": "แชร์ตลอด",
        "audit_intro": "ทุกครั้งที่มีการเปิดดูภาพหรือสตรีม หรือถูกปฏิเสธ จะถูกบันทึกไว้ที่นี่",
        "filter": "กรอง",
        "no_entries": "ยังไม่มีบันทึก",
        "what_live": "ภาพสด",
        "what_snapshot": "ภาพที่บันทึกไว้",
        "what_stream": "ที่อยู่สตรีม",
        "what_registry": "ข้อมูลทะเบียน",
        "what_recording": "ภาพที่บันทึกไว้ (วิดีโอ)",
        "watch_title": "สถานีกำลังดูภาพสด",
        "watching": "เจ้าหน้าที่ {officer} จากสถานีตำรวจกำลังดูภาพสดจากกล้องนี้ เหตุผล: {reason}",
        "watching_since": "ตั้งแต่",
        "uplink": "กำลังส่งภาพไปสถานี {kbps} kbit/s ({profile})",
        "res_sub": "ความละเอียดต่ำ",
        "res_main": "ความละเอียดสูง",
        "what_footage": "วิดีโอย้อนหลังที่ส่งให้สถานี (คำขอ)",
    },
    "en": {
        "wall": "Cameras",
        "wall_intro": "The latest image of every camera you may see; refreshed every 10 seconds.",
        "no_cameras": "No cameras yet",
        "not_shared": "Not shared",
        "open": "Open",
        "audit": "Who viewed what",
        "stale": "Old image (camera not answering)",
        "info": "Camera",
        "owner": "Owner",
        "phone": "Phone",
        "location": "Location",
        "policy": "Sharing",
        "now": "Now",
        "shared_until": "Shared until",
        "stream": "Stream URI (RTSP)",
        "stream_note": "Shown to admins only; every display is audited",
        "no_stream": "The camera has no stream",
        "presets": "PTZ presets",
        "no_presets": "No presets",
        "goto": "Go to",
        "sensors": "Sensors",
        "no_sensors": "The camera sends no events",
        "recent": "Recent views",
        "when": "When",
        "who": "Who",
        "what": "What",
        "result": "Result",
        "reason": "Reason",
        "camera": "Camera",
        "all": "All",
        "ok": "Shown",
        "refused": "Refused",
        "state": "State",
        "error": "Error",
        "for_others": "For the station and others",
        "device": "Device",
        "back": "All cameras",
        "policy_never": "Never shared",
        "policy_registry": "Registry only",
        "policy_on_alarm": "Shared on alarm",
        "policy_always": "Always shared",
        "audit_intro": "Every view of an image or stream, and every refusal, is listed here.",
        "filter": "Filter",
        "no_entries": "Nothing recorded yet",
        "what_live": "live image",
        "what_snapshot": "stored snapshot",
        "what_stream": "stream URI",
        "what_registry": "registry entry",
        "what_recording": "recorded video",
        "watch_title": "Live at the station",
        "watching": "Officer {officer} is watching this camera live from the station. Reason: {reason}",
        "watching_since": "since",
        "uplink": "Sending to the station: {kbps} kbit/s ({profile})",
        "res_sub": "low resolution",
        "res_main": "full resolution",
        "what_footage": "footage sent to the station (request)",
    },
}
# One catalogue for the whole UI: the table is registered with hub.i18n (same shape back).
_STRINGS = register_by_lang("camera.views", _STRINGS, prefix="camera.views.")


def routes() -> list[Route]:
    """Return the camera routes."""
    tags = ("cameras",)
    return [
        Route(
            "GET",
            "/api/snapshots/{snapshot_id}.jpg",
            get_snapshot,
            public=True,
            tags=tags,
            summary="A stored snapshot: hub staff, or others with a valid signed, expiring link (exp, sig) "
            "when the camera's share policy allows; every hand-out is audited",
        ),
        Route(
            "GET",
            "/api/camera_proxy/{entity_id}",
            camera_proxy,
            tags=tags,
            summary="A fresh JPEG from the camera when the share policy allows (audited)",
        ),
        Route(
            "GET", "/api/cameras", list_cameras, tags=tags, summary="Cameras, policies and what you may see"
        ),
        Route(
            "GET",
            "/api/cameras/audit",
            camera_audit,
            role="operator",
            tags=tags,
            summary="Camera views and refusals, newest first (entity_id, limit)",
        ),
        Route("GET", "/api/cameras/{entity_id}", get_camera, tags=tags, summary="One camera with presets"),
        Route(
            "GET",
            "/api/cameras/{entity_id}/stream",
            get_stream,
            tags=tags,
            summary="The stream URI when the share policy allows (audited)",
        ),
        Route("GET", f"/{DOMAIN}s", wall_page, api=False, summary="Camera wall"),
        Route("GET", f"/{DOMAIN}s/audit", audit_page, role="operator", api=False, summary="Camera audit"),
        Route("GET", f"/{DOMAIN}s/{{entity_id}}", camera_page, api=False, summary="Camera page"),
    ]
