"""HA's helpers: config, services, restore across restarts, and the timer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.core.clock import FakeClock
from hub.core.errors import ServiceError

CONFIG = """
input_boolean:
  armed_after_hours: {name: เฝ้าร้านนอกเวลา}
  siren: {initial: true}
input_number:
  threshold: {min: 0, max: 100, step: 5, initial: 20, unit_of_measurement: "%"}
input_select:
  shift: {options: [day, evening, night]}
input_text:
  note: {max: 20, pattern: "[a-z ]*"}
input_datetime:
  opening: {has_time: true, initial: "07:30"}
  holiday: {has_date: true, has_time: true}
timer:
  patrol: {duration: {minutes: 15}}
counter:
  presses: {step: 2, maximum: 5}
"""


async def test_helpers_and_services(make_hub: Any) -> None:
    hub = await make_hub(CONFIG, web=False)
    states = hub.states
    assert states.get("input_boolean.armed_after_hours").state == "off"
    assert states.get("input_boolean.armed_after_hours").attributes["friendly_name"] == "เฝ้าร้านนอกเวลา"
    assert states.get("input_boolean.siren").state == "on"
    call = hub.services.call
    await call("input_boolean", "toggle", {"entity_id": "input_boolean.armed_after_hours"})
    assert states.get("input_boolean.armed_after_hours").state == "on"
    await call("input_number", "set_value", {"entity_id": "input_number.threshold", "value": 40})
    await call("input_number", "increment", {"entity_id": "input_number.threshold"})
    assert states.get("input_number.threshold").state == "45.0"
    with pytest.raises(ServiceError):
        await call("input_number", "set_value", {"entity_id": "input_number.threshold", "value": 400})
    await call("input_select", "select_next", {"entity_id": "input_select.shift"})
    assert states.get("input_select.shift").state == "evening"
    await call("input_select", "select_previous", {"entity_id": "input_select.shift", "cycle": True})
    await call("input_select", "select_previous", {"entity_id": "input_select.shift", "cycle": True})
    assert states.get("input_select.shift").state == "night"
    await call("input_select", "select_option", {"entity_id": "input_select.shift", "option": "day"})
    assert states.get("input_select.shift").attributes["options"] == ["day", "evening", "night"]
    await call("input_text", "set_value", {"entity_id": "input_text.note", "value": "back door"})
    assert states.get("input_text.note").state == "back door"
    with pytest.raises(ServiceError):
        await call("input_text", "set_value", {"entity_id": "input_text.note", "value": "BAD!"})
    assert states.get("input_datetime.opening").state == "07:30:00"
    await call(
        "input_datetime",
        "set_datetime",
        {"entity_id": "input_datetime.holiday", "datetime": "2026-04-13 08:00:00"},
    )
    holiday = states.get("input_datetime.holiday")
    assert holiday.state == "2026-04-13 08:00:00" and holiday.attributes["day"] == 13
    for _ in range(4):
        await call("counter", "increment", {"entity_id": "counter.presses"})
    assert states.get("counter.presses").state == "5"  # capped at the maximum
    await call("counter", "reset", {"entity_id": "counter.presses"})
    assert states.get("counter.presses").state == "0"


async def test_values_are_restored_unless_initial(make_hub: Any, config_dir: Path) -> None:
    hub = await make_hub(CONFIG, web=False)
    await hub.services.call("input_boolean", "turn_on", {"entity_id": "input_boolean.armed_after_hours"})
    await hub.services.call("input_boolean", "turn_off", {"entity_id": "input_boolean.siren"})
    await hub.services.call(
        "input_select", "select_option", {"entity_id": "input_select.shift", "option": "night"}
    )
    await hub.services.call("counter", "increment", {"entity_id": "counter.presses"})
    await hub.stop()
    hub2 = await make_hub(CONFIG, web=False, folder=config_dir)
    assert hub2.states.get("input_boolean.armed_after_hours").state == "on"
    assert hub2.states.get("input_boolean.siren").state == "on"  # initial wins, as in HA
    assert hub2.states.get("input_select.shift").state == "night"
    assert hub2.states.get("counter.presses").state == "2"


async def test_timer_lifecycle(make_hub: Any, clock: FakeClock) -> None:
    hub = await make_hub(CONFIG, web=False)
    events: list[str] = []
    for name in ("started", "paused", "restarted", "finished", "cancelled", "changed"):
        hub.bus.listen(f"timer.{name}", lambda e, n=name: events.append(n))
    call = hub.services.call
    await call("timer", "start", {"entity_id": "timer.patrol"})
    state = hub.states.get("timer.patrol")
    assert state.state == "active" and state.attributes["duration"] == "0:15:00"
    await clock.advance(5 * 60)
    await call("timer", "pause", {"entity_id": "timer.patrol"})
    assert hub.states.get("timer.patrol").attributes["remaining"] == "0:10:00"
    await clock.advance(3600)
    await call("timer", "start", {"entity_id": "timer.patrol"})  # resumes the remaining 10 min
    await call("timer", "change", {"entity_id": "timer.patrol", "duration": "-00:05:00"})
    await clock.advance(5 * 60 + 1)
    assert hub.states.get("timer.patrol").state == "idle"
    await call("timer", "start", {"entity_id": "timer.patrol", "duration": 30})
    await call("timer", "cancel", {"entity_id": "timer.patrol"})
    await hub.block_till_done()
    assert events == ["started", "paused", "started", "changed", "finished", "started", "cancelled"]


def test_invalid_helper_config_is_located(load_config: Any) -> None:
    loaded = load_config("""
input_number:
  bad: {min: 10, max: 5}
input_select:
  empty: {options: []}
timer:
  t: {duration: soon}
""")
    errors = [str(e) for e in loaded.errors]
    assert any(
        e.startswith("config.yaml:11: input_number.bad:") and "max must be greater" in e for e in errors
    )
    assert any(e.startswith("config.yaml:13: input_select.empty.options") for e in errors)
    assert any(e.startswith("config.yaml:15: timer.t.duration") for e in errors)
