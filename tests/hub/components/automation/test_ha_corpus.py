"""A corpus of Home Assistant–style automations and blueprints, written here from HA's documented
schemas: each loads, and each fires its action on a real hub (simulated devices, the fake LINE API)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hub.components.automation import ha_support
from hub.core.clock import FakeClock
from integrations.notify.const import RUNTIME as NOTIFY_RUNTIME
from tests.integrations.line.conftest import BIG6, EYES

CORPUS = Path(__file__).resolve().parent / "ha_corpus"

#: Each automation fires on `corpus` with `event_data: {id: <its id>}`.
AUTOMATIONS = """\
light:
  - {id: porch, simulated: true}
  - {id: shop, simulated: true}
  - {id: siren_relay, simulated: true, kind: switch}
input_boolean:
  armed: {name: Armed}
notify:
  default: [persistent_notification, line_big6]
automation:
  - id: brightness_pct
    triggers: [{trigger: event, event_type: corpus, event_data: {id: brightness_pct}}]
    actions:
      - action: light.turn_on
        target: {entity_id: light.porch}
        data: {brightness_pct: 40, color_temp_kelvin: 3000, transition: 1}
  - id: colour_and_step
    triggers: [{trigger: event, event_type: corpus, event_data: {id: colour_and_step}}]
    actions:
      - action: light.turn_on
        target: {entity_id: light.shop}
        data: {color_name: crimson, brightness: 100}
      - action: light.turn_on
        target: {entity_id: light.shop}
        data: {brightness_step_pct: 10}
  - id: flash
    triggers: [{trigger: event, event_type: corpus, event_data: {id: flash}}]
    actions:
      - action: light.turn_on
        target: {entity_id: light.porch}
        data: {flash: long}
  - id: siren_switch
    triggers: [{trigger: event, event_type: corpus, event_data: {id: siren_switch}}]
    actions:
      - action: switch.turn_on
        target: {entity_id: switch.siren_relay}
  - id: ha_turn_on
    triggers: [{trigger: event, event_type: corpus, event_data: {id: ha_turn_on}}]
    actions:
      - action: homeassistant.turn_on
        target: {entity_id: [light.shop, switch.siren_relay, input_boolean.armed]}
      - action: homeassistant.toggle
        target: {entity_id: light.shop}
  - id: notify_line
    triggers: [{trigger: event, event_type: corpus, event_data: {id: notify_line}}]
    actions:
      - action: notify.line_pineapple_eyes
        data: {title: "ตาสับปะรด", message: "มีคนแปลกหน้าที่ {{ trigger.event.data.where }}"}
  - id: notify_default
    triggers: [{trigger: event, event_type: corpus, event_data: {id: notify_default}}]
    actions:
      - action: notify.notify
        data: {message: "แจ้งเตือนค่าเริ่มต้น"}
  - id: persistent
    triggers: [{trigger: event, event_type: corpus, event_data: {id: persistent}}]
    actions:
      - action: persistent_notification.create
        data: {title: Battery, message: "{{ 'low' }}", notification_id: battery}
  - id: templates
    triggers: [{trigger: event, event_type: corpus, event_data: {id: templates}}]
    conditions:
      - "{{ as_timestamp('not a time', default=0) == 0 }}"
      - "{{ strptime('05/12/2026', '%d/%m/%Y').month == 12 }}"
      - "{{ today_at('06:00') < now() }}"
    actions:
      - event: corpus_templates
        event_data:
          ago: "{{ relative_time(now() - timedelta(hours=3)) }}"
          since: "{{ time_since(now() - timedelta(days=2, hours=5), 2) }}"
          sum: "{{ [1, 2, 3] | sum | multiply(2) }}"
          timedelta: "{{ as_timedelta('00:01:30').total_seconds() }}"
"""


@pytest.fixture
def corpus_dir(config_dir: Path) -> Path:
    target = config_dir / "blueprints" / "automation" / "homeassistant"
    target.mkdir(parents=True)
    for path in CORPUS.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


async def _fire(hub, automation_id: str, **data: object) -> None:
    hub.bus.fire("corpus", {"id": automation_id, **data})
    await hub.block_till_done()


async def test_the_corpus_loads_and_fires(make_hub, fake_line, clock: FakeClock) -> None:
    hub = await make_hub(
        AUTOMATIONS + fake_line.config_yaml({"big6": BIG6, "pineapple_eyes": EYES}), real_clock=True
    )
    assert hub.config_errors == []
    states = hub.states

    await _fire(hub, "brightness_pct")
    porch = states.get("light.porch")
    assert porch.state == "on" and porch.attributes["brightness"] == 102
    assert hub.entities.get("light.porch").commands[-1] == (
        True,
        {"brightness": 102, "color_temp": 333, "transition": 1.0},
    )

    await _fire(hub, "colour_and_step")
    assert hub.entities.get("light.shop").commands[0] == (True, {"brightness": 100, "hex_color": "#DC143C"})
    assert states.get("light.shop").attributes["brightness"] == 126

    await _fire(hub, "siren_switch")
    assert states.get("switch.siren_relay").state == "on"

    await _fire(hub, "ha_turn_on")
    assert states.get("input_boolean.armed").state == "on"
    assert states.get("light.shop").state == "off"  # turned on, then toggled

    await _fire(hub, "notify_line", where="ประตู 2")
    await _fire(hub, "notify_default")
    texts = [(d.to, d.messages[0]["text"]) for d in fake_line.pushes]
    assert texts == [(EYES, "ตาสับปะรด\nมีคนแปลกหน้าที่ ประตู 2"), (BIG6, "แจ้งเตือนค่าเริ่มต้น")]
    assert fake_line.violations == []

    await _fire(hub, "persistent")
    notes = hub.data[NOTIFY_RUNTIME].notifications
    assert notes["battery"].message == "low" and notes["battery"].title == "Battery"
    assert [n.message for n in notes.values()][0] == "แจ้งเตือนค่าเริ่มต้น"  # notify.notify's UI copy

    seen: list[dict[str, object]] = []
    hub.bus.listen("corpus_templates", lambda e: seen.append(dict(e.data)))
    await _fire(hub, "templates")
    assert seen == [{"ago": "3 hours", "since": "2 days 5 hours", "sum": 12.0, "timedelta": 90.0}]


async def test_flash_long_from_an_automation(make_hub, clock: FakeClock) -> None:
    hub = await make_hub("""\
light:
  - {id: porch, simulated: true}
automation:
  - id: flash
    triggers: [{trigger: event, event_type: corpus, event_data: {id: flash}}]
    actions:
      - action: light.turn_on
        target: {entity_id: light.porch}
        data: {flash: long}
""")
    await _fire(hub, "flash")
    assert hub.states.get("light.porch").attributes["flashing"] is True
    await clock.advance(10.5)
    await hub.block_till_done()
    assert hub.states.get("light.porch").attributes["flashing"] is False
    assert hub.states.get("light.porch").state == "on"  # turn_on with flash: on, as in HA


async def test_motion_light_blueprint_new_spelling(make_hub, corpus_dir: Path, clock: FakeClock) -> None:
    hub = await make_hub("""\
light:
  - {id: porch, simulated: true}
automation:
  - id: porch_light
    use_blueprint:
      path: homeassistant/motion_light.yaml
      input:
        motion_entity: binary_sensor.porch_motion
        light_target: {entity_id: light.porch}
        no_motion_wait: 60
""")
    assert hub.config_errors == []
    motion = {"device_class": "motion"}
    hub.states.set("binary_sensor.porch_motion", "off", motion)
    hub.states.set("binary_sensor.porch_motion", "on", motion)
    await hub.block_till_done()
    assert hub.states.get("light.porch").state == "on"
    hub.states.set("binary_sensor.porch_motion", "off", motion)
    await clock.advance(30)
    hub.states.set("binary_sensor.porch_motion", "on", motion)  # mode: restart — the wait starts again
    await hub.block_till_done()
    hub.states.set("binary_sensor.porch_motion", "off", motion)
    await clock.advance(45)
    assert hub.states.get("light.porch").state == "on"
    await clock.advance(20)
    assert hub.states.get("light.porch").state == "off"


def test_zone_and_phone_blueprints_are_named_unsupported(load_config, corpus_dir: Path) -> None:
    loaded = load_config("""\
automation:
  - id: left_zone
    use_blueprint:
      path: homeassistant/notify_leaving_zone.yaml
      input: {person_entity: person.somchai, zone_entity: zone.home, notify_device: abc123}
""")
    errors = [str(e) for e in loaded.errors]
    assert any(
        "device actions are not supported by SafetyHub" in e and ha_support.DOCS in e for e in errors
    ), errors


def test_script_blueprints_are_named_unsupported(load_config, corpus_dir: Path) -> None:
    loaded = load_config("""\
automation:
  - id: confirm
    use_blueprint:
      path: homeassistant/confirmable_notification.yaml
      input: {notify_device: abc, message: hi}
""")
    errors = [str(e) for e in loaded.errors]
    assert any("script blueprints are Home Assistant's" in e for e in errors), errors
