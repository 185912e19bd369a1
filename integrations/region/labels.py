"""The region console's words in Thai and English (kept here, not in the core's table)."""

from __future__ import annotations

__all__ = ("labels", "STATUS_KEYS")

_TEXT: dict[str, tuple[str, str]] = {
    "console": ("ศูนย์ภาค", "Region console"),
    "ranking": ("อันดับสถานีประจำเดือน", "Station ranking of the month"),
    "rank": ("อันดับ", "Rank"),
    "station": ("สถานี", "Station"),
    "score": ("คะแนน", "Score"),
    "trend": ("แนวโน้ม", "Trend"),
    "weights": ("เกณฑ์และน้ำหนัก", "Criteria and weights"),
    "weight": ("น้ำหนัก", "Weight"),
    "best": ("ดีที่สุด (100 คะแนน)", "Best (100 points)"),
    "worst": ("ต่ำสุด (0 คะแนน)", "Worst (0 points)"),
    "points": ("คะแนนเกณฑ์", "Points"),
    "value": ("ค่า", "Value"),
    "not_reported": ("ไม่ได้รายงาน", "not reported"),
    "no_report": ("สถานีนี้ยังไม่ส่งตัวชี้วัดของเดือนนี้", "This station sent no figures for this month"),
    "offline_title": ("สถานีออฟไลน์หรือเงียบ", "Stations offline or silent"),
    "all_online": ("ทุกสถานีออนไลน์", "Every station is online"),
    "bad_title": ("ข้อมูลที่ถูกปฏิเสธ", "Refused messages"),
    "bad_none": ("ไม่มีข้อมูลที่ถูกปฏิเสธ", "No refused messages"),
    "refused": ("ถูกปฏิเสธ", "refused"),
    "last_reason": ("เหตุผลล่าสุด", "last reason"),
    "last_seen": ("ติดต่อล่าสุด", "Last seen"),
    "never": ("ไม่เคย", "never"),
    "export_csv": ("ดาวน์โหลด CSV", "Download CSV"),
    "export_pdf": ("ดาวน์โหลด PDF", "Download PDF"),
    "month": ("เดือน", "Month"),
    "kpis": ("ตัวชี้วัด", "KPIs"),
    "incidents": ("เหตุการณ์", "Incidents"),
    "sos": ("SOS", "SOS"),
    "sos_unacked": ("SOS ที่ไม่ได้รับทราบ", "SOS not acknowledged"),
    "open": ("ยังเปิดอยู่", "still open"),
    "hubs": ("ฮับ", "Hubs"),
    "cameras": ("กล้องตามนโยบายการแชร์", "Cameras by share policy"),
    "patrols": ("การตรวจตู้แดง", "Patrols"),
    "poll": ("แบบสำรวจ People Poll", "People Poll"),
    "responses": ("ผู้ตอบ", "responses"),
    "big6": ("การประชุม Big 6", "Big 6 meetings"),
    "meetings": ("ครั้งที่ประชุม", "meetings"),
    "resolutions": ("มติ", "resolutions"),
    "done": ("เสร็จแล้ว", "done"),
    "sectors": ("ภาคส่วนที่เข้าร่วม", "sectors present"),
    "history": ("ย้อนหลัง", "History"),
    "back": ("← กลับไปหน้าอันดับ", "← Back to the ranking"),
    "up": ("ขึ้น", "up"),
    "down": ("ลง", "down"),
    "same": ("คงที่", "same"),
    "new": ("ใหม่", "new"),
    "stations": ("สถานี", "stations"),
    "weighting_note": (
        "คะแนนของแต่ละเกณฑ์คิดเป็นเส้นตรงจากค่าต่ำสุด (0) ถึงค่าดีที่สุด (100) คะแนนรวมคือค่าเฉลี่ยถ่วงน้ำหนัก",
        "Each criterion scores 0 at its worst value and 100 at its best, linearly; the score is the weighted mean",
    ),
    "find": ("ค้นหาสถานี", "Find a station"),
    "search": ("ค้นหา", "Search"),
    "page": ("หน้า", "Page"),
    "previous": ("ก่อนหน้า", "Previous"),
    "next_page": ("ถัดไป", "Next"),
    "and_more": ("และอีก {n} สถานี", "and {n} more"),
    "reject.schema": ("ข้อมูลไม่ตรงรูปแบบ", "not our schema"),
    "field": ("ช่อง", "field"),
    "reject.size": ("ข้อความใหญ่เกินกำหนด", "message too big"),
    "reject.kind": ("ส่งข้อมูลประเภทที่ไม่อนุญาต", "a kind stations may not send"),
    "reject.mismatch": ("ข้อมูลภายในไม่ตรงกับหัวข้อที่ส่งมา", "the payload disagrees with its topic"),
    "reject.conflict": ("ใช้รหัสข้อความซ้ำกับข้อความอื่น", "a message id reused for another message"),
    "reject.other": ("ข้อมูลไม่ถูกต้อง", "invalid"),
    "status.online": ("ออนไลน์", "online"),
    "status.offline": ("ออฟไลน์", "offline"),
    "status.silent": ("เงียบ (ไม่มีข้อมูล)", "silent"),
    "status.unknown": ("ยังไม่เคยเชื่อมต่อ", "never connected"),
    "policy.always": ("แชร์เสมอ", "always"),
    "policy.on_alarm": ("เฉพาะเมื่อเกิดเหตุ", "on alarm"),
    "policy.registry": ("แจ้งตำแหน่งเท่านั้น", "registry only"),
    "policy.never": ("ไม่แชร์", "never"),
    "policy.?": ("ไม่ระบุ", "unknown"),
}

STATUS_KEYS = ("online", "offline", "silent", "unknown")


def labels(lang: str) -> dict[str, str]:
    """Return every label in ``lang`` (``th`` or ``en``)."""
    index = 0 if lang == "th" else 1
    return {key: pair[index] for key, pair in _TEXT.items()}
