"""Event-bus benchmark: Home Assistant's workloads, in steady state.

Reproduces ``hass --script benchmark`` workloads (notes/home-assistant.md
§1.3) the way §1.4 measured HA end to end: fire 1,000 events, let the loop
drain them, repeat, with GC on.  Both phases are timed together.

- ``fire_events``: 1M events to one listener that counts.
- ``state_changed_event_helper``: one tracker over 1,000 entity ids
  (light.kitchen0..999), then 1M ``state_changed`` events for kitchen0, each
  re-using the same data dict, as HA's script does.
- ``state_write`` (ours, beyond HA's list): 1M ``states.set`` calls on one of
  1,000 tracked lights, alternating on/off, so the State object, the event
  and the indexed dispatch are all inside the timing.

HA 2024.3.3 on this 2-core machine: 5.9 µs/event (fire_events) and 6.8 µs
per state_changed (state_changed_event_helper).

Usage: ``python -m bench.event_bus [--events N] [--repeats R]``; ``collect(quick)``
gives the same figures to ``python -m bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bench.runner import Result
from hub.core.bus import EventBus
from hub.core.state import State, StateMachine

HA_US = {"fire_events": 5.9, "state_changed_event_helper": 6.8}
BATCH = 1000


async def fire_events(n: int) -> float:
    bus = EventBus(asyncio.get_running_loop())
    count = 0

    def listener(event: object) -> None:
        nonlocal count
        count += 1

    bus.listen("benchmark_event", listener)
    fire = bus.fire
    start = time.perf_counter()
    for _ in range(n // BATCH):
        for _ in range(BATCH):
            fire("benchmark_event")
        await asyncio.sleep(0)
    await bus.drained()
    elapsed = time.perf_counter() - start
    assert count == n, count
    return elapsed


async def state_changed_event_helper(n: int) -> float:
    bus = EventBus(asyncio.get_running_loop())
    states = StateMachine(bus, time.time)
    count = 0

    def listener(event: object) -> None:
        nonlocal count
        count += 1

    states.track([f"light.kitchen{i}" for i in range(1000)], listener)
    now = time.time()
    data = {
        "entity_id": "light.kitchen0",
        "old_state": State("light.kitchen0", "off", {}, now, now),
        "new_state": State("light.kitchen0", "on", {}, now, now),
    }
    fire = bus.fire
    start = time.perf_counter()
    for _ in range(n // BATCH):
        for _ in range(BATCH):
            fire("state_changed", data)
        await asyncio.sleep(0)
    await bus.drained()
    elapsed = time.perf_counter() - start
    assert count == n, count
    return elapsed


async def state_write(n: int) -> float:
    bus = EventBus(asyncio.get_running_loop())
    states = StateMachine(bus, time.time)
    count = 0

    def listener(event: object) -> None:
        nonlocal count
        count += 1

    states.track([f"light.kitchen{i}" for i in range(1000)], listener)
    set_state = states.set
    values = ("on", "off")
    start = time.perf_counter()
    for _ in range(n // BATCH):
        for i in range(BATCH):
            set_state("light.kitchen0", values[i & 1])
        await asyncio.sleep(0)
    await bus.drained()
    elapsed = time.perf_counter() - start
    assert count == n, count
    return elapsed


WORKLOADS: dict[str, Callable[[int], Coroutine[Any, Any, float]]] = {
    "fire_events": fire_events,
    "state_changed_event_helper": state_changed_event_helper,
    "state_write": state_write,
}


def measure(events: int, repeats: int) -> dict[str, list[float]]:
    """Run every workload ``repeats`` times, each in a fresh loop; return µs/event per run."""
    return {
        name: [asyncio.run(fn(events)) / events * 1e6 for _ in range(repeats)]
        for name, fn in WORKLOADS.items()
    }


def run(events: int, repeats: int) -> dict[str, dict[str, float]]:
    """Run every workload ``repeats`` times; return µs/event statistics."""
    return {
        name: {"median_us": statistics.median(samples), "min_us": min(samples), "max_us": max(samples)}
        for name, samples in measure(events, repeats).items()
    }


def collect(quick: bool) -> list[Result]:
    """Return the figures for ``python -m bench``: 1M events × 3 runs (quick: 200k × 2)."""
    events, repeats = (200_000, 2) if quick else (1_000_000, 3)
    return [
        Result(name, "µs/event", samples, ha=HA_US.get(name), note=f"{events:,} events per run, fire + drain")
        for name, samples in measure(events, repeats).items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100k events, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeats = 100_000, 1
    results = run(args.events, args.repeats)
    print(f"event bus, {args.events:,} events × {args.repeats} runs (µs/event, fire + drain, GC on)")
    print(f"{'workload':<30}{'median':>9}{'min':>9}{'max':>9}{'HA':>7}{'HA/ours':>9}")
    for name, r in results.items():
        ha = HA_US.get(name)
        ratio = f"{ha / r['median_us']:.1f}×" if ha else "-"
        print(
            f"{name:<30}{r['median_us']:>9.2f}{r['min_us']:>9.2f}{r['max_us']:>9.2f}"
            f"{ha if ha else '-':>7}{ratio:>9}"
        )


if __name__ == "__main__":
    main()
