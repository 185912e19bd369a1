"""Thai and English strings of the automation pages (kept beside the pages they serve)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ("STRINGS", "translator")

STRINGS: dict[str, dict[str, str]] = {
    "nav.automations": {"th": "ระบบอัตโนมัติ", "en": "Automations"},
    "nav.blueprints": {"th": "พิมพ์เขียว", "en": "Blueprints"},
    "title": {"th": "ระบบอัตโนมัติ", "en": "Automations"},
    "intro": {
        "th": "กฎที่ทำงานเองเมื่อมีเหตุ เช่น กดปุ่ม SOS แล้วเปิดไฟและแจ้งเครือข่าย",
        "en": "Rules that act on their own, e.g. an SOS press turns the lights on and alerts the network.",
    },
    "none": {
        "th": "ยังไม่มีระบบอัตโนมัติ เพิ่มได้ในส่วน automation: ของไฟล์ตั้งค่า",
        "en": "No automations yet. Add them under automation: in the config file.",
    },
    "col.name": {"th": "ชื่อ", "en": "Name"},
    "col.state": {"th": "สถานะ", "en": "State"},
    "col.last_triggered": {"th": "ทำงานล่าสุด", "en": "Last triggered"},
    "col.last_result": {"th": "ผลล่าสุด", "en": "Last result"},
    "col.error": {"th": "ข้อผิดพลาด", "en": "Error"},
    "col.actions": {"th": "คำสั่ง", "en": "Actions"},
    "col.source": {"th": "ที่มา", "en": "Source"},
    "state.on": {"th": "เปิดใช้งาน", "en": "enabled"},
    "state.off": {"th": "ปิดใช้งาน", "en": "disabled"},
    "state.unavailable": {"th": "ใช้งานไม่ได้ (มีข้อผิดพลาด)", "en": "failed (invalid)"},
    "btn.enable": {"th": "เปิดใช้งาน", "en": "Enable"},
    "btn.disable": {"th": "ปิดใช้งาน", "en": "Disable"},
    "btn.trigger": {"th": "สั่งทำงานทันที", "en": "Run now"},
    "btn.reload": {"th": "โหลดใหม่", "en": "Reload"},
    "btn.reload_all": {"th": "โหลดทั้งหมดใหม่", "en": "Reload all"},
    "never": {"th": "ยังไม่เคย", "en": "never"},
    "traces": {"th": "บันทึกการทำงาน", "en": "Traces"},
    "no_traces": {"th": "ยังไม่มีบันทึกการทำงาน", "en": "No traces yet."},
    "trace.trigger": {"th": "สิ่งที่กระตุ้น", "en": "Trigger"},
    "trace.steps": {"th": "ขั้นตอน", "en": "Steps"},
    "trace.result": {"th": "ผล", "en": "Result"},
    "trace.error": {"th": "ข้อผิดพลาด", "en": "Error"},
    "trace.time": {"th": "เวลา", "en": "Time"},
    "trace.path": {"th": "ขั้นตอนที่", "en": "Step"},
    "trace.variables": {"th": "ตัวแปร", "en": "Variables"},
    "trace.execution": {"th": "การทำงาน", "en": "Execution"},
    "trace.resumed": {"th": "ทำต่อหลังเริ่มระบบใหม่", "en": "resumed after a restart"},
    "config": {"th": "การตั้งค่า", "en": "Configuration"},
    "blueprint": {"th": "พิมพ์เขียว", "en": "Blueprint"},
    "blueprints.title": {"th": "พิมพ์เขียวระบบอัตโนมัติ", "en": "Automation blueprints"},
    "blueprints.intro": {
        "th": "แม่แบบที่ใช้ซ้ำได้ ใช้ด้วย use_blueprint: ในไฟล์ตั้งค่า",
        "en": "Reusable templates; use them with use_blueprint: in the config.",
    },
    "blueprints.none": {"th": "ไม่พบพิมพ์เขียว", "en": "No blueprints found."},
    "blueprints.inputs": {"th": "ค่าที่ต้องกรอก", "en": "Inputs"},
    "blueprints.required": {"th": "จำเป็น", "en": "required"},
    "blueprints.default": {"th": "ค่าเริ่มต้น", "en": "default"},
    "blueprints.path": {"th": "ไฟล์", "en": "File"},
    "back": {"th": "กลับไปหน้ารายการ", "en": "Back to the list"},
}


def translator(lang: str) -> Callable[[str], str]:
    """Return ``tr(key)`` for ``lang`` (English fallback, then the key)."""

    def tr(key: str) -> str:
        entry = STRINGS.get(key)
        if entry is None:
            return key
        return entry.get(lang) or entry.get("en") or key

    return tr
