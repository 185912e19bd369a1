"""Thai and English text of the patrol_qr pages.

A plugin keeps its own strings instead of editing the core's
``hub/i18n.py``; :func:`translator` looks here first and falls back to the
core's keys (so ``t("nav.overview")`` still works in these templates).
"""

from __future__ import annotations

from collections.abc import Callable

from hub.i18n import translate

__all__ = ("STRINGS", "translator")

STRINGS: dict[str, dict[str, str]] = {
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
    "patrol.role.police": {"th": "ตำรวจ", "en": "Police"},
    "patrol.role.volunteer": {"th": "อาสาสมัคร", "en": "Volunteer"},
    # -- the mobile check-in page ----------------------------------------------------
    "checkin.title": {"th": "ลงชื่อตรวจ", "en": "Patrol check-in"},
    "checkin.as": {"th": "ลงชื่อในนาม {name} ({role})", "en": "Checking in as {name} ({role})"},
    "checkin.submit": {"th": "ลงชื่อตรวจ", "en": "Check in"},
    "checkin.geo_hint": {
        "th": "ระบบจะขอตำแหน่งจากโทรศัพท์ (ไม่บังคับ)",
        "en": "Your phone may ask to share its position (optional).",
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
    "volunteer.bad": {"th": "ลิงก์นี้ไม่ถูกต้องหรือถูกยกเลิกแล้ว", "en": "This link is not valid or was revoked."},
}


def translator(lang: str) -> Callable[..., str]:
    """Return ``t(key, **fmt)`` for ``lang``: this plugin's strings, then the core's."""

    def t(key: str, /, **fmt: object) -> str:
        entry = STRINGS.get(key)
        if entry is None:
            return translate(key, lang, **fmt)
        text = entry.get(lang) or entry["en"]
        try:
            return text.format(**fmt) if fmt else text
        except (KeyError, IndexError, ValueError):
            return text

    return t
