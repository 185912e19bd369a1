"""The state machine: changes, attributes, indexed tracking."""

import asyncio

import pytest

from hub.core.bus import EventBus
from hub.core.clock import FakeClock
from hub.core.state import StateMachine, valid_entity_id


@pytest.fixture
async def parts() -> tuple[EventBus, StateMachine, FakeClock]:
    clock = FakeClock()
    bus = EventBus(asyncio.get_running_loop(), time_fn=clock.time)
    return bus, StateMachine(bus, clock.time), clock


async def test_set_fires_state_changed(parts) -> None:
    bus, states, clock = parts
    events = []
    bus.listen("state_changed", events.append)
    states.set("sos.gate", "idle", {"battery": 90})
    await clock.advance(5)
    states.set("sos.gate", "idle", {"battery": 90})  # no change, no event
    states.set("sos.gate", "triggered", {"battery": 90})
    await bus.drained()
    assert [e.data["new_state"].state for e in events] == ["idle", "triggered"]
    assert events[1].data["old_state"].state == "idle"
    new = states.get("sos.gate")
    assert new.last_changed == clock.time()
    assert new.attributes["battery"] == 90


async def test_attribute_change_keeps_last_changed(parts) -> None:
    bus, states, clock = parts
    states.set("sensor.t", "1", {"a": 1})
    first = states.get("sensor.t").last_changed
    await clock.advance(10)
    states.set("sensor.t", "1", {"a": 2})
    s = states.get("sensor.t")
    assert s.last_changed == first and s.last_updated == first + 10


async def test_force_update_fires_again(parts) -> None:
    bus, states, _ = parts
    events = []
    bus.listen("state_changed", events.append)
    states.set("sos.a", "triggered")
    states.set("sos.a", "triggered", force_update=True)
    await bus.drained()
    assert len(events) == 2


async def test_attributes_are_read_only(parts) -> None:
    _, states, _ = parts
    attrs = {"x": 1}
    s = states.set("sensor.x", "1", attrs)
    attrs["x"] = 2
    assert s.attributes["x"] == 1
    with pytest.raises(TypeError):
        s.attributes["x"] = 3


async def test_invalid_entity_id(parts) -> None:
    _, states, _ = parts
    with pytest.raises(ValueError, match="invalid entity id"):
        states.set("Not Valid", "1")
    assert valid_entity_id("light.kitchen_1")
    assert not valid_entity_id("light.")
    assert not valid_entity_id("light.Kitchen")


async def test_track_is_indexed_by_entity(parts) -> None:
    bus, states, _ = parts
    hits: list[str] = []
    unsub = states.track(["light.a", "light.b"], lambda e: hits.append(e.data["entity_id"]))
    for i in range(100):
        states.set(f"light.other{i}", "on")
    states.set("light.a", "on")
    states.set("light.b", "on")
    await bus.drained()
    assert hits == ["light.a", "light.b"]
    unsub()
    states.set("light.a", "off")
    await bus.drained()
    assert hits == ["light.a", "light.b"]
    assert "state_changed" not in bus.listener_count()


async def test_remove(parts) -> None:
    bus, states, _ = parts
    events = []
    bus.listen("state_changed", events.append)
    states.set("incident.x", "open")
    assert states.remove("incident.x")
    assert not states.remove("incident.x")
    await bus.drained()
    assert events[-1].data["new_state"] is None
    assert states.get("incident.x") is None


async def test_as_dict_is_ha_shaped(parts) -> None:
    _, states, _ = parts
    d = states.set("sos.gate", "idle", {"friendly_name": "ประตู"}).as_dict()
    assert set(d) == {"entity_id", "state", "attributes", "last_changed", "last_updated", "context"}
    assert d["last_changed"].endswith("+00:00")
