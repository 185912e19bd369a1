"""The owner's side of a footage request on LINE: the approval card, its buttons, and the receipt.

The card goes to the ``video: footage: approvers`` (LINE aliases: a group, or
the owner's own chat).  Each button's postback data is signed with the hub's
link key for *the chat the card was sent to*, and expires after
``approval_hours``: a forwarded card, a forged postback or a late press is
refused, audited, and answered.  A second press after the owner decided
(a replay) changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from hub.core.bus import Event
from hub.i18n import format_time
from integrations.video.footage import AUDIT_APPROVAL, POSTBACK_FOOTAGE, postback_data

if TYPE_CHECKING:
    from integrations.video.footage import FootageDesk

__all__ = ("listen_postbacks", "send_cards", "send_receipt", "footage_card")

_LOGGER = logging.getLogger(__name__)
_PATH_RE = re.compile(r"^/footage/([0-9A-HJKMNP-TV-Z]{26})/([yn])$")
_COLOUR = "#1565C0"


def _camera_names(desk: FootageDesk, cameras: list[str]) -> str:
    names = []
    for entity_id in cameras:
        state = desk.hub.states.get(entity_id)
        names.append(
            str(state.attributes.get("friendly_name") or entity_id) if state is not None else entity_id
        )
    return ", ".join(names)


def _window(desk: FootageDesk, req: dict[str, Any]) -> str:
    tz = desk.hub.clock.tz
    return f"{format_time(req['start'], 'th', tz)} – {format_time(req['end'], 'th', tz)}"


def footage_card(desk: FootageDesk, req: dict[str, Any], approve_data: str, deny_data: str) -> dict[str, Any]:
    """Return the Flex card asking the owner to approve or deny a footage request."""
    from integrations.line.cards import clip, detail_row
    from integrations.line.const import MAX_ALT_TEXT, MAX_FLEX_LABEL

    officer = req["officer"]
    who = officer.get("name") or officer.get("user") or "-"
    if officer.get("unit"):
        who += f" ({officer['unit']})"
    tz = desk.hub.clock.tz
    expires = format_time(desk.hub.clock.time() + desk.cfg.approval_hours * 3600, "th", tz, seconds=False)
    title = "📹 ตำรวจขอวิดีโอจากกล้อง / Footage request"
    bubble: dict[str, Any] = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "paddingAll": "12px",
            "backgroundColor": _COLOUR,
            "contents": [
                {
                    "type": "text",
                    "text": title,
                    "color": "#FFFFFF",
                    "weight": "bold",
                    "size": "md",
                    "wrap": True,
                }
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                detail_row("ผู้ขอ By", f"{who} · {req['station']}"),
                detail_row("คดี Case", req["case_number"]),
                detail_row("เหตุผล Reason", req["reason"]),
                detail_row("กล้อง Cameras", _camera_names(desk, req["cameras"])),
                detail_row("ช่วงเวลา Window", _window(desk, req)),
                detail_row("ตอบได้ถึง Until", expires),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "color": "#2E7D32",
                    "action": {
                        "type": "postback",
                        "label": clip("อนุญาต / Approve", MAX_FLEX_LABEL),
                        "data": approve_data,
                        "displayText": "อนุญาตให้ส่งวิดีโอ",
                    },
                },
                {
                    "type": "button",
                    "style": "secondary",
                    "action": {
                        "type": "postback",
                        "label": clip("ไม่อนุญาต / Deny", MAX_FLEX_LABEL),
                        "data": deny_data,
                        "displayText": "ไม่อนุญาต",
                    },
                },
            ],
        },
    }
    alt = f"{title}: {req['case_number']} — {_camera_names(desk, req['cameras'])} {_window(desk, req)}"
    return {"type": "flex", "altText": clip(alt, MAX_ALT_TEXT), "contents": bubble}


def _runtime(desk: FootageDesk) -> Any:
    from integrations.line.const import RUNTIME as LINE_RUNTIME

    return desk.hub.data.get(LINE_RUNTIME)


async def send_cards(desk: FootageDesk, request_id: str) -> int:
    """Send the approval card to every approver; return how many were sent."""
    req = await desk.get(request_id)
    rt = _runtime(desk)
    if req is None:
        return 0
    if rt is None or not desk.cfg.approvers:
        _LOGGER.warning(
            "Footage: request %s waits for the owner's approval on the hub's page /video/footage "
            "(no LINE approvers configured)",
            request_id,
        )
        return 0
    from integrations.line.sender import Target

    targets, problems = await rt.sender.resolve(desk.cfg.approvers)
    for name, why in problems:
        _LOGGER.warning("Footage: cannot send the approval card to %s: %s", name, why)
    ttl = desk.cfg.approval_hours * 3600
    sent = 0
    for target in targets:
        card = footage_card(
            desk,
            req,
            postback_data(desk.hub, request_id, True, target.to_id, ttl),
            postback_data(desk.hub, request_id, False, target.to_id, ttl),
        )
        try:
            result = await rt.sender.push(
                Target(target.to_id, target.alias),
                [card],
                purpose="footage_approval",
                summary=f"footage request {request_id} ({req['case_number']})",
            )
        except Exception:
            _LOGGER.exception("Footage: the approval card to %s failed", target.label)
            continue
        if getattr(result, "ok", True):
            sent += 1
    return sent


async def send_receipt(
    desk: FootageDesk, req: dict[str, Any], hashes: list[dict[str, Any]], no_footage: list[str]
) -> None:
    """Tell the owner on LINE exactly what the station received (the audit log has it too)."""
    rt = _runtime(desk)
    if rt is None or not desk.cfg.approvers:
        return
    officer = req["officer"]
    lines = [
        "🧾 ใบรับการส่งวิดีโอ / Footage receipt",
        f"สถานี Station: {req['station']} · {officer.get('name') or officer.get('user')}",
        f"คดี Case: {req['case_number']}",
        f"เหตุผล Reason: {req['reason']}",
        f"ช่วงเวลา Window: {_window(desk, req)}",
    ]
    for item in hashes:
        lines.append(f"{item['camera']}: SHA-256 {item['sha256']} ({item['size']:,} bytes)")
    for camera in no_footage:
        lines.append(f"{camera}: ไม่มีวิดีโอในช่วงนี้ / no footage")
    text = "\n".join(lines)
    from integrations.line.sender import Target

    targets, _problems = await rt.sender.resolve(desk.cfg.approvers)
    for target in targets:
        try:
            await rt.sender.push_text(Target(target.to_id, target.alias), text, purpose="footage_receipt")
        except Exception:
            _LOGGER.exception("Footage: the receipt to %s failed", target.label)


def listen_postbacks(desk: FootageDesk) -> Any:
    """Follow LINE postbacks for the card's buttons; return the unsubscribe callable."""
    from integrations.line.const import EVENT_POSTBACK

    async def on_postback(event: Event) -> None:
        try:
            await _handle(desk, event.data)
        except Exception:
            _LOGGER.exception("Footage: could not handle a LINE postback")

    return desk.hub.bus.listen(EVENT_POSTBACK, on_postback)


async def _say(desk: FootageDesk, chat_id: str | None, text: str) -> None:
    rt = _runtime(desk)
    if rt is None or not chat_id:
        return
    from integrations.line.sender import Target

    await rt.sender.push_text(Target(chat_id, None), text, purpose="footage_approval")


async def _name(desk: FootageDesk, source: dict[str, Any]) -> str:
    user_id = source.get("user_id")
    rt = _runtime(desk)
    if not user_id or rt is None:
        return "LINE user"
    group = source.get("chat_id") if source.get("type") in ("group", "room") else None
    try:
        return str(await rt.api.display_name(user_id, group))
    except Exception:  # noqa: BLE001 - a name is nice to have; the decision stands without it
        return f"LINE …{str(user_id)[-4:]}"


async def _handle(desk: FootageDesk, data: Mapping[str, Any]) -> None:
    raw = str(data.get("data") or "")
    query = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items() if v}
    if query.get("a") != POSTBACK_FOOTAGE:
        return
    source = dict(data.get("source") or {})
    chat_id = source.get("chat_id")
    path = query.get("p", "")
    match = _PATH_RE.match(path)
    name = await _name(desk, source)
    actor = f"line:{name}"
    error: str | None = None
    if match is None:
        error = "forged"
    else:
        try:
            expired = int(query.get("exp", "")) < desk.hub.clock.time()
        except ValueError:
            expired = False
            error = "forged"
        if error is None and expired:
            error = "expired"
        elif error is None and not desk.hub.signer.verify(
            path, query.get("exp"), query.get("sig"), extra=chat_id or ""
        ):
            error = "forged"
    request_id = match.group(1) if match else "?"
    if error is not None:
        await desk.hub.audit.log(
            actor,
            AUDIT_APPROVAL,
            f"footage/{request_id}",
            role="line",
            source="line",
            result="refused",
            detail={"error": error, "user_id": source.get("user_id"), "chat_id": chat_id},
        )
        text = (
            "ปุ่มนี้หมดอายุแล้ว กรุณาตอบคำขอในหน้าเว็บของฮับ / This button has expired; answer on the hub's page."
            if error == "expired"
            else "ปุ่มนี้ไม่ถูกต้องหรือไม่ได้ส่งถึงแชทนี้ / This button is not valid in this chat."
        )
        await _say(desk, chat_id, text)
        return
    assert match is not None
    approve = match.group(2) == "y"
    try:
        state = await desk.decide(request_id, approve, by=actor, via="line", role="line")
    except LookupError:
        await _say(desk, chat_id, "ไม่พบคำขอนี้ / Request not found.")
        return
    except ValueError as err:
        await _say(desk, chat_id, f"คำขอนี้ได้รับการตอบแล้ว / {err}.")
        return
    if state == "approved":
        text = "✅ อนุญาตแล้ว ระบบกำลังส่งวิดีโอให้สถานี และจะส่งใบรับให้ท่าน / Approved: sending the footage."
    else:
        text = "🚫 ไม่อนุญาต สถานีได้รับแจ้งแล้ว / Denied: the station has been told."
    await _say(desk, chat_id, text)
