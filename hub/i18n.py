"""Thai and English strings of the core web UI.

Each key holds both languages side by side so a missing translation shows up
in review (and in ``tests/hub/http/test_pages.py``, which checks every key has
both).  Thai is the default language of a hub: the people pressing buttons in
a market or answering an SOS at 2 a.m. read Thai first.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Final

__all__ = ("LANGS", "DEFAULT_LANG", "STRINGS", "translate", "format_time", "normalize_lang")

#: Languages the UI speaks; the first is the default.
LANGS: Final = ("th", "en")
DEFAULT_LANG: Final = "th"

STRINGS: dict[str, dict[str, str]] = {
    # -- navigation and page chrome -------------------------------------------
    "app.name": {"th": "SafetyHub", "en": "SafetyHub"},
    "app.tagline": {
        "th": "ศูนย์ความปลอดภัยชุมชน Smart Safety Zone 4.0",
        "en": "Community safety hub · Smart Safety Zone 4.0",
    },
    "nav.overview": {"th": "ภาพรวม", "en": "Overview"},
    "nav.incidents": {"th": "เหตุการณ์", "en": "Incidents"},
    "nav.plugins": {"th": "ปลั๊กอิน", "en": "Plugins"},
    "nav.users": {"th": "ผู้ใช้", "en": "Users"},
    "nav.logout": {"th": "ออกจากระบบ", "en": "Log out"},
    "nav.menu": {"th": "เมนู", "en": "Menu"},
    "nav.skip": {"th": "ข้ามไปยังเนื้อหา", "en": "Skip to content"},
    "lang.switch": {"th": "ภาษา", "en": "Language"},
    "lang.th": {"th": "ไทย", "en": "ไทย"},
    "lang.en": {"th": "English", "en": "English"},
    "user.signed_in_as": {"th": "เข้าสู่ระบบในชื่อ {name} ({role})", "en": "Signed in as {name} ({role})"},
    "live.connected": {"th": "อัปเดตสด", "en": "Live"},
    "live.disconnected": {"th": "ขาดการเชื่อมต่อ กำลังเชื่อมต่อใหม่…", "en": "Disconnected, reconnecting…"},
    # -- roles ----------------------------------------------------------------
    "role.viewer": {"th": "ผู้ดู", "en": "viewer"},
    "role.operator": {"th": "เจ้าหน้าที่", "en": "operator"},
    "role.supervisor": {"th": "หัวหน้าเวร", "en": "supervisor"},
    "role.admin": {"th": "ผู้ดูแลระบบ", "en": "admin"},
    "role.hub": {"th": "ฮับชุมชน", "en": "community hub"},
    "role.station": {"th": "สถานี (CCOC)", "en": "station (CCOC)"},
    # -- login ------------------------------------------------------------------
    "login.title": {"th": "เข้าสู่ระบบ", "en": "Log in"},
    "login.username": {"th": "ชื่อผู้ใช้", "en": "Username"},
    "login.password": {"th": "รหัสผ่าน", "en": "Password"},
    "login.submit": {"th": "เข้าสู่ระบบ", "en": "Log in"},
    "login.failed": {"th": "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง", "en": "Wrong username or password"},
    "login.throttled": {
        "th": "ลองผิดหลายครั้งเกินไป กรุณารอ {minutes} นาทีแล้วลองใหม่",
        "en": "Too many failed attempts. Try again in {minutes} minutes.",
    },
    "login.expired": {"th": "แบบฟอร์มหมดอายุ กรุณาลองอีกครั้ง", "en": "The form expired. Please try again."},
    "login.logged_out": {"th": "ออกจากระบบแล้ว", "en": "You have logged out."},
    # -- onboarding ---------------------------------------------------------------
    "onboarding.title": {"th": "ตั้งค่าเริ่มต้น", "en": "First-time setup"},
    "onboarding.intro": {
        "th": "ยังไม่มีผู้ใช้ในระบบ สร้างบัญชีผู้ดูแลระบบคนแรกด้วยรหัสใช้ครั้งเดียวที่แสดงบนหน้าจอคอนโซลตอนเริ่ม safetyhub run",
        "en": "There are no users yet. Create the first admin account with the one-time code "
        "printed on the console by safetyhub run.",
    },
    "onboarding.code": {"th": "รหัสใช้ครั้งเดียว", "en": "One-time code"},
    "onboarding.password2": {"th": "ยืนยันรหัสผ่าน", "en": "Password again"},
    "onboarding.submit": {"th": "สร้างผู้ดูแลระบบ", "en": "Create admin"},
    "onboarding.wrong_code": {"th": "รหัสใช้ครั้งเดียวไม่ถูกต้อง", "en": "Wrong one-time code"},
    "onboarding.mismatch": {"th": "รหัสผ่านทั้งสองช่องไม่ตรงกัน", "en": "The two passwords differ"},
    "onboarding.no_code": {
        "th": "ไม่มีรหัสใช้ครั้งเดียว กรุณาเริ่ม safetyhub ใหม่",
        "en": "No one-time code is active; restart safetyhub.",
    },
    "onboarding.password_hint": {"th": "อย่างน้อย 8 ตัวอักษร", "en": "At least 8 characters"},
    # -- overview -----------------------------------------------------------------
    "overview.title": {"th": "ภาพรวม", "en": "Overview"},
    "overview.hub_id": {"th": "รหัสฮับ", "en": "Hub id"},
    "overview.zone": {"th": "พื้นที่ Safety Zone", "en": "Safety zone"},
    "overview.role": {"th": "บทบาทของฮับ", "en": "Hub role"},
    "overview.your_role": {"th": "สิทธิ์ของคุณ", "en": "Your role"},
    "overview.version": {"th": "รุ่น", "en": "Version"},
    "overview.entities": {"th": "อุปกรณ์และสถานะ", "en": "Devices and states"},
    "overview.no_entities": {"th": "ยังไม่มีอุปกรณ์", "en": "No devices yet"},
    "overview.open_incidents": {"th": "เหตุการณ์ที่ยังไม่ปิด", "en": "Open incidents"},
    "overview.no_incidents": {"th": "ไม่มีเหตุการณ์ค้างอยู่", "en": "No open incidents"},
    "overview.plugins": {"th": "สถานะปลั๊กอิน", "en": "Plugin status"},
    "overview.plugins_ok": {"th": "ทำงาน {ok} จาก {total}", "en": "{ok} of {total} running"},
    "overview.plugins_failed": {"th": "ปลั๊กอินที่ล้มเหลว", "en": "Failed plugins"},
    "overview.config_errors": {"th": "ข้อผิดพลาดในไฟล์ตั้งค่า", "en": "Configuration errors"},
    "overview.all_incidents": {"th": "ดูเหตุการณ์ทั้งหมด", "en": "All incidents"},
    "sos.press": {"th": "กด SOS ทดสอบ", "en": "Press SOS"},
    "sos.press_confirm": {
        "th": "ส่งสัญญาณ SOS ทดสอบ (ฝึกซ้อม) จาก {name}? เหตุ การ์ด LINE และศูนย์ฯ จะแสดงว่าเป็นการฝึกซ้อม",
        "en": "Send a test SOS (a drill) from {name}? The incident, LINE card and CCOC will show it as a drill.",
    },
    "incident.drill": {"th": "ฝึกซ้อม", "en": "DRILL"},
    "incident.snapshot_withheld": {
        "th": "ภาพจากกล้องนี้ไม่เปิดให้บทบาทของคุณตามนโยบายของเจ้าของกล้อง",
        "en": "The camera owner's policy does not share this picture with your role",
    },
    "sos.sent": {"th": "ส่ง SOS แล้ว", "en": "SOS sent"},
    "sos.banner": {"th": "แจ้งเหตุ SOS!", "en": "SOS alert!"},
    "sos.default_title": {"th": "SOS {name}", "en": "SOS {name}"},
    "sos.default_text": {
        "th": "มีผู้กดปุ่ม SOS (ยังไม่มีระบบอัตโนมัติสำหรับปุ่มนี้: เปิดเหตุให้โดยอัตโนมัติ)",
        "en": "The SOS button was pressed (no automation handles this button: incident opened by default)",
    },
    "sos.unrecognised_title": {
        "th": "ปุ่ม SOS {name}: สัญญาณที่ไม่รู้จัก",
        "en": "SOS {name}: unrecognised press",
    },
    "sos.unrecognised_text": {
        "th": "ปุ่ม SOS ส่งสัญญาณ '{action}' ที่ระบบไม่รู้จัก ({device}) อาจมีผู้กดขอความช่วยเหลือ กรุณาตรวจสอบ",
        "en": "The SOS button sent '{action}', which is not a known press ({device}). Someone may need help: check.",
    },
    "sos.banner_open": {"th": "เปิดดูเหตุการณ์", "en": "Open incident"},
    "sos.dismiss": {"th": "ปิดแถบแจ้งเตือน", "en": "Dismiss"},
    # -- entity domains -----------------------------------------------------------
    "domain.sos": {"th": "ปุ่ม SOS", "en": "SOS buttons"},
    "domain.light": {"th": "ไฟส่องสว่าง", "en": "Lights"},
    "domain.camera": {"th": "กล้อง", "en": "Cameras"},
    "domain.binary_sensor": {"th": "เซนเซอร์", "en": "Sensors"},
    "domain.sensor": {"th": "ค่าที่วัดได้", "en": "Sensor readings"},
    "domain.automation": {"th": "การทำงานอัตโนมัติ", "en": "Automations"},
    "domain.input_boolean": {"th": "สวิตช์ตั้งค่า", "en": "Toggles"},
    "domain.timer": {"th": "ตัวจับเวลา", "en": "Timers"},
    "domain.counter": {"th": "ตัวนับ", "en": "Counters"},
    # -- entity states --------------------------------------------------------------
    "state.idle": {"th": "ปกติ", "en": "Idle"},
    "state.triggered": {"th": "ถูกกด!", "en": "Triggered!"},
    "state.on": {"th": "เปิด", "en": "On"},
    "state.off": {"th": "ปิด", "en": "Off"},
    "state.unavailable": {"th": "ไม่พร้อมใช้งาน", "en": "Unavailable"},
    "state.unknown": {"th": "ไม่ทราบ", "en": "Unknown"},
    "state.streaming": {"th": "กำลังถ่ายทอด", "en": "Streaming"},
    "state.active": {"th": "ทำงาน", "en": "Active"},
    "state.paused": {"th": "หยุดชั่วคราว", "en": "Paused"},
    # -- incidents -----------------------------------------------------------------
    "incidents.title": {"th": "เหตุการณ์", "en": "Incidents"},
    "incidents.filter": {"th": "สถานะ", "en": "Status"},
    "incidents.filter_all": {"th": "ทั้งหมด", "en": "All"},
    "incidents.filter_active": {"th": "ยังไม่ปิด", "en": "Not closed"},
    "incidents.none": {"th": "ไม่มีเหตุการณ์", "en": "No incidents"},
    "incidents.bad_status": {"th": "ไม่รู้จักสถานะ {status}", "en": "Unknown status {status}"},
    "incident.title": {"th": "เหตุการณ์", "en": "Incident"},
    "incident.kind": {"th": "ประเภท", "en": "Kind"},
    "incident.severity": {"th": "ความรุนแรง", "en": "Severity"},
    "incident.status": {"th": "สถานะ", "en": "Status"},
    "incident.place": {"th": "สถานที่", "en": "Place"},
    "incident.opened_at": {"th": "เวลาแจ้ง", "en": "Opened"},
    "incident.updated_at": {"th": "อัปเดตล่าสุด", "en": "Last update"},
    "incident.acknowledged_by": {"th": "รับทราบโดย", "en": "Acknowledged by"},
    "incident.entities": {"th": "อุปกรณ์ที่เกี่ยวข้อง", "en": "Devices"},
    "incident.location": {"th": "พิกัด", "en": "Location"},
    "incident.timeline": {"th": "ลำดับเหตุการณ์", "en": "Timeline"},
    "incident.when": {"th": "เวลา", "en": "When"},
    "incident.who": {"th": "โดย", "en": "Who"},
    "incident.what": {"th": "รายละเอียด", "en": "What"},
    "incident.attachments": {"th": "ไฟล์แนบ", "en": "Attachments"},
    "incident.actions": {"th": "ดำเนินการ", "en": "Actions"},
    "incident.ack": {"th": "รับทราบ", "en": "Acknowledge"},
    "incident.dispatch": {"th": "ส่งเจ้าหน้าที่", "en": "Dispatch"},
    "incident.unit": {"th": "หน่วย/สายตรวจที่ส่งไป", "en": "Unit sent"},
    "incident.note": {"th": "บันทึกเพิ่มเติม", "en": "Add note"},
    "incident.note_text": {"th": "ข้อความ", "en": "Note"},
    "incident.close": {"th": "ปิดเหตุ", "en": "Close incident"},
    "incident.close_confirm": {"th": "ยืนยันการปิดเหตุนี้?", "en": "Close this incident?"},
    "incident.closed_note": {"th": "เหตุการณ์นี้ปิดแล้ว", "en": "This incident is closed"},
    "incident.not_found": {"th": "ไม่พบเหตุการณ์ {id}", "en": "Incident {id} not found"},
    "incident.updated_notice": {"th": "เหตุการณ์นี้มีการอัปเดต", "en": "This incident was updated"},
    "incident.reload": {"th": "โหลดใหม่", "en": "Reload"},
    "incident.back": {"th": "กลับไปรายการเหตุการณ์", "en": "Back to incidents"},
    "status.open": {"th": "รอรับเรื่อง", "en": "Open"},
    "status.acknowledged": {"th": "รับทราบแล้ว", "en": "Acknowledged"},
    "status.dispatched": {"th": "ส่งเจ้าหน้าที่แล้ว", "en": "Dispatched"},
    "status.closed": {"th": "ปิดแล้ว", "en": "Closed"},
    "kind.sos": {"th": "SOS", "en": "SOS"},
    "kind.motion": {"th": "ตรวจพบความเคลื่อนไหว", "en": "Motion"},
    "kind.tip": {"th": "แจ้งเบาะแส", "en": "Tip"},
    "kind.manual": {"th": "แจ้งโดยเจ้าหน้าที่", "en": "Manual"},
    "kind.alarm": {"th": "สัญญาณกันขโมย", "en": "Alarm panel"},
    "kind.supervision": {"th": "การเฝ้าระวังระบบ", "en": "Supervision"},
    # -- supervision: a hub or a button that stopped reporting (never an SOS) ------
    "supervision.hub_silent_title": {"th": "ฮับขาดการติดต่อ: {name}", "en": "Hub not reporting: {name}"},
    "supervision.hub_silent_text": {
        "th": "ไม่ได้รับข้อมูลจากฮับมา {minutes} นาที (เกินเวลาตรวจจับ {detection} วินาที, รอบสัญญาณชีพ {interval} วินาที)",
        "en": "Nothing from the hub for {minutes} min (detection time {detection} s, heartbeat every {interval} s)",
    },
    "supervision.hub_lost_title": {"th": "ฮับหลุดการเชื่อมต่อ: {name}", "en": "Hub connection lost: {name}"},
    "supervision.hub_lost_text": {
        "th": "การเชื่อมต่อของฮับขาดโดยไม่ได้ปิดตามปกติ (ข้อมูลล่าสุด {minutes} นาทีก่อน)",
        "en": "The hub's connection dropped without a goodbye (last heard {minutes} min ago)",
    },
    "supervision.hub_stopped_title": {
        "th": "ฮับปิดแล้วไม่กลับมา: {name}",
        "en": "Hub stopped and not back: {name}",
    },
    "supervision.hub_stopped_text": {
        "th": "ฮับปิดตัวและไม่กลับมาภายในเวลาตรวจจับ {detection} วินาที",
        "en": "The hub stopped and was not back within its detection time of {detection} s",
    },
    "supervision.button_silent_title": {
        "th": "ปุ่ม SOS ไม่ส่งสัญญาณ: {name}",
        "en": "SOS button not reporting: {name}",
    },
    "supervision.button_silent_text": {
        "th": "ไม่ได้ยินปุ่มมา {hours} ชั่วโมง (แบตเตอรี่ล่าสุด {battery}) ตรวจปุ่ม เปลี่ยนแบตเตอรี่ หรือดูว่าถูกถอดออกหรือไม่ นี่ไม่ใช่การกด SOS",
        "en": "The button has not been heard for {hours} h (last battery {battery}). Check it, change the battery, "
        "or see whether it was removed. This is not an SOS press",
    },
    "supervision.button_back_text": {
        "th": "ได้ยินปุ่มอีกครั้ง ปิดเหตุการเฝ้าระวัง",
        "en": "The button is heard again; supervision incident closed",
    },
    "supervision.back_text": {
        "th": "ฮับกลับมาออนไลน์ หลังขาดไป {minutes} นาที",
        "en": "The hub is back online after {minutes} min",
    },
    "severity.info": {"th": "ข้อมูล", "en": "Info"},
    "severity.low": {"th": "ต่ำ", "en": "Low"},
    "severity.medium": {"th": "ปานกลาง", "en": "Medium"},
    "severity.high": {"th": "สูง", "en": "High"},
    "severity.critical": {"th": "วิกฤต", "en": "Critical"},
    "timeline.opened": {"th": "แจ้งเหตุ", "en": "Opened"},
    "timeline.acknowledged": {"th": "รับทราบ", "en": "Acknowledged"},
    "timeline.dispatched": {"th": "ส่งเจ้าหน้าที่", "en": "Dispatched"},
    "timeline.closed": {"th": "ปิดเหตุ", "en": "Closed"},
    "timeline.note": {"th": "บันทึก", "en": "Note"},
    "timeline.snapshot": {"th": "ภาพจากกล้อง", "en": "Snapshot"},
    # -- plugins ------------------------------------------------------------------
    "plugins.title": {"th": "ปลั๊กอิน", "en": "Plugins"},
    "plugins.domain": {"th": "โดเมน", "en": "Domain"},
    "plugins.name": {"th": "ชื่อ", "en": "Name"},
    "plugins.version": {"th": "รุ่น", "en": "Version"},
    "plugins.source": {"th": "ที่มา", "en": "Source"},
    "plugins.status": {"th": "สถานะ", "en": "Status"},
    "plugins.stage": {"th": "ขั้นตอนที่ผิดพลาด", "en": "Failed at"},
    "plugins.error": {"th": "ข้อผิดพลาด", "en": "Error"},
    "plugins.hook_errors": {"th": "ข้อผิดพลาดของ hook", "en": "Hook errors"},
    "plugins.none": {"th": "ไม่มีปลั๊กอิน", "en": "No plugins"},
    "plugins.config_ok": {"th": "ไฟล์ตั้งค่าไม่มีข้อผิดพลาด", "en": "The configuration has no errors"},
    "plugins.failed": {
        "th": "ปลั๊กอินล้มเหลว {n} ตัว: อุปกรณ์ของปลั๊กอินนี้ไม่ทำงาน",
        "en": "{n} plugin(s) failed: their devices do not work",
    },
    "pstatus.set_up": {"th": "ทำงานอยู่", "en": "running"},
    "pstatus.failed": {"th": "ล้มเหลว", "en": "failed"},
    "pstatus.not_configured": {"th": "ไม่ได้ตั้งค่า", "en": "not configured"},
    "pstatus.loaded": {"th": "โหลดแล้ว", "en": "loaded"},
    "pstatus.setting_up": {"th": "กำลังเริ่ม", "en": "starting"},
    "pstatus.not_ready": {"th": "รออุปกรณ์ จะลองใหม่", "en": "waiting for its device; retrying"},
    "pstatus.discovered": {"th": "พบแล้ว", "en": "discovered"},
    # -- users --------------------------------------------------------------------
    "users.title": {"th": "ผู้ใช้", "en": "Users"},
    "users.username": {"th": "ชื่อผู้ใช้", "en": "Username"},
    "users.role": {"th": "สิทธิ์", "en": "Role"},
    "users.add": {"th": "เพิ่มผู้ใช้", "en": "Add a user"},
    "users.password": {"th": "รหัสผ่าน", "en": "Password"},
    "users.submit": {"th": "เพิ่มผู้ใช้", "en": "Add user"},
    "users.added": {"th": "เพิ่มผู้ใช้ {name} แล้ว", "en": "Added user {name}"},
    "users.none": {"th": "ยังไม่มีผู้ใช้", "en": "No users"},
    # -- errors and generic -------------------------------------------------------------
    "error.title": {"th": "เกิดข้อผิดพลาด", "en": "Something went wrong"},
    "error.not_found": {"th": "ไม่พบหน้าที่ต้องการ", "en": "Page not found"},
    "error.forbidden": {"th": "คุณไม่มีสิทธิ์เข้าหน้านี้", "en": "You may not see this page"},
    "error.home": {"th": "กลับหน้าแรก", "en": "Back to the overview"},
    "action.failed": {"th": "ดำเนินการไม่สำเร็จ: {error}", "en": "Failed: {error}"},
    "action.working": {"th": "กำลังดำเนินการ…", "en": "Working…"},
    "generic.none": {"th": "—", "en": "—"},
    "generic.yes": {"th": "ใช่", "en": "yes"},
    "generic.no": {"th": "ไม่", "en": "no"},
}

#: Thai month abbreviations (the forms on Thai forms and receipts).
_TH_MONTHS: Final = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
_EN_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Thai dates are written in the Buddhist Era (พ.ศ.), 543 years ahead of CE.
_BE_OFFSET: Final = 543


def normalize_lang(value: str | None) -> str | None:
    """Return ``value`` if it is a supported language code, else None."""
    return value if value in LANGS else None


def translate(key: str, lang: str, /, **fmt: object) -> str:
    """Return the string ``key`` in ``lang``, falling back to English, then to the key.

    Keyword arguments fill ``{name}`` placeholders.  A placeholder the caller
    did not supply leaves the text unformatted rather than raising: a page
    with a raw ``{name}`` is better than an error page during an incident.
    """
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    if not fmt:
        return text
    try:
        return text.format(**fmt)
    except (KeyError, IndexError, ValueError):
        return text


def format_time(ts: float | None, lang: str, tz: tzinfo, *, seconds: bool = True) -> str:
    """Return a timestamp as people in ``lang`` write it, in the hub's timezone.

    Thai uses the Buddhist Era year and Thai month abbreviations
    (``5 มี.ค. 2569 14:05:09``); English uses ``5 Mar 2026 14:05:09``.
    """
    if ts is None:
        return "—"
    when = datetime.fromtimestamp(ts, tz)
    clock = when.strftime("%H:%M:%S" if seconds else "%H:%M")
    if lang == "th":
        return f"{when.day} {_TH_MONTHS[when.month - 1]} {when.year + _BE_OFFSET} {clock}"
    return f"{when.day} {_EN_MONTHS[when.month - 1]} {when.year} {clock}"
