"""Thai and English text of the patrol_qr pages.

A plugin keeps its own strings instead of editing the core's
``hub/i18n.py``; :func:`translator` looks here first and falls back to the
core's keys (so ``t("nav.overview")`` still works in these templates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.i18n import Catalogue, register

__all__ = ("STRINGS", "translator", "flag_text")

_TEXTS: dict[str, dict[str, str]] = {
    "patrol.title": {"th": "ตู้แดง (จุดตรวจ QR)", "en": "Red boxes (QR patrol checkpoints)"},
    "patrol.nav": {"th": "ตู้แดง", "en": "Patrols"},
    "patrol.checkpoints": {"th": "จุดตรวจ", "en": "Checkpoints"},
    "patrol.checkpoint": {"th": "จุดตรวจ", "en": "Checkpoint"},
    "patrol.no_checkpoints": {"th": "ยังไม่มีจุดตรวจ", "en": "No checkpoints yet"},
    "patrol.risk": {"th": "จุดเสี่ยง", "en": "Risk"},
    "patrol.location": {"th": "พิกัด", "en": "Location"},
    "patrol.source": {"th": "ที่มา", "en": "Defined in"},
    "patrol.source.config": {"th": "config.yaml", "en": "config.yaml"},
    "patrol.source.ui": {"th": "หน้าเว็บ", "en": "the UI"},
    "patrol.sheet": {"th": "แผ่น QR (A4)", "en": "QR sheet (A4)"},
    "patrol.sheet_png": {"th": "PNG", "en": "PNG"},
    "patrol.sheet_pdf": {"th": "PDF", "en": "PDF"},
    "patrol.new_sheet": {"th": "ออกแผ่นใหม่ (แผ่นเก่าใช้ไม่ได้)", "en": "New sheet (voids old prints)"},
    "patrol.remove": {"th": "ลบ", "en": "Remove"},
    "patrol.add_checkpoint": {"th": "เพิ่มจุดตรวจ", "en": "Add a checkpoint"},
    "patrol.field.id": {"th": "รหัส (a-z 0-9 _)", "en": "Id (a-z 0-9 _)"},
    "patrol.field.name": {"th": "ชื่อ", "en": "Name"},
    "patrol.field.lat": {"th": "ละติจูด", "en": "Latitude"},
    "patrol.field.lon": {"th": "ลองจิจูด", "en": "Longitude"},
    "patrol.field.risk": {"th": "ความเสี่ยงของจุดนี้", "en": "Why this spot is risky"},
    "patrol.field.phone": {"th": "โทรศัพท์", "en": "Phone"},
    "patrol.field.note": {"th": "บันทึก (ถ้ามี)", "en": "Note (optional)"},
    "patrol.save": {"th": "บันทึก", "en": "Save"},
    "patrol.recent": {"th": "การตรวจล่าสุด", "en": "Recent patrols"},
    "patrol.no_patrols": {"th": "ยังไม่มีการตรวจ", "en": "No patrols yet"},
    "patrol.when": {"th": "เวลา", "en": "When"},
    "patrol.who": {"th": "ผู้ตรวจ", "en": "Who"},
    "patrol.joint": {"th": "ตรวจร่วม", "en": "Joint patrol"},
    "patrol.mixed": {"th": "ตำรวจ + อาสา", "en": "Officer + volunteer"},
    "patrol.far": {"th": "ไกลจากจุด {m} ม.", "en": "{m} m from the spot"},
    "patrol.coverage": {"th": "ความครอบคลุมการตรวจ", "en": "Patrol coverage"},
    "patrol.coverage_ratio": {"th": "ตรวจครบ {pct}% ของผลัด", "en": "{pct}% of shifts patrolled"},
    "patrol.days": {"th": "{n} วัน", "en": "{n} days"},
    "patrol.gaps": {"th": "ช่องว่างการตรวจ", "en": "Gaps"},
    "patrol.no_gaps": {"th": "ไม่มีช่องว่าง", "en": "No gaps"},
    "patrol.gap": {
        "th": "{cp}: ไม่มีการตรวจผลัด{shift} {days} วัน",
        "en": "{cp}: no {shift} visit in {days} days",
    },
    "patrol.gap_at_least": {
        "th": "{cp}: ไม่มีการตรวจผลัด{shift} อย่างน้อย {days} วัน",
        "en": "{cp}: no {shift} visit in at least {days} days",
    },
    "patrol.cell.visited": {"th": "ตรวจแล้ว", "en": "visited"},
    "patrol.cell.missed": {"th": "ไม่มีการตรวจ", "en": "missed"},
    "patrol.cell.pending": {"th": "ยังไม่ถึง/กำลังดำเนินการ", "en": "not over yet"},
    "patrol.cell.before": {"th": "ยังไม่มีจุดนี้", "en": "not yet a checkpoint"},
    "patrol.cell.flagged": {"th": "มีแต่การลงชื่อที่ถูกตั้งข้อสังเกต", "en": "only flagged check-ins"},
    "patrol.volunteers": {"th": "อาสาสมัคร", "en": "Volunteers"},
    "patrol.issue": {"th": "ออกลิงก์ส่วนตัว", "en": "Issue a personal link"},
    "patrol.issued_at": {"th": "ออกเมื่อ", "en": "Issued"},
    "patrol.last_seen": {"th": "ใช้ล่าสุด", "en": "Last used"},
    "patrol.revoke": {"th": "ยกเลิกลิงก์", "en": "Revoke"},
    "patrol.revoked": {"th": "ยกเลิกแล้ว", "en": "Revoked"},
    "patrol.active": {"th": "ใช้งาน", "en": "Active"},
    "patrol.link_once": {
        "th": "ส่งลิงก์นี้ให้ {name} ทางช่องทางส่วนตัว หรือให้สแกน QR นี้ ลิงก์จะแสดงครั้งเดียวเท่านั้น",
        "en": "Give this link to {name} privately, or let them scan this QR. It is shown only once.",
    },
    "patrol.no_public_url": {
        "th": "ยังไม่ได้ตั้ง hub.web.public_url: QR บนแผ่นจะชี้ไปที่ที่อยู่ที่คุณเปิดหน้านี้ ซึ่งโทรศัพท์ภายนอกอาจเข้าไม่ได้",
        "en": "hub.web.public_url is not set: sheets point at the address you opened this page with, "
        "which phones outside may not reach.",
    },
    "patrol.no_such": {"th": "ไม่พบจุดตรวจนี้", "en": "No such checkpoint."},
    "patrol.no_such_volunteer": {
        "th": "ไม่พบอาสาสมัครนี้ หรือลิงก์ถูกยกเลิกไปแล้ว",
        "en": "No such volunteer, or the link was already revoked.",
    },
    "patrol.confirm.title": {"th": "ยืนยันก่อนดำเนินการ", "en": "Please confirm"},
    "patrol.confirm.cancel": {"th": "ยกเลิก", "en": "Cancel"},
    "patrol.confirm.new_sheet": {
        "th": "ออกแผ่น QR ใหม่ของ {cp}? แผ่นที่พิมพ์ไว้ทั้งหมดจะใช้ลงชื่อไม่ได้ทันที ต้องนำแผ่นใหม่ไปติดที่ตู้",
        "en": "Make a new QR sheet for {cp}? Every printed sheet stops working at once; "
        "the new one must be put up at the box.",
    },
    "patrol.confirm.remove": {
        "th": "ลบจุดตรวจ {cp}? ประวัติการตรวจยังเก็บไว้ในรายงาน",
        "en": "Remove checkpoint {cp}? Its patrol history stays in the reports.",
    },
    "patrol.confirm.revoke": {
        "th": "ยกเลิกลิงก์ของ {name}? โทรศัพท์ของเขาจะลงชื่อตรวจไม่ได้อีก",
        "en": "Revoke {name}'s link? Their phone will no longer check in.",
    },
    "patrol.confirm.move": {
        "th": "ย้ายลิงก์ของ {name} ไปโทรศัพท์เครื่องใหม่? ลิงก์เดิมและโทรศัพท์เครื่องเดิมจะใช้ไม่ได้ ระบบจะแสดงลิงก์ใหม่ครั้งเดียว",
        "en": "Move {name}'s link to a new phone? The old link and phone stop working; "
        "the new link is shown once.",
    },
    "patrol.move": {"th": "ย้ายไปโทรศัพท์ใหม่", "en": "Move to a new phone"},
    "patrol.device": {"th": "โทรศัพท์", "en": "Phone"},
    "patrol.device.bound": {"th": "ผูกกับโทรศัพท์แล้ว", "en": "Bound to a phone"},
    "patrol.device.unbound": {"th": "ยังไม่ได้เปิดลิงก์", "en": "Not opened yet"},
    "patrol.flagged": {"th": "ตั้งข้อสังเกต", "en": "Flagged"},
    "patrol.flagged_title": {"th": "การลงชื่อที่รอตรวจสอบ", "en": "Check-ins to review"},
    "patrol.flagged_hint": {
        "th": "การลงชื่อเหล่านี้ถูกเก็บไว้แต่ไม่นับเป็นการตรวจจริง จนกว่าผู้ดูแลจะรับรอง",
        "en": "These check-ins are kept but not counted as visits until an admin accepts them.",
    },
    "patrol.no_flagged": {"th": "ไม่มีรายการรอตรวจสอบ", "en": "Nothing to review"},
    "patrol.accept": {"th": "รับรองว่าตรวจจริง", "en": "Accept as a visit"},
    "patrol.accepted": {"th": "รับรองแล้ว", "en": "Accepted"},
    "patrol.flag.far": {"th": "ห่างจากตู้ {far}", "en": "{far} from the box"},
    "patrol.flag.speed": {
        "th": "เดินทางจากจุดก่อนหน้าเร็วเกินจริง ({kmh} กม./ชม.)",
        "en": "impossible travel from the previous check-in ({kmh} km/h)",
    },
    "patrol.flag.no_position_plain": {"th": "ไม่มีตำแหน่งจากโทรศัพท์", "en": "no position from the phone"},
    "patrol.flag.far_plain": {"th": "อยู่ห่างจากตู้", "en": "far from the box"},
    "patrol.flag.speed_plain": {
        "th": "มาถึงจากจุดก่อนหน้าในเวลาเดียวกัน",
        "en": "arrived from the previous check-in at the same moment",
    },
    "patrol.cell.flagged_count": {"th": "รอตรวจสอบ {n}", "en": "{n} to review"},
    # -- refusals of the admin pages (problems.PatrolError) ------------------------------------
    "error.required": {"th": "ต้องกรอก", "en": "required"},
    "error.too_long": {"th": "ยาวเกิน {max} ตัวอักษร", "en": "longer than {max} characters"},
    "error.id_pattern": {"th": "ใช้ได้เฉพาะ a-z 0-9 และ _", "en": "only a-z, 0-9 and _"},
    "error.lat_range": {"th": "ต้องเป็นตัวเลข -90 ถึง 90", "en": "a number from -90 to 90"},
    "error.lon_range": {"th": "ต้องเป็นตัวเลข -180 ถึง 180", "en": "a number from -180 to 180"},
    "error.lat_and_lon": {
        "th": "กรอกทั้งละติจูดและลองจิจูด หรือเว้นว่างทั้งคู่",
        "en": "give both lat and lon, or neither",
    },
    "error.invalid": {"th": "ค่าไม่ถูกต้อง", "en": "not valid"},
    "error.id_used": {
        "th": "รหัส {id} ถูกใช้แล้ว (รหัสของจุดที่ลบไปแล้วก็ใช้ซ้ำไม่ได้)",
        "en": "checkpoint id '{id}' is already used",
    },
    "error.no_checkpoint": {"th": "ไม่พบจุดตรวจ {id}", "en": "no checkpoint '{id}'"},
    "error.in_config": {
        "th": "จุดตรวจ {id} กำหนดไว้ใน config.yaml ให้ลบที่นั่น",
        "en": "checkpoint '{id}' is defined in config.yaml; remove it there",
    },
    "error.no_volunteer": {
        "th": "ไม่พบอาสาสมัครนี้ หรือลิงก์ถูกยกเลิกไปแล้ว",
        "en": "no such active volunteer",
    },
    "error.no_checkin": {"th": "ไม่พบการลงชื่อนี้", "en": "no such check-in"},
    "error.not_flagged": {
        "th": "การลงชื่อนี้ไม่ได้รอการรับรอง (ไม่ถูกตั้งข้อสังเกต หรือรับรองไปแล้ว)",
        "en": "this check-in is not waiting for acceptance",
    },
    "patrol.role.police": {"th": "ตำรวจ", "en": "Police"},
    "patrol.role.volunteer": {"th": "อาสาสมัคร", "en": "Volunteer"},
    # -- the mobile check-in page ----------------------------------------------------
    "checkin.title": {"th": "ลงชื่อตรวจ", "en": "Patrol check-in"},
    "checkin.as": {"th": "ลงชื่อในนาม {name} ({role})", "en": "Checking in as {name} ({role})"},
    "checkin.submit": {"th": "ลงชื่อตรวจ", "en": "Check in"},
    "checkin.geo_hint": {
        "th": "ระบบจะขอตำแหน่งจากโทรศัพท์ กรุณากดอนุญาต: การลงชื่อที่ไม่มีตำแหน่งจะไม่นับจนกว่าผู้ดูแลจะรับรอง",
        "en": "Your phone will ask for its position: please allow it. A check-in without one is not "
        "counted until an admin accepts it.",
    },
    "checkin.flagged": {
        "th": "บันทึกไว้แล้ว แต่ยังไม่นับเป็นการตรวจ ({why}) ผู้ดูแลจะตรวจสอบ",
        "en": "Recorded, but not counted as a visit yet ({why}); an admin will review it.",
    },
    "checkin.done": {"th": "ลงชื่อตรวจแล้ว", "en": "Checked in"},
    "checkin.done_at": {"th": "{cp} เวลา {time}", "en": "{cp} at {time}"},
    "checkin.patrol_so_far": {"th": "การตรวจครั้งนี้: {who}", "en": "This patrol so far: {who}"},
    "checkin.who_are_you": {"th": "คุณคือใคร", "en": "Who are you?"},
    "checkin.officer": {"th": "เจ้าหน้าที่ตำรวจ: เข้าสู่ระบบ", "en": "Police officer: log in"},
    "checkin.volunteer_hint": {
        "th": "อาสาสมัคร: เปิดลิงก์ส่วนตัวที่ได้รับจากผู้ดูแลก่อน หนึ่งครั้งในโทรศัพท์เครื่องนี้ แล้วสแกน QR อีกครั้ง",
        "en": "Volunteer: open the personal link the admin gave you once on this phone, then scan again.",
    },
    "checkin.refused": {"th": "ลงชื่อไม่ได้", "en": "Check-in refused"},
    "refused.invalid": {
        "th": "ลิงก์นี้ไม่ถูกต้อง (อาจถูกปลอมหรือแก้ไข) ไม่มีการบันทึกใด ๆ",
        "en": "This link is not valid (forged or altered). Nothing was recorded.",
    },
    "refused.expired": {
        "th": "แผ่น QR นี้หมดอายุแล้ว กรุณาแจ้งผู้ดูแลให้พิมพ์แผ่นใหม่ ไม่มีการบันทึก",
        "en": "This QR sheet has expired; ask the admin for a new sheet. Nothing was recorded.",
    },
    "refused.old_sheet": {
        "th": "แผ่น QR นี้ถูกแทนที่ด้วยแผ่นใหม่แล้ว ไม่มีการบันทึก",
        "en": "This QR sheet has been replaced by a newer one. Nothing was recorded.",
    },
    "refused.unknown": {"th": "ไม่พบจุดตรวจนี้", "en": "No such checkpoint."},
    "refused.replay": {
        "th": "คุณลงชื่อที่จุดนี้แล้วเมื่อ {time} ลงชื่อซ้ำในรอบเดียวกันไม่ได้",
        "en": "You already checked in here at {time}; the same person cannot check in twice in one patrol.",
    },
    "refused.revoked": {
        "th": "ลิงก์อาสาสมัครของคุณถูกยกเลิกแล้ว กรุณาติดต่อผู้ดูแล",
        "en": "Your volunteer link has been revoked. Please contact the admin.",
    },
    "refused.form": {
        "th": "แบบฟอร์มหมดอายุ กรุณาสแกน QR ใหม่",
        "en": "The form expired; please scan the QR again.",
    },
    "refused.role": {
        "th": "บัญชีนี้ไม่มีสิทธิ์ลงชื่อในฐานะเจ้าหน้าที่",
        "en": "This account may not check in as an officer.",
    },
    "refused.note_too_long": {
        "th": "บันทึกยาวเกินไป (ไม่เกิน 500 ตัวอักษร)",
        "en": "The note is too long (500 characters at most).",
    },
    "refused.bad_position": {"th": "ตำแหน่งที่ส่งมาไม่ถูกต้อง", "en": "The position sent is not valid."},
    "refused.bad_role": {"th": "บทบาทไม่ถูกต้อง", "en": "Unknown role."},
    "refused.not_configured": {
        "th": "ระบบตู้แดงยังไม่เปิดใช้ในฮับนี้",
        "en": "Patrol checkpoints are not set up on this hub.",
    },
    "volunteer.title": {"th": "ลิงก์อาสาสมัคร", "en": "Volunteer link"},
    "volunteer.ok": {
        "th": "โทรศัพท์เครื่องนี้ลงทะเบียนเป็นของ {name} แล้ว สแกน QR ที่ตู้แดงเพื่อลงชื่อตรวจได้เลย",
        "en": "This phone is now registered to {name}. Scan the QR at a red box to check in.",
    },
    "volunteer.other_device": {
        "th": "ลิงก์นี้ผูกกับโทรศัพท์เครื่องอื่นแล้ว หากเปลี่ยนโทรศัพท์ กรุณาให้ผู้ดูแลย้ายลิงก์ไปเครื่องใหม่",
        "en": "This link is bound to another phone. If you changed phones, ask the admin to move it.",
    },
    "refused.device": {
        "th": "ลิงก์อาสาสมัครนี้ผูกกับโทรศัพท์เครื่องอื่น ไม่มีการบันทึก กรุณาให้ผู้ดูแลย้ายลิงก์ไปเครื่องใหม่",
        "en": "This volunteer link is bound to another phone. Nothing was recorded; ask the admin to move it.",
    },
    "volunteer.bad": {"th": "ลิงก์นี้ไม่ถูกต้องหรือถูกยกเลิกแล้ว", "en": "This link is not valid or was revoked."},
}
#: Registered with the one catalogue (hub.i18n) as "patrol_qr:<key>" (the plugins share key names).
STRINGS: Catalogue = register("patrol_qr", _TEXTS, prefix="patrol_qr:")


def translator(lang: str) -> Callable[..., str]:
    """Return ``t(key, **fmt)`` for ``lang``: this plugin's strings, then the core's."""

    def t(key: str, /, **fmt: object) -> str:
        return STRINGS.text(key, lang, **fmt)

    return t


def flag_text(checkin: Any, lang: str) -> str:
    """Return why a check-in was flagged, in words ("ห่างจากตู้ 9,374.2 กม.")."""
    t = translator(lang)
    parts = []
    for flag in checkin.flags:
        if flag == "far" and checkin.distance_m is not None:
            dist = float(checkin.distance_m)
            km, m = ("กม.", "ม.") if lang == "th" else ("km", "m")
            far = f"{dist / 1000:,.1f} {km}" if dist >= 1000 else f"{round(dist)} {m}"
            parts.append(t("patrol.flag.far", far=far))
        elif flag == "speed" and checkin.speed_kmh is not None:
            parts.append(t("patrol.flag.speed", kmh=f"{checkin.speed_kmh:,.0f}"))
        elif flag in ("far", "speed", "no_position"):
            parts.append(t(f"patrol.flag.{flag}_plain"))
        else:
            parts.append(flag)
    return " · ".join(parts)
