"""The one translation catalogue of the web UI: the core's strings and every integration's.

Each key holds both languages side by side so a missing translation shows up
in review (and in ``tests/hub/test_i18n.py``, which checks every registered
key has both).  Thai is the default language of a hub: the people pressing
buttons in a market or answering an SOS at 2 a.m. read Thai first.

The core's strings are :data:`STRINGS`.  An integration or plugin keeps its
strings beside its pages and registers them here with :func:`register` (or
:func:`register_by_lang` for a ``{"th": {...}, "en": {...}}`` table,
:func:`register_pairs` for ``{key: (th, en)}``) under its own prefix, so
:func:`translate` answers every key and the page crawl test
(``tests/hub/http/test_crawl.py``) knows every text a page may show.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final

__all__ = (
    "LANGS",
    "DEFAULT_LANG",
    "STRINGS",
    "Catalogue",
    "register",
    "register_by_lang",
    "register_pairs",
    "register_template_pairs",
    "entity_name",
    "pair_translator",
    "catalogue",
    "translate",
    "translator",
    "catalogues",
    "format_time",
    "normalize_lang",
)

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
    "lang.en_short": {"th": "EN", "en": "EN"},
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
    "role.region": {"th": "ศูนย์ภาค/จังหวัด", "en": "region (command centre)"},
    "role.link": {"th": "ผู้ได้รับลิงก์", "en": "link holder"},
    "role.officer": {"th": "เจ้าหน้าที่สถานี", "en": "station officer"},
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
    "login.unavailable": {
        "th": "ตอนนี้ตรวจสอบบัญชีผู้ใช้ไม่ได้ เพราะฐานข้อมูลกลางไม่ตอบ กรุณาลองใหม่อีกครู่",
        "en": "Accounts cannot be checked right now: the shared database is not answering. Try again in a moment.",
    },
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
    "domain.sun": {"th": "ดวงอาทิตย์", "en": "Sun"},
    "domain.line": {"th": "LINE", "en": "LINE"},
    "domain.switch": {"th": "สวิตช์", "en": "Switches"},
    "domain.siren": {"th": "ไซเรน", "en": "Sirens"},
    "domain.alarm_control_panel": {"th": "แผงสัญญาณกันขโมย", "en": "Alarm panels"},
    "domain.federation": {"th": "การเชื่อมต่อสถานี", "en": "Station link"},
    "domain.input_number": {"th": "ค่าตัวเลขตั้งค่า", "en": "Number settings"},
    "domain.input_text": {"th": "ข้อความตั้งค่า", "en": "Text settings"},
    "domain.input_select": {"th": "ตัวเลือกตั้งค่า", "en": "Option settings"},
    "domain.input_datetime": {"th": "วันเวลาตั้งค่า", "en": "Date settings"},
    "domain.notify": {"th": "การแจ้งเตือน", "en": "Notifications"},
    "domain.zone": {"th": "พื้นที่", "en": "Zones"},
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
    "state.above_horizon": {"th": "กลางวัน (พระอาทิตย์ขึ้นแล้ว)", "en": "Day (sun up)"},
    "state.below_horizon": {"th": "กลางคืน (พระอาทิตย์ตกแล้ว)", "en": "Night (sun down)"},
    "state.open": {"th": "เปิดอยู่", "en": "Open"},
    "state.closed": {"th": "ปิดอยู่", "en": "Closed"},
    "state.armed": {"th": "เฝ้าระวัง", "en": "Armed"},
    "state.disarmed": {"th": "ปลดการเฝ้าระวัง", "en": "Disarmed"},
    "state.recording": {"th": "กำลังบันทึก", "en": "Recording"},
    "state.connected": {"th": "เชื่อมต่อแล้ว", "en": "Connected"},
    "state.disconnected": {"th": "ขาดการเชื่อมต่อ", "en": "Disconnected"},
    "state.ok": {"th": "ปกติ", "en": "OK"},
    "state.online": {"th": "ออนไลน์", "en": "Online"},
    "state.offline": {"th": "ออฟไลน์", "en": "Offline"},
    "state.problem": {"th": "มีปัญหา", "en": "Problem"},
    "state.home": {"th": "อยู่บ้าน", "en": "Home"},
    "state.not_home": {"th": "ไม่อยู่บ้าน", "en": "Away"},
    # -- device facts (a camera's make, model... as its integration reports them) ------------
    "device.Manufacturer": {"th": "ผู้ผลิต", "en": "Manufacturer"},
    "device.Model": {"th": "รุ่น", "en": "Model"},
    "device.Firmware": {"th": "เฟิร์มแวร์", "en": "Firmware"},
    "device.Serial": {"th": "หมายเลขเครื่อง", "en": "Serial"},
    "device.Hardware": {"th": "ฮาร์ดแวร์", "en": "Hardware"},
    "device.Profile": {"th": "โปรไฟล์สตรีม", "en": "Profile"},
    "device.Events": {"th": "การรับเหตุการณ์", "en": "Events"},
    "device.Snapshot auth": {"th": "วิธียืนยันตัวตนของภาพนิ่ง", "en": "Snapshot auth"},
    "device.Clock offset": {"th": "เวลาคลาดเคลื่อน", "en": "Clock offset"},
    "device.Next try": {"th": "ลองเชื่อมต่อใหม่เวลา", "en": "Next try"},
    "device.value.waiting": {"th": "รอเชื่อมต่อ", "en": "waiting"},
    "device.value.off": {"th": "ปิด", "en": "off"},
    "device.value.pullpoint": {"th": "ดึงจากกล้อง (PullPoint)", "en": "pulled (PullPoint)"},
    "device.value.webhook": {"th": "กล้องส่งมาเอง (webhook)", "en": "pushed (webhook)"},
    "device.value.unsupported": {"th": "กล้องไม่รองรับ", "en": "not supported"},
    "device.value.basic": {"th": "แบบพื้นฐาน", "en": "basic"},
    "device.value.digest": {"th": "แบบ digest", "en": "digest"},
    "device.value.none": {"th": "ไม่ต้องยืนยัน", "en": "none"},
    "incident.id": {"th": "รหัสเหตุ", "en": "ID"},
    "generic.id": {"th": "รหัส", "en": "ID"},
    "actor.hub": {"th": "ระบบของฮับ", "en": "the hub"},
    "actor.automation": {"th": "ระบบอัตโนมัติ", "en": "an automation"},
    "actor.station": {"th": "สถานี", "en": "the station"},
    # -- names the code gives entities (made in the hub's language) -------------------------
    "entity_name.sun": {"th": "ดวงอาทิตย์", "en": "Sun"},
    "entity_name.station_link": {"th": "การเชื่อมต่อสถานี", "en": "Station link"},
    "entity_name.region_link": {"th": "การเชื่อมต่อศูนย์ภาค", "en": "Region link"},
    "entity_name.camera_motion": {"th": "{camera} ตรวจจับความเคลื่อนไหว", "en": "{camera} motion"},
    "entity_name.camera_tamper": {"th": "{camera} ถูกบัง/ถูกรบกวน", "en": "{camera} tampering"},
    # -- where a device's state comes from -----------------------------------------------
    "source.simulated": {"th": "จำลอง", "en": "simulated"},
    "source.mqtt": {"th": "MQTT", "en": "MQTT"},
    "source.zigbee2mqtt": {"th": "Zigbee2MQTT", "en": "Zigbee2MQTT"},
    "source.webhook": {"th": "เว็บฮุก", "en": "webhook"},
    "source.sia": {"th": "แผงกันขโมย (SIA)", "en": "alarm panel (SIA)"},
    "source.demo": {"th": "ตัวอย่าง", "en": "demo"},
    "source.button": {"th": "ปุ่มบนหน้าเว็บ", "en": "web button"},
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
    "timeline.line": {"th": "LINE", "en": "LINE"},
    "timeline.line_sent": {"th": "ส่ง{what}ทาง LINE ถึง {to} แล้ว", "en": "LINE {what} sent to {to}"},
    "timeline.line_failed": {"th": "ส่ง{what}ทาง LINE ถึง {to} ไม่สำเร็จ", "en": "LINE {what} to {to} failed"},
    "actor.line": {"th": "LINE", "en": "LINE"},
    "linecode.push": {"th": "ส่งเข้า", "en": "push"},
    "linecode.reply": {"th": "ตอบกลับ", "en": "reply"},
    "linecode.card": {"th": "การ์ดแจ้งเหตุ", "en": "incident card"},
    "linecode.text": {"th": "ข้อความ", "en": "message"},
    "linecode.test": {"th": "ข้อความทดสอบ", "en": "test message"},
    "linecode.image": {"th": "ภาพ", "en": "image"},
    "linecode.escalation": {"th": "การแจ้งซ้ำ", "en": "escalation"},
    "linecode.welcome": {"th": "ข้อความต้อนรับ", "en": "welcome"},
    "linecode.registration": {"th": "การลงทะเบียน", "en": "registration"},
    "linecode.ack": {"th": "การรับทราบ", "en": "acknowledgement"},
    "linecode.sent": {"th": "ส่งแล้ว", "en": "sent"},
    "linecode.accepted_earlier": {"th": "ส่งแล้ว (ครั้งก่อน)", "en": "sent earlier"},
    "linecode.failed": {"th": "ไม่สำเร็จ", "en": "failed"},
    "linecode.abandoned": {"th": "ยกเลิกการส่ง", "en": "abandoned"},
    "linecode.pending": {"th": "รอส่ง", "en": "pending"},
    "linecode.queued": {"th": "อยู่ในคิว", "en": "queued"},
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
    # -- plugin names (built-ins; a drop-in plugin shows its manifest's name) ------
    "plugin.backup": {"th": "สำรองและกู้คืนข้อมูล (เข้ารหัส ทุกวัน)", "en": "Backup and restore (encrypted, daily)"},
    "plugin.camera": {"th": "กล้อง", "en": "Cameras"},
    "plugin.demo": {"th": "ตลาดจำลอง (อุปกรณ์จำลอง)", "en": "Demo market (simulated devices)"},
    "plugin.federation": {"th": "เชื่อมต่อสถานีตำรวจ (CCOC)", "en": "Station link (federation)"},
    "plugin.frigate": {
        "th": "เหตุการณ์จาก Frigate (ตรวจจับคนและรถ)",
        "en": "Frigate NVR events (people and cars)",
    },
    "plugin.homeassistant": {"th": "คำสั่งรวมแบบ Home Assistant", "en": "Home Assistant common actions"},
    "plugin.light": {"th": "ไฟส่องสว่าง", "en": "Lights"},
    "plugin.line": {"th": "LINE (กลุ่ม Big 6 และตาสับปะรด)", "en": "LINE (Big 6 and ตาสับปะรด groups)"},
    "plugin.mqtt": {"th": "MQTT (โบรกเกอร์และอุปกรณ์)", "en": "MQTT (broker and devices)"},
    "plugin.notify": {"th": "การแจ้งเตือน", "en": "Notifications"},
    "plugin.onvif": {"th": "กล้อง ONVIF", "en": "ONVIF cameras"},
    "plugin.sia": {
        "th": "รับสัญญาณกันขโมย SIA DC-09 (ธนาคารและร้านค้า)",
        "en": "SIA DC-09 alarm receiver (banks and shops)",
    },
    "plugin.sos": {"th": "ปุ่ม SOS", "en": "SOS buttons"},
    "plugin.onboarding": {"th": "ตั้งค่าเริ่มต้น ผู้ใช้ และสิ่งที่ต้องแก้", "en": "Setup wizard, users and repairs"},
    "plugin.flows": {
        "th": "ตั้งค่าผ่านหน้าเว็บ (อุปกรณ์ กล้อง LINE)",
        "en": "Set-up flows in the browser (devices, cameras, LINE)",
    },
    "plugin.ccoc": {
        "th": "ศูนย์สั่งการ CCOC (กระดานเหตุ คำสั่ง แผนที่ ตัวชี้วัด)",
        "en": "CCOC console (incident board, commands, map, KPIs)",
    },
    "plugin.station": {"th": "สถานีตำรวจ (CCOC)", "en": "Station (CCOC)"},
    "plugin.region": {
        "th": "ศูนย์ภาค/จังหวัด (สถานีรายงานขึ้นมา และการจัดอันดับของคณะกรรมการ)",
        "en": "Region (stations report to a provincial or regional command centre; the committee's ranking)",
    },
    "plugin.region_link": {
        "th": "รายงานขึ้นศูนย์ภาค (สรุปเหตุการณ์และตัวชี้วัดรายเดือนของสถานีนี้)",
        "en": "Region link (this station reports to its region: summaries, monthly figures)",
    },
    "plugin.video": {"th": "วิดีโอ: ถ่ายทอด บันทึก ภาพสด", "en": "Video: restream, recording, live view"},
    "plugin.big6": {"th": "ภาคีเครือข่าย 6 ภาคส่วน (Big 6)", "en": "Big 6 network"},
    "plugin.patrol_qr": {"th": "ตู้แดง (จุดตรวจ QR)", "en": "Red boxes (QR patrol checkpoints)"},
    "plugin.people_poll": {"th": "แบบสำรวจความเห็นประชาชนรายเดือน", "en": "Monthly People Poll"},
    "plugin.incident": {"th": "เหตุการณ์", "en": "Incidents"},
    "plugin.automation": {"th": "ระบบอัตโนมัติ", "en": "Automations"},
    "plugin.helpers": {"th": "ตัวช่วย (สวิตช์ ตัวจับเวลา ตัวนับ)", "en": "Helpers (toggles, timers, counters)"},
    "plugin.zone": {"th": "พื้นที่", "en": "Zone"},
    "psource.core": {"th": "แกนหลัก", "en": "core"},
    "psource.builtin": {"th": "มาพร้อมระบบ", "en": "built in"},
    "psource.entrypoint": {"th": "ติดตั้งเพิ่ม", "en": "installed"},
    "psource.dropin": {"th": "โฟลเดอร์ปลั๊กอิน", "en": "plugin folder"},
    "pstage.import": {"th": "โหลดโค้ด", "en": "import"},
    "pstage.validate": {"th": "ตรวจการตั้งค่า", "en": "config check"},
    "pstage.setup": {"th": "เริ่มทำงาน", "en": "setup"},
    "pstage.hook": {"th": "ระหว่างทำงาน", "en": "while running"},
    # -- audit log (what was done, and how it ended) ---------------------------------------
    "audit.action.station.camera.view": {"th": "เปิดดูกล้อง", "en": "camera viewed"},
    "audit.action.station.command": {"th": "ส่งคำสั่งถึงฮับ", "en": "command sent to a hub"},
    "audit.action.station.command.result": {"th": "ผลคำสั่งจากฮับ", "en": "command result"},
    "audit.action.station.snapshot.view": {"th": "เปิดดูภาพนิ่ง", "en": "snapshot viewed"},
    "audit.action.station.audit.export": {"th": "ส่งออกบันทึกการเข้าดู", "en": "audit exported"},
    "audit.action.login": {"th": "เข้าสู่ระบบ", "en": "logged in"},
    "audit.result.ok": {"th": "สำเร็จ", "en": "done"},
    "audit.result.refused": {"th": "ถูกปฏิเสธ", "en": "refused"},
    "audit.result.failed": {"th": "ไม่สำเร็จ", "en": "failed"},
    "audit.result.error": {"th": "ผิดพลาด", "en": "error"},
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
    "error.needs_role": {"th": "หน้านี้สำหรับ{role}เท่านั้น", "en": "This page is for the {role} role only"},
    "error.bad_request": {"th": "ข้อมูลที่ส่งมาไม่ถูกต้อง", "en": "The request was not valid"},
    "error.database_unavailable": {
        "th": "ฐานข้อมูลกลางไม่ตอบในขณะนี้ กรุณาลองใหม่อีกครู่",
        "en": "The shared database is not answering right now. Try again in a moment.",
    },
    "error.internal": {
        "th": "ระบบขัดข้องระหว่างเปิดหน้านี้ รายละเอียดอยู่ในบันทึกของฮับ",
        "en": "Something broke while opening this page; the hub's log has the details",
    },
    "action.failed": {"th": "ดำเนินการไม่สำเร็จ: {error}", "en": "Failed: {error}"},
    "action.working": {"th": "กำลังดำเนินการ…", "en": "Working…"},
    "action.http_400": {"th": "ข้อมูลที่ส่งไม่ถูกต้อง", "en": "The request was not valid"},
    "action.http_401": {"th": "กรุณาเข้าสู่ระบบใหม่", "en": "Please log in again"},
    "action.http_403": {
        "th": "คุณไม่มีสิทธิ์ทำสิ่งนี้ หรือหน้านี้หมดอายุ (โหลดหน้าใหม่)",
        "en": "Not allowed, or the page expired (reload it)",
    },
    "action.http_404": {"th": "ไม่พบสิ่งที่ต้องการ (อาจถูกลบไปแล้ว)", "en": "Not found (it may have been removed)"},
    "action.http_409": {
        "th": "สถานะเปลี่ยนไปแล้ว กรุณาโหลดหน้าใหม่",
        "en": "It changed meanwhile; reload the page",
    },
    "action.http_429": {"th": "ส่งคำสั่งถี่เกินไป กรุณารอสักครู่", "en": "Too many requests; wait a moment"},
    "action.http_503": {"th": "ระบบยังไม่พร้อม กรุณาลองใหม่อีกครั้ง", "en": "Not ready; try again"},
    "action.http_other": {
        "th": "ระบบไม่รับคำสั่งนี้ รายละเอียดอยู่ในบันทึกของฮับ",
        "en": "The hub refused this; its log has the details",
    },
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


#: Every registered key (prefix included) → its texts; the core's STRINGS are looked up first.
_REGISTERED: dict[str, dict[str, str]] = {}
#: Registered catalogues by name, for tests and tools.
_CATALOGUES: dict[str, Catalogue] = {}


class Catalogue(Mapping[str, Mapping[str, str]]):
    """One integration's strings: ``key → {"th": ..., "en": ...}`` (keys without the prefix)."""

    def __init__(self, name: str, prefix: str, strings: Mapping[str, Mapping[str, str]]) -> None:
        self.name = name
        self.prefix = prefix
        self._strings = {key: dict(texts) for key, texts in strings.items()}

    def __getitem__(self, key: str) -> Mapping[str, str]:
        return self._strings[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._strings)

    def __len__(self) -> int:
        return len(self._strings)

    def text(self, key: str, lang: str, /, **fmt: object) -> str:
        """Return this catalogue's ``key`` in ``lang``, or else the core's ``key``."""
        entry = self._strings.get(key)
        if entry is None:
            return translate(key, lang, **fmt)
        return _fill(entry.get(lang) or entry.get("en") or key, fmt)

    def translator(self, lang: str) -> Callable[..., str]:
        """Return ``t(key, **fmt)`` bound to ``lang``: this catalogue first, then the core."""

        def t(key: str, /, **fmt: object) -> str:
            return self.text(key, lang, **fmt)

        return t

    def by_lang(self) -> dict[str, dict[str, str]]:
        """Return ``{lang: {key: text}}``, the shape older pages index as ``strings[lang][key]``."""
        return {lang: {k: v.get(lang) or v.get("en", k) for k, v in self._strings.items()} for lang in LANGS}


def register(name: str, strings: Mapping[str, Mapping[str, str]], *, prefix: str = "") -> Catalogue:
    """Add an integration's strings to the catalogue and return them as a :class:`Catalogue`.

    ``prefix`` + key is the global key :func:`translate` answers.  A key already
    registered with other texts is a programming error, raised at import time,
    so two integrations can never fight over one key.
    """
    for key, texts in strings.items():
        missing = [lang for lang in LANGS if not texts.get(lang)]
        if missing:
            raise ValueError(f"i18n {name}: {key!r} has no {'/'.join(missing)} text")
        full = prefix + key
        known = STRINGS.get(full) or _REGISTERED.get(full)
        if known is not None and dict(known) != dict(texts):
            raise ValueError(f"i18n {name}: key {full!r} is already registered with other texts")
        _REGISTERED[full] = dict(texts)
    cat = Catalogue(name, prefix, strings)
    _CATALOGUES[name] = cat
    return cat


def register_by_lang(
    name: str, table: Mapping[str, Mapping[str, str]], *, prefix: str
) -> dict[str, dict[str, str]]:
    """Register a ``{"th": {key: text}, "en": {key: text}}`` table; return it in the same shape."""
    keys = dict.fromkeys(k for lang in LANGS for k in table.get(lang, {}))
    cat = register(
        name, {k: {lang: table.get(lang, {}).get(k, "") for lang in LANGS} for k in keys}, prefix=prefix
    )
    return cat.by_lang()


def register_pairs(name: str, pairs: Mapping[str, tuple[str, str]], *, prefix: str) -> Catalogue:
    """Register ``{key: (thai, english)}`` pairs."""
    return register(name, {k: {"th": th, "en": en} for k, (th, en) in pairs.items()}, prefix=prefix)


#: ``tr("ไทย", "English")`` with two literal strings, as templates write side-by-side pairs.
_PAIR_CALL = re.compile(r"""\btr\(\s*(["'])((?:(?!\1).)*)\1\s*,\s*(["'])((?:(?!\3).)*)\3\s*\)""", re.S)


def register_template_pairs(name: str, folder: Path) -> Catalogue:
    """Register every literal ``tr("ไทย", "English")`` pair in the templates under ``folder``.

    Pages that write their words side by side in the template (the LINE pages)
    keep doing so; the pairs still land in the one catalogue, keyed by their
    English text, so the crawl test and reviewers see them with the rest.
    """
    pairs: dict[str, tuple[str, str]] = {}
    for file in sorted(folder.rglob("*.html")):
        for match in _PAIR_CALL.finditer(file.read_text(encoding="utf-8")):
            th, en = " ".join(match.group(2).split()), " ".join(match.group(4).split())
            if th and en:
                pairs[f"{file.stem}:{en}"] = (th, en)
    return register_pairs(name, pairs, prefix=f"{name}.")


def entity_name(key: str, hub: Any, /, **fmt: object) -> str:
    """Return a name the code gives an entity, in the hub's own language (``hub.language``).

    Entity names are stored in states and travel to LINE cards and the station, so
    they are made once, in the language the hub is set to (Thai unless changed).
    """
    try:
        lang = normalize_lang(hub.core.language) or DEFAULT_LANG
    except (AttributeError, AssertionError):
        lang = DEFAULT_LANG
    return translate(f"entity_name.{key}", lang, **fmt)


def pair_translator(lang: str) -> Callable[[str, str], str]:
    """Return ``tr(thai, english)`` for templates that write both languages side by side."""

    def tr(th: str, en: str) -> str:
        return th if lang == "th" else en

    return tr


def catalogue() -> dict[str, dict[str, str]]:
    """Return every key the UI may show (core and registered) → its texts."""
    return {**_REGISTERED, **STRINGS}


def catalogues() -> dict[str, Catalogue]:
    """Return the registered catalogues by name."""
    return dict(_CATALOGUES)


def _fill(text: str, fmt: Mapping[str, object]) -> str:
    if not fmt:
        return text
    try:
        return text.format(**fmt)
    except (KeyError, IndexError, ValueError):
        return text


def translate(key: str, lang: str, /, **fmt: object) -> str:
    """Return the string ``key`` in ``lang``, falling back to English, then to the key.

    Keyword arguments fill ``{name}`` placeholders.  A placeholder the caller
    did not supply leaves the text unformatted rather than raising: a page
    with a raw ``{name}`` is better than an error page during an incident.
    """
    entry = STRINGS.get(key) or _REGISTERED.get(key)
    if entry is None:
        return key
    return _fill(entry.get(lang) or entry.get("en") or key, fmt)


def translator(lang: str) -> Callable[..., str]:
    """Return ``t(key, **fmt)`` bound to ``lang`` over the whole catalogue."""

    def t(key: str, /, **fmt: object) -> str:
        return translate(key, lang, **fmt)

    return t


_TH_MONTHS_FULL: Final = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
_EN_MONTHS_FULL: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
#: Month names as ``month_full.<1-12>`` (a month label: "มกราคม 2569").
register_pairs(
    "months_full",
    {str(i + 1): (th, en) for i, (th, en) in enumerate(zip(_TH_MONTHS_FULL, _EN_MONTHS_FULL, strict=True))},
    prefix="month_full.",
)
register_pairs(
    "months",
    {str(i + 1): (th, en) for i, (th, en) in enumerate(zip(_TH_MONTHS, _EN_MONTHS, strict=True))},
    prefix="month.",
)


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
