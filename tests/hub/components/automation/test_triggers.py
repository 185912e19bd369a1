"""Each trigger platform, on a fake clock."""

from __future__ import annotations

from datetime import datetime

import aiohttp

from hub.core.clock import FakeClock
from tests.hub.components.automation.conftest import AutoHub, collect, manager, traces


async def test_state_trigger_to_from_and_attribute_only_changes(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: any
            trigger: {platform: state, entity_id: sensor.door}
            action: {event: any_change}
          - id: to_on
            triggers: [{trigger: state, entity_id: [sensor.door, sensor.window], from: "off", to: on}]
            actions: [{event: opened, event_data: {who: "{{ trigger.entity_id }}", id: "{{ trigger.id }}"}}]
          - id: not_to
            trigger: {platform: state, entity_id: sensor.door, not_to: [unavailable, unknown]}
            action: {event: not_to}
    """)
    any_change, opened, not_to = collect(hub, "any_change"), collect(hub, "opened"), collect(hub, "not_to")
    hub.states.set("sensor.door", "off")
    hub.states.set("sensor.window", "off")
    await hub.block_till_done()
    hub.states.set("sensor.door", "on")
    hub.states.set("sensor.door", "on", {"battery": 50})  # attribute-only change
    hub.states.set("sensor.window", "on")
    hub.states.set("sensor.door", "unavailable")
    await hub.block_till_done()
    assert len(any_change) == 4  # no from/to: attribute changes count too
    assert [e.data["who"] for e in opened] == ["sensor.door", "sensor.window"]
    assert opened[0].data["id"] == 0  # rendered natively, as in HA
    assert len(not_to) == 2  # off (first), on; not unavailable


async def test_state_trigger_for_fires_only_if_held(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        automation:
          - id: held
            trigger: {platform: state, entity_id: binary_sensor.motion, to: "on", for: "00:00:30"}
            action: {event: held, event_data: {for: "{{ trigger.for }}"}}
    """)
    held = collect(hub, "held")
    hub.states.set("binary_sensor.motion", "on")
    await clock.advance(20)
    hub.states.set("binary_sensor.motion", "off")  # broken before 30 s
    await clock.advance(20)
    assert held == []
    hub.states.set("binary_sensor.motion", "on")
    await clock.advance(10)
    hub.states.set("binary_sensor.motion", "on", {"x": 1})  # attribute change keeps it held
    await clock.advance(25)
    await hub.block_till_done()
    assert len(held) == 1 and held[0].data["for"] == 30.0


async def test_state_trigger_attribute(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: battery
            trigger: {platform: state, entity_id: sos.gate, attribute: battery}
            action: {event: battery, event_data: {to: "{{ trigger.to_state.attributes.battery }}"}}
    """)
    got = collect(hub, "battery")
    hub.states.set("sos.gate", "idle", {"battery": 90})
    hub.states.set("sos.gate", "triggered", {"battery": 90})  # state change, attribute same
    hub.states.set("sos.gate", "triggered", {"battery": 80})
    await hub.block_till_done()
    assert [e.data["to"] for e in got] == [90, 80]


async def test_numeric_state_fires_on_crossing(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        input_number:
          limit: {min: 0, max: 100, initial: 30}
        automation:
          - id: hot
            trigger: {platform: numeric_state, entity_id: sensor.temp, above: input_number.limit, below: 60}
            action: {event: hot}
          - id: low
            trigger:
              platform: numeric_state
              entity_id: sensor.temp
              value_template: "{{ state.state | float(0) * 2 }}"
              below: 10
              for: {seconds: 5}
            action: {event: low}
    """)
    hot, low = collect(hub, "hot"), collect(hub, "low")
    for value in ("20", "35", "40", "70", "45", "x", "50"):
        hub.states.set("sensor.temp", value)
    await hub.block_till_done()
    assert len(hot) == 3  # 20→35 enters, 70 leaves, →45 enters again, x leaves, →50 enters
    hub.states.set("sensor.temp", "4")
    await clock.advance(6)
    assert len(low) == 1


async def test_event_trigger_matches_data_and_context(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: gate
            trigger: {platform: event, event_type: sos_pressed, event_data: {entity_id: sos.gate}}
            action: {event: gate, event_data: {action: "{{ trigger.event.data.action }}"}}
          - id: any_sos
            trigger: {platform: event, event_type: [sos_pressed, panic]}
            action: {event: any_sos}
          - id: nested
            trigger: {platform: event, event_type: zone, event_data: {info: {zone: 1}}}
            action: {event: nested}
    """)
    gate, any_sos, nested = collect(hub, "gate"), collect(hub, "any_sos"), collect(hub, "nested")
    hub.bus.fire("sos_pressed", {"entity_id": "sos.gate", "action": "emergency"})
    hub.bus.fire("sos_pressed", {"entity_id": "sos.other"})
    hub.bus.fire("panic", {})
    hub.bus.fire("zone", {"info": {"zone": 1, "x": 2}})
    hub.bus.fire("zone", {"info": {"zone": 2}})
    await hub.block_till_done()
    assert [e.data["action"] for e in gate] == ["emergency"]
    assert len(any_sos) == 3
    assert len(nested) == 1


async def test_event_index_is_one_listener_per_type(auto_hub: AutoHub) -> None:
    lines = ["automation:"]
    for n in range(50):
        lines.append(
            f"  - {{id: e{n}, trigger: {{platform: event, event_type: sos_pressed, "
            f"event_data: {{entity_id: sos.b{n}}}}}, action: {{event: hit{n}}}}}"
        )
    hub = await auto_hub("\n".join(lines) + "\n")
    assert hub.bus.listener_count()["sos_pressed"] == 1
    hit = collect(hub, "hit7")
    hub.bus.fire("sos_pressed", {"entity_id": "sos.b7"})
    await hub.block_till_done()
    assert len(hit) == 1


async def test_time_trigger_at_time_and_input_datetime(auto_hub: AutoHub, clock: FakeClock) -> None:
    # FakeClock starts at 2026-01-01 07:00 in Bangkok.
    hub = await auto_hub("""
        input_datetime:
          opening: {has_time: true, initial: "07:30:00"}
        automation:
          - id: at
            trigger: {platform: time, at: ["07:10:00", input_datetime.opening]}
            action: {event: at, event_data: {now: "{{ trigger.now.isoformat() }}"}}
    """)
    got = collect(hub, "at")
    await clock.advance(11 * 60)
    await hub.block_till_done()
    assert len(got) == 1 and got[0].data["now"].startswith("2026-01-01T07:10:00")
    await hub.services.call(
        "input_datetime", "set_datetime", {"entity_id": "input_datetime.opening", "time": "07:20:00"}
    )
    await clock.advance(10 * 60)
    await hub.block_till_done()
    assert len(got) == 2 and got[1].data["now"].startswith("2026-01-01T07:20:00")
    await clock.advance(24 * 3600)
    assert len(got) == 4  # both fire again the next day


async def test_time_pattern(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        automation:
          - id: every5
            trigger: {platform: time_pattern, minutes: "/5"}
            action: {event: tick}
    """)
    got = collect(hub, "tick")
    await clock.advance(16 * 60)
    assert len(got) == 3


async def test_sun_trigger_uses_hub_location(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        automation:
          - id: dusk
            trigger: {platform: sun, event: sunset, offset: "-00:15:00"}
            action: {event: dusk, event_data: {at: "{{ trigger.now.strftime('%H:%M') }}"}}
    """)
    got = collect(hub, "dusk")
    await clock.advance(24 * 3600)
    await hub.block_till_done()
    assert len(got) == 1
    # Sunset in Ang Thong on 1 January is about 17:58 local.
    hour, minute = map(int, got[0].data["at"].split(":"))
    assert 17 * 60 + 30 <= hour * 60 + minute <= 17 * 60 + 50


async def test_template_trigger_fires_on_false_to_true_with_for(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub("""
        automation:
          - id: busy
            trigger:
              platform: template
              value_template: "{{ states('sensor.people') | int(0) > 10 }}"
            action: {event: busy}
          - id: busy_held
            trigger:
              platform: template
              value_template: "{{ states('sensor.people') | int(0) > 10 }}"
              for: 60
            action: {event: busy_held}
    """)
    busy, held = collect(hub, "busy"), collect(hub, "busy_held")
    for value in ("5", "12", "15", "3", "20"):
        # The template reads the current state, so let each change be seen.
        hub.states.set("sensor.people", value)
        await hub.block_till_done()
    assert len(busy) == 2
    await clock.advance(61)
    assert len(held) == 1


async def test_webhook_trigger_over_http(auto_hub: AutoHub) -> None:
    hub = await auto_hub(
        """
        automation:
          - id: hook
            trigger: {platform: webhook, webhook_id: gate-sensor-7f3a9c2b1d, allowed_methods: [POST]}
            action:
              event: hooked
              event_data: {json: "{{ trigger.json.value }}", query: "{{ trigger.query.zone }}"}
    """,
        web=True,
    )
    got = collect(hub, "hooked")
    async with aiohttp.ClientSession(base_url=hub.http.url) as session:
        response = await session.post("/api/webhook/gate-sensor-7f3a9c2b1d?zone=3", json={"value": 42})
        assert response.status == 200
        # Unknown ids get the same answer, and nothing fires.
        assert (await session.post("/api/webhook/unknown-id-0000000000", json={})).status == 200
        # Only POST is served (the route is public: the id is its protection).
        assert (await session.get("/api/webhook/gate-sensor-7f3a9c2b1d")).status == 405
    await hub.block_till_done()
    assert [(e.data["json"], e.data["query"]) for e in got] == [(42, 3)]


async def test_hub_start_trigger_and_trigger_variables(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: boot
            trigger_variables: {site: market}
            trigger:
              - platform: homeassistant
                event: start
                id: started
                variables: {extra: 7}
            action:
              event: booted
              event_data: {site: "{{ site }}", id: "{{ trigger.id }}", extra: "{{ extra }}"}
    """)
    got = collect(hub, "booted")
    await hub.block_till_done()
    # The start trigger fired during start-up, before this listener existed: read the trace.
    found = await traces(hub, "boot")
    assert found[0]["script_execution"] == "finished"
    assert found[0]["steps"][0]["result"]["event_data"] == {"site": "market", "id": "started", "extra": 7}
    assert got == []


async def test_disabled_trigger_is_not_armed(auto_hub: AutoHub) -> None:
    hub = await auto_hub("""
        automation:
          - id: quiet
            trigger: {platform: state, entity_id: sensor.x, enabled: false}
            action: {event: never}
    """)
    got = collect(hub, "never")
    hub.states.set("sensor.x", "1")
    await hub.block_till_done()
    assert got == [] and manager(hub).get("quiet") is not None


def test_fake_clock_start_is_seven_in_bangkok() -> None:
    clock = FakeClock()
    assert datetime.fromtimestamp(clock.time(), clock.tz).hour == 7
