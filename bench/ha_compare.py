"""Home Assistant's side of the comparison: run under HA's own interpreter.

    /path/to/ha-venv/bin/python bench/ha_compare.py [--quick]

or, to see both projects side by side in one run, ``python -m bench --ha
/path/to/ha-venv/bin/python`` (docs/benchmarks.md).  This file imports only
Home Assistant and the standard library: it must not need SafetyHub.

It measures Home Assistant 2024.3.3's real code (``core.EventBus``,
``helpers.event``, the ``automation`` integration) on exactly the workloads of
``bench/event_bus.py`` and ``bench/automations.py`` (notes/home-assistant.md
§1.3–1.5), timed the same way:

* event bus: fire 1,000 events, let the loop drain them (``asyncio.sleep(0)``),
  repeat, GC on; fire and drain are both inside the timing (HA's own
  ``hass --script benchmark`` times only the drain, see §1.2);
* automations: K automations ``aN`` (state trigger on ``sensor.sN``, state
  condition on ``input_boolean.armed``, ``event: bench_done`` action, traces
  on); each round sets every sensor once and waits for ``async_block_till_done``;
  scenarios (C) no automations, (B) condition false, (A) full run.

The last line printed is one JSON object; ``bench/runner.py`` reads it.
"""

# Home Assistant is installed in its own virtualenv, never in SafetyHub's: there is nothing to check it against here.
# mypy: disable-error-code="import-not-found, untyped-decorator"
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import statistics
import sys
import tempfile
import time
from typing import Any

BATCH = 1000


async def _hass(config_dir: str) -> Any:
    from homeassistant import bootstrap, config_entries, core, loader

    hass = core.HomeAssistant(config_dir)
    # What bootstrap does before loading the registries (async_setup_hass, async_from_config_dict).
    loader.async_setup(hass)
    hass.config_entries = config_entries.ConfigEntries(hass, {})
    await bootstrap.async_load_base_functionality(hass)
    hass.set_state(core.CoreState.running)
    return hass


async def fire_events(n: int) -> float:
    """1M ``benchmark_event`` to one counting ``@callback`` listener."""
    from homeassistant import core

    with tempfile.TemporaryDirectory() as tmp:
        hass = core.HomeAssistant(tmp)
        count = 0

        @core.callback
        def listener(_event: Any) -> None:
            nonlocal count
            count += 1

        hass.bus.async_listen("benchmark_event", listener)
        fire = hass.bus.async_fire
        start = time.perf_counter()
        for _ in range(n // BATCH):
            for _ in range(BATCH):
                fire("benchmark_event")
            await asyncio.sleep(0)
        await hass.async_block_till_done()
        elapsed = time.perf_counter() - start
        assert count == n, count
        await hass.async_stop()
    return elapsed


async def state_changed_event_helper(n: int) -> float:
    """One tracker over light.kitchen0..999; 1M ``state_changed`` for kitchen0 with one data dict."""
    from homeassistant import core
    from homeassistant.const import EVENT_STATE_CHANGED
    from homeassistant.helpers.event import async_track_state_change_event

    with tempfile.TemporaryDirectory() as tmp:
        hass = core.HomeAssistant(tmp)
        count = 0

        @core.callback
        def listener(_event: Any) -> None:
            nonlocal count
            count += 1

        async_track_state_change_event(hass, [f"light.kitchen{i}" for i in range(1000)], listener)
        data = {
            "entity_id": "light.kitchen0",
            "old_state": core.State("light.kitchen0", "off"),
            "new_state": core.State("light.kitchen0", "on"),
        }
        fire = hass.bus.async_fire
        start = time.perf_counter()
        for _ in range(n // BATCH):
            for _ in range(BATCH):
                fire(EVENT_STATE_CHANGED, data)
            await asyncio.sleep(0)
        await hass.async_block_till_done()
        elapsed = time.perf_counter() - start
        assert count == n, count
        await hass.async_stop()
    return elapsed


async def state_write(n: int) -> float:
    """1M ``hass.states.async_set`` on one of 1,000 tracked lights, alternating on/off."""
    from homeassistant import core
    from homeassistant.helpers.event import async_track_state_change_event

    with tempfile.TemporaryDirectory() as tmp:
        hass = core.HomeAssistant(tmp)
        count = 0

        @core.callback
        def listener(_event: Any) -> None:
            nonlocal count
            count += 1

        async_track_state_change_event(hass, [f"light.kitchen{i}" for i in range(1000)], listener)
        set_state = hass.states.async_set
        values = ("on", "off")
        start = time.perf_counter()
        for _ in range(n // BATCH):
            for i in range(BATCH):
                set_state("light.kitchen0", values[i & 1])
            await asyncio.sleep(0)
        await hass.async_block_till_done()
        elapsed = time.perf_counter() - start
        assert count == n, count
        await hass.async_stop()
    return elapsed


def _automations(k: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"a{n}",
            "alias": f"A{n}",
            "trigger": {"platform": "state", "entity_id": f"sensor.s{n}"},
            "condition": {"condition": "state", "entity_id": "input_boolean.armed", "state": "on"},
            "action": [{"event": "bench_done"}],
        }
        for n in range(k)
    ]


async def scenario(k: int, writes: int, armed: bool, with_automations: bool = True) -> tuple[float, float]:
    """Return (wall, CPU) µs per write (C), per false-condition trigger (B) or per full run (A)."""
    from homeassistant.core import callback
    from homeassistant.setup import async_setup_component

    with tempfile.TemporaryDirectory() as tmp:
        hass = await _hass(tmp)
        assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"armed": {}}})
        if with_automations:
            assert await async_setup_component(hass, "automation", {"automation": _automations(k)})
        await hass.async_block_till_done()
        if armed:
            await hass.services.async_call(
                "input_boolean", "turn_on", {"entity_id": "input_boolean.armed"}, blocking=True
            )
        done = 0

        @callback
        def count(_event: Any) -> None:
            nonlocal done
            done += 1

        hass.bus.async_listen("bench_done", count)
        sensors = [f"sensor.s{n}" for n in range(k)]
        rounds = max(1, writes // k)
        set_state = hass.states.async_set
        await hass.async_block_till_done()
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        for value in range(rounds):
            text = str(value)
            for entity_id in sensors:
                set_state(entity_id, text)
            await hass.async_block_till_done()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if armed and with_automations:
            assert done == rounds * k, (done, rounds * k)
        await hass.async_stop()
    runs = rounds * k
    return elapsed / runs * 1e6, cpu / runs * 1e6


async def load_time(k: int) -> float:
    """Return the seconds ``async_setup_component('automation')`` takes for K automations."""
    from homeassistant.setup import async_setup_component

    with tempfile.TemporaryDirectory() as tmp:
        hass = await _hass(tmp)
        assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"armed": {}}})
        started = time.perf_counter()
        assert await async_setup_component(hass, "automation", {"automation": _automations(k)})
        await hass.async_block_till_done()
        elapsed = time.perf_counter() - started
        await hass.async_stop()
    return elapsed


LABELS = {"C": "state write, no automations", "B": "trigger, condition false", "A": "full run"}


def _result(bench: str, name: str, unit: str, samples: list[float]) -> dict[str, Any]:
    return {"bench": bench, "name": name, "unit": unit, "samples": samples}


def main() -> None:
    """Run HA's side and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the sizes of python -m bench --quick")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    from homeassistant.const import __version__

    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    events, repeats = (200_000, 2) if args.quick else (1_000_000, 3)
    for name, fn in (
        ("fire_events", fire_events),
        ("state_changed_event_helper", state_changed_event_helper),
        ("state_write", state_write),
    ):
        samples = [asyncio.run(fn(events)) / events * 1e6 for _ in range(repeats)]
        results.append(_result("event_bus", name, "µs/event", samples))
        print(f"{name}: {statistics.median(samples):.2f} µs/event", file=sys.stderr)
    writes, runs = (2_000, 1) if args.quick else (20_000, 3)
    for k in (10, 100, 1000, 10_000):
        keys = ("A",) if args.quick and k == 10_000 else ("C", "B", "A")
        for key in keys:
            samples = []
            for _ in range(runs):
                wall, _cpu = asyncio.run(scenario(k, writes, armed=key != "B", with_automations=key != "C"))
                samples.append(wall)
            results.append(_result("automations", f"K={k} ({key}) {LABELS[key]}", "µs wall", samples))
            print(f"K={k} ({key}): {statistics.median(samples):.1f} µs", file=sys.stderr)
    load = 1_000 if args.quick else 10_000
    results.append(_result("automations", f"load {load:,} automations", "s", [asyncio.run(load_time(load))]))
    print(
        json.dumps(
            {
                "status": "ok",
                "version": __version__,
                "seconds": time.perf_counter() - started,
                "results": results,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
