"""What the browser set-up flows (devices, cameras, LINE) share: their strings and the config writer.

The flows live beside the integration each configures
(``integrations/sos/setup_flow.py``, ``integrations/onvif/setup_flow.py``,
``integrations/line/setup_flow.py``); this module keeps their Thai and
English strings (``STRINGS``, registered in the one catalogue of
:mod:`hub.i18n` as ``setup.<key>``) and turns the UI config
writer's refusals into messages an admin can act on.

Nothing is half-saved: a flow probes or tests first, then makes exactly one
writer call, and the writer validates the whole config like ``safetyhub
check`` before anything reaches the disk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.http.routes import current_user
from hub.http.templating import render, request_lang
from hub.i18n import register

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("STRINGS", "CATALOGUE", "FlowError", "tr", "render_flow", "writer", "write", "form_text", "actor")

#: Every string the set-up flows show, Thai first.  ``{name}`` placeholders are filled by :func:`tr`.
STRINGS: dict[str, dict[str, str]] = {
    # -- shared -----------------------------------------------------------------------
    "flow.setup": {"th": "ตั้งค่า", "en": "Set up"},
    "flow.back": {"th": "กลับ", "en": "Back"},
    "flow.cancel": {"th": "ยกเลิก", "en": "Cancel"},
    "flow.save": {"th": "บันทึก", "en": "Save"},
    "flow.saved": {
        "th": "บันทึกแล้ว ใช้งานได้ทันทีโดยไม่ต้องเริ่มระบบใหม่",
        "en": "Saved; in use now, no restart needed",
    },
    "flow.id": {"th": "รหัส (ภาษาอังกฤษตัวเล็ก ตัวเลข และ _)", "en": "Id (lower-case letters, digits and _)"},
    "flow.name": {"th": "ชื่อที่แสดง", "en": "Display name"},
    "flow.place": {"th": "ตำแหน่งที่ติดตั้ง", "en": "Where it is"},
    "flow.bad_id": {
        "th": "รหัสต้องเป็นตัวอักษรภาษาอังกฤษตัวเล็ก ตัวเลข หรือ _ เท่านั้น (เช่น market_gate)",
        "en": "The id may use lower-case letters, digits and _ only (like market_gate)",
    },
    "flow.id_taken": {
        "th": "รหัส {id} ถูกใช้แล้ว กรุณาเลือกรหัสอื่น",
        "en": "The id {id} is already used; choose another",
    },
    "flow.no_writer": {
        "th": "ฮับนี้ยังบันทึกการตั้งค่าจากหน้าเว็บไม่ได้ (ไม่มีตัวเขียนไฟล์ตั้งค่า) ไม่มีการเปลี่ยนแปลงใด",
        "en": "This hub cannot save settings from the web (no config writer); nothing was changed",
    },
    "flow.conflict": {
        "th": "การตั้งค่าถูกเปลี่ยนไปหลังจากที่คุณเปิดหน้านี้ กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง ไม่มีการบันทึกใด",
        "en": "The settings changed since you opened this page; reload and try again. Nothing was saved.",
    },
    "flow.rejected": {
        "th": "บันทึกไม่ได้ เพราะการตั้งค่าไม่ผ่านการตรวจสอบ (safetyhub check) ไม่มีการบันทึกใด:",
        "en": "Not saved: the settings do not pass the check (safetyhub check). Nothing was saved:",
    },
    "flow.required": {"th": "กรุณากรอก {field}", "en": "Please fill in {field}"},
    "flow.setup_links": {"th": "ตั้งค่าอื่น ๆ", "en": "Other set-up"},
    # -- devices ------------------------------------------------------------------------
    "dev.title": {"th": "เพิ่มอุปกรณ์ Zigbee", "en": "Add Zigbee devices"},
    "dev.intro": {
        "th": 'กดปุ่ม "เปิดรับอุปกรณ์ใหม่" แล้วกดปุ่มจับคู่ที่อุปกรณ์ (ดูคู่มืออุปกรณ์) อุปกรณ์ที่พบจะแสดงด้านล่าง',
        "en": 'Press "Allow new devices", then press the pairing button on the device (see its manual). '
        "Devices found appear below.",
    },
    "dev.no_mqtt": {
        "th": "ฮับนี้ยังไม่ได้เชื่อมต่อ MQTT (ไม่มีส่วน mqtt: ในการตั้งค่า) Zigbee2MQTT ส่งข้อมูลผ่าน MQTT "
        "กรุณาตั้งค่าโบรกเกอร์ MQTT ก่อน",
        "en": "This hub has no MQTT connection (no mqtt: block). Zigbee2MQTT talks over MQTT: set up the broker first.",
    },
    "dev.broker_down": {
        "th": "ติดต่อโบรกเกอร์ MQTT ไม่ได้ ({broker}) ตรวจสอบว่าโบรกเกอร์ทำงานอยู่ และชื่อผู้ใช้/รหัสผ่านถูกต้อง",
        "en": "The MQTT broker ({broker}) is not connected: check that it runs and the user name and password are right",
    },
    "dev.broker_title": {"th": "เชื่อมต่อโบรกเกอร์ MQTT", "en": "Connect the MQTT broker"},
    "dev.broker_intro": {
        "th": "Zigbee2MQTT ส่งข้อมูลอุปกรณ์ผ่านโบรกเกอร์ MQTT (มักเป็น Mosquitto บนเครื่องเดียวกัน) "
        "ใส่ที่อยู่เดียวกับที่ตั้งไว้ใน Zigbee2MQTT",
        "en": "Zigbee2MQTT talks through an MQTT broker (usually Mosquitto on the same box): "
        "give the address Zigbee2MQTT uses.",
    },
    "dev.broker_url": {"th": "ที่อยู่โบรกเกอร์ (mqtt://…)", "en": "Broker address (mqtt://…)"},
    "dev.broker_user": {"th": "ชื่อผู้ใช้ MQTT (ถ้ามี)", "en": "MQTT user (if any)"},
    "dev.broker_password": {"th": "รหัสผ่าน MQTT (ถ้ามี)", "en": "MQTT password (if any)"},
    "dev.broker_connect": {"th": "ทดสอบและเชื่อมต่อ", "en": "Test and connect"},
    "dev.broker_bad_url": {
        "th": "ที่อยู่โบรกเกอร์ต้องเป็นรูปแบบ mqtt://ที่อยู่:พอร์ต เช่น mqtt://127.0.0.1:1883",
        "en": "The broker address looks like mqtt://host:port, e.g. mqtt://127.0.0.1:1883",
    },
    "dev.broker_refused": {
        "th": "โบรกเกอร์ไม่ยอมรับชื่อผู้ใช้หรือรหัสผ่าน ตรวจสอบบัญชีผู้ใช้ในไฟล์รหัสผ่านของ Mosquitto",
        "en": "The broker refused the user or password: check the account in Mosquitto's password file",
    },
    "dev.broker_unreachable": {
        "th": "ติดต่อโบรกเกอร์ไม่ได้ ตรวจสอบที่อยู่และพอร์ต และว่า Mosquitto ทำงานอยู่",
        "en": "The broker did not answer: check the address and port, and that Mosquitto runs",
    },
    "dev.broker_saved": {"th": "เชื่อมต่อโบรกเกอร์ MQTT แล้ว", "en": "MQTT broker connected"},
    "dev.permit": {"th": "เปิดรับอุปกรณ์ใหม่", "en": "Allow new devices"},
    "dev.minutes": {"th": "นาน (นาที)", "en": "For (minutes)"},
    "dev.permit_open": {
        "th": "กำลังรับอุปกรณ์ใหม่ ถึงเวลา {until} กดปุ่มจับคู่ที่อุปกรณ์ได้เลย",
        "en": "Accepting new devices until {until}: press the pairing button on the device now",
    },
    "dev.permit_stop": {"th": "หยุดรับอุปกรณ์", "en": "Stop accepting"},
    "dev.permit_closed": {"th": "ปิดการรับอุปกรณ์ใหม่แล้ว", "en": "No longer accepting new devices"},
    "dev.no_z2m": {
        "th": "Zigbee2MQTT ไม่ตอบกลับภายใน {seconds} วินาที ตรวจสอบว่า Zigbee2MQTT ทำงานอยู่ เชื่อมต่อโบรกเกอร์เดียวกัน "
        'และใช้หัวข้อ (base_topic) "{base}" จากนั้นลองอีกครั้ง',
        "en": "Zigbee2MQTT did not answer within {seconds} s. Check that it runs, uses the same broker and the "
        'base topic "{base}", then try again.',
    },
    "dev.z2m_refused": {
        "th": "Zigbee2MQTT ปฏิเสธคำขอเปิดรับอุปกรณ์ ตรวจสอบอะแดปเตอร์ Zigbee ในหน้าของ Zigbee2MQTT",
        "en": "Zigbee2MQTT refused to open pairing; check the Zigbee adapter in Zigbee2MQTT's own page",
    },
    "dev.found": {"th": "อุปกรณ์ที่พบ", "en": "Devices found"},
    "dev.none_found": {
        "th": "ยังไม่พบอุปกรณ์ใหม่ หน้านี้จะอัปเดตเองระหว่างเปิดรับอุปกรณ์",
        "en": "No new device yet; this page updates itself while pairing is open",
    },
    "dev.refresh": {"th": "โหลดรายการใหม่", "en": "Refresh the list"},
    "dev.model": {"th": "รุ่น", "en": "Model"},
    "dev.vendor": {"th": "ผู้ผลิต", "en": "Maker"},
    "dev.source": {"th": "แหล่งที่มา", "en": "Source"},
    "dev.via_z2m": {"th": "จาก Zigbee2MQTT", "en": "From Zigbee2MQTT"},
    "dev.via_discovery": {"th": "จาก MQTT discovery", "en": "From MQTT discovery"},
    "dev.make_sos": {"th": "ใช้เป็นปุ่ม SOS", "en": "Use as an SOS button"},
    "dev.make_light": {"th": "ใช้เป็นไฟ", "en": "Use as a light"},
    "dev.make_sensor": {"th": "ใช้เป็นเซนเซอร์", "en": "Use as a sensor"},
    "dev.sensor_live": {
        "th": "เซนเซอร์ของอุปกรณ์นี้ใช้งานได้แล้ว (สร้างอัตโนมัติจาก MQTT discovery):",
        "en": "This device's sensors work already (made by MQTT discovery):",
    },
    "dev.sensor_needs_discovery": {
        "th": "เซนเซอร์ของอุปกรณ์นี้จะมาเองเมื่อเปิด Home Assistant discovery ใน Zigbee2MQTT (homeassistant: true) "
        "ไม่ต้องบันทึกอะไรเพิ่ม",
        "en": "This device's sensors arrive by themselves once Home Assistant discovery is on in Zigbee2MQTT "
        "(homeassistant: true); nothing to save here.",
    },
    "dev.press_table": {"th": "การกดที่ปุ่มรุ่นนี้นับเป็นเหตุ SOS", "en": "What counts as an SOS press on this model"},
    "dev.press_unknown_model": {
        "th": "ไม่รู้จักรุ่นนี้ จะนับเฉพาะข้อความฉุกเฉินทั่วไป (emergency, panic, sos)",
        "en": "Unknown model: only the generic panic words count (emergency, panic, sos)",
    },
    "dev.test_press": {
        "th": "ทดสอบกด (รอการกดจริง {seconds} วินาที)",
        "en": "Test press (waits {seconds} s for a real press)",
    },
    "dev.test_press_hint": {
        "th": "กดปุ่มนี้แล้วไปกดปุ่ม SOS จริงภายใน {seconds} วินาที ยังไม่มีการแจ้งเหตุใด ๆ",
        "en": "Press this, then press the real button within {seconds} s. Nothing is alerted yet.",
    },
    "dev.press_ok": {
        "th": "ได้รับการกดแล้ว ({action}) ปุ่มทำงานถูกต้อง",
        "en": "Press received ({action}): the button works",
    },
    "dev.press_timeout": {
        "th": "ไม่ได้รับการกดภายใน {seconds} วินาที ตรวจสอบแบตเตอรี่ และว่าปุ่มยังจับคู่กับ Zigbee2MQTT อยู่ แล้วลองอีกครั้ง",
        "en": "No press within {seconds} s. Check the battery and that the button is still paired, then try again.",
    },
    "dev.press_other": {
        "th": 'ได้รับข้อความ "{action}" แต่ไม่ใช่การกดฉุกเฉินของรุ่นนี้ ลองกดค้างหรือกดตามคู่มือ',
        "en": 'Got "{action}", which is not an emergency press on this model; press as the manual says',
    },
    "dev.need_proof": {
        "th": "ต้องทดสอบให้ผ่านก่อนบันทึก (ทดสอบกดปุ่ม หรือทดสอบกะพริบไฟ)",
        "en": "Test it before saving (a test press, or a test flash)",
    },
    "dev.test_flash": {"th": "ทดสอบกะพริบไฟ", "en": "Test flash"},
    "dev.flash_sent": {
        "th": "ส่งคำสั่งกะพริบแล้ว ไฟกะพริบหรือไม่? ถ้ากะพริบ บันทึกได้เลย",
        "en": "Flash sent. Did the light blink? If it did, save it.",
    },
    "dev.flash_seen": {"th": "ไฟกะพริบ บันทึกเป็นไฟ", "en": "It blinked: save as a light"},
    "dev.configured": {"th": "อุปกรณ์ที่ตั้งค่าแล้ว", "en": "Devices set up"},
    "dev.saved_sos": {"th": "บันทึกปุ่ม SOS {name} แล้ว", "en": "SOS button {name} saved"},
    "dev.saved_light": {"th": "บันทึกไฟ {name} แล้ว", "en": "Light {name} saved"},
    "dev.unknown_device": {
        "th": "ไม่พบอุปกรณ์ {name} ใน Zigbee2MQTT แล้ว โหลดรายการใหม่",
        "en": "Zigbee2MQTT no longer lists {name}; refresh the list",
    },
    # -- cameras -------------------------------------------------------------------------
    "cam.title": {"th": "เพิ่มกล้อง", "en": "Add a camera"},
    "cam.intro": {
        "th": "กรอกที่อยู่ IP ของกล้อง และชื่อผู้ใช้/รหัสผ่าน ONVIF ของกล้อง ฮับจะทดลองเชื่อมต่อก่อนบันทึก",
        "en": "Enter the camera's IP address and its ONVIF user and password; the hub tries them before saving.",
    },
    "cam.host": {"th": "ที่อยู่ IP หรือชื่อโฮสต์", "en": "IP address or host name"},
    "cam.port": {"th": "พอร์ต ONVIF", "en": "ONVIF port"},
    "cam.user": {"th": "ชื่อผู้ใช้กล้อง", "en": "Camera user"},
    "cam.password": {"th": "รหัสผ่านกล้อง", "en": "Camera password"},
    "cam.probe": {"th": "ทดสอบเชื่อมต่อ", "en": "Connect"},
    "cam.auth": {
        "th": "กล้องไม่ยอมรับชื่อผู้ใช้หรือรหัสผ่าน ตรวจสอบชื่อผู้ใช้/รหัสผ่าน ONVIF ในหน้าตั้งค่าของกล้อง "
        "(บางรุ่นแยกจากรหัสเข้าเว็บ) และเวลาของกล้อง",
        "en": "The camera refused the user or password. Check the ONVIF user and password in the camera's own "
        "settings (some models keep them apart from the web login) and the camera's clock.",
    },
    "cam.unreachable": {
        "th": "ติดต่อกล้องไม่ได้ ตรวจสอบที่อยู่ IP และพอร์ต ว่ากล้องเปิดอยู่ อยู่ในเครือข่ายเดียวกับฮับ และเปิดใช้ ONVIF แล้ว",
        "en": "The camera did not answer. Check the IP address and port, that it is on, on the hub's network, "
        "and has ONVIF turned on.",
    },
    "cam.malformed": {
        "th": "กล้องตอบกลับในรูปแบบที่ไม่ใช่ ONVIF ตรวจสอบพอร์ต (ต้องเป็นพอร์ต ONVIF ไม่ใช่ RTSP) หรืออัปเดตเฟิร์มแวร์",
        "en": "The camera's answer is not ONVIF. Check the port (the ONVIF port, not RTSP) or update its firmware.",
    },
    "cam.unsupported": {
        "th": "กล้องนี้ไม่รองรับบริการ ONVIF ที่จำเป็น (Media) เปิด ONVIF ในหน้าตั้งค่าของกล้อง",
        "en": "The camera lacks a needed ONVIF service (Media); turn ONVIF on in its settings.",
    },
    "cam.failed": {
        "th": "เชื่อมต่อกล้องไม่สำเร็จ ตรวจสอบการตั้งค่ากล้องแล้วลองอีกครั้ง",
        "en": "Connecting failed; check the camera and try again",
    },
    "cam.found": {"th": "เชื่อมต่อกล้องสำเร็จ", "en": "Camera connected"},
    "cam.maker": {"th": "ยี่ห้อ / รุ่น", "en": "Make / model"},
    "cam.profiles": {"th": "โปรไฟล์ภาพ", "en": "Video profiles"},
    "cam.preview": {"th": "ภาพตัวอย่างสด", "en": "Live preview"},
    "cam.preview_refresh": {"th": "ถ่ายภาพใหม่", "en": "New picture"},
    "cam.no_preview": {"th": "ยังไม่มีภาพจากกล้อง", "en": "No picture from the camera"},
    "cam.presets": {"th": "ตำแหน่งที่ตั้งไว้ (PTZ)", "en": "PTZ presets"},
    "cam.no_ptz": {
        "th": "กล้องนี้หมุน/ซูมไม่ได้ หรือยังไม่มีตำแหน่งที่ตั้งไว้",
        "en": "No pan/tilt/zoom presets on this camera",
    },
    "cam.owner": {"th": "เจ้าของกล้อง", "en": "The camera's owner"},
    "cam.owner_name": {"th": "ชื่อเจ้าของ (บุคคลหรือหน่วยงาน)", "en": "Owner (person or organisation)"},
    "cam.owner_phone": {"th": "เบอร์โทรติดต่อเจ้าของ", "en": "Owner's phone"},
    "cam.share": {"th": "การแชร์ภาพกับสถานีตำรวจ", "en": "Sharing with the police station"},
    "cam.policy_never": {"th": "ไม่แชร์", "en": "Never"},
    "cam.policy_registry": {"th": "แจ้งว่ามีกล้องเท่านั้น", "en": "Registry only"},
    "cam.policy_on_alarm": {"th": "แชร์เมื่อมีเหตุ", "en": "During incidents"},
    "cam.policy_always": {"th": "แชร์ตลอดเวลา", "en": "Always"},
    "cam.consent": {"th": "ความยินยอมของเจ้าของกล้อง", "en": "The owner's consent"},
    "cam.consent_text": {
        "th": 'ข้าพเจ้า {agreed_by} ในนามเจ้าของกล้อง "{camera}" ({owner}) ยินยอมให้ฮับ "{hub}" ใช้กล้องนี้ '
        'ตามนโยบาย "{policy}": {explain} ข้าพเจ้าเปลี่ยนนโยบายหรือถอนความยินยอมได้ทุกเมื่อผ่านผู้ดูแลฮับ',
        "en": 'I, {agreed_by}, for the owner of the camera "{camera}" ({owner}), agree that the hub "{hub}" uses '
        'this camera under the policy "{policy}": {explain} I can change the policy or withdraw consent at any '
        "time through the hub's admin.",
    },
    "cam.agreed_by": {"th": "ชื่อผู้ให้ความยินยอม", "en": "Name of the person agreeing"},
    "cam.agree": {
        "th": "เจ้าของกล้องได้อ่านข้อความด้านบนและยินยอมแล้ว",
        "en": "The owner has read the text above and agrees",
    },
    "cam.need_consent": {
        "th": "ต้องได้รับความยินยอมของเจ้าของกล้องก่อนแชร์ภาพ: กรอกชื่อผู้ให้ความยินยอม และทำเครื่องหมายยินยอม",
        "en": "Sharing needs the owner's consent: fill in who agrees and tick the consent box",
    },
    "cam.need_owner": {
        "th": "ต้องกรอกชื่อเจ้าของเมื่อแชร์ภาพกับสถานี (สถานีต้องรู้ว่าเป็นกล้องของใคร)",
        "en": "Sharing needs the owner's name (the station must know whose camera it is)",
    },
    "cam.consent_shown": {
        "th": 'ยินยอมโดย {agreed_by} เมื่อ {when} นโยบาย "{policy}" บันทึกโดย {recorded_by}',
        "en": 'Agreed by {agreed_by} on {when}, policy "{policy}", recorded by {recorded_by}',
    },
    "cam.consent_none": {"th": "ยังไม่มีบันทึกความยินยอมจากหน้าเว็บ", "en": "No consent recorded from the web yet"},
    "cam.consent_exact": {"th": "ข้อความที่ยินยอม", "en": "The text agreed to"},
    "cam.draft_gone": {
        "th": "ข้อมูลการเชื่อมต่อหมดอายุแล้ว (เกิน 30 นาที) กรุณาทดสอบเชื่อมต่อใหม่",
        "en": "The connection details expired (30 minutes); connect again",
    },
    "cam.consent_not_saved": {
        "th": 'บันทึกความยินยอมไม่สำเร็จ จึงไม่ได้เพิ่มกล้อง ลองอีกครั้ง หากยังไม่ได้ ดูที่หน้า "แก้ไขปัญหา"',
        "en": "The consent could not be stored, so the camera was not added. Try again; if it fails again, see Repairs.",
    },
    "cam.saved": {"th": "บันทึกกล้อง {name} แล้ว", "en": "Camera {name} saved"},
    "cam.open": {"th": "เปิดหน้ากล้อง", "en": "Open the camera page"},
    # -- LINE ----------------------------------------------------------------------------
    "line.title": {"th": "เชื่อมต่อ LINE", "en": "Connect LINE"},
    "line.intro": {
        "th": "สร้าง LINE Official Account และช่อง Messaging API ใน LINE Developers Console "
        "แล้วคัดลอก Channel access token และ Channel secret มาวางที่นี่",
        "en": "Create a LINE Official Account and a Messaging API channel in the LINE Developers Console, "
        "then paste the channel access token and channel secret here.",
    },
    "line.token": {"th": "Channel access token (แบบระยะยาว)", "en": "Channel access token (long-lived)"},
    "line.secret": {"th": "Channel secret", "en": "Channel secret"},
    "line.api_base": {"th": "เซิร์ฟเวอร์ LINE API", "en": "LINE API server"},
    "line.advanced": {"th": "ตั้งค่าขั้นสูง", "en": "Advanced"},
    "line.verify": {"th": "ตรวจสอบและเชื่อมต่อ", "en": "Verify and connect"},
    "line.refused": {
        "th": "LINE ไม่ยอมรับ Channel access token นี้ ตรวจสอบว่าคัดลอกครบทั้งข้อความ ไม่มีช่องว่าง และยังไม่ถูกออกใหม่ "
        "(Messaging API > Channel access token)",
        "en": "LINE refused this channel access token. Check it was copied whole, without spaces, and has not been "
        "reissued (Messaging API > Channel access token).",
    },
    "line.unreachable": {
        "th": "ติดต่อ LINE ไม่ได้ ตรวจสอบการเชื่อมต่ออินเทอร์เน็ตของฮับ แล้วลองอีกครั้ง",
        "en": "LINE could not be reached; check the hub's internet connection and try again",
    },
    "line.bad_secret": {
        "th": "Channel secret ต้องเป็นตัวอักษร 0-9 a-f จำนวน 32 ตัว (Basic settings > Channel secret)",
        "en": "The channel secret is 32 characters 0-9 a-f (Basic settings > Channel secret)",
    },
    "line.connected": {
        "th": "เชื่อมต่อกับบอท {name} ({basic_id}) แล้ว",
        "en": "Connected to the bot {name} ({basic_id})",
    },
    "line.webhook": {
        "th": "Webhook URL สำหรับใส่ใน LINE Developers Console",
        "en": "Webhook URL for the LINE Developers Console",
    },
    "line.webhook_hint": {
        "th": 'ใส่ URL นี้ที่ Messaging API > Webhook settings แล้วเปิด "Use webhook" จากนั้นเชิญบอทเข้ากลุ่ม LINE',
        "en": 'Enter it under Messaging API > Webhook settings, turn on "Use webhook", then invite the bot to your LINE groups.',
    },
    "line.no_public_url": {
        "th": "ฮับยังไม่มีที่อยู่สาธารณะ (hub.web.public_url) LINE ต้องส่งข้อมูลมาที่ https:// ที่เข้าถึงได้จากอินเทอร์เน็ต",
        "en": "The hub has no public address (hub.web.public_url); LINE needs an https:// address reachable from the internet.",
    },
    "line.groups": {"th": "กลุ่ม LINE ที่บอทเข้าร่วม", "en": "LINE groups the bot is in"},
    "line.groups_none": {
        "th": "ยังไม่มีกลุ่ม เชิญบอทเข้ากลุ่ม LINE แล้วโหลดหน้านี้ใหม่",
        "en": "No group yet: invite the bot to a LINE group, then reload this page",
    },
    "line.group_pending": {"th": "รอตั้งชื่อ", "en": "Needs a name"},
    "line.alias": {"th": "ชื่อเรียกกลุ่ม", "en": "Group alias"},
    "line.alias_big6": {"th": "big6 (ภาคีเครือข่าย Big 6)", "en": "big6 (the Big 6 network)"},
    "line.alias_pineapple": {"th": "pineapple_eyes (ตาสับปะรด)", "en": "pineapple_eyes (pineapple eyes)"},
    "line.alias_other": {"th": "ชื่ออื่น (ภาษาอังกฤษตัวเล็ก)", "en": "Other (lower-case letters)"},
    "line.name_group": {"th": "ตั้งชื่อกลุ่ม", "en": "Name the group"},
    "line.bad_alias": {
        "th": "ชื่อเรียกต้องขึ้นต้นด้วยตัวอักษรภาษาอังกฤษตัวเล็ก ใช้ได้เฉพาะ a-z 0-9 และ _ (ไม่เกิน 32 ตัว)",
        "en": "An alias starts with a lower-case letter and uses a-z, 0-9 and _ only (at most 32)",
    },
    "line.alias_taken": {
        "th": "ชื่อเรียก {alias} ใช้กับกลุ่มอื่นแล้ว",
        "en": "The alias {alias} names another group already",
    },
    "line.named": {"th": "ตั้งชื่อกลุ่มเป็น {alias} แล้ว", "en": "Group named {alias}"},
    "line.test": {"th": "ส่งการ์ดทดสอบ", "en": "Send a test card"},
    "line.test_sent": {"th": "ส่งการ์ดทดสอบเข้ากลุ่ม {alias} แล้ว", "en": "Test card sent to {alias}"},
    "line.test_failed": {
        "th": "ส่งการ์ดทดสอบไม่สำเร็จ ตรวจสอบว่าบอทยังอยู่ในกลุ่ม และโควตาข้อความของเดือนนี้ยังไม่หมด",
        "en": "The test card failed: check the bot is still in the group and this month's quota is not used up",
    },
    "line.test_card": {
        "th": "✅ ทดสอบการแจ้งเตือนจาก {hub}: กลุ่มนี้ ({alias}) จะได้รับการแจ้งเหตุ SOS",
        "en": "✅ Test alert from {hub}: this group ({alias}) will get SOS alerts",
    },
    "line.not_running": {
        "th": "LINE ยังไม่ทำงานบนฮับนี้ เชื่อมต่อด้วย token และ secret ก่อน",
        "en": "LINE is not running on this hub yet: connect with the token and secret first",
    },
    "line.replace": {"th": "เปลี่ยน token / secret", "en": "Change token / secret"},
}


#: The flows' strings in the one catalogue (``setup.<key>``), so the page crawl and reviewers see them.
CATALOGUE = register("flows", STRINGS, prefix="setup.")


class FlowError(Exception):
    """A flow step failed; ``key`` names its message in :data:`STRINGS`, ``details`` lists check errors."""

    def __init__(self, key: str, details: list[str] | None = None, **fmt: object) -> None:
        super().__init__(key)
        self.key = key
        self.fmt = fmt
        self.details = details or []

    def text(self, lang: str) -> str:
        """Return the message in ``lang``."""
        return tr(self.key, lang, **self.fmt)


def tr(key: str, lang: str, /, **fmt: object) -> str:
    """Return ``key``'s text in ``lang`` (Thai when unknown); a missing key shows as itself for review."""
    if key not in CATALOGUE:
        return key
    return CATALOGUE.text(key, lang, **fmt)


def render_flow(request: web.Request, template: str, **context: Any) -> web.Response:
    """Render a flow page with ``s(key, **fmt)`` bound to the request's language."""
    lang = request_lang(request)

    def s(key: str, /, **fmt: object) -> str:
        return tr(key, lang, **fmt)

    return render(request, template, s=s, **context)


def form_text(form: Mapping[str, Any], name: str, limit: int = 200) -> str:
    """Return a form field as stripped text, at most ``limit`` characters."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def writer(hub: Hub) -> Any:
    """Return the hub's UI config writer; FlowError when this hub has none."""
    ui = getattr(hub, "ui_config", None)
    if ui is None:
        raise FlowError("flow.no_writer")
    return ui


def actor(request: web.Request) -> str:
    """Return who is writing (the writer audits it)."""
    user = current_user(request)
    return str(user.username) if user is not None else "web"


async def write(call: Awaitable[str]) -> str:
    """Await one writer call, turning its refusals into :class:`FlowError` (nothing was written)."""
    from hub.config.ui_writer import ConfigConflict, ConfigRejected, IdCollision

    try:
        return await call
    except ConfigConflict as err:
        raise FlowError("flow.conflict") from err
    except IdCollision as err:
        raise FlowError("flow.id_taken", id=err.item_id) from err
    except ConfigRejected as err:
        raise FlowError("flow.rejected", list(err.errors)) from err
