"""The hub's page and API for footage requests, and the hub's public evidence key.

* ``/video/footage`` (admin): the station's requests, pending first, with
  approve / deny (the owner's other way to answer besides LINE);
* ``GET /api/video/footage`` and ``POST /api/video/footage/{id}/{approve|deny}`` (admin);
* ``GET /api/video/keys`` (viewer): the hub's Ed25519 public key, to check its part of a pack.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from hub.i18n import register_by_lang
from integrations.federation.protocol import ID_RE
from integrations.video.footage import FOOTAGE_DESK, FootageDesk

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes", "STRINGS")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


def _desk(request: web.Request) -> FootageDesk | None:
    return request.app[HUB_KEY].data.get(FOOTAGE_DESK)


async def page(request: web.Request) -> web.Response:
    desk = _desk(request)
    lang = request_lang(request)
    requests = await desk.requests() if desk is not None else []
    message, kind = None, "info"
    done = request.query.get("done")
    if done in ("approved", "denied"):
        message = STRINGS[lang]["done_" + done]
    elif done == "late":
        message, kind = STRINGS[lang]["late"], "error"
    return render(
        request,
        "video_footage.html",
        requests=requests,
        strings=STRINGS,
        L=lang,
        message=message,
        message_kind=kind,
    )


async def _decide(request: web.Request) -> tuple[int, dict[str, Any]]:
    desk = _desk(request)
    if desk is None:
        return 503, {"error": "footage requests are not running on this hub"}
    request_id = request.match_info["request_id"]
    decision = request.match_info["decision"]
    if not ID_RE.match(request_id):
        return 404, {"error": "no such footage request"}
    user = current_user(request)
    try:
        state = await desk.decide(
            request_id,
            decision == "approve",
            by=user.username,
            via="ui",
            role=user.role,
            ip=request.remote or "",
        )
    except LookupError as err:
        return 404, {"error": str(err)}
    except ValueError as err:
        return 409, {"error": str(err)}
    return 200, {"request_id": request_id, "state": state}


async def decide_form(request: web.Request) -> web.Response:
    status, doc = await _decide(request)
    if status == 200:
        raise web.HTTPSeeOther(f"/video/footage?done={doc['state']}")
    if status == 409:
        raise web.HTTPSeeOther("/video/footage?done=late")
    return json_error(status, doc["error"])


async def decide_api(request: web.Request) -> web.Response:
    status, doc = await _decide(request)
    return web.json_response(doc, status=status, dumps=_dumps)


async def list_api(request: web.Request) -> web.Response:
    desk = _desk(request)
    if desk is None:
        return json_error(503, "footage requests are not running on this hub")
    return web.json_response(await desk.requests(), dumps=_dumps)


async def keys_api(request: web.Request) -> web.Response:
    desk = _desk(request)
    if desk is None:
        return json_error(503, "footage requests are not running on this hub")
    hub = request.app[HUB_KEY]
    return web.json_response({"hub": {"id": hub.id, **desk.key.public.as_dict(), "pem": desk.key.public.pem}})


def routes(hub: Hub) -> list[Route]:
    """Return the footage page and API (hub role)."""
    tags = ("video",)
    return [
        Route(
            "GET",
            "/video/footage",
            page,
            role="admin",
            api=False,
            summary="Footage requests from the station",
        ),
        Route(
            "POST",
            "/video/footage/{request_id}/{decision:approve|deny}",
            decide_form,
            role="admin",
            api=False,
            summary="The owner approves or denies a footage request",
        ),
        Route(
            "GET",
            "/api/video/footage",
            list_api,
            role="admin",
            tags=tags,
            summary="Footage requests from the station, pending first",
        ),
        Route(
            "POST",
            "/api/video/footage/{request_id}/{decision:approve|deny}",
            decide_api,
            role="admin",
            tags=tags,
            summary="Approve or deny a pending footage request",
        ),
        Route(
            "GET",
            "/api/video/keys",
            keys_api,
            role="viewer",
            tags=tags,
            summary="The hub's Ed25519 public key (it signs its part of evidence packs)",
        ),
    ]


#: Page strings, Thai and English.
STRINGS: dict[str, dict[str, str]] = {
    "th": {
        "title": "คำขอวิดีโอจากสถานีตำรวจ",
        "intro": "สถานีขอวิดีโอย้อนหลังจากกล้องของท่านเพื่อใช้เป็นหลักฐาน ระบบส่งให้เองเฉพาะกล้องที่ท่านตั้งให้แชร์ได้ "
        "นอกนั้นต้องได้รับอนุญาตจากท่านก่อน ทุกคำขอและทุกไฟล์ที่ส่งออกไปถูกบันทึกพร้อมรหัสตรวจสอบ (SHA-256)",
        "case": "คดี",
        "by": "ผู้ขอ",
        "reason": "เหตุผล",
        "cameras": "กล้อง",
        "window": "ช่วงเวลา",
        "received": "ได้รับคำขอ",
        "decided": "ตัดสินโดย",
        "error": "ข้อผิดพลาด",
        "approve": "อนุญาต",
        "deny": "ไม่อนุญาต",
        "none": "ยังไม่มีคำขอ",
        "state_pending": "รอท่านอนุญาต",
        "state_approved": "อนุญาตแล้ว กำลังส่ง",
        "state_denied": "ไม่อนุญาต",
        "state_delivered": "ส่งแล้ว",
        "state_failed": "ส่งไม่สำเร็จ",
        "served_policy_always": "แชร์ตลอดเวลา",
        "served_alarm_window": "ช่วงเกิดเหตุ",
        "served_owner_approval": "ต้องขออนุญาต",
        "via_line": "ทาง LINE",
        "via_ui": "ในหน้านี้",
        "via_policy": "ตามนโยบายกล้อง",
        "done_approved": "อนุญาตแล้ว ระบบกำลังตัดวิดีโอและส่งให้สถานี",
        "done_denied": "ไม่อนุญาตแล้ว สถานีได้รับแจ้ง",
        "late": "คำขอนี้ได้รับการตอบไปแล้ว",
        "failed_text": "ส่งวิดีโอให้สถานีไม่สำเร็จ",
        "technical": "รายละเอียดทางเทคนิค (ภาษาอังกฤษ)",
        "bytes": "ไบต์",
    },
    "en": {
        "title": "Footage requests from the station",
        "intro": "The police station asks for recorded video from your cameras as evidence. It is sent on its own "
        "only for cameras you share; otherwise you decide. Every request and every file sent is recorded with "
        "its SHA-256.",
        "case": "Case",
        "by": "Requested by",
        "reason": "Reason",
        "cameras": "Cameras",
        "window": "Window",
        "received": "Received",
        "decided": "Decided by",
        "error": "Error",
        "approve": "Approve",
        "deny": "Deny",
        "none": "No requests yet",
        "state_pending": "Waiting for you",
        "state_approved": "Approved, sending",
        "state_denied": "Denied",
        "state_delivered": "Delivered",
        "state_failed": "Failed",
        "served_policy_always": "shared always",
        "served_alarm_window": "incident window",
        "served_owner_approval": "needs approval",
        "via_line": "on LINE",
        "via_ui": "on this page",
        "via_policy": "by the camera's policy",
        "done_approved": "Approved: the footage is being cut and sent to the station.",
        "done_denied": "Denied: the station has been told.",
        "late": "This request was already answered.",
        "failed_text": "The footage could not be sent to the station",
        "technical": "Technical details",
        "bytes": "bytes",
    },
}
# One catalogue for the whole UI: the table is registered with hub.i18n (same shape back).
STRINGS = register_by_lang("video.footage_views", STRINGS, prefix="video.footage_views.")
