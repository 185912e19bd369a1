"""Blueprints: substitution, selectors, errors, the shipped ones, and the CLI."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hub.components.automation.cli import blueprint as blueprint_cli
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from tests.hub.components.automation.conftest import AutoHub, collect, manager, traces

CUSTOM = """\
blueprint:
  name: Notify on change
  domain: automation
  input:
    watched:
      name: Watched entities
      selector: {entity: {domain: sensor, multiple: true}}
    label:
      selector: {text: {}}
      default: "changed"
    level:
      selector: {number: {min: 0, max: 10, step: 2}}
      default: 4
    section_one:
      name: Advanced
      input:
        extra_event:
          selector: {text: {}}
          default: extra
mode: single
alias: from the blueprint
trigger:
  - platform: state
    entity_id: !input watched
variables:
  label: !input label
action:
  - event: notified
    event_data:
      label: !input label
      text: "{{ label }}: {{ trigger.entity_id }}"
      list: [!input level, fixed, !input extra_event]
  - event: !input extra_event
"""


def _write_blueprint(config_dir: Path, name: str, text: str) -> None:
    target = config_dir / "blueprints" / "automation" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


async def test_substitution_in_lists_templates_and_overrides(auto_hub: AutoHub, config_dir: Path) -> None:
    _write_blueprint(config_dir, "notify.yaml", CUSTOM)
    hub = await auto_hub("""
        automation:
          - id: watch_doors
            alias: Doors
            mode: queued
            use_blueprint:
              path: notify.yaml
              input:
                watched: [sensor.door, sensor.gate]
                label: "door {{ 'moved' }}"
                level: 6
    """)
    assert hub.config_errors == []
    notified, extra = collect(hub, "notified"), collect(hub, "extra")
    hub.states.set("sensor.gate", "open")
    await hub.block_till_done()
    data = notified[0].data
    # A template given as an input is rendered where it lands, and via variables.
    assert data["label"] == "door moved" and data["text"] == "door moved: sensor.gate"
    assert data["list"] == [6, "fixed", "extra"]
    assert len(extra) == 1
    automation = manager(hub).get("watch_doors")
    assert automation.name == "Doors" and automation.spec.mode == "queued"  # instance keys win
    assert automation.blueprint.path == "notify.yaml"


async def test_instance_errors_name_blueprint_input_and_line(load_config: Any, config_dir: Path) -> None:
    _write_blueprint(config_dir, "notify.yaml", CUSTOM)
    loaded = load_config("""
automation:
  - id: a
    use_blueprint:
      path: notify.yaml
      input:
        watched: light.porch
        level: 5
        bogus: 1
  - id: b
    use_blueprint:
      path: notify.yaml
      input: {}
  - id: c
    use_blueprint: {path: missing.yaml}
""")
    errors = [str(e) for e in loaded.errors]
    assert (
        "config.yaml:15: automation[0].use_blueprint.input.watched: blueprint 'Notify on change' "
        "(notify.yaml) input 'watched': expected an entity of domain sensor, got light.porch"
    ) in errors
    assert any(
        e.startswith("config.yaml:16: automation[0].use_blueprint.input.level:") and "multiple of 2" in e
        for e in errors
    )
    assert any(
        e.startswith("config.yaml:17: automation[0].use_blueprint.input.bogus:")
        and "has no input 'bogus'" in e
        for e in errors
    )
    assert any(
        e.startswith("config.yaml:21: automation[1].use_blueprint.input:") and "missing input 'watched'" in e
        for e in errors
    )
    assert any(
        e.startswith("config.yaml:23: automation[2].use_blueprint.path:") and "not found" in e for e in errors
    )


async def test_invalid_blueprint_file_errors(load_config: Any, config_dir: Path) -> None:
    _write_blueprint(
        config_dir,
        "bad.yaml",
        textwrap.dedent("""\
        blueprint:
          name: Bad
          domain: automation
          input:
            a: {selector: {nosuch: {}}}
        trigger: {platform: state, entity_id: !input undeclared}
        action: []
    """),
    )
    loaded = load_config("""
automation:
  - use_blueprint: {path: bad.yaml, input: {a: 1}}
""")
    errors = [str(e) for e in loaded.errors]
    assert (
        "blueprints/automation/bad.yaml:5: blueprint.input.a.selector: unknown selector type 'nosuch'"
        in errors
    )
    assert any(
        e.startswith("blueprints/automation/bad.yaml:6: trigger.entity_id:")
        and "missing input definition for 'undeclared'" in e
        for e in errors
    )
    assert any(e.startswith("config.yaml:") and "is invalid" in e for e in errors)


async def test_error_in_generated_automation_names_the_blueprint(load_config: Any, config_dir: Path) -> None:
    _write_blueprint(
        config_dir,
        "broken_body.yaml",
        textwrap.dedent("""\
        blueprint:
          name: Broken body
          domain: automation
          input:
            when: {selector: {text: {}}}
        trigger: {platform: time, at: !input when}
        action: [{delay: 5}]
    """),
    )
    loaded = load_config("""
automation:
  - id: x
    use_blueprint:
      path: broken_body.yaml
      input: {when: "25:99"}
""")
    (error,) = [str(e) for e in loaded.errors]
    assert error.startswith("config.yaml:") and "automation[0].trigger.at" in error
    assert "blueprint 'Broken body' (broken_body.yaml)" in error


HA_MOTION_LIGHT = """\
# A blueprint written for Home Assistant (legacy schema): loads unchanged.
blueprint:
  name: Motion-activated Light
  description: Turn on a light when motion is detected.
  domain: automation
  source_url: https://example.org/motion_light.yaml
  homeassistant: {min_version: 2023.8.0}
  input:
    motion_entity:
      name: Motion Sensor
      selector:
        entity:
          filter:
            - device_class: occupancy
              domain: binary_sensor
            - device_class: motion
              domain: binary_sensor
    light_target:
      name: Light
      selector: {target: {entity: {domain: light}}}
    no_motion_wait:
      name: Wait time
      default: 120
      selector: {number: {min: 0, max: 3600, unit_of_measurement: seconds}}
mode: restart
max_exceeded: silent
trigger:
  platform: state
  entity_id: !input motion_entity
  from: "off"
  to: "on"
action:
  - alias: "Turn on the light"
    service: light.turn_on
    target: !input light_target
  - alias: "Wait until there is no motion from device"
    wait_for_trigger:
      platform: state
      entity_id: !input motion_entity
      from: "on"
      to: "off"
  - alias: "Wait the number of seconds that has been set"
    delay: !input no_motion_wait
  - alias: "Turn off the light"
    service: light.turn_off
    target: !input light_target
"""


async def test_home_assistant_blueprint_loads_unchanged(
    auto_hub: AutoHub, config_dir: Path, clock: FakeClock
) -> None:
    _write_blueprint(config_dir, "homeassistant/motion_light.yaml", HA_MOTION_LIGHT)
    hub = await auto_hub("""
        light:
          - {id: porch, simulated: true}
        automation:
          - alias: Porch light
            use_blueprint:
              path: homeassistant/motion_light.yaml
              input:
                motion_entity: binary_sensor.porch_motion
                light_target: {entity_id: light.porch}
                no_motion_wait: 30
    """)
    assert hub.config_errors == []
    hub.states.set("binary_sensor.porch_motion", "off", {"device_class": "motion"})
    await hub.block_till_done()
    hub.states.set("binary_sensor.porch_motion", "on", {"device_class": "motion"})
    await hub.block_till_done()
    assert hub.states.get("light.porch").state == "on"
    hub.states.set("binary_sensor.porch_motion", "off", {"device_class": "motion"})
    await clock.advance(31)
    assert hub.states.get("light.porch").state == "off"


async def test_motion_after_hours(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        input_boolean:
          armed: {name: เฝ้าร้านนอกเวลา}
        automation:
          - id: after_hours
            use_blueprint:
              path: motion_after_hours.yaml
              input:
                motion_entities: [binary_sensor.back_door, camera.gate]
                armed: input_boolean.armed
                notify:
                  - event: notified
                    event_data: {message: "{{ message }}", incident: "{{ incident.incident_id }}"}
                cooldown: "00:01:00"
    """)
    assert hub.config_errors == []
    notified = collect(hub, "notified")
    hub.states.set("binary_sensor.back_door", "on", {"device_class": "motion", "friendly_name": "Back door"})
    await hub.block_till_done()
    assert notified == []  # not armed
    hub.states.set("binary_sensor.back_door", "off", {"device_class": "motion", "friendly_name": "Back door"})
    await hub.services.call("input_boolean", "turn_on", {"entity_id": "input_boolean.armed"})
    hub.states.set("binary_sensor.back_door", "on", {"device_class": "motion", "friendly_name": "Back door"})
    await hub.block_till_done()
    assert len(notified) == 1 and "Back door" in notified[0].data["message"]
    incident = await hub.data[INCIDENT_RUNTIME].get(notified[0].data["incident"])
    assert incident.kind == "motion" and incident.entities == ["binary_sensor.back_door"]
    await clock.advance(61)
    hub.bus.fire("camera_motion", {"entity_id": "camera.other"})
    hub.bus.fire("camera_motion", {"entity_id": "camera.gate"})
    await hub.block_till_done()
    assert len(notified) == 2


async def test_motion_after_hours_checks_device_class_filter(load_config: Any) -> None:
    loaded = load_config("""
automation:
  - use_blueprint:
      path: motion_after_hours.yaml
      input: {motion_entities: [light.porch], armed: input_boolean.armed}
""")
    assert any(
        "input 'motion_entities': expected an entity of domain binary_sensor or camera" in str(e)
        for e in loaded.errors
    )


async def test_dusk_lights(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        light:
          - {id: soi, simulated: true}
        automation:
          - id: dusk
            use_blueprint:
              path: dusk_lights.yaml
              input: {lights: [light.soi], sunset_offset: "-00:10:00", off_at: time, off_time: "22:30:00"}
    """)
    assert hub.config_errors == []
    # 07:00 → 17:30: still before sunset (about 17:58 in Ang Thong in January).
    await clock.advance(10.5 * 3600)
    assert hub.states.get("light.soi").state != "on"
    await clock.advance(3600)
    assert hub.states.get("light.soi").state == "on"
    await clock.advance(4.25 * 3600)  # 22:45: after the off time
    assert hub.states.get("light.soi").state == "off"


async def test_dusk_lights_off_at_sunrise(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        light:
          - {id: soi, simulated: true}
        automation:
          - id: dusk
            use_blueprint: {path: dusk_lights.yaml, input: {lights: [light.soi]}}
    """)
    await clock.advance(12 * 3600)  # 19:00
    assert hub.states.get("light.soi").state == "on"
    await clock.advance(5 * 3600)  # 00:00: the default off_time 23:00 does not apply
    assert hub.states.get("light.soi").state == "on"
    await clock.advance(7 * 3600)  # 07:00 next day, after sunrise (about 06:40)
    assert hub.states.get("light.soi").state == "off"


async def test_low_battery_sos(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        sos:
          - {id: gate, name: ปุ่มประตู, simulated: true}
        automation:
          - id: battery
            use_blueprint:
              path: low_battery_sos.yaml
              input:
                buttons: [sos.gate]
                threshold: 25
                notify: [{event: notified, event_data: {message: "{{ message }}"}}]
    """)
    assert hub.config_errors == []
    notified = collect(hub, "notified")
    hub.states.set("sos.gate", "idle", {"battery": 40, "friendly_name": "ปุ่มประตู"})
    hub.states.set("sos.gate", "idle", {"battery": 20, "friendly_name": "ปุ่มประตู"})
    await hub.block_till_done()
    assert len(notified) == 1 and "20%" in notified[0].data["message"]
    hub.states.set("sos.gate", "unavailable", {"battery": 20, "friendly_name": "ปุ่มประตู"})
    await clock.advance(11 * 3600)
    assert len(notified) == 1
    await clock.advance(3601)
    assert len(notified) == 2 and "12" in notified[0].data["message"] + notified[1].data["message"]


async def test_sos_alert_style_blueprint_with_response_variable(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        sos:
          - {id: market_gate, name: ปุ่ม SOS ประตูตลาด, simulated: true}
        automation:
          - id: sos_market_gate
            alias: SOS ประตูตลาด
            use_blueprint:
              path: sos_alert.yaml
              input: {sos_button: sos.market_gate}
    """)
    assert hub.config_errors == []
    await hub.services.call("sos", "press", {"entity_id": "sos.market_gate", "action": "emergency"})
    await hub.block_till_done()
    found = await traces(hub, "sos_market_gate")
    assert found[0]["script_execution"] == "finished", found[0]
    incident_id = found[0]["steps"][0]["result"]["response"]["incident_id"]
    incident = await hub.data[INCIDENT_RUNTIME].get(incident_id)
    assert incident.kind == "sos" and "sos.market_gate" in incident.entities


def test_cli_list_and_import(tmp_path: Path) -> None:
    runner = CliRunner()
    config = tmp_path / "config.yaml"
    config.write_text("hub: {id: x, name: x}\n", encoding="utf-8")
    result = runner.invoke(blueprint_cli, ["list", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "motion_after_hours.yaml" in result.output and "dusk_lights.yaml" in result.output
    good = tmp_path / "notify.yaml"
    good.write_text(CUSTOM, encoding="utf-8")
    result = runner.invoke(blueprint_cli, ["import", str(good), "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "blueprints" / "automation" / "notify.yaml").is_file()
    assert runner.invoke(blueprint_cli, ["import", str(good), "-c", str(config)]).exit_code != 0  # exists
    bad = tmp_path / "bad.yaml"
    bad.write_text("blueprint: {name: B, domain: script}\n", encoding="utf-8")
    result = runner.invoke(blueprint_cli, ["import", str(bad), "-c", str(config)])
    assert result.exit_code != 0 and "expected domain: automation" in result.output
    assert not (tmp_path / "blueprints" / "automation" / "bad.yaml").exists()


async def test_device_class_is_checked_against_live_states(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        input_boolean:
          armed: {}
        automation:
          - id: wrong_sensor
            use_blueprint:
              path: motion_after_hours.yaml
              input: {motion_entities: [binary_sensor.door, camera.gate], armed: input_boolean.armed}
          - id: not_yet
            use_blueprint:
              path: motion_after_hours.yaml
              input: {motion_entities: [binary_sensor.later], armed: input_boolean.armed}
    """)
    # binary_sensor.door is created by nobody here, so both arm; a reload after it appears re-checks.
    assert hub.states.get("automation.wrong_sensor").state == "on"
    hub.states.set("binary_sensor.door", "off", {"device_class": "door"})
    hub.states.set("camera.gate", "idle", {})
    automation = manager(hub).get("wrong_sensor")
    automation.disarm()
    await automation.arm()
    state = hub.states.get("automation.wrong_sensor")
    assert state.state == "unavailable"
    assert (
        "input 'motion_entities': binary_sensor.door has device_class 'door', expected motion"
        in state.attributes["error"]
    )
    assert hub.states.get("automation.not_yet").state == "on"
