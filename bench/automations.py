"""Automation throughput: Home Assistant's end-to-end workload (notes/home-assistant.md §1.5).

Each of K automations ``aN`` is, exactly as HA measured it::

    - id: aN
      alias: AN
      trigger: {platform: state, entity_id: sensor.sN}        # any change
      condition: {condition: state, entity_id: input_boolean.armed, state: "on"}
      action: [{event: bench_done}]                           # mode single, traces on

Each round sets every sensor once with a new value, then waits for the hub to
settle (``block_till_done``).  20,000 state writes per scenario, 3 runs each,
for K = 10, 100, 1,000 and 10,000:

- (C) a state write with no automations;
- (B) trigger + condition false (``input_boolean.armed`` off);
- (A) a full run: trigger → condition → action, with the trace queued and the
  automation entity's state (``last_triggered``) written.

Also prints the time to load (validate, build and arm) 10,000 automations.

The hub runs as configured, recorder included (HA's figures were taken
without a recorder; ``--no-recorder`` detaches ours for a like-for-like
comparison).  HA 2024.3.3 on this machine: (A) 200 µs/run at K=100 and 420 µs
at K=1,000; (B) 63 and 120 µs.

Usage: ``python -m bench.automations [--quick] [--writes N] [--runs R] [--no-recorder]``;
``collect(quick)`` gives the same figures to ``python -m bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.runner import Result
from hub.config import load_config_file
from hub.hub import Hub
from hub.testing import BASE_CONFIG

HA_US = {("A", 100): 200.0, ("A", 1000): 420.0, ("B", 100): 63.0, ("B", 1000): 120.0}


def automations_yaml(k: int) -> str:
    """Return the ``automation:`` block of K bench automations."""
    lines = ["input_boolean:", "  armed: {}", "automation:"]
    for n in range(k):
        lines += [
            f"  - id: a{n}",
            f"    alias: A{n}",
            f"    trigger: {{platform: state, entity_id: sensor.s{n}}}",
            '    condition: {condition: state, entity_id: input_boolean.armed, state: "on"}',
            "    action: [{event: bench_done}]",
        ]
    return "\n".join(lines) + "\n"


async def start_hub(folder: Path, k: int, recorder: bool) -> tuple[Hub, float]:
    """Start a hub with K automations; return it and the seconds start-up took."""
    path = folder / "config.yaml"
    path.write_text(BASE_CONFIG + (automations_yaml(k) if k else "input_boolean:\n  armed: {}\n"), "utf-8")
    started = time.perf_counter()
    hub = Hub(path, web=False)
    await hub.start()
    elapsed = time.perf_counter() - started
    assert not hub.config_errors, hub.config_errors
    if not recorder:
        # The hub's first subscription is the recorder's catch-all listener.
        hub._unsubs.pop(0)()
    return hub, elapsed


async def scenario(
    k: int, writes: int, armed: bool, recorder: bool, with_automations: bool = True
) -> tuple[float, float]:
    """Return (wall, CPU) µs per state write (C), per false-condition trigger (B) or per full run (A).

    CPU time is this process's (event loop plus the storage writer thread),
    which on a shared machine is steadier than wall time.
    """
    with tempfile.TemporaryDirectory() as tmp:
        hub, _ = await start_hub(Path(tmp), k if with_automations else 0, recorder)
        try:
            if armed:
                await hub.services.call("input_boolean", "turn_on", {"entity_id": "input_boolean.armed"})
            done = 0

            def count(_event: object) -> None:
                nonlocal done
                done += 1

            hub.bus.listen("bench_done", count)
            sensors = [f"sensor.s{n}" for n in range(k)]
            rounds = max(1, writes // k)
            set_state = hub.states.set
            await hub.block_till_done()
            gc.collect()
            start, cpu_start = time.perf_counter(), time.process_time()
            for value in range(rounds):
                text = str(value)
                for entity_id in sensors:
                    set_state(entity_id, text)
                await hub.block_till_done()
            # Traces are written off the event loop, but they are part of the cost.
            await hub.storage.flush()
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            if armed and with_automations:
                assert done == rounds * k, (done, rounds * k)
        finally:
            await hub.stop()
    runs = rounds * k
    return elapsed / runs * 1e6, cpu / runs * 1e6


async def load_time(k: int) -> tuple[float, float]:
    """Return the extra seconds to start a hub with K automations, and the YAML parse part of it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hub, _ = await start_hub(folder, 0, True)
        await hub.stop()
        hub, elapsed_without = await start_hub(folder, 0, True)
        await hub.stop()
        hub, elapsed_with = await start_hub(folder, k, True)
        await hub.stop()
        started = time.perf_counter()
        load_config_file(folder / "config.yaml")
        parse = time.perf_counter() - started
    return elapsed_with - elapsed_without, parse


async def measure(
    ks: list[int], writes: int, runs: int, recorder: bool, load: int, only_a: frozenset[int] = frozenset()
) -> dict[str, Any]:
    """Run scenarios C, B and A for each K (only A for K in ``only_a``), ``runs`` times.

    Return the (wall, CPU) samples per scenario and the load time of ``load`` automations.
    """
    table: dict[int, dict[str, list[tuple[float, float]]]] = {}
    for k in ks:
        results: dict[str, list[tuple[float, float]]] = {"A": [], "B": [], "C": []}
        for _ in range(runs):
            if k not in only_a:
                results["C"].append(await scenario(k, writes, True, recorder, with_automations=False))
                results["B"].append(await scenario(k, writes, False, recorder))
            results["A"].append(await scenario(k, writes, True, recorder))
        table[k] = {key: v for key, v in results.items() if v}
    seconds, parse_s = await load_time(load)
    return {"scenarios": table, "load_seconds": seconds, "load_parse_seconds": parse_s, "load": load}


LABELS = {"C": "state write, no automations", "B": "trigger, condition false", "A": "full run"}


def collect(quick: bool, recorder: bool = True) -> list[Result]:
    """Return the figures for ``python -m bench``.

    Quick: 2,000 writes, one run per scenario, only the full run (A) at
    K = 10,000 and the load time of 1,000 automations (a hub with 10,000
    takes about half a minute to start on the reference machine).
    """
    writes, runs = (2_000, 1) if quick else (20_000, 3)
    logging.basicConfig(level=logging.WARNING)
    only_a = frozenset({10_000}) if quick else frozenset()
    m = asyncio.run(
        measure([10, 100, 1000, 10_000], writes, runs, recorder, 1_000 if quick else 10_000, only_a)
    )
    out: list[Result] = []
    for k, results in m["scenarios"].items():
        for key in (key for key in ("C", "B", "A") if key in results):
            out.append(
                Result(
                    f"K={k} ({key}) {LABELS[key]}",
                    "µs wall",
                    [v[0] for v in results[key]],
                    ha=HA_US.get((key, k)),
                    note=""
                    if key != "A"
                    else f"CPU µs/run {statistics.median(v[1] for v in results[key]):.1f}; "
                    f"{max(1, writes // k) * k:,} writes per run",
                )
            )
    out.append(
        Result(
            f"load {m['load']:,} automations",
            "s",
            [m["load_seconds"]],
            note=f"of which {m['load_parse_seconds']:.2f} s reading the YAML",
        )
    )
    return out


async def main(args: argparse.Namespace) -> None:
    print(
        f"automations bench: {args.writes} state writes per scenario, {args.runs} run(s) each, "
        f"recorder {'on' if args.recorder else 'off'}"
    )
    print("µs per state write (C), per trigger with a false condition (B), per full run (A);")
    print("median of the runs, wall / CPU of this process (event loop + storage writer thread)")
    print(f"{'K':>6} | {'(C) write':>15} | {'(B) cond false':>15} | {'(A) full run':>15} | HA (A) wall")
    m = await measure(args.k, args.writes, args.runs, args.recorder, args.load)
    for k, results in m["scenarios"].items():
        cells = []
        for key in ("C", "B", "A"):
            if key not in results:
                cells.append(f"{'—':>15}")
                continue
            wall = statistics.median(v[0] for v in results[key])
            cpu = statistics.median(v[1] for v in results[key])
            cells.append(f"{wall:6.1f} / {cpu:6.1f}")
        ha = HA_US.get(("A", k))
        print(f"{k:>6} | {' | '.join(cells)} | {f'{ha:.0f}' if ha else '—'}")
    seconds, parse = m["load_seconds"], m["load_parse_seconds"]
    print(
        f"load time of {args.load} automations: {seconds:.2f} s ({seconds / args.load * 1e6:.0f} µs each), "
        f"of which {parse:.2f} s is reading the YAML with line numbers (hub.config)"
    )


def parse() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 writes and one run per scenario")
    parser.add_argument("--writes", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-recorder", dest="recorder", action="store_false")
    parser.add_argument("--k", type=int, nargs="+", default=[10, 100, 1000, 10_000])
    parser.add_argument("--load", type=int, default=10_000, help="automations for the load-time figure")
    args = parser.parse_args()
    if args.quick:
        args.writes, args.runs = 2_000, 1
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parse()))
