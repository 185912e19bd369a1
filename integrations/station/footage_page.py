"""The CCOC console's footage page: ask a hub for recorded video, follow the requests, download packs.

``/ccoc/footage`` (operator) lists the requests, newest first, with their
state in plain words and a link to the signed evidence pack once delivered;
its form asks for one hub's cameras over a window, with a reason and a case
number.  It is the same check and the same audit as ``POST
/api/ccoc/footage_requests``; a refusal is explained in the officer's
language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.auth import role_at_least
from hub.http.routes import Route, current_user
from hub.http.server import HUB_KEY
from hub.http.templating import request_lang
from hub.i18n import register_by_lang
from integrations.station.footage import FOOTAGE, FootageError

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes", "STRINGS", "explain")


async def _cameras(request: web.Request) -> list[dict[str, Any]]:
    """Return every camera the station may ask footage of: (hub, camera, name, policy)."""
    from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME

    console = request.app[HUB_KEY].data.get(CCOC_RUNTIME)
    if console is None:
        return []
    out = []
    for hub_id, item in sorted((await console.hubs.all()).items()):
        for cam in (item.get("registry") or {}).get("cameras") or []:
            if isinstance(cam, dict) and cam.get("entity_id"):
                out.append(
                    {
                        "value": f"{hub_id}|{cam['entity_id']}",
                        "hub": item.get("name") or hub_id,
                        "name": cam.get("name") or cam["entity_id"],
                        "share": cam.get("share") or "",
                    }
                )
    return out


def explain(err: FootageError, lang: str) -> str:
    """Return a refusal in the officer's language (the API's English text is for clients)."""
    template = STRINGS[lang].get("err_" + err.code) if err.code else None
    if template is None:
        return str(err) if lang == "en" else STRINGS[lang]["err_other"]
    values = {k: (", ".join(v) if isinstance(v, list) else v) for k, v in err.extra.items()}
    values.setdefault("field", "")
    values["field"] = STRINGS[lang].get("field_" + str(values["field"]), values["field"])
    return template.format(**values)


async def _render(
    request: web.Request, *, status: int = 200, error: str | None = None, form: Any = None
) -> web.Response:
    from hub.http.templating import render
    from integrations.ccoc.labels import JS_KEYS, labels

    desk = request.app[HUB_KEY].data.get(FOOTAGE)
    lang = request_lang(request)
    names = labels(lang)
    user = current_user(request)
    response = render(
        request,
        "console_footage.html",
        L=names,
        js_labels={k: names[k] for k in JS_KEYS},
        can_act=True,  # the page needs the operator role
        can_audit=user is not None and role_at_least(user.role, "supervisor"),
        S=STRINGS[lang],
        requests=await desk.requests() if desk is not None else [],
        cameras=await _cameras(request),
        error=error,
        form=form or {},
        created=request.query.get("created"),
    )
    response.set_status(status)
    return response


async def page(request: web.Request) -> web.Response:
    """Footage requests: the form and the list."""
    return await _render(request)


async def submit(request: web.Request) -> web.Response:
    """The form: one hub's cameras, a window, a reason and a case number."""
    form = await request.post()
    user = current_user(request)
    lang = request_lang(request)
    picked = [str(v) for v in form.getall("camera", [])]
    hubs = {p.split("|", 1)[0] for p in picked if "|" in p}
    values = {k: str(form.get(k) or "") for k in ("start", "end", "reason", "case_number")}
    desk = request.app[HUB_KEY].data.get(FOOTAGE)
    if desk is None:
        return await _render(request, status=503, error=STRINGS[lang]["err_other"], form=values)
    if len(hubs) > 1:
        return await _render(request, status=400, error=STRINGS[lang]["err_one_hub"], form=values)
    body = {
        "hub_id": next(iter(hubs), ""),
        "cameras": [p.split("|", 1)[1] for p in picked if "|" in p],
        **values,
    }
    try:
        found = await desk.create(body, user=user.username, role=user.role, ip=request.remote or "")
    except FootageError as err:
        return await _render(request, status=err.status, error=explain(err, lang), form=values)
    raise web.HTTPSeeOther(f"/ccoc/footage?created={found['id']}")


def routes(hub: Hub) -> list[Route]:
    """Return the console's footage page (station role)."""
    return [
        Route("GET", "/ccoc/footage", page, role="operator", api=False, summary="Footage requests"),
        Route("POST", "/ccoc/footage", submit, role="operator", api=False, summary="Ask a hub for footage"),
    ]


#: The page's words, Thai and English.
STRINGS: dict[str, dict[str, str]] = {
    "th": {
        "title": "คำขอวิดีโอย้อนหลัง",
        "intro": "ขอวิดีโอจากกล้องของฮับเพื่อใช้เป็นหลักฐาน ฮับตัดสินตามนโยบายที่เจ้าของกล้องตั้งไว้ "
        "บางกล้องต้องรอเจ้าของอนุญาต ทุกคำขอถูกบันทึกทั้งที่สถานีและที่ฮับ",
        "new": "ขอวิดีโอใหม่",
        "cameras": "กล้อง (เลือกจากฮับเดียว)",
        "start": "ตั้งแต่",
        "end": "ถึง",
        "reason": "เหตุผล",
        "case_number": "เลขคดี",
        "send": "ส่งคำขอ",
        "requests": "คำขอ",
        "none": "ยังไม่มีคำขอ",
        "hub": "ฮับ",
        "window": "ช่วงเวลา",
        "state": "สถานะ",
        "clips": "ไฟล์",
        "pack": "ดาวน์โหลดชุดหลักฐาน",
        "no_footage": "ไม่มีวิดีโอในช่วงนี้",
        "created": "ส่งคำขอแล้ว",
        "state_pending": "รอฮับหรือเจ้าของกล้อง",
        "state_approved": "อนุญาตแล้ว กำลังส่ง",
        "state_denied": "ไม่อนุญาต",
        "state_delivered": "ได้รับแล้ว",
        "state_failed": "ไม่สำเร็จ",
        "policy_always": "แชร์ตลอด",
        "policy_on_alarm": "แชร์ช่วงเกิดเหตุ",
        "policy_registry": "ต้องขอเจ้าของ",
        "field_start": "เวลาเริ่ม",
        "field_end": "เวลาสิ้นสุด",
        "err_hub_required": "กรุณาเลือกกล้องอย่างน้อยหนึ่งตัว",
        "err_hub_unknown": "ไม่พบฮับนี้ในสถานี",
        "err_cameras_required": "กรุณาเลือกกล้องอย่างน้อยหนึ่งตัว",
        "err_too_many_cameras": "เลือกได้ไม่เกิน 16 กล้องต่อคำขอ",
        "err_camera_unknown": "ฮับนี้ไม่มีกล้อง {missing}",
        "err_time_invalid": "{field} ไม่ถูกต้อง",
        "err_end_before_start": "เวลาสิ้นสุดต้องอยู่หลังเวลาเริ่ม",
        "err_window_too_long": "ช่วงเวลายาวเกินไป ขอได้ไม่เกิน {max_window_minutes} นาทีต่อคำขอ (แบ่งเป็นหลายคำขอได้)",
        "err_window_future": "ช่วงเวลายังมาไม่ถึง จึงยังไม่มีวิดีโอ",
        "err_reason_required": "กรุณาระบุเหตุผล",
        "err_reason_too_long": "เหตุผลยาวเกิน 500 ตัวอักษร",
        "err_case_required": "กรุณาระบุเลขคดี",
        "err_case_too_long": "เลขคดียาวเกิน 100 ตัวอักษร",
        "err_one_hub": "เลือกกล้องจากฮับเดียวต่อหนึ่งคำขอ",
        "err_other": "ส่งคำขอไม่สำเร็จ กรุณาลองใหม่",
    },
    "en": {
        "title": "Footage requests",
        "intro": "Ask a hub for recorded video as evidence. The hub decides by the camera owner's policy; some "
        "cameras wait for the owner's approval. Every request is recorded at the station and at the hub.",
        "new": "New request",
        "cameras": "Cameras (from one hub)",
        "start": "From",
        "end": "To",
        "reason": "Reason",
        "case_number": "Case number",
        "send": "Send request",
        "requests": "Requests",
        "none": "No requests yet",
        "hub": "Hub",
        "window": "Window",
        "state": "State",
        "clips": "Files",
        "pack": "Download evidence pack",
        "no_footage": "no footage in this window",
        "created": "Request sent",
        "state_pending": "waiting for the hub or the owner",
        "state_approved": "approved, sending",
        "state_denied": "denied",
        "state_delivered": "delivered",
        "state_failed": "failed",
        "policy_always": "always shared",
        "policy_on_alarm": "shared during incidents",
        "policy_registry": "ask the owner",
        "field_start": "The start",
        "field_end": "The end",
        "err_hub_required": "Choose at least one camera",
        "err_hub_unknown": "This hub is not registered at the station",
        "err_cameras_required": "Choose at least one camera",
        "err_too_many_cameras": "At most 16 cameras per request",
        "err_camera_unknown": "The hub has no camera {missing}",
        "err_time_invalid": "{field} is not a valid time",
        "err_end_before_start": "The end must be after the start",
        "err_window_too_long": "The window is too long: at most {max_window_minutes} minutes per request "
        "(ask for several)",
        "err_window_future": "The window has not happened yet: there is no footage",
        "err_reason_required": "Give a reason",
        "err_reason_too_long": "The reason is over 500 characters",
        "err_case_required": "Give the case number",
        "err_case_too_long": "The case number is over 100 characters",
        "err_one_hub": "Choose cameras from one hub per request",
        "err_other": "The request could not be sent; try again",
    },
}
# One catalogue for the whole UI: the table is registered with hub.i18n (same shape back).
STRINGS = register_by_lang("station.footage_page", STRINGS, prefix="station.footage_page.")
