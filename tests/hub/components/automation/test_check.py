"""Every invalid automation is a located error in ``check`` and a failed entity at run time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hub.cli import cli
from hub.testing import BASE_CONFIG
from tests.hub.components.automation.conftest import AutoHub

INVALID = """
automation:
  - alias: A1
    action: []
  - alias: A2
    triggerz: 1
    trigger: {platform: event, event_type: x}
    action: []
  - alias: A3
    mode: sometimes
    max: 0
    trigger: {platform: event, event_type: x}
    action: []
  - alias: A4
    trigger: {platform: nosuch}
    action: []
  - alias: A5
    trigger: {platform: state, entity_id: sensor.x, state: on}
    action: []
  - alias: A6
    trigger: {entity_id: sensor.x}
    action: []
  - alias: A7
    trigger: {platform: event, event_type: x}
    condition: {condition: nosuch}
    action: []
  - id: a8
    trigger: {platform: event, event_type: x}
    action: [{foo: bar}]
  - alias: A9
    trigger: {platform: event, event_type: x}
    action: [{delay: soon}]
  - alias: A10
    trigger: {platform: event, event_type: x}
    action:
      - service: light.turn_on
        data: {brightness: "{{ 1 + }}"}
  - alias: A11
    trigger: {platform: state, entity_id: "not an id"}
    action: [{action: not_a_service}]
  - alias: A12
    trigger: [{platform: time, at: "25:00"}, {platform: time_pattern, minutes: "/0"}]
    action: [{repeat: {count: 3}}]
  - id: a8
    trigger: {platform: event, event_type: x}
    action: []
"""


def test_check_lists_every_invalid_automation_with_line_and_path(load_config: Any) -> None:
    loaded = load_config(INVALID)
    errors = [str(e) for e in loaded.errors]
    base = len(BASE_CONFIG.splitlines())

    def line(n: int) -> str:
        return f"config.yaml:{base + n}:"

    expected = [
        f"{line(3)} automation[0]: required key missing: triggers (or trigger)",
        f"{line(6)} automation[1].triggerz: unknown key",
        f"{line(10)} automation[2].mode: expected one of: single, restart, queued, parallel",
        f"{line(11)} automation[2].max: expected a whole number of at least 1",
        f"{line(15)} automation[3].trigger.platform: unknown trigger platform 'nosuch'",
        f"{line(18)} automation[4].trigger.state: unknown key",
        f"{line(21)} automation[5].trigger: required key missing: platform (or trigger)",
        f"{line(25)} automation[6].condition.condition: unknown condition 'nosuch'",
        f"{line(29)} automation[7].action[0]: unable to determine the action",
        f"{line(32)} automation[8].action[0].delay: expected seconds or HH:MM[:SS[.F]], got 'soon'",
        f"{line(37)} automation[9].action[0].data.brightness: template syntax error",
        f"{line(39)} automation[10].trigger.entity_id: invalid entity id 'not an id'",
        f"{line(40)} automation[10].action[0].action: expected domain.service, got 'not_a_service'",
        f"{line(42)} automation[11].trigger[0].at",
        f"{line(42)} automation[11].trigger[1]: minutes: /N needs N > 0",
        f"{line(43)} automation[11].action[0].repeat: required key missing: sequence",
        f"{line(44)} automation[12].id: duplicate automation id 'a8'",
    ]
    for want in expected:
        assert any(e.startswith(want) for e in errors), f"missing {want!r} in:\n" + "\n".join(errors)


def test_included_automations_point_into_the_included_file(config_dir: Path, load_config: Any) -> None:
    (config_dir / "automations.yaml").write_text(
        "- id: ok\n  trigger: {platform: event, event_type: x}\n  action: []\n"
        "- id: bad\n  trigger: {platform: event}\n  action: []\n",
        encoding="utf-8",
    )
    loaded = load_config("automation: !include automations.yaml\n")
    errors = [str(e) for e in loaded.errors]
    assert errors == ["automations.yaml:5: automation[1].trigger.event_type: required key missing"]


async def test_invalid_automation_is_failed_at_run_time_not_skipped(auto_hub: AutoHub) -> None:
    hub = await auto_hub(
        """
        automation:
          - id: good
            trigger: {platform: event, event_type: x}
            action: []
          - id: broken
            alias: Broken heater
            trigger: {platform: state, entity_id: sensor.x, to: on, typo: 1}
            action: []
    """,
        web=True,
    )
    state = hub.states.get("automation.broken")
    assert state.state == "unavailable"
    assert "automation[1].trigger.typo: unknown key" in state.attributes["error"]
    assert hub.states.get("automation.good").state == "on"
    user = await hub.auth.add_user("v", "correct horse battery", "viewer")
    token = await hub.auth.create_token(user, "t")
    import aiohttp

    async with aiohttp.ClientSession(
        base_url=hub.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        listing = await (await s.get("/api/automations")).json()
        broken = next(a for a in listing if a["id"] == "broken")
        assert broken["failed"] and broken["state"] == "unavailable" and "typo" in broken["error"]
        page = await (await s.get("/automations")).text()
        assert "typo" in page and "Broken heater" in page


def test_safetyhub_check_exits_non_zero(config_dir: Path) -> None:
    path = config_dir / "config.yaml"
    path.write_text(BASE_CONFIG + INVALID, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "-c", str(path)])
    assert result.exit_code == 1
    assert "automation[8].action[0].delay" in result.output
