"""The devices page: every SOS button and light with its health, and test actions for admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.auth import role_at_least
from hub.http.routes import Route, current_user
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from hub.i18n import register_by_lang

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes", "device_rows")

_LABELS = {
    "en": {
        "title": "Devices",
        "buttons": "SOS buttons",
        "lights": "Lights",
        "name": "Name",
        "state": "State",
        "source": "Source",
        "battery": "Battery",
        "lqi": "Link quality",
        "last_seen": "Last seen",
        "available": "Availability",
        "online": "online",
        "offline": "offline",
        "actions": "Test",
        "press": "Test press",
        "flash": "Test flash (5 s)",
        "none": "No devices configured.",
        "presses": "Presses",
        "brightness": "Brightness",
        "broker": "MQTT broker",
        "silent": "Not reporting",
        "silent_for": "nothing heard since {when} (limit {limit})",
        "supervised": "supervised: silent after {limit}",
    },
    "th": {
        "title": "อุปกรณ์",
        "buttons": "ปุ่ม SOS",
        "lights": "ไฟส่องสว่าง",
        "name": "ชื่อ",
        "state": "สถานะ",
        "source": "แหล่งที่มา",
        "battery": "แบตเตอรี่",
        "lqi": "คุณภาพสัญญาณ",
        "last_seen": "เห็นล่าสุด",
        "available": "การเชื่อมต่อ",
        "online": "ออนไลน์",
        "offline": "ออฟไลน์",
        "actions": "ทดสอบ",
        "press": "ทดสอบกด",
        "flash": "ทดสอบกะพริบ (5 วิ)",
        "none": "ยังไม่มีอุปกรณ์",
        "presses": "จำนวนครั้งที่กด",
        "brightness": "ความสว่าง",
        "broker": "โบรกเกอร์ MQTT",
        "silent": "ไม่ส่งสัญญาณ",
        "silent_for": "ไม่ได้ยินตั้งแต่ {when} (กำหนด {limit})",
        "supervised": "เฝ้าระวัง: แจ้งเมื่อเงียบเกิน {limit}",
    },
}
# One catalogue for the whole UI: the table is registered with hub.i18n (same shape back).
_LABELS = register_by_lang("sos.devices_page", _LABELS, prefix="sos.devices_page.")


def device_rows(hub: Hub) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return (buttons, lights) as plain rows for the page and its tests."""
    buttons = []
    for state in sorted(hub.states.all("sos"), key=lambda s: s.entity_id):
        attrs = state.attributes
        buttons.append(
            {
                "entity_id": state.entity_id,
                "name": state.name,
                "state": state.state,
                "source": attrs.get("source"),
                "battery": attrs.get("battery"),
                "linkquality": attrs.get("linkquality"),
                "last_seen": attrs.get("last_seen"),
                "presses": attrs.get("presses", 0),
                "available": state.state != "unavailable",
                "error": attrs.get("error"),
                "silent": attrs.get("supervision") == "silent",
                "last_heard": attrs.get("last_heard"),
                "silence_limit": attrs.get("silence_limit"),
            }
        )
    lights = []
    for state in sorted(hub.states.all("light"), key=lambda s: s.entity_id):
        attrs = state.attributes
        lights.append(
            {
                "entity_id": state.entity_id,
                "name": state.name,
                "state": state.state,
                "source": attrs.get("source"),
                "brightness": attrs.get("brightness"),
                "linkquality": attrs.get("linkquality"),
                "last_seen": attrs.get("last_seen"),
                "available": state.state != "unavailable",
                "error": attrs.get("error"),
            }
        )
    return buttons, lights


async def devices(request: web.Request) -> web.StreamResponse:
    """Render the devices page."""
    hub = request.app[HUB_KEY]
    user = current_user(request)
    lang = request_lang(request)
    buttons, lights = device_rows(hub)
    broker = hub.states.get("binary_sensor.mqtt_connected")
    return render(
        request,
        "devices.html",
        buttons=buttons,
        lights=lights,
        L=_LABELS.get(lang, _LABELS["en"]),
        can_test=user is not None and role_at_least(user.role, "admin"),
        broker=broker.attributes if broker is not None else None,
    )


def routes() -> list[Route]:
    """Return the page route."""
    return [
        Route(
            "GET",
            "/devices",
            devices,
            api=False,
            tags=("pages",),
            summary="SOS buttons and lights: state, battery, link quality, last seen, availability",
        )
    ]
