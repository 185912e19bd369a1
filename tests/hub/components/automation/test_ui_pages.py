"""The automation pages over real HTTP: use a blueprint, the visual editor, YAML, delete, traces.

Writes go through the real UI config writer into ``ui/automation.yaml`` beside
a real config.yaml, and the automation runs at once (no restart).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from hub.components.automation.const import RUNTIME as AUTOMATION_RUNTIME
from hub.hub import Hub
from hub.testing import wait_for
from hub.testing_pages import browser_session, hidden

CONFIG = """
sos:
  - {id: gate, name: ปุ่มประตูตลาด, simulated: true}
light:
  - {id: lamp, name: ไฟหน้าร้าน, simulated: true}
automation:
  - id: by_hand
    alias: เขียนเอง
    triggers: [{trigger: state, entity_id: light.lamp, to: "on"}]
    actions: [{delay: "00:00:01"}]
"""


async def _get(session: aiohttp.ClientSession, path: str, status: int = 200) -> str:
    async with session.get(path, allow_redirects=False) as resp:
        text = await resp.text()
        assert resp.status == status, (path, resp.status, text[:800])
        return text


async def _post(
    session: aiohttp.ClientSession, path: str, form: dict[str, Any] | list[tuple[str, str]]
) -> tuple[int, str, str]:
    async with session.post(path, data=form, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", ""), await resp.text()


def _ui_file(hub: Hub) -> Path:
    return hub.config_dir / "ui" / "automation.yaml"


async def _hub(make_hub: Any) -> tuple[Hub, aiohttp.ClientSession]:
    hub = await make_hub(CONFIG)
    return hub, await browser_session(hub, "admin", lang="th")


async def test_use_the_sos_blueprint_from_the_browser(make_hub: Any) -> None:
    hub, session = await _hub(make_hub)
    try:
        chooser = await _get(session, "/automations/new")
        assert "/automations/new/blueprint?path=sos_alert.yaml" in chooser
        page = await _get(session, "/automations/new/blueprint?path=sos_alert.yaml")
        # Fields are labelled, typed and filtered by the selector's domain.
        assert 'name="input.sos_button"' in page and '<option value="sos.gate"' in page
        assert 'name="input.lights" value="light.lamp"' in page
        assert 'name="input.flash_seconds" type="number"' in page and 'max="3600"' in page
        assert 'value="light.lamp"' not in page.split('name="input.sos_button"')[1].split("</select>")[0]
        csrf = hidden(page, "csrf_token", "blueprint-form")

        # A missing required input: the form comes back with what was typed, nothing is written.
        form = [
            ("csrf_token", csrf),
            ("blueprint", "sos_alert.yaml"),
            ("id", "gate_sos"),
            ("alias", "SOS ประตู"),
        ]
        status, _loc, text = await _post(session, "/automations/new/blueprint", form)
        assert status == 400
        assert "กรุณากรอกช่องนี้" in text and 'value="gate_sos"' in text
        assert not _ui_file(hub).exists()

        form += [
            ("input.sos_button", "sos.gate"),
            ("input.lights", "light.lamp"),
            ("input.flash_seconds", "30"),
            ("input.line_targets", ""),
        ]
        status, location, text = await _post(session, "/automations/new/blueprint", form)
        assert status == 303, text[:2000]
        assert location == "/automations/gate_sos?saved=1"
        written = yaml.safe_load(_ui_file(hub).read_text(encoding="utf-8"))
        assert written == [
            {
                "id": "gate_sos",
                "alias": "SOS ประตู",
                "use_blueprint": {
                    "path": "sos_alert.yaml",
                    "input": {"sos_button": "sos.gate", "lights": ["light.lamp"], "flash_seconds": 30},
                },
            }
        ]
        # Running now, with no restart: a press opens the incident.
        automation = hub.data[AUTOMATION_RUNTIME].get("gate_sos")
        assert automation is not None and automation.enabled and not automation.failed
        await hub.services.call("sos", "press", {"entity_id": "sos.gate"})
        await wait_for(lambda: automation.last_execution == "finished", what="the SOS automation ran")
        shown = await _get(session, "/automations/gate_sos?saved=1")
        assert "บันทึกแล้ว" in shown
        # The trace is a readable step list in Thai, not JSON.
        assert "กดปุ่ม SOS ปุ่มประตูตลาด" in shown
        assert "ทำงานครบ" in shown
        assert 'class="trace-title">เปิดเหตุ SOS<' in shown

        # The same id again is refused before anything is saved.
        status, _loc, text = await _post(session, "/automations/new/blueprint", form)
        assert status == 400 and "มีระบบอัตโนมัติรหัส gate_sos อยู่แล้ว" in text

        # Edit its inputs: the form opens with the saved values.
        edit = await _get(session, "/automations/gate_sos/blueprint")
        assert re.search(r'<option value="sos.gate" selected', edit)
        assert 'name="input.flash_seconds" type="number" inputmode="decimal" value="30"' in edit
    finally:
        await session.close()


async def test_visual_editor_creates_edits_and_yaml_round_trips(make_hub: Any) -> None:
    hub, session = await _hub(make_hub)
    try:
        page = await _get(session, "/automations/new/edit")
        csrf = hidden(page, "csrf_token", "editor-form")
        base = {
            "csrf_token": csrf,
            "id": "lamp_off",
            "alias": "ปิดไฟ",
            "mode": "single",
            "t-count": "1",
            "c-count": "0",
        }
        # Change the first trigger's type: the form is redrawn with the state trigger's fields.
        status, _loc, text = await _post(
            session,
            "/automations/new/edit",
            {**base, "t-0-kind": "state", "a-count": "1", "a-0-kind": "service", "op": "refresh"},
        )
        assert status == 200 and 'name="t-0-to"' in text and 'name="t-0-entity_id"' in text
        # Add a condition row.
        status, _loc, text = await _post(
            session,
            "/automations/new/edit",
            {**base, "t-0-kind": "state", "a-count": "1", "a-0-kind": "service", "op": "add-c"},
        )
        assert 'name="c-0-kind"' in text
        form = [
            *base.items(),
            ("t-0-kind", "state"),
            ("t-0-entity_id", "light.lamp"),
            ("t-0-to", "on"),
            ("t-0-for", "00:00:05"),
            ("a-count", "1"),
            ("a-0-kind", "service"),
            ("a-0-action", "light.turn_off"),
            ("a-0-entity_id", "light.lamp"),
            ("a-0-data", "transition: [1"),
            ("op", "save"),
        ]
        status, _loc, text = await _post(session, "/automations/new/edit", form)
        assert status == 400 and "YAML ไม่ถูกต้องที่บรรทัด 1" in text
        assert not _ui_file(hub).exists()
        form[-2] = ("a-0-data", "")
        status, location, text = await _post(session, "/automations/new/edit", form)
        assert status == 303, text[:2000]
        written = yaml.safe_load(_ui_file(hub).read_text(encoding="utf-8"))
        assert written == [
            {
                "id": "lamp_off",
                "alias": "ปิดไฟ",
                "triggers": [{"trigger": "state", "entity_id": "light.lamp", "to": "on", "for": "00:00:05"}],
                "actions": [{"action": "light.turn_off", "target": {"entity_id": "light.lamp"}}],
            }
        ]
        assert hub.data[AUTOMATION_RUNTIME].get("lamp_off") is not None
        # The editor re-opens it with its rows.
        edit = await _get(session, "/automations/lamp_off/edit")
        assert 'name="t-0-to" value="on"' in edit and 'value="light.turn_off"' in edit

        # YAML: a syntax error is shown with its line, nothing is saved.
        yaml_page = await _get(session, "/automations/lamp_off/yaml")
        etag = hidden(yaml_page, "etag", "yaml-form")
        bad = "id: lamp_off\nalias: ปิดไฟ\ntriggers: [\n"
        status, _loc, text = await _post(
            session, "/automations/lamp_off/yaml", {"csrf_token": csrf, "etag": etag, "yaml": bad}
        )
        assert status == 400 and "บรรทัด" in text
        # A check error (unknown action key) comes back with the check's file:line.
        wrong = "id: lamp_off\nalias: ปิดไฟ\ntriggers: [{trigger: state, entity_id: light.lamp, to: 'on'}]\nactions: [{delay: nonsense}]\n"
        status, _loc, text = await _post(
            session, "/automations/lamp_off/yaml", {"csrf_token": csrf, "etag": etag, "yaml": wrong}
        )
        assert status == 400 and "safetyhub check" in text
        checked = re.findall(r'<ul class="error-list check-errors"><li><code>([^<]*)</code>', text)
        assert checked and re.match(r"ui/automation\.yaml:\d+: ", checked[0]), checked
        good = "id: lamp_off\nalias: ปิดไฟตอนดึก\ntriggers: [{trigger: state, entity_id: light.lamp, to: 'on'}]\nactions: [{delay: '00:00:02'}]\n"
        status, location, _text = await _post(
            session, "/automations/lamp_off/yaml", {"csrf_token": csrf, "etag": etag, "yaml": good}
        )
        assert status == 303
        assert hub.data[AUTOMATION_RUNTIME].get("lamp_off").name == "ปิดไฟตอนดึก"
        # The first etag is stale now: a second admin's save is refused, never a silent overwrite.
        status, _loc, text = await _post(
            session, "/automations/lamp_off/yaml", {"csrf_token": csrf, "etag": etag, "yaml": good}
        )
        assert status == 400 and "มีผู้แก้ไขการตั้งค่านี้หลังจากที่คุณเปิดหน้านี้" in text
    finally:
        await session.close()


async def test_delete_and_hand_written_automations_stay_read_only(make_hub: Any) -> None:
    hub, session = await _hub(make_hub)
    try:
        listing = await _get(session, "/automations")
        assert 'href="/automations/new"' in listing
        # Hand-written: viewable as YAML, never editable or deletable from the browser.
        page = await _get(session, "/automations/by_hand/yaml")
        assert 'id="read-only"' in page and "readonly" in page
        csrf = hidden(page, "csrf_token", "yaml-form")
        status, _loc, _text = await _post(session, "/automations/by_hand/delete", {"csrf_token": csrf})
        assert status == 404
        assert hub.data[AUTOMATION_RUNTIME].get("by_hand") is not None

        new = "id: temp_one\nalias: ชั่วคราว\ntriggers: [{trigger: event, event_type: test_me}]\nactions: [{delay: '00:00:01'}]\n"
        status, _loc, text = await _post(session, "/automations/new/yaml", {"csrf_token": csrf, "yaml": new})
        assert status == 303, text[:2000]
        assert hub.data[AUTOMATION_RUNTIME].get("temp_one") is not None
        page = await _get(session, "/automations/temp_one")
        assert 'id="delete"' in page
        status, location, _text = await _post(
            session, "/automations/temp_one/delete", {"csrf_token": csrf, "etag": hidden(page, "etag")}
        )
        assert (status, location) == (303, "/automations?deleted=1")
        assert hub.data[AUTOMATION_RUNTIME].get("temp_one") is None
        assert yaml.safe_load(_ui_file(hub).read_text(encoding="utf-8")) in ([], None)
        # A viewer may not open the editor.
        viewer = await browser_session(hub, "viewer")
        try:
            async with viewer.get("/automations/new", allow_redirects=False) as resp:
                assert resp.status == 403
        finally:
            await viewer.close()
    finally:
        await session.close()
