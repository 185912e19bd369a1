"""Durable timers: stop the hub mid-wait, start a new one on the same folder, the run goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.core.clock import FakeClock
from tests.hub.components.automation.conftest import collect, traces

DELAYED = """
automation:
  - id: lamp_off
    trigger: {platform: event, event_type: go}
    action:
      - event: first
      - choose:
          - conditions: "{{ true }}"
            sequence:
              - variables: {who: "{{ trigger.event.data.who }}"}
              - delay: {minutes: 10}
              - event: after_delay
                event_data: {who: "{{ who }}", resumed: "{{ trigger.resumed | default(false) }}"}
      - event: last
"""


async def _restart(make_hub: Any, config_dir: Path, config: str, hub: Any) -> Any:
    await hub.stop()
    return await make_hub(config, web=False, folder=config_dir)


async def test_delay_resumes_with_remaining_time(make_hub: Any, config_dir: Path, clock: FakeClock) -> None:
    hub = await make_hub(DELAYED, web=False)
    hub.bus.fire("go", {"who": "somchai"})
    await clock.advance(4 * 60)
    hub2 = await _restart(make_hub, config_dir, DELAYED, hub)
    after, last = collect(hub2, "after_delay"), collect(hub2, "last")
    await clock.advance(5 * 60)
    assert after == []  # 9 minutes in: one more to go
    await clock.advance(61)
    assert [(e.data["who"], e.data["resumed"]) for e in after] == [("somchai", True)]
    assert len(last) == 1  # the rest of the outer sequence ran too
    found = await traces(hub2, "lamp_off")
    assert found[0]["resumed"] and found[0]["script_execution"] == "finished"
    assert hub2.storage is not None
    assert await hub2.storage.fetchall("SELECT * FROM automation_timers") == []


async def test_delay_that_passed_while_down_fires_at_once(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(DELAYED, web=False)
    hub.bus.fire("go", {"who": "malee"})
    await clock.advance(60)
    await hub.stop()
    await clock.advance(3600)  # the hub is down for an hour
    hub2 = await make_hub(DELAYED, web=False, folder=config_dir)
    after = collect(hub2, "after_delay")
    await hub2.block_till_done()
    await clock.advance(0)
    assert [(e.data["who"], e.data["resumed"]) for e in after] == [("malee", True)]


async def test_changed_automation_drops_the_pending_run(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(DELAYED, web=False)
    hub.bus.fire("go", {"who": "x"})
    await clock.advance(60)
    changed = DELAYED.replace("minutes: 10", "minutes: 20")
    hub2 = await _restart(make_hub, config_dir, changed, hub)
    after = collect(hub2, "after_delay")
    await clock.advance(3600)
    assert after == []


async def test_state_for_is_rearmed_if_state_still_holds(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    config = """
        input_boolean:
          door_open: {}
        automation:
          - id: left_open
            trigger: {platform: state, entity_id: input_boolean.door_open, to: "on", for: {minutes: 5}}
            action: {event: left_open, event_data: {resumed: "{{ trigger.resumed | default(false) }}"}}
    """
    hub = await make_hub(config, web=False)
    await hub.services.call("input_boolean", "turn_on", {"entity_id": "input_boolean.door_open"})
    await clock.advance(120)
    await hub.stop()
    await clock.advance(60)
    hub2 = await make_hub(config, web=False, folder=config_dir)  # the helper restores "on"
    got = collect(hub2, "left_open")
    await clock.advance(100)
    assert got == []
    await clock.advance(30)
    assert [e.data["resumed"] for e in got] == [True]


async def test_state_for_is_dropped_if_state_changed(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    config = """
        input_boolean:
          door_open: {}
        automation:
          - id: left_open
            trigger: {platform: state, entity_id: input_boolean.door_open, to: "on", for: {minutes: 5}}
            action: {event: left_open}
    """
    hub = await make_hub(config, web=False)
    await hub.services.call("input_boolean", "turn_on", {"entity_id": "input_boolean.door_open"})
    await clock.advance(120)
    await hub.services.call("input_boolean", "turn_off", {"entity_id": "input_boolean.door_open"})
    await hub.services.call("input_boolean", "turn_on", {"entity_id": "input_boolean.door_open"})
    await hub.stop()
    # Pretend the door was closed while the hub was down.
    hub2 = await make_hub(
        config.replace("door_open: {}", "door_open: {initial: false}"), web=False, folder=config_dir
    )
    got = collect(hub2, "left_open")
    await clock.advance(600)
    assert got == []


async def test_missed_time_trigger_fires_once_at_start(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    config = """
        automation:
          - id: close_shop
            trigger: {platform: time, at: "08:00:00"}
            action: {event: closing, event_data: {resumed: "{{ trigger.resumed | default(false) }}"}}
    """
    hub = await make_hub(config, web=False)
    await hub.stop()
    await clock.advance(2 * 3600)  # down from 07:00 to 09:00 (past 08:00)
    hub2 = await make_hub(config, web=False, folder=config_dir)
    got = collect(hub2, "closing")
    await hub2.block_till_done()
    await clock.advance(0)
    assert [e.data["resumed"] for e in got] == [True]
    await clock.advance(24 * 3600)
    assert [e.data["resumed"] for e in got] == [True, False]


async def test_wait_for_trigger_survives_restart(make_hub: Any, config_dir: Path, clock: FakeClock) -> None:
    config = """
        automation:
          - id: await_ack
            trigger: {platform: event, event_type: go}
            action:
              - wait_for_trigger: {platform: event, event_type: ack}
                timeout: {minutes: 30}
              - event: done
                event_data: {completed: "{{ wait.completed }}"}
    """
    hub = await make_hub(config, web=False)
    hub.bus.fire("go", {})
    await clock.advance(60)
    hub2 = await _restart(make_hub, config_dir, config, hub)
    done = collect(hub2, "done")
    await hub2.block_till_done()
    hub2.bus.fire("ack", {})
    await hub2.block_till_done()
    assert [e.data["completed"] for e in done] == [True]


async def test_timer_helper_survives_restart(make_hub: Any, config_dir: Path, clock: FakeClock) -> None:
    config = """
        timer:
          patrol: {duration: "00:10:00"}
        automation:
          - id: patrol_due
            trigger: {platform: event, event_type: timer.finished, event_data: {entity_id: timer.patrol}}
            action: {event: patrol_due, event_data: {resumed: "{{ trigger.event.data.resumed | default(false) }}"}}
    """
    hub = await make_hub(config, web=False)
    await hub.services.call("timer", "start", {"entity_id": "timer.patrol"})
    await clock.advance(120)
    hub2 = await _restart(make_hub, config_dir, config, hub)
    await hub2.block_till_done()
    assert hub2.states.get("timer.patrol").state == "active"
    got = collect(hub2, "patrol_due")
    await clock.advance(8 * 60 + 1)
    assert [e.data["resumed"] for e in got] == [False]
    # And a timer that ran out while the hub was down finishes at start-up.
    await hub2.services.call("timer", "start", {"entity_id": "timer.patrol"})
    await hub2.stop()
    await clock.advance(3600)
    hub3 = await make_hub(config, web=False, folder=config_dir)
    await hub3.block_till_done()
    found = await traces(hub3, "patrol_due")
    assert found and found[0]["trigger"]["event"]["data"]["resumed"] is True
    assert hub3.states.get("timer.patrol").state == "idle"
