"""Long fuzzing: the suite's fuzz targets (tests/fuzz/targets.py) with at least 100,000 cases each.

    python -m bench.fuzz                    # every target, 100,000 cases each
    python -m bench.fuzz --cases 1000000 --only sia federation
    python -m bench.fuzz --quick            # 2,000 cases each (a smoke run)
    python -m bench.fuzz --workers 2        # the cases of each target split over 2 processes

Targets: ``config`` (the YAML loader on every case, the whole ``check``,
every plugin's schema, on one case in 20: it costs ~30 ms), ``mqtt`` (the
MQTT router of a real hub, every device kind), ``sia`` (DC-09 frames),
``line_webhook`` (signed and unsigned deliveries over HTTP to a real hub),
``federation`` (every parser of both ends).  No crash, and a clear error every
time; on a failure hypothesis shrinks the input and the run stops with it.

Hub targets check for crashes after every 50 cases (a crash message names
the payload), so they measure parsing rather than ``block_till_done``.
Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("SAFETYHUB_ENTRYPOINTS", "0")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.fuzz import targets as t  # noqa: E402

BATCH = 50
TARGETS = ("config", "mqtt", "sia", "line_webhook", "federation")


def _settings(cases: int) -> settings:
    return settings(
        max_examples=cases,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )


def run_pure(name: str, strategy: Any, check: Callable[[Any], None], cases: int) -> int:
    """Run a pure target; return the number of cases run."""
    count = 0

    @_settings(cases)
    @given(strategy)
    def fuzz(case: Any) -> None:
        nonlocal count
        count += 1
        check(case)

    fuzz()
    return count


async def _hub(folder: Path) -> tuple[Any, Any, Any]:
    from hub.hub import Hub
    from hub.testing import BASE_CONFIG, free_port, write_config
    from integrations.line.testing import FakeLineApi

    fake = await FakeLineApi().start()
    port = free_port()
    path = write_config(
        folder,
        f"mqtt: {{broker: 'mqtt://127.0.0.1:{port}', reconnect_min: 30, reconnect_max: 60}}\n"
        + t.MQTT_CONFIG
        + fake.config_yaml({"big6": "C" + "1" * 32}),
        base=BASE_CONFIG.replace("data_dir: ./data", f"data_dir: {folder / 'data'}"),
    )
    hub = Hub(path)
    await hub.start()
    return hub, fake, port


def run_hub_target(name: str, cases: int) -> int:
    """Run ``mqtt`` or ``line_webhook`` against one real hub; return the number of cases run."""
    import tempfile

    import aiohttp

    loop = asyncio.new_event_loop()
    folder = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    hub, fake, _port = loop.run_until_complete(_hub(folder))
    rig = t.HubRig(hub)
    undo = rig.install()

    async def open_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(base_url=hub.http.url)

    session = loop.run_until_complete(open_session())
    count = 0

    async def settle(what: str) -> None:
        await hub.block_till_done()
        rig.assert_clean(what)

    @_settings(cases)
    @given(t.mqtt_payloads() if name == "mqtt" else t.line_bodies())
    def fuzz(case: Any) -> None:
        nonlocal count
        count += 1
        if name == "mqtt":
            coro = t.mqtt_check(rig, case, settle=False)
        else:
            coro = t.line_check(rig, session, case, settle=False)
        loop.run_until_complete(coro)
        if count % BATCH == 0:
            loop.run_until_complete(settle(f"one of the last {BATCH} cases, the latest {case!r:.300}"))

    try:
        fuzz()
        loop.run_until_complete(settle("the last cases"))
        if name == "line_webhook":
            from integrations.line.const import RUNTIME as LINE_RUNTIME

            intake = hub.data[LINE_RUNTIME].webhook
            print(f"    webhook: {intake.received} deliveries accepted, {intake.rejected} refused")
        else:
            from integrations.mqtt import get_client

            # Each parser refuses with its own rate-limited warning; the router counts only its own refusals.
            print(f"    mqtt: {get_client(hub).bad_input.total} refusals at the router (oversize payloads)")
    finally:
        undo()
        loop.run_until_complete(session.close())
        loop.run_until_complete(hub.stop())
        loop.run_until_complete(fake.close())
        loop.close()
    return count


def _worker(name: str, cases: int) -> int:
    logging.basicConfig(level=logging.CRITICAL)
    return run(name, cases)


def run_parallel(name: str, cases: int, workers: int) -> int:
    """Split ``cases`` over ``workers`` processes (each with its own random seed); return the total run."""
    if workers <= 1:
        return run(name, cases)
    from concurrent.futures import ProcessPoolExecutor

    share = -(-cases // workers)
    with ProcessPoolExecutor(workers) as pool:
        return sum(pool.map(_worker, [name] * workers, [share] * workers))


def run(name: str, cases: int) -> int:
    """Run one target with ``cases`` cases; return how many ran."""
    if name == "config":
        return run_pure(name, t.config_texts(), t.ConfigTarget(full_every=20), cases)
    if name == "sia":
        sia = t.SiaTarget()
        return run_pure(name, sia.strategy(), sia, cases)
    if name == "federation":
        return run_pure(name, t.federation_messages(), t.federation_check, cases)
    return run_hub_target(name, cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases per target (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="2,000 cases per target")
    parser.add_argument("--only", nargs="+", choices=TARGETS, default=list(TARGETS))
    parser.add_argument("--workers", type=int, default=1, help="processes per target (cases are split)")
    args = parser.parse_args()
    cases = 2_000 if args.quick else args.cases
    logging.basicConfig(level=logging.CRITICAL)  # the rig traps ERROR records itself
    failed = []
    print(f"fuzzing {', '.join(args.only)}: {cases:,} cases each")
    for name in args.only:
        started = time.perf_counter()
        try:
            done = run_parallel(name, cases, args.workers)
        except Exception as exc:  # noqa: BLE001 - hypothesis has shrunk it: report and go on
            failed.append(name)
            print(
                f"  {name:<13} FAILED after {time.perf_counter() - started:.0f} s: {type(exc).__name__}: {exc}"
            )
            continue
        elapsed = time.perf_counter() - started
        print(
            f"  {name:<13} {done:>9,} cases in {elapsed:7.1f} s ({done / elapsed:,.0f}/s): no crash, "
            "every refusal with a clear error",
            flush=True,
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
