"""Thai and English strings of the setup wizard, the user actions and the repairs page.

One dict, kept beside the pages it serves, registered with the one catalogue
(``hub.i18n``) as ``onboarding.<key>``.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.i18n import Catalogue, register

__all__ = ("STRINGS", "translator")

_TEXTS: dict[str, dict[str, str]] = {
    # -- navigation ------------------------------------------------------------------------------
    "nav.setup": {"th": "ตั้งค่าเริ่มต้น", "en": "Setup"},
    "nav.repairs": {"th": "สิ่งที่ต้องแก้", "en": "Repairs"},
    # -- wizard ------------------------------------------------------------------------------------
    "wizard.title": {"th": "ตั้งค่าศูนย์ของคุณ", "en": "Set up your hub"},
    "wizard.intro": {
        "th": "ตอบ 3 ขั้นตอนสั้น ๆ แล้วเริ่มเพิ่มอุปกรณ์ได้เลย ไม่ต้องแก้ไฟล์ใด ๆ",
        "en": "Answer three short steps, then add your devices. No files to edit.",
    },
    "wizard.step": {"th": "ขั้นที่ {n} จาก {total}", "en": "Step {n} of {total}"},
    "wizard.step1": {"th": "ชื่อและเขต", "en": "Name and zone"},
    "wizard.step2": {"th": "ตำแหน่งบนแผนที่", "en": "Location on the map"},
    "wizard.step3": {"th": "ภาษาและเวลา", "en": "Language and time"},
    "wizard.step4": {"th": "คุณมีอุปกรณ์อะไรบ้าง", "en": "What do you have?"},
    "wizard.name": {"th": "ชื่อศูนย์ (เช่น ร้านทองกำแพง)", "en": "Hub name (e.g. Kamphaeng gold shop)"},
    "wizard.name_hint": {
        "th": "ชื่อนี้จะแสดงในการแจ้งเตือน LINE และที่ศูนย์ปฏิบัติการของสถานีตำรวจ",
        "en": "Shown on LINE alerts and at the police station's command centre.",
    },
    "wizard.zone": {"th": "รหัสเขต Smart Safety Zone", "en": "Smart Safety Zone id"},
    "wizard.zone_hint": {
        "th": "ขอรหัสเขตจากสถานีตำรวจในพื้นที่ ใช้อักษรอังกฤษตัวเล็ก ตัวเลข และขีด (เช่น satun-langu) เว้นว่างได้",
        "en": "Ask your local police station for the zone id: lower-case letters, digits and dashes "
        "(e.g. satun-langu). May be left empty.",
    },
    "wizard.map_hint": {
        "th": "แตะบนแผนที่เพื่อปักหมุดตำแหน่งร้าน หรือกดใช้ตำแหน่งของโทรศัพท์เครื่องนี้",
        "en": "Tap the map to pin your site, or use this phone's location.",
    },
    "wizard.map_offline": {
        "th": "ไม่มีแผนที่ออฟไลน์ในเครื่องนี้: แสดงตารางพิกัดรอบหมุดแทน (ช่องละประมาณ 100 เมตร)",
        "en": "No offline map on this hub: showing a coordinate grid around the pin (about 100 m a square).",
    },
    "wizard.lat": {"th": "ละติจูด", "en": "Latitude"},
    "wizard.lon": {"th": "ลองจิจูด", "en": "Longitude"},
    "wizard.locate": {"th": "ใช้ตำแหน่งของโทรศัพท์นี้", "en": "Use this phone's location"},
    "wizard.locate_failed": {
        "th": "อ่านตำแหน่งไม่ได้ กรุณาอนุญาตการเข้าถึงตำแหน่ง หรือแตะบนแผนที่แทน",
        "en": "Could not read the location: allow location access, or tap the map instead.",
    },
    "wizard.language": {"th": "ภาษาของหน้าจอและข้อความแจ้งเตือน", "en": "Language of the screens and alerts"},
    "wizard.timezone": {"th": "เขตเวลา", "en": "Time zone"},
    "wizard.tz.bangkok": {"th": "เวลาประเทศไทย (Asia/Bangkok)", "en": "Thailand time (Asia/Bangkok)"},
    "wizard.back": {"th": "ย้อนกลับ", "en": "Back"},
    "wizard.next": {"th": "ถัดไป", "en": "Next"},
    "wizard.save": {"th": "บันทึก", "en": "Save"},
    "wizard.saving": {"th": "กำลังบันทึก…", "en": "Saving…"},
    "wizard.saved": {"th": "บันทึกแล้ว", "en": "Saved"},
    "wizard.saved_restart": {
        "th": "บันทึกแล้ว แต่บางค่าจะมีผลหลังเริ่มระบบใหม่ (รีสตาร์ต)",
        "en": "Saved; some settings take effect after a restart.",
    },
    "wizard.have_intro": {
        "th": "เพิ่มสิ่งที่คุณมี ทีละอย่าง แต่ละหน้าจะทดสอบอุปกรณ์ก่อนบันทึก",
        "en": "Add what you have, one at a time; each page tests the device before saving.",
    },
    "wizard.have.devices": {"th": "ปุ่ม SOS และไฟ (Zigbee)", "en": "SOS buttons and lights (Zigbee)"},
    "wizard.have.devices_hint": {
        "th": "เปิดให้อุปกรณ์ใหม่เข้าร่วม แล้วเลือกว่าเป็นปุ่ม SOS หรือไฟ",
        "en": "Let new devices join, then make each an SOS button or a light.",
    },
    "wizard.have.cameras": {"th": "กล้องวงจรปิด", "en": "Cameras"},
    "wizard.have.cameras_hint": {
        "th": "ทดสอบกล้อง ดูภาพตัวอย่าง และบันทึกความยินยอมของเจ้าของ",
        "en": "Test the camera, see a snapshot, and record the owner's consent.",
    },
    "wizard.have.line": {
        "th": "กลุ่ม LINE (ภาคี Big 6 และตาสับปะรด)",
        "en": "LINE groups (Big 6, pineapple eyes)",
    },
    "wizard.have.line_hint": {
        "th": "เชื่อมบัญชี LINE OA แล้วตั้งชื่อกลุ่มที่จะรับการแจ้งเตือน",
        "en": "Connect the LINE account and name the groups that get alerts.",
    },
    "wizard.have.automations": {"th": "ระบบอัตโนมัติเมื่อกด SOS", "en": "What happens on an SOS press"},
    "wizard.have.automations_hint": {
        "th": "สร้างจากแม่แบบ: เปิดไฟ ถ่ายภาพ แจ้งกลุ่ม LINE และศูนย์ฯ",
        "en": "Build it from a blueprint: lights, snapshots, LINE groups and the station.",
    },
    "wizard.have.repairs": {"th": "ตรวจสิ่งที่ยังต้องแก้", "en": "Check what still needs fixing"},
    "wizard.no_file": {
        "th": "ศูนย์นี้เป็นโหมดสาธิต (ไม่มีไฟล์ตั้งค่า) จึงบันทึกไม่ได้ ให้เริ่มใหม่ด้วยคำสั่ง safetyhub init",
        "en": "This hub runs the demo (no config file), so nothing can be saved. "
        "Start a real hub with: safetyhub init",
    },
    # -- errors shared by every save ---------------------------------------------------------------
    "error.conflict": {
        "th": "มีผู้ดูแลคนอื่นแก้ไขการตั้งค่านี้หลังจากคุณเปิดหน้านี้ กรุณาโหลดหน้าใหม่แล้วลองอีกครั้ง",
        "en": "Someone else changed these settings since you opened this page. Reload it and try again.",
    },
    "error.rejected": {
        "th": "บันทึกไม่ได้ เพราะการตั้งค่ามีข้อผิดพลาด (ยังไม่มีการเปลี่ยนแปลงใด ๆ) รายละเอียดสำหรับช่าง:",
        "en": "Not saved: the configuration has errors (nothing was changed). Details for the installer:",
    },
    "error.invalid_config": {
        "th": "ไฟล์ตั้งค่าถูกแก้ไขด้วยมือและมีข้อผิดพลาด หน้าจอนี้จะบันทึกได้เมื่อแก้ไขแล้ว:",
        "en": "The config file was edited by hand and has errors; this page can save once they are fixed:",
    },
    "error.name": {
        "th": "กรุณาใส่ชื่อศูนย์ (ไม่เกิน 80 ตัวอักษร)",
        "en": "Enter the hub's name (at most 80 characters).",
    },
    "error.zone": {
        "th": "รหัสเขตใช้ได้เฉพาะอักษรอังกฤษตัวเล็ก ตัวเลข และขีด",
        "en": "The zone id may only use lower-case letters, digits and dashes.",
    },
    "error.location": {
        "th": "พิกัดไม่ถูกต้อง: ละติจูด -90 ถึง 90 และลองจิจูด -180 ถึง 180 หรือเว้นว่างทั้งสองช่อง",
        "en": "Invalid position: latitude -90 to 90 and longitude -180 to 180, or leave both empty.",
    },
    "error.timezone": {"th": "ไม่รู้จักเขตเวลานี้", "en": "Unknown time zone."},
    "error.language": {"th": "เลือกภาษาไทยหรืออังกฤษ", "en": "Choose Thai or English."},
    "error.network": {
        "th": "ติดต่อศูนย์ไม่ได้ ตรวจการเชื่อมต่อแล้วลองอีกครั้ง",
        "en": "Cannot reach the hub; check the connection and try again.",
    },
    # -- users -----------------------------------------------------------------------------------
    "users.actions": {"th": "จัดการ", "en": "Manage"},
    "users.status": {"th": "สถานะ", "en": "Status"},
    "users.enabled": {"th": "ใช้งานได้", "en": "Active"},
    "users.disabled": {"th": "ระงับแล้ว", "en": "Disabled"},
    "users.change_role": {"th": "เปลี่ยนสิทธิ์", "en": "Change role"},
    "users.disable": {"th": "ระงับ", "en": "Disable"},
    "users.enable": {"th": "เปิดใช้", "en": "Enable"},
    "users.delete": {"th": "ลบ", "en": "Delete"},
    "users.delete_confirm": {
        "th": "ลบผู้ใช้ {name}? ผู้ใช้นี้จะออกจากระบบทันทีและกู้คืนไม่ได้",
        "en": "Delete {name}? They are logged out at once; this cannot be undone.",
    },
    "users.disable_confirm": {
        "th": "ระงับผู้ใช้ {name}? ผู้ใช้นี้จะออกจากระบบทันที",
        "en": "Disable {name}? They are logged out at once.",
    },
    "users.reset_password": {"th": "ตั้งรหัสผ่านใหม่", "en": "Reset password"},
    "users.new_password": {
        "th": "รหัสผ่านใหม่ (อย่างน้อย 8 ตัวอักษร)",
        "en": "New password (at least 8 characters)",
    },
    "users.done": {"th": "เรียบร้อย", "en": "Done"},
    "users.last_admin": {
        "th": "ทำไม่ได้: ผู้ใช้นี้เป็นผู้ดูแลระบบคนสุดท้าย ต้องมีผู้ดูแลอย่างน้อยหนึ่งคนเสมอ",
        "en": "Not allowed: this is the last admin, and the hub must always have one.",
    },
    "users.short_password": {
        "th": "รหัสผ่านต้องมีอย่างน้อย 8 ตัวอักษร",
        "en": "The password needs at least 8 characters.",
    },
    "users.not_found": {"th": "ไม่พบผู้ใช้นี้ (อาจถูกลบไปแล้ว)", "en": "No such user (perhaps already deleted)."},
    "users.failed": {"th": "ทำไม่สำเร็จ กรุณาลองอีกครั้ง", "en": "That did not work; try again."},
    "users.you": {"th": "(คุณ)", "en": "(you)"},
    # -- repairs ---------------------------------------------------------------------------------
    "repairs.title": {"th": "สิ่งที่ต้องแก้", "en": "Repairs"},
    "repairs.intro": {
        "th": "รายการสิ่งที่ผู้ดูแลควรแก้ไข เรียงจากสำคัญที่สุด แต่ละรายการมีลิงก์ไปหน้าที่แก้ได้",
        "en": "What needs the admin, most important first; each links to where it is fixed.",
    },
    "repairs.none": {"th": "ไม่มีสิ่งที่ต้องแก้ ระบบพร้อมใช้งาน", "en": "Nothing needs fixing: all good."},
    "repairs.fix": {"th": "แก้ไข", "en": "Fix"},
    "repairs.severity.error": {"th": "ต้องแก้ทันที", "en": "Fix now"},
    "repairs.severity.warning": {"th": "ควรแก้", "en": "Should fix"},
    "repairs.severity.info": {"th": "แนะนำ", "en": "Suggestion"},
    "repairs.config_invalid": {"th": "ไฟล์ตั้งค่ามีข้อผิดพลาด", "en": "The config file has errors"},
    "repairs.config_invalid_detail": {
        "th": "{count} ข้อผิดพลาด หน้าตั้งค่าบนเว็บจะบันทึกไม่ได้จนกว่าจะแก้ (รายละเอียดสำหรับช่างด้านล่าง)",
        "en": "{count} error(s); the web settings cannot save until they are fixed (details for the installer below)",
    },
    "repairs.plugin_failed": {"th": "ส่วนเสริม {name} ทำงานไม่ได้", "en": "The {name} plugin failed"},
    "repairs.plugin_failed_detail": {
        "th": "สาเหตุ (สำหรับช่าง): {error}",
        "en": "Cause (for the installer): {error}",
    },
    "repairs.restart": {"th": "ต้องเริ่มระบบใหม่ (รีสตาร์ต)", "en": "A restart is needed"},
    "repairs.restart_detail": {
        "th": "บันทึกการตั้งค่า {block} แล้ว แต่จะมีผลหลังเริ่มระบบใหม่",
        "en": "The {block} settings are saved and take effect after a restart.",
    },
    "repairs.unavailable": {"th": "{name} ใช้งานไม่ได้", "en": "{name} is unavailable"},
    "repairs.unavailable_detail": {
        "th": "ตรวจไฟ สายไฟ และสัญญาณของอุปกรณ์ ({entity})",
        "en": "Check the device's power, wiring and signal ({entity}).",
    },
    "repairs.not_federated": {"th": "ยังไม่ได้เชื่อมกับสถานีตำรวจ", "en": "Not connected to the police station"},
    "repairs.not_federated_detail": {
        "th": "เหตุ SOS จะไม่ถึงศูนย์ปฏิบัติการ (CCOC) ติดต่อสถานีเพื่อขอรหัสเชื่อมต่อ",
        "en": "SOS incidents do not reach the station's CCOC; ask the station for connection details.",
    },
    "repairs.federation_down": {
        "th": "ขาดการเชื่อมต่อกับสถานีตำรวจ",
        "en": "The link to the police station is down",
    },
    "repairs.federation_down_detail": {
        "th": "เหตุการณ์ถูกเก็บรอส่งไว้ และจะส่งเมื่อเชื่อมต่อได้อีกครั้ง",
        "en": "Incidents are queued and will be sent when the link is back.",
    },
    "repairs.sos_unhandled": {"th": "ปุ่ม {name} ยังไม่มีระบบอัตโนมัติ", "en": "{name} has no automation"},
    "repairs.sos_unhandled_detail": {
        "th": "เมื่อกดจะเปิดเหตุการณ์เท่านั้น ไม่เปิดไฟ ไม่ถ่ายภาพ และไม่แจ้งกลุ่ม LINE",
        "en": "A press only opens an incident: no lights, snapshots or LINE alerts.",
    },
    "repairs.line_quota": {"th": "โควตาข้อความ LINE ใกล้หมด", "en": "The LINE message quota is nearly used up"},
    "repairs.line_quota_detail": {
        "th": "ใช้ไปแล้ว {percent}% ของเดือนนี้ เมื่อหมดจะส่งการแจ้งเตือน LINE ไม่ได้",
        "en": "{percent}% of this month's quota is used; when it runs out LINE alerts stop.",
    },
}

#: In the one catalogue (hub.i18n) as ``onboarding.<key>``.
STRINGS: Catalogue = register("onboarding", _TEXTS, prefix="onboarding.")


def translator(lang: str) -> Callable[..., str]:
    """Return ``tr(key, **fmt)`` for ``lang``: these strings, then the core's (English fallback, then the key)."""
    return STRINGS.translator(lang)
