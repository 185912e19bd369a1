"""Thai and English text of the Big 6 pages."""

from __future__ import annotations

from collections.abc import Callable

from hub.i18n import Catalogue, register, register_pairs, translate
from plugins.big6.const import SECTOR_LABELS

__all__ = ("STRINGS", "translator", "month_label")

_TEXTS: dict[str, dict[str, str]] = {
    "big6.title": {"th": "ภาคีเครือข่าย 6 ภาคส่วน (Big 6)", "en": "Big 6 crime-prevention network"},
    "big6.directory": {"th": "ทำเนียบสมาชิก", "en": "Member directory"},
    "big6.meetings": {"th": "การประชุมประจำเดือน", "en": "Monthly meetings"},
    "big6.members_n": {"th": "สมาชิก {n} คน", "en": "{n} members"},
    "big6.no_members": {"th": "ยังไม่มีสมาชิก", "en": "No members yet"},
    "big6.name": {"th": "ชื่อ-สกุล", "en": "Name"},
    "big6.sector": {"th": "ภาคส่วน", "en": "Sector"},
    "big6.organisation": {"th": "หน่วยงาน", "en": "Organisation"},
    "big6.phone": {"th": "โทรศัพท์", "en": "Phone"},
    "big6.line": {"th": "LINE", "en": "LINE"},
    "big6.line_linked": {"th": "เชื่อมแล้ว", "en": "linked"},
    "big6.line_code": {"th": "ขอรหัสเชื่อม LINE", "en": "LINE code"},
    "big6.line_code_for": {"th": "รหัสเชื่อม LINE ของ {name}", "en": "LINE registration code for {name}"},
    "big6.line_code_hint": {
        "th": "ให้สมาชิกพิมพ์รหัสนี้ส่งถึงบัญชี LINE ของฮับ",
        "en": "Ask the member to send this code to the hub's LINE account.",
    },
    "big6.line_off": {
        "th": "ยังไม่ได้เปิดใช้ LINE ในฮับนี้ (กรอก LINE user id เองได้)",
        "en": "LINE is not set up on this hub (a LINE user id can be entered by hand).",
    },
    "big6.add_member": {"th": "เพิ่มสมาชิก", "en": "Add a member"},
    "big6.remove": {"th": "ลบ", "en": "Remove"},
    "big6.save": {"th": "บันทึก", "en": "Save"},
    "big6.import": {"th": "นำเข้าจาก CSV", "en": "Import from CSV"},
    "big6.import_hint": {
        "th": "คอลัมน์: name, sector, organisation, phone, line_user_id (หัวตารางภาษาไทยก็ได้) "
        "ถ้ามีแถวใดผิด จะไม่นำเข้าเลยสักแถว",
        "en": "Columns: name, sector, organisation, phone, line_user_id (Thai headers work too). "
        "If any row is wrong, nothing is imported.",
    },
    "big6.import_refused": {"th": "ไม่ได้นำเข้า: พบปัญหา {n} รายการ", "en": "Nothing imported: {n} problem(s)"},
    "big6.imported": {"th": "นำเข้าสมาชิก {n} คนแล้ว", "en": "Imported {n} members"},
    "big6.export": {"th": "ส่งออก CSV", "en": "Export CSV"},
    "big6.export_members": {"th": "สมาชิก (CSV)", "en": "Members (CSV)"},
    "big6.export_resolutions": {"th": "มติ (CSV)", "en": "Resolutions (CSV)"},
    "big6.month": {"th": "เดือน", "en": "Month"},
    "big6.held": {"th": "ประชุมแล้ว", "en": "Held"},
    "big6.not_held": {"th": "ไม่มีการประชุม", "en": "No meeting"},
    "big6.pending": {"th": "ยังไม่ได้ประชุมเดือนนี้", "en": "No meeting yet this month"},
    "big6.before": {"th": "ก่อนเริ่มใช้ระบบ", "en": "Before this hub"},
    "big6.reminder": {
        "th": "⏰ มติ Big 6 ที่คุณรับผิดชอบเลยกำหนด {days} วัน: “{text}” (ประชุมวันที่ {meeting} "
        "กำหนดเสร็จ {due}) กรุณาแจ้งความคืบหน้าให้ผู้ประสานงาน",
        "en": "⏰ A Big 6 resolution you own is {days} day(s) overdue: “{text}” (meeting {meeting}, "
        "due {due}). Please tell the coordinator how it stands.",
    },
    "big6.owner_hint": {
        "th": "พิมพ์ชื่อสมาชิกให้ตรงกับทำเนียบ ระบบจะส่งเตือนทาง LINE ถึงผู้รับผิดชอบเมื่อเลยกำหนด",
        "en": "Type a member's name as in the directory: overdue reminders then reach them in LINE.",
    },
    "big6.sectors_present": {"th": "มา {n}/6 ภาคส่วน", "en": "{n}/6 sectors present"},
    "big6.attendees": {"th": "ผู้เข้าร่วม {n} คน", "en": "{n} attended"},
    "big6.outcome": {
        "th": "มติ {total} · เสร็จ {done} · ค้าง {open} · เลยกำหนด {overdue}",
        "en": "{total} resolutions · {done} done · {open} open · {overdue} overdue",
    },
    "big6.agenda": {"th": "วาระการประชุม", "en": "Agenda"},
    "big6.notes": {"th": "บันทึก", "en": "Notes"},
    "big6.resolutions": {"th": "มติที่ประชุม", "en": "Resolutions"},
    "big6.resolution": {"th": "มติ", "en": "Resolution"},
    "big6.owner": {"th": "ผู้รับผิดชอบ", "en": "Owner"},
    "big6.due": {"th": "กำหนดเสร็จ", "en": "Due"},
    "big6.status": {"th": "สถานะ", "en": "Status"},
    "big6.status.open": {"th": "ยังไม่เริ่ม", "en": "open"},
    "big6.status.in_progress": {"th": "กำลังดำเนินการ", "en": "in progress"},
    "big6.status.done": {"th": "เสร็จแล้ว", "en": "done"},
    "big6.status.dropped": {"th": "ยกเลิก", "en": "dropped"},
    "big6.overdue": {"th": "เลยกำหนด", "en": "overdue"},
    "big6.update": {"th": "ปรับสถานะ", "en": "Update"},
    "big6.result_note": {"th": "ผลที่ได้", "en": "What came of it"},
    "big6.record": {"th": "บันทึกการประชุม", "en": "Record a meeting"},
    "big6.date": {"th": "วันที่ประชุม", "en": "Date"},
    "big6.meeting_title": {"th": "หัวข้อ", "en": "Title"},
    "big6.attendance": {"th": "ผู้เข้าร่วมแต่ละภาคส่วน (คน)", "en": "People present per sector"},
    "big6.new_resolutions": {"th": "มติ (เว้นว่างแถวที่ไม่ใช้)", "en": "Resolutions (leave unused rows empty)"},
    "big6.error": {"th": "บันทึกไม่ได้", "en": "Not saved"},
}
#: Registered with the one catalogue (hub.i18n) as "big6:<key>" (the plugins share key names).
STRINGS: Catalogue = register("big6", _TEXTS, prefix="big6:")
register_pairs("big6.sectors", SECTOR_LABELS, prefix="big6:sector.")


def month_label(month: str, lang: str) -> str:
    """Return ``"มกราคม 2569"`` (Buddhist Era) or ``"January 2026"``."""
    year, mon = int(month[:4]), int(month[5:7])
    name = translate(f"month_full.{mon}", lang)
    return f"{name} {year + 543}" if lang == "th" else f"{name} {year}"


def translator(lang: str) -> Callable[..., str]:
    """Return ``t(key, **fmt)`` for ``lang``: this plugin's strings and sector names, then the core's."""

    def t(key: str, /, **fmt: object) -> str:
        if key.startswith("sector."):
            labels = SECTOR_LABELS.get(key[7:])
            if labels is not None:
                return labels[0] if lang == "th" else labels[1]
        return STRINGS.text(key, lang, **fmt)

    return t
