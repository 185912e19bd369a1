"""The CCOC command panel: a form per command (which light, how long; which camera, which preset), checked on the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.ccoc import command_forms
from integrations.ccoc.command_forms import Choices, FormError, forms_for, parse
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.const import ALLOWED_COMMANDS
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until
from tests.integrations.ccoc.test_console import session

CHOICES = Choices(
    lights=[("light.gate_lamp", "ไฟประตู"), ("light.soi_lamp", "ไฟซอย")],
    cameras=[("camera.gate", "กล้องประตู")],
    incidents=[("01JINCIDENT0000000000000001", "SOS ร้านทอง")],
)


@pytest.mark.parametrize(
    ("command", "fields", "data"),
    [
        (
            "light.flash",
            {"entity_id": ["light.gate_lamp"], "seconds": "30"},
            {"entity_id": "light.gate_lamp", "seconds": 30},
        ),
        (
            "light.turn_on",
            {"entity_id": ["light.gate_lamp", "light.soi_lamp"], "brightness_pct": "50"},
            {"entity_id": ["light.gate_lamp", "light.soi_lamp"], "brightness": 128},
        ),
        (
            "light.turn_on",
            {"entity_id": "light.soi_lamp", "brightness_pct": ""},
            {"entity_id": "light.soi_lamp"},
        ),
        ("light.turn_off", {"entity_id": ["light.soi_lamp"]}, {"entity_id": "light.soi_lamp"}),
        (
            "camera.ptz_preset",
            {"entity_id": "camera.gate", "preset": " ประตูหน้า "},
            {"entity_id": "camera.gate", "preset": "ประตูหน้า"},
        ),
        ("camera.snapshot", {"entity_id": "camera.gate", "incident_id": ""}, {"entity_id": "camera.gate"}),
        (
            "incident.dispatch",
            {"incident_id": "01JINCIDENT0000000000000001", "unit": "สายตรวจ 1", "text": ""},
            {"incident_id": "01JINCIDENT0000000000000001", "unit": "สายตรวจ 1"},
        ),
        ("line.send", {"to": "big6", "message": "ระวังมิจฉาชีพ"}, {"to": "big6", "message": "ระวังมิจฉาชีพ"}),
    ],
)
def test_forms_build_the_command_data(command: str, fields: dict[str, Any], data: dict[str, Any]) -> None:
    assert parse(command, fields, CHOICES) == data


@pytest.mark.parametrize(
    ("command", "fields", "thai"),
    [
        ("light.flash", {"entity_id": [], "seconds": "30"}, "ไฟ: ต้องเลือก"),
        (
            "light.flash",
            {"entity_id": ["light.gate_lamp"], "seconds": "วันนี้"},
            "ระยะเวลา (วินาที): ต้องเป็นตัวเลข 1–3600",
        ),
        (
            "light.flash",
            {"entity_id": ["light.gate_lamp"], "seconds": "7200"},
            "ระยะเวลา (วินาที): ต้องเป็นตัวเลข 1–3600",
        ),
        (
            "light.flash",
            {"entity_id": ["light.other_shop"], "seconds": "5"},
            "ไฟ: “light.other_shop” ไม่มีในรายการของฮับนี้",
        ),
        (
            "light.turn_on",
            {"entity_id": "light.gate_lamp", "brightness_pct": "150"},
            "ความสว่าง (%): ต้องเป็นตัวเลข 1–100",
        ),
        ("camera.ptz_preset", {"entity_id": "camera.gate", "preset": ""}, "จุดที่ตั้งไว้ (preset): ต้องกรอก"),
        ("incident.note", {"incident_id": "01JOTHER", "text": "x"}, "เหตุ: “01JOTHER” ไม่มีในรายการของฮับนี้"),
        (
            "incident.note",
            {"incident_id": "01JINCIDENT0000000000000001", "text": "ก" * 2001},
            "บันทึก: ยาวเกิน 2000 ตัวอักษร",
        ),
    ],
)
def test_bad_values_are_named_in_thai(command: str, fields: dict[str, Any], thai: str) -> None:
    with pytest.raises(FormError) as err:
        parse(command, fields, CHOICES)
    assert thai in err.value.text("th")
    assert err.value.text("en") != err.value.text("th")


def test_every_allowlisted_command_has_a_form() -> None:
    forms = forms_for(ALLOWED_COMMANDS)
    offered = [c for c in ALLOWED_COMMANDS if c not in command_forms.NOT_IN_PANEL]
    assert [f.command for f in forms] == offered and not any(f.json for f in forms)
    # A command added to the allowlist later, with no form yet, keeps the JSON box.
    assert forms_for(["drill.start"])[0].json
    # Without a device list from the hub, a well-formed id is taken.
    assert parse("light.turn_off", {"entity_id": "light.x1"}, Choices()) == {"entity_id": "light.x1"}
    with pytest.raises(FormError):
        parse("light.turn_off", {"entity_id": "switch.x1"}, Choices())
    # A malformed registry (a hub is not trusted) gives no choices rather than an error.
    assert command_forms.choices_for({"devices": "x", "cameras": [1, {"entity_id": 3}]}, []) == Choices()


async def test_the_panel_sends_a_form_and_the_light_flashes(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        hub_extra="light:\n  - {id: gate_lamp, name: ไฟประตูตลาด, simulated: true}\n",
    )
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ประตูตลาด", place="ประตู")
    assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
    console = station.data[CCOC_RUNTIME]

    async def listed() -> bool:
        one = await console.hubs.get("test-hub")
        devices = ((one or {}).get("registry") or {}).get("devices") or []
        return any(d["entity_id"] == "light.gate_lamp" for d in devices)

    await until(listed)
    await until(lambda: console.item("test-hub", inc.id))
    async with await session(station, "operator") as op:
        page = await (await op.get("/ccoc/hubs/test-hub")).text()
        # Forms, not a JSON box: the hub's light by name, a duration, the open incident.
        flash = page.split('data-command="light.flash"', 1)[1].split("</fieldset>", 1)[0]
        assert 'name="entity_id"' in flash and "ไฟประตูตลาด (light.gate_lamp)" in flash
        assert "ระยะเวลา (วินาที)" in flash and 'name="seconds"' in flash
        note = page.split('data-command="incident.note"', 1)[1].split("</fieldset>", 1)[0]
        assert "SOS ประตูตลาด" in note and inc.id in note
        assert "{&#34;entity_id&#34;" not in page and '"seconds": 30}' not in page

        bad = await op.post(
            "/api/ccoc/hubs/test-hub/commands",
            json={"command": "light.flash", "fields": {"entity_id": ["light.gate_lamp"], "seconds": "ตลอด"}},
        )
        assert bad.status == 400 and "ระยะเวลา (วินาที): ต้องเป็นตัวเลข 1–3600" in (await bad.json())["error"]
        stranger = await op.post(
            "/api/ccoc/hubs/test-hub/commands",
            json={"command": "light.flash", "fields": {"entity_id": ["light.next_door"], "seconds": "5"}},
        )
        assert stranger.status == 400 and "light.next_door" in (await stranger.json())["error"]

        sent = await op.post(
            "/api/ccoc/hubs/test-hub/commands",
            json={"command": "light.flash", "fields": {"entity_id": ["light.gate_lamp"], "seconds": "20"}},
        )
        assert sent.status == 202, await sent.text()
        record = await sent.json()
        assert record["data"] == {"entity_id": "light.gate_lamp", "seconds": 20}

        async def done() -> bool:
            rows = await console.delivery.commands(hub_id="test-hub")
            return any(r["id"] == record["id"] and r["state"] == "ok" for r in rows)

        await until(done)
