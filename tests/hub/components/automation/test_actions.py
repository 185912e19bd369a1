"""Each action step, its trace, and run-time errors."""

from __future__ import annotations

import logging
import textwrap

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from tests.hub.components.automation.conftest import AutoHub, collect, manager, traces

LIGHTS = """
light:
  - {id: gate, simulated: true}
  - {id: soi, simulated: true}
"""


async def test_service_call_with_target_data_templates_and_response(auto_hub: AutoHub) -> None:
    hub = await auto_hub(
        LIGHTS
        + textwrap.dedent("""
        automation:
          - id: svc
            trigger: {platform: event, event_type: go}
            action:
              - action: light.turn_on
                target: {entity_id: "{{ ['light.gate', 'light.soi'] }}"}
                data: {brightness: "{{ trigger.event.data.level * 2 }}"}
              - service: incident.open
                data: {kind: sos, title: "SOS {{ trigger.event.data.level }}", entity_id: light.gate}
                response_variable: incident
              - event: opened
                event_data: {id: "{{ incident.incident_id }}"}
    """)
    )
    opened = collect(hub, "opened")
    hub.bus.fire("go", {"level": 60})
    await hub.block_till_done()
    assert hub.states.get("light.gate").state == "on"
    assert hub.states.get("light.soi").attributes.get("brightness") == 120
    assert opened and opened[0].data["id"]
    incident = await hub.data[INCIDENT_RUNTIME].get(opened[0].data["id"])
    assert incident.title == "SOS 60"
    trace = (await traces(hub, "svc"))[0]
    assert [s["path"] for s in trace["steps"]] == ["action/0", "action/1", "action/2"]
    # incident.open answers the incident beside its id (the id stays for older automations).
    assert trace["steps"][1]["result"]["response"] == {
        "incident_id": opened[0].data["id"],
        "incident": incident.as_dict(),
    }


async def test_delay_wait_template_and_wait_for_trigger(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        automation:
          - id: waits
            trigger: {platform: event, event_type: go}
            action:
              - delay: {minutes: 1}
              - event: after_delay
              - wait_template: "{{ is_state('sensor.door', 'closed') }}"
                timeout: 30
              - event: after_wait
                event_data: {completed: "{{ wait.completed }}"}
              - wait_for_trigger: {platform: event, event_type: ack}
                timeout: "00:01:00"
                continue_on_timeout: false
              - event: acked
                event_data: {by: "{{ wait.trigger.event.data.by }}"}
    """)
    after_delay, after_wait, acked = (
        collect(hub, "after_delay"),
        collect(hub, "after_wait"),
        collect(hub, "acked"),
    )
    hub.bus.fire("go", {})
    await clock.advance(59)
    assert after_delay == []
    await clock.advance(2)
    assert len(after_delay) == 1
    hub.states.set("sensor.door", "closed")
    await hub.block_till_done()
    assert after_wait[0].data["completed"] is True
    hub.bus.fire("ack", {"by": "officer"})
    await hub.block_till_done()
    assert acked[0].data["by"] == "officer"


async def test_wait_timeouts(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        automation:
          - id: timeouts
            trigger: {platform: event, event_type: go}
            action:
              - wait_template: "{{ false }}"
                timeout: 10
              - event: first
                event_data: {completed: "{{ wait.completed }}"}
              - wait_for_trigger: [{platform: event, event_type: never}]
                timeout: 10
                continue_on_timeout: false
              - event: unreachable
    """)
    first, unreachable = collect(hub, "first"), collect(hub, "unreachable")
    hub.bus.fire("go", {})
    await clock.advance(11)
    await clock.advance(11)
    assert first[0].data["completed"] is False
    assert unreachable == []
    assert (await traces(hub, "timeouts"))[0]["script_execution"] == "aborted"


async def test_choose_if_variables_and_sequence(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: branches
            trigger: {platform: event, event_type: go}
            variables: {level: "{{ trigger.event.data.level }}"}
            action:
              - variables: {double: "{{ level * 2 }}"}
              - choose:
                  - conditions: "{{ level > 5 }}"
                    sequence: [{event: picked, event_data: {branch: high, double: "{{ double }}"}}]
                  - conditions: [{condition: template, value_template: "{{ level > 0 }}"}]
                    sequence: {event: picked, event_data: {branch: low}}
                default: [{event: picked, event_data: {branch: none}}]
              - if: "{{ level == 3 }}"
                then: [{event: three}]
                else: [{event: not_three}]
              - sequence:
                  - event: nested
    """)
    picked, three, not_three, nested = (collect(hub, n) for n in ("picked", "three", "not_three", "nested"))
    for level in (9, 3, 0):
        hub.bus.fire("go", {"level": level})
        await hub.block_till_done()
    assert [e.data["branch"] for e in picked] == ["high", "low", "none"]
    assert picked[0].data["double"] == 18
    assert len(three) == 1 and len(not_three) == 2 and len(nested) == 3


async def test_repeat_forms(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: loops
            trigger: {platform: event, event_type: go}
            action:
              - repeat:
                  count: "{{ 3 }}"
                  sequence: [{event: count, event_data: {i: "{{ repeat.index }}", last: "{{ repeat.last }}"}}]
              - repeat:
                  for_each: [sos.a, sos.b]
                  sequence: [{event: each, event_data: {item: "{{ repeat.item }}"}}]
              - variables: {n: 0}
              - repeat:
                  while: "{{ repeat.index <= 2 }}"
                  sequence: [{event: while}]
              - repeat:
                  until: "{{ repeat.index >= 4 }}"
                  sequence: [{event: until}]
    """)
    count, each, loop_while, loop_until = (collect(hub, n) for n in ("count", "each", "while", "until"))
    hub.bus.fire("go", {})
    await hub.block_till_done()
    assert [(e.data["i"], e.data["last"]) for e in count] == [(1, False), (2, False), (3, True)]
    assert [e.data["item"] for e in each] == ["sos.a", "sos.b"]
    assert len(loop_while) == 2 and len(loop_until) == 4


async def test_parallel_stop_and_condition_step(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        automation:
          - id: par
            trigger: {platform: event, event_type: go}
            action:
              - parallel:
                  - sequence: [{delay: 5}, {event: slow}]
                  - {event: fast}
                  - sequence: [{condition: "{{ false }}"}, {event: never}]
              - event: joined
              - condition: template
                value_template: "{{ trigger.event.data.more }}"
              - stop: "done here"
              - event: never
          - id: fails
            trigger: {platform: event, event_type: fail}
            action:
              - stop: "bad input"
                error: true
    """)
    slow, fast, joined, never = (collect(hub, n) for n in ("slow", "fast", "joined", "never"))
    hub.bus.fire("go", {"more": True})
    await hub.block_till_done()
    assert len(fast) == 1 and slow == [] and joined == []
    await clock.advance(6)
    assert len(slow) == 1 and len(joined) == 1 and never == []
    assert (await traces(hub, "par"))[0]["script_execution"] == "finished"
    hub.bus.fire("fail", {})
    await hub.block_till_done()
    trace = (await traces(hub, "fails"))[0]
    assert trace["script_execution"] == "error" and trace["error"] == "bad input"


async def test_continue_on_error_enabled_false_and_template_error(
    auto_hub: AutoHub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await auto_hub("""
        automation:
          - id: errors
            trigger: {platform: event, event_type: go}
            action:
              - {action: nosuch.service, continue_on_error: true}
              - {event: skipped, enabled: false}
              - event: reached
              - event: "{{ trigger.event.data.missing.deeper }}"
              - event: after_error
          - id: other
            trigger: {platform: event, event_type: go}
            action: {event: other_ran}
    """)
    skipped, reached, after, other = (
        collect(hub, n) for n in ("skipped", "reached", "after_error", "other_ran")
    )
    with caplog.at_level(logging.ERROR):
        hub.bus.fire("go", {})
        await hub.block_till_done()
    assert skipped == [] and len(reached) == 1 and after == []
    assert len(other) == 1  # the hub and other automations carry on
    trace = (await traces(hub, "errors"))[0]
    assert trace["script_execution"] == "error"
    assert "action/3" in trace["error"] and "UndefinedError" in trace["error"]
    assert trace["steps"][0]["error"] and "not found" in trace["steps"][0]["error"]
    assert any("action/3" in r.getMessage() for r in caplog.records)
    assert manager(hub).get("errors").last_execution == "error"
    assert "UndefinedError" in hub.states.get("automation.errors").attributes["last_error"]


async def test_variables_template_error_ends_run(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: badvars
            trigger: {platform: event, event_type: go}
            variables: {x: "{{ 1 / 0 }}"}
            action: {event: never}
    """)
    never = collect(hub, "never")
    hub.bus.fire("go", {})
    await hub.block_till_done()
    assert never == []
    trace = (await traces(hub, "badvars"))[0]
    assert trace["script_execution"] == "error" and "ZeroDivisionError" in trace["error"]


async def test_automation_run_context_is_child_of_trigger(auto_hub: AutoHub) -> None:
    from hub.core.context import Context

    hub = await auto_hub("""
        automation:
          - id: ctx
            trigger: {platform: event, event_type: go}
            action: {event: done}
    """)
    done = collect(hub, "done")
    parent = Context(user_id="u1")
    hub.bus.fire("go", {}, parent)
    await hub.block_till_done()
    assert done[0].context.parent_id == parent.id
    assert done[0].context.user_id == "u1"
