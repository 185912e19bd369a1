"""Issue 15 item 3: a press on a button no automation handles still opens an incident."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hub.cli import cli
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.testing import write_config

BUTTONS = """\
sos:
  - {id: lonely, name: ปุ่มหลังร้าน, simulated: true}
  - {id: watched, simulated: true}
  - {id: by_state, simulated: true}
automation:
  - id: watched_alert
    trigger: {platform: event, event_type: sos_pressed, event_data: {entity_id: sos.watched}}
    action: {service: incident.open, data: {kind: sos, title: from automation}}
  - id: by_state_alert
    trigger: {platform: state, entity_id: sos.by_state, to: triggered}
    action: {service: incident.open, data: {kind: sos, title: from state automation}}
"""


async def test_unhandled_press_opens_an_incident_by_default(make_hub: Any) -> None:
    hub = await make_hub(BUTTONS)
    mgr = hub.data[INCIDENT_RUNTIME]
    for button in ("sos.lonely", "sos.watched", "sos.by_state"):
        await hub.services.call("sos", "press", {"entity_id": button, "action": "emergency"})
    await hub.block_till_done()
    incidents = await mgr.find()
    titles = sorted(i.title for i in incidents)
    # Exactly one incident per press: the automations' own, and a default for the lonely button.
    assert len(incidents) == 3, titles
    default = next(i for i in incidents if "sos.lonely" in i.entities)
    assert default.kind == "sos" and default.severity == "critical"
    assert default.data["unhandled"] is True and default.place == "ปุ่มหลังร้าน"
    assert "from automation" in titles and "from state automation" in titles


async def test_press_opens_an_incident_when_its_automation_is_turned_off(make_hub: Any) -> None:
    hub = await make_hub(BUTTONS)
    await hub.services.call("automation", "turn_off", {"entity_id": "automation.watched_alert"})
    await hub.services.call("sos", "press", {"entity_id": "sos.watched", "action": "emergency"})
    await hub.block_till_done()
    incidents = await hub.data[INCIDENT_RUNTIME].find()
    assert [i.data.get("unhandled") for i in incidents] == [True]


def test_check_warns_about_buttons_no_automation_handles(tmp_path: Path) -> None:
    path = write_config(tmp_path, BUTTONS)
    result = CliRunner().invoke(cli, ["check", "-c", str(path)])
    assert result.exit_code == 0, result.output  # a warning, not an error
    lines = [line for line in result.output.splitlines() if "warning" in line and "sos" in line]
    assert len(lines) == 1, result.output
    assert "config.yaml:10: sos[0]" in lines[0] and "sos.lonely" in lines[0]
