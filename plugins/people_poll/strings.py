"""Thai and English text of the People Poll pages (questions come from the config)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from hub.i18n import Catalogue, register

__all__ = ("date_label", "STRINGS", "translator", "month_label")

_TEXTS: dict[str, dict[str, str]] = {
    "poll.qr_alt": {"th": "คิวอาร์โค้ดของลิงก์แบบสำรวจ", "en": "QR code of the poll link"},
    "poll.nav": {"th": "แบบสำรวจ", "en": "People Poll"},
    "poll.results": {"th": "ผลสำรวจ", "en": "Results"},
    "poll.month": {"th": "เดือน", "en": "Month"},
    "poll.responses": {"th": "ผู้ตอบ {n} คน", "en": "{n} responses"},
    "poll.no_responses": {"th": "ยังไม่มีผู้ตอบในเดือนนี้", "en": "No responses this month yet"},
    "poll.mean": {"th": "ค่าเฉลี่ย {v} จาก 5", "en": "Average {v} out of 5"},
    "poll.share_yes": {"th": 'ตอบว่า "ใช่" {v}%', "en": "{v}% said yes"},
    "poll.trend": {"th": "แนวโน้มรายเดือน", "en": "Month-over-month trend"},
    "poll.trend_scale": {"th": "ค่าเฉลี่ย (1–5)", "en": "Averages (1–5)"},
    "poll.trend_yes": {"th": "สัดส่วนที่ตอบว่าใช่ (%)", "en": "Share answering yes (%)"},
    "poll.lower_better": {"th": "ยิ่งต่ำยิ่งดี", "en": "lower is better"},
    "poll.comments": {"th": "ความคิดเห็น", "en": "Comments"},
    "poll.comments_note": {
        "th": "ความคิดเห็นไม่ถูกส่งไปยังสถานี ส่งเฉพาะตัวเลขสรุป",
        "en": "Comments stay on this hub; only the totals go to the station.",
    },
    "poll.share": {"th": "ลิงก์แบบสำรวจเดือนนี้", "en": "This month's poll link"},
    "poll.share_hint": {
        "th": "พิมพ์ QR นี้ติดในชุมชน หรือส่งลิงก์ในกลุ่ม LINE ลิงก์ใช้ได้ถึง {until}",
        "en": "Print this QR for the community or post the link in LINE. Valid until {until}.",
    },
    "poll.no_public_url": {
        "th": "ยังไม่ได้ตั้ง hub.web.public_url: ลิงก์นี้ใช้ที่อยู่ที่คุณเปิดหน้านี้ ซึ่งคนภายนอกอาจเข้าไม่ได้",
        "en": "hub.web.public_url is not set: this link uses the address you opened this page with, "
        "which people outside may not reach.",
    },
    "poll.line_text": {"th": "ข้อความสำหรับ LINE", "en": "Text for LINE"},
    "poll.line_message": {
        "th": "ขอเชิญร่วมตอบแบบสำรวจความปลอดภัยประจำเดือน (ไม่ต้องระบุชื่อ ใช้เวลา 1 นาที): {url}",
        "en": "Please answer this month's community safety poll (anonymous, 1 minute): {url}",
    },
    "poll.show": {"th": "ดู", "en": "Show"},
    "poll.yes": {"th": "ใช่", "en": "Yes"},
    "poll.no": {"th": "ไม่ใช่", "en": "No"},
    "poll.submit": {"th": "ส่งคำตอบ", "en": "Send"},
    "poll.intro": {
        "th": "ไม่ต้องระบุชื่อ ระบบไม่เก็บข้อมูลส่วนตัว ตอบได้เดือนละหนึ่งครั้ง",
        "en": "Anonymous: nothing personal is kept. One answer per month.",
    },
    "poll.required": {"th": "จำเป็น", "en": "required"},
    "poll.optional": {"th": "ไม่บังคับ", "en": "optional"},
    "poll.thanks": {"th": "ขอบคุณที่ร่วมตอบแบบสำรวจ", "en": "Thank you for answering"},
    "poll.thanks_more": {
        "th": "คำตอบของคุณช่วยให้ตำรวจและชุมชนทำงานได้ตรงจุดขึ้น",
        "en": "Your answers help the police and the community focus their work.",
    },
    "refused.already": {
        "th": "คุณตอบแบบสำรวจของเดือนนี้แล้ว ขอบคุณครับ/ค่ะ",
        "en": "You have already answered this month's poll. Thank you.",
    },
    "refused.throttled": {
        "th": "มีการส่งคำตอบจากเครือข่ายนี้มากเกินไป กรุณาลองใหม่ภายหลัง",
        "en": "Too many answers from this network; please try again later.",
    },
    "refused.throttled_until": {
        "th": "มีการส่งคำตอบจากเครือข่ายนี้ (เช่น Wi-Fi เดียวกัน) มากเกินไป กรุณากลับมาตอบหลัง {when} "
        "ไม่ต้องกรอกแบบสำรวจตอนนี้",
        "en": "Too many answers have come from this network (a shared Wi-Fi, say). Please come back "
        "after {when}; there is no need to fill in the poll now.",
    },
    "refused.invalid": {"th": "กรุณาตอบคำถาม: {q}", "en": "Please answer: {q}"},
    "refused.form": {
        "th": "แบบฟอร์มหมดอายุ กรุณาเปิดลิงก์ใหม่อีกครั้ง",
        "en": "The form expired; please open the link again.",
    },
    "refused.link": {
        "th": "ลิงก์แบบสำรวจนี้ไม่ถูกต้องหรือหมดอายุ ไม่มีการบันทึก",
        "en": "This poll link is not valid or has expired. Nothing was recorded.",
    },
    "refused.not_open": {"th": "แบบสำรวจของเดือนนี้ยังไม่เปิด", "en": "This month's poll is not open yet."},
    "refused.closed": {"th": "แบบสำรวจของเดือนนี้ปิดแล้ว", "en": "This month's poll has closed."},
    "refused.not_configured": {"th": "ฮับนี้ไม่ได้เปิดใช้แบบสำรวจ", "en": "The poll is not set up on this hub."},
}
#: Registered with the one catalogue (hub.i18n) as "people_poll:<key>" (the plugins share key names).
STRINGS: Catalogue = register("people_poll", _TEXTS, prefix="people_poll:")

_TH_MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date_label(day: date, lang: str) -> str:
    """Return ``"3 ก.พ. 2569"`` or ``"3 Feb 2026"``: the day with its own month and year."""
    return f"{day.day} {month_label(f'{day.year:04d}-{day.month:02d}', lang)}"


def month_label(month: str, lang: str, short: bool = False) -> str:
    """Return ``"ม.ค. 2569"`` (Buddhist Era) or ``"Jan 2026"``; short form ``"ม.ค. 69"``/``"Jan 26"``."""
    year, mon = int(month[:4]), int(month[5:7])
    if lang == "th":
        be = year + 543
        return f"{_TH_MONTHS[mon - 1]} {be % 100 if short else be}"
    return f"{_EN_MONTHS[mon - 1]} {year % 100 if short else year}"


def translator(lang: str) -> Callable[..., str]:
    """Return ``t(key, **fmt)`` for ``lang``: this plugin's strings, then the core's."""

    def t(key: str, /, **fmt: object) -> str:
        return STRINGS.text(key, lang, **fmt)

    return t
