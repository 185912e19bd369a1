"""The event bus: ordering, isolation, filters, unsubscribe, contexts."""

import asyncio
import logging

import pytest

from hub.core.bus import MATCH_ALL, EventBus
from hub.core.context import Context


@pytest.fixture
async def bus() -> EventBus:
    return EventBus(asyncio.get_running_loop())


async def test_events_delivered_in_order(bus: EventBus) -> None:
    seen: list[int] = []
    bus.listen("tick", lambda e: seen.append(e.data["n"]))
    for n in range(100):
        bus.fire("tick", {"n": n})
    assert seen == []  # never inside fire()
    await bus.drained()
    assert seen == list(range(100))


async def test_failing_listener_is_isolated(bus: EventBus, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    def boom(event: object) -> None:
        raise RuntimeError("listener bug")

    bus.listen("x", boom)
    bus.listen("x", lambda e: seen.append("after"))
    with caplog.at_level(logging.ERROR):
        bus.fire("x")
        await bus.drained()
    assert seen == ["after"]
    assert "listener bug" in caplog.text


async def test_filter_and_unsubscribe(bus: EventBus) -> None:
    seen: list[int] = []
    unsub = bus.listen("n", lambda e: seen.append(e.data["v"]), event_filter=lambda e: e.data["v"] % 2 == 0)
    for v in range(6):
        bus.fire("n", {"v": v})
    await bus.drained()
    unsub()
    bus.fire("n", {"v": 8})
    await bus.drained()
    assert seen == [0, 2, 4]
    assert "n" not in bus.listener_count()


async def test_raising_filter_is_isolated(bus: EventBus) -> None:
    seen: list[str] = []

    def bad_filter(event: object) -> bool:
        raise ValueError("filter bug")

    bus.listen("x", lambda e: seen.append("a"), event_filter=bad_filter)
    bus.listen("x", lambda e: seen.append("b"))
    bus.fire("x")
    await bus.drained()
    assert seen == ["b"]


async def test_match_all_and_listen_once(bus: EventBus) -> None:
    every: list[str] = []
    once: list[str] = []
    bus.listen(MATCH_ALL, lambda e: every.append(e.event_type))
    bus.listen_once("a", lambda e: once.append(e.event_type))
    bus.fire("a")
    bus.fire("a")
    bus.fire("b")
    await bus.drained()
    assert every == ["a", "a", "b"]
    assert once == ["a"]


async def test_coroutine_listener_runs_as_task(bus: EventBus) -> None:
    done = asyncio.Event()

    async def listener(event: object) -> None:
        await asyncio.sleep(0)
        done.set()

    bus.listen("x", listener)
    bus.fire("x")
    await asyncio.wait_for(done.wait(), 1)


async def test_unsubscribe_inside_listener_is_safe(bus: EventBus) -> None:
    seen: list[str] = []
    unsubs = []

    def first(event: object) -> None:
        seen.append("first")
        for u in unsubs:
            u()

    unsubs.append(bus.listen("x", first))
    unsubs.append(bus.listen("x", lambda e: seen.append("second")))
    bus.fire("x")
    bus.fire("x")
    await bus.drained()
    # Both were captured at fire time for the events already queued.
    assert seen == ["first", "second", "first", "second"]


async def test_context_chain_and_lazy_id(bus: EventBus) -> None:
    got = []
    bus.listen("x", got.append)
    parent = Context(user_id="u1")
    bus.fire("x", {}, parent.child())
    bus.fire("y")  # no listener: no event object at all
    await bus.drained()
    child = got[0].context
    assert child.parent_id == parent.id
    assert child.user_id == "u1"
    assert len(child.id) == 26 and child.id != parent.id


async def test_listener_storm_yields_to_loop(bus: EventBus) -> None:
    """A listener that keeps firing cannot starve other callbacks."""
    other_ran = asyncio.Event()
    count = 0

    def again(event: object) -> None:
        nonlocal count
        count += 1
        if count < 50_000:
            bus.fire("storm")

    bus.listen("storm", again)
    bus.fire("storm")
    asyncio.get_running_loop().call_soon(other_ran.set)
    await asyncio.wait_for(other_ran.wait(), 1)
    assert count < 50_000
    await bus.drained()
    assert count == 50_000
