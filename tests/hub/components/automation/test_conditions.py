"""Each condition, through an automation that fires ``ok`` when its conditions hold."""

from __future__ import annotations

import pytest

from hub.core.clock import FakeClock
from tests.hub.components.automation.conftest import AutoHub, collect


def _automation(conditions: str) -> str:
    body = "\n".join("      " + line for line in conditions.strip().splitlines())
    return f"""
automation:
  - id: cond
    trigger: {{platform: event, event_type: go}}
    condition:
{body}
    action: {{event: ok}}
"""


async def _check(
    auto_hub: AutoHub,
    conditions: str,
    setup: dict[str, str] | None = None,
    data: dict[str, object] | None = None,
) -> bool:
    hub = await auto_hub(_automation(conditions))
    for entity_id, state in (setup or {}).items():
        hub.states.set(entity_id, state, {"battery": 15, "device_class": "motion"})
    ok = collect(hub, "ok")
    hub.bus.fire("go", data or {})
    await hub.block_till_done()
    return len(ok) == 1


@pytest.mark.parametrize(
    ("conditions", "setup", "expected"),
    [
        (
            '- {condition: state, entity_id: input_boolean.armed, state: "on"}',
            {"input_boolean.armed": "on"},
            True,
        ),
        (
            '- {condition: state, entity_id: input_boolean.armed, state: "on"}',
            {"input_boolean.armed": "off"},
            False,
        ),
        (
            "- {condition: state, entity_id: [sensor.a, sensor.b], state: [x, y]}",
            {"sensor.a": "x", "sensor.b": "y"},
            True,
        ),
        (
            "- {condition: state, entity_id: [sensor.a, sensor.b], state: x, match: any}",
            {"sensor.a": "x", "sensor.b": "z"},
            True,
        ),
        ("- {condition: state, entity_id: sos.a, attribute: battery, state: 15}", {"sos.a": "idle"}, True),
        ("- {condition: numeric_state, entity_id: sensor.t, above: 10, below: 20}", {"sensor.t": "15"}, True),
        ("- {condition: numeric_state, entity_id: sensor.t, above: 10}", {"sensor.t": "abc"}, False),
        (
            "- {condition: numeric_state, entity_id: sos.a, attribute: battery, below: 20}",
            {"sos.a": "idle"},
            True,
        ),
        ("- \"{{ is_state('sensor.a', 'x') }}\"", {"sensor.a": "x"}, True),
        (
            "- {condition: template, value_template: \"{{ states('sensor.a') == 'y' }}\"}",
            {"sensor.a": "x"},
            False,
        ),
        (
            "- {condition: or, conditions: [{condition: state, entity_id: sensor.a, state: q}, "
            "{condition: state, entity_id: sensor.a, state: x}]}",
            {"sensor.a": "x"},
            True,
        ),
        (
            "- {condition: not, conditions: [{condition: state, entity_id: sensor.a, state: x}]}",
            {"sensor.a": "x"},
            False,
        ),
        ('- and: [{condition: state, entity_id: sensor.a, state: x}, "{{ true }}"]', {"sensor.a": "x"}, True),
        ("- {condition: state, entity_id: sensor.a, state: q, enabled: false}", {"sensor.a": "x"}, True),
        # FakeClock: Thursday 2026-01-01 07:00 in Bangkok.
        ('- {condition: time, after: "06:00:00", before: "08:00:00", weekday: thu}', {}, True),
        ('- {condition: time, after: "22:00:00", before: "06:00:00"}', {}, False),
        ("- {condition: time, weekday: [sat, sun]}", {}, False),
        ("- {condition: sun, after: sunrise, before: sunset}", {}, True),
        ("- {condition: sun, after: sunset}", {}, False),
    ],
)
async def test_condition(auto_hub: AutoHub, conditions: str, setup: dict[str, str], expected: bool) -> None:
    assert await _check(auto_hub, conditions, setup) is expected


async def test_state_condition_for(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub(
        _automation("- {condition: state, entity_id: sensor.a, state: x, for: {minutes: 5}}")
    )
    ok = collect(hub, "ok")
    hub.states.set("sensor.a", "x")
    hub.bus.fire("go", {})
    await hub.block_till_done()
    assert ok == []
    await clock.advance(301)
    hub.bus.fire("go", {})
    await hub.block_till_done()
    assert len(ok) == 1


async def test_trigger_condition(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: cond
            trigger:
              - {platform: event, event_type: a, id: first}
              - {platform: event, event_type: b, id: second}
            condition: {condition: trigger, id: second}
            action: {event: ok}
    """)
    ok = collect(hub, "ok")
    hub.bus.fire("a", {})
    hub.bus.fire("b", {})
    await hub.block_till_done()
    assert len(ok) == 1


async def test_sun_entity_follows_the_sun(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub()
    assert hub.states.get("sun.sun").state == "above_horizon"  # 07:00, after sunrise (~06:40)
    await clock.advance(11.5 * 3600)  # 18:30, after sunset (~17:58)
    assert hub.states.get("sun.sun").state == "below_horizon"
    assert "next_rising" in hub.states.get("sun.sun").attributes


async def test_sun_entity_has_ha_attributes(auto_hub: AutoHub, clock: FakeClock) -> None:
    """HA's sun.sun attributes, for the hub's location (Ang Thong, 2026-01-01 07:00 local)."""
    hub = await auto_hub()
    attrs = hub.states.get("sun.sun").attributes
    for name in ("next_dawn", "next_dusk", "next_midnight", "next_noon", "next_rising", "next_setting"):
        assert attrs[name].endswith("+00:00"), name
    assert attrs["next_rising"] > attrs["next_dawn"]  # tomorrow's dawn comes before tomorrow's sunrise
    assert attrs["next_noon"] < attrs["next_dusk"] < attrs["next_midnight"]
    assert 0 < attrs["elevation"] < 10 and 100 < attrs["azimuth"] < 125  # just risen, in the east-south-east
    assert attrs["rising"] is True
    await clock.advance(6 * 3600)  # 13:00: past solar noon (~12:20), high in the south
    attrs = hub.states.get("sun.sun").attributes
    assert attrs["rising"] is False and attrs["elevation"] > 45 and 180 < attrs["azimuth"] < 240


async def test_elevation_trigger_fires_within_a_minute(auto_hub: AutoHub, clock: FakeClock) -> None:
    """An HA-style numeric_state trigger on the sun's elevation, as dusk-light blueprints write it."""
    hub = await auto_hub(
        """\
automation:
  - id: dusk_by_elevation
    trigger:
      - platform: numeric_state
        entity_id: sun.sun
        attribute: elevation
        below: 3.5
    action:
      - event: dusk_lights
"""
    )
    fired = collect(hub, "dusk_lights")
    # Sunset is about 17:58 local; the sun crosses 3.5° about 16 minutes before.
    await clock.advance(10 * 3600 + 30 * 60)  # 17:30
    assert fired == [] and hub.states.get("sun.sun").attributes["elevation"] > 3.5
    for _ in range(40):
        await clock.advance(60)
        elev = hub.states.get("sun.sun").attributes["elevation"]
        if elev < 3.5:
            break
    await hub.block_till_done()
    assert len(fired) == 1 and 3.5 - 0.3 < elev < 3.5  # fired at the first refresh below, within a minute
