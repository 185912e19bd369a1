"""A reload that changes or removes an automation lets its runs in progress finish (issue 14).

The runs drain on the definition they started with; their durable delay survives the reload
and a restart in between; new triggers go to the new definition at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.core.clock import FakeClock
from hub.testing import write_config
from tests.hub.components.automation.conftest import collect, manager, traces

SLOW = """
automation:
  - id: slow
    trigger: {platform: event, event_type: go}
    action:
      - event: started_v1
      - delay: {minutes: 10}
      - event: done
        event_data: {version: v1, who: "{{ trigger.event.data.who }}", resumed: "{{ trigger.resumed | default(false) }}"}
  - id: other
    trigger: {platform: event, event_type: other}
    action: {event: other_ran}
"""

SLOW_V2 = SLOW.replace("version: v1", "version: v2").replace("minutes: 10", "minutes: 1")

ONLY_OTHER = """
automation:
  - id: other
    trigger: {platform: event, event_type: other}
    action: {event: other_ran}
"""


async def _rows(hub: Any) -> list[dict[str, Any]]:
    await hub.block_till_done()
    await hub.storage.flush()
    return [
        dict(r) for r in await hub.storage.fetchall("SELECT key, automation, kind FROM automation_timers")
    ]


def _done(events: list[Any]) -> list[tuple[str, str, bool]]:
    return [(e.data["version"], e.data["who"], e.data["resumed"]) for e in events]


async def test_changed_automation_finishes_its_run_on_the_old_definition(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(SLOW, web=False)
    done = collect(hub, "done")
    hub.bus.fire("go", {"who": "a"})
    await clock.advance(4 * 60)
    write_config(config_dir, SLOW_V2)
    result = await manager(hub).reload()
    assert result.changed == ["slow"] and result.unchanged == ["other"]
    assert [r["automation"] for r in await _rows(hub)] == ["slow"]  # the durable delay is still there
    # A new trigger goes to the new definition at once (its 1-minute delay),
    # even though the old run still drains (single mode does not count it).
    hub.bus.fire("go", {"who": "b"})
    await clock.advance(61)
    assert _done(done) == [("v2", "b", False)]
    await clock.advance(5 * 60)
    assert _done(done) == [("v2", "b", False), ("v1", "a", False)]  # 10 minutes after its start
    assert manager(hub).retired == []  # drained and forgotten
    assert await _rows(hub) == []
    state = hub.states.get("automation.slow")
    assert state is not None and state.attributes["current"] == 0
    found = await traces(hub, "slow")
    assert [t["script_execution"] for t in found] == ["finished", "finished"]


async def test_removed_automation_finishes_its_run(make_hub: Any, config_dir: Path, clock: FakeClock) -> None:
    hub = await make_hub(SLOW, web=False)
    done = collect(hub, "done")
    hub.bus.fire("go", {"who": "a"})
    await clock.advance(60)
    write_config(config_dir, ONLY_OTHER)
    result = await manager(hub).reload()
    assert result.removed == ["slow"]
    assert hub.states.get("automation.slow") is None
    hub.bus.fire("go", {"who": "nobody"})  # its trigger is gone
    await clock.advance(9 * 60 + 1)
    assert _done(done) == [("v1", "a", False)]
    assert await _rows(hub) == []


async def test_unchanged_automation_is_untouched(make_hub: Any, config_dir: Path, clock: FakeClock) -> None:
    hub = await make_hub(SLOW, web=False)
    done = collect(hub, "done")
    slow = manager(hub).get("slow")
    hub.bus.fire("go", {"who": "a"})
    await clock.advance(60)
    [run] = slow.runs
    write_config(config_dir, SLOW.replace("other_ran", "other_ran_v2"))
    result = await manager(hub).reload()
    assert result.unchanged == ["slow"] and result.changed == ["other"]
    assert manager(hub).get("slow") is slow and slow.runs == [run] and not slow.retired
    assert manager(hub).retired == []
    await clock.advance(9 * 60 + 1)
    assert _done(done) == [("v1", "a", False)]


async def test_changed_then_restart_resumes_on_the_old_definition(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(SLOW, web=False)
    hub.bus.fire("go", {"who": "a"})
    await clock.advance(2 * 60)
    write_config(config_dir, SLOW_V2)
    await manager(hub).reload()
    await clock.advance(60)
    await hub.stop()  # the old run is 3 minutes into its 10-minute delay
    await clock.advance(60)
    hub2 = await make_hub(SLOW_V2, web=False, folder=config_dir)
    done = collect(hub2, "done")
    assert [r.key for r in manager(hub2).retired] == ["slow"]
    await clock.advance(5 * 60)
    assert done == []  # 9 minutes since its start: not yet (the v2 delay would have fired)
    await clock.advance(61)
    assert _done(done) == [("v1", "a", True)]
    assert manager(hub2).retired == []
    assert await _rows(hub2) == []
    # The current definition is armed as usual.
    hub2.bus.fire("go", {"who": "b"})
    await clock.advance(61)
    assert _done(done)[-1] == ("v2", "b", False)


async def test_removed_then_restart_resumes_the_run(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(SLOW, web=False)
    hub.bus.fire("go", {"who": "a"})
    await clock.advance(60)
    write_config(config_dir, ONLY_OTHER)
    await manager(hub).reload()
    await hub.stop()
    hub2 = await make_hub(ONLY_OTHER, web=False, folder=config_dir)
    done = collect(hub2, "done")
    await clock.advance(9 * 60 + 1)
    assert _done(done) == [("v1", "a", True)]
    assert hub2.states.get("automation.slow") is None
    assert await _rows(hub2) == []


async def test_turn_off_with_stop_actions_stops_draining_runs(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(SLOW, web=False)
    done = collect(hub, "done")
    hub.bus.fire("go", {"who": "a"})
    await clock.advance(60)
    write_config(config_dir, SLOW_V2)
    await manager(hub).reload()
    await hub.services.call("automation", "turn_off", {"entity_id": "automation.slow"})
    await clock.advance(20 * 60)
    assert done == []
    assert manager(hub).retired == []
    assert await _rows(hub) == []


async def test_restart_mode_replaces_a_draining_run(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    restart = SLOW_V2.replace("  - id: slow\n", "  - id: slow\n    mode: restart\n")
    hub = await make_hub(SLOW, web=False)
    done = collect(hub, "done")
    hub.bus.fire("go", {"who": "a"})
    await clock.advance(60)
    write_config(config_dir, restart)
    await manager(hub).reload()
    hub.bus.fire("go", {"who": "b"})  # restart: the newest trigger replaces every run
    await clock.advance(20 * 60)
    assert _done(done) == [("v2", "b", False)]
    assert await _rows(hub) == []


SOS_BUTTON = """
sos:
  - {id: gate, name: Gate, place: Gate 1, simulated: true}
"""


def _sos_automation(message: str) -> dict[str, Any]:
    return {
        "id": "sos_alert",
        "alias": "SOS alert",
        "trigger": {"platform": "event", "event_type": "sos_pressed"},
        "action": [
            {"event": "alarm_on"},
            {"delay": {"minutes": 2}},
            {"event": "escalated", "event_data": {"message": message}},
        ],
    }


async def test_sos_run_survives_an_edit_from_the_web_ui(make_hub: Any, clock: FakeClock) -> None:
    hub = await make_hub(SOS_BUTTON, web=False)
    ui = hub.ui_config
    assert ui is not None
    _items, etag = await ui.list_items("automation")
    etag = await ui.add_item("automation", _sos_automation("first"), etag=etag)
    alarm, escalated = collect(hub, "alarm_on"), collect(hub, "escalated")
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "press"})
    await hub.block_till_done()
    assert len(alarm) == 1
    await clock.advance(60)  # the alarm's run is in its delay
    # Someone edits the SOS automation in /automations mid-alarm.
    await ui.update_item("automation", "sos_alert", _sos_automation("edited"), etag=etag)
    assert [a.key for a in manager(hub).retired] == ["sos_alert"]
    await clock.advance(61)
    assert [e.data["message"] for e in escalated] == ["first"]  # the delayed action still happened
    # The next press runs the edited definition.
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "press"})
    await clock.advance(121)
    assert [e.data["message"] for e in escalated] == ["first", "edited"]
    assert await _rows(hub) == []


async def test_sos_run_whose_old_definition_is_lost_is_rerun_on_the_current_one(
    make_hub: Any, config_dir: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await make_hub(SOS_BUTTON, web=False)
    ui = hub.ui_config
    assert ui is not None
    _items, etag = await ui.list_items("automation")
    etag = await ui.add_item("automation", _sos_automation("first"), etag=etag)
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "press"})
    await clock.advance(30)
    await ui.update_item("automation", "sos_alert", _sos_automation("edited"), etag=etag)
    await hub.stop()
    # The saved definition can no longer be built (say a plugin it used was uninstalled).
    storage = hub.storage
    await storage.open()
    [row] = await storage.fetchall("SELECT key, data FROM automation_timers")
    data = json.loads(row["data"])
    assert data["inflight"] and data["def"]["action"][2]["event_data"] == {"message": "first"}
    data["def"]["trigger"] = {"platform": "uninstalled_plugin"}
    await storage.execute(
        "UPDATE automation_timers SET data = ? WHERE key = ?", (json.dumps(data), row["key"])
    )
    await storage.close()
    # The same config on disk (the UI's writer added its include to config.yaml).
    hub2 = await make_hub((config_dir / "config.yaml").read_text(), web=False, folder=config_dir)
    escalated = collect(hub2, "escalated")
    assert "cannot be rebuilt; the run is started again on the current definition" in caplog.text
    await clock.advance(121)  # the run started again from the top: its whole delay
    assert [e.data["message"] for e in escalated] == ["edited"]
    assert await _rows(hub2) == []


DOOR = """
input_boolean:
  door_open: {}
automation:
  - id: left_open
    trigger: {platform: state, entity_id: input_boolean.door_open, to: "on", for: {minutes: 5}}
    action: {event: left_open, event_data: {version: v1}}
"""


async def test_pending_for_of_an_unchanged_trigger_goes_on_under_the_new_definition(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(DOOR, web=False)
    got = collect(hub, "left_open")
    await hub.services.call("input_boolean", "turn_on", {"entity_id": "input_boolean.door_open"})
    await clock.advance(2 * 60)
    write_config(config_dir, DOOR.replace("version: v1", "version: v2"))
    assert (await manager(hub).reload()).changed == ["left_open"]
    assert [r["kind"] for r in await _rows(hub)] == ["for"]
    await clock.advance(2 * 60)
    assert got == []
    await clock.advance(61)  # 5 minutes after the door opened, not 5 after the edit
    assert [e.data["version"] for e in got] == ["v2"]
    assert await _rows(hub) == []


async def test_pending_for_of_a_changed_trigger_is_dropped(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(DOOR, web=False)
    got = collect(hub, "left_open")
    await hub.services.call("input_boolean", "turn_on", {"entity_id": "input_boolean.door_open"})
    await clock.advance(2 * 60)
    write_config(config_dir, DOOR.replace("minutes: 5", "minutes: 3"))
    await manager(hub).reload()
    assert await _rows(hub) == []
    await clock.advance(10 * 60)
    assert got == []


DELAY_BLUEPRINT = """\
blueprint:
  name: Delayed message
  domain: automation
  input:
    message:
      selector: {text: {}}
trigger_variables:
  kind: delayed
variables:
  text: !input message
trigger: {platform: event, event_type: go}
action:
  - delay: {minutes: 10}
  - event: done
    event_data:
      version: "{{ text }}"
      who: "{{ kind }}-{{ trigger.event.data.who }}"
      resumed: "{{ trigger.resumed | default(false) }}"
"""

FROM_BLUEPRINT = """
automation:
  - id: slow
    use_blueprint: {path: delayed.yaml, input: {message: v1}}
"""


async def test_blueprint_run_resumes_on_its_old_inputs_after_a_restart(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    target = config_dir / "blueprints" / "automation" / "delayed.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(DELAY_BLUEPRINT, encoding="utf-8")
    hub = await make_hub(FROM_BLUEPRINT, web=False)
    hub.bus.fire("go", {"who": "a"})
    await clock.advance(60)
    edited = FROM_BLUEPRINT.replace("message: v1", "message: v2")
    write_config(config_dir, edited)
    assert (await manager(hub).reload()).changed == ["slow"]
    # The blueprint itself changes too: the saved definition is the substituted config.
    target.write_text(DELAY_BLUEPRINT.replace("minutes: 10", "minutes: 30"), encoding="utf-8")
    await hub.stop()
    hub2 = await make_hub(edited, web=False, folder=config_dir)
    done = collect(hub2, "done")
    await clock.advance(9 * 60 + 1)
    assert _done(done) == [("v1", "delayed-a", True)]
