"""Soak: a compressed 24-hour day of a busy hub; memory growth and slowdown.

    python -m bench.soak            # 1,000,000 events over a simulated 24 h
    python -m bench.soak --quick    # 100,000 events (a smoke run)

A real hub in this process, its clock a ``FakeClock`` moved 24 hours in
1,000 steps; at each step the hub gets 1/1,000 of the day's events:

* state writes on 100 sensors, each the trigger of an automation
  (HA's bench automation: state trigger, state condition, event action,
  trace stored), with the recorder writing every state and event;
* an SOS press every 10 steps (≈ every 14 simulated minutes) through the
  shipped ``sos_alert`` blueprint: incident opened, then acknowledged and
  closed over the next steps;
* federation to a station: a real Mosquitto with the station's accounts and
  ACL, the station (``safetyhub run`` with a ``station:`` block) in its own
  process; every incident change, health and registry go through the hub's
  SQLite outbox and come back acknowledged.

Reported: RSS at the end of each simulated hour; the growth from the end of
hour 1 (caches warm, first traces stored) to the end of hour 24 (target
≤ 5 %); CPU µs per event in hours 2–7 against hours 19–24 (the slowdown); incidents
opened vs stored at the station.  Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.runner import Result  # noqa: E402

SENSORS = 100
STEPS = 1000
DAY = 24 * 3600.0
SOS_EVERY = 10


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hub_config(fed_block: str, data_dir: Path) -> str:
    lines = [
        "hub: {id: test-hub, name: ตลาดทดสอบ, zone: soak, timezone: Asia/Bangkok, "
        f"location: {{lat: 14.59, lon: 100.45}}, data_dir: '{data_dir}'}}",
        fed_block.rstrip(),
        "sos:",
        "  - {id: gate, name: ปุ่ม SOS ประตูตลาด, place: ประตู 1, simulated: true}",
        "input_boolean:",
        "  armed: {initial: true}",
        "automation:",
        "  - id: sos_gate",
        "    use_blueprint: {path: sos_alert.yaml, input: {sos_button: sos.gate}}",
    ]
    for n in range(SENSORS):
        lines += [
            f"  - id: a{n}",
            f"    alias: A{n}",
            f"    trigger: {{platform: state, entity_id: sensor.s{n}}}",
            '    condition: {condition: state, entity_id: input_boolean.armed, state: "on"}',
            "    action: [{event: bench_done}]",
        ]
    return "\n".join(lines) + "\n"


def _spawn_station(folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0"}
    with (folder / "station.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


class Lab:
    """Mosquitto with the station's accounts, and the station process."""

    def __init__(self, folder: Path) -> None:
        from integrations.federation.testing import FederationLab
        from integrations.mqtt.testing import Mosquitto, find_mosquitto

        binary = find_mosquitto()
        if binary is None:
            raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")

        def factory(**kwargs: Any) -> Mosquitto:
            broker = Mosquitto(folder / "broker", binary=binary, **kwargs)
            broker.start()
            return broker

        self.lab = FederationLab(folder / "lab", factory, persistence=False)
        self.folder = folder
        self.station: subprocess.Popen[bytes] | None = None

    async def start_station(self) -> None:
        from integrations.federation.testing import station_config
        from integrations.station.store_sqlite import SqliteStationStore

        folder = self.folder / "station"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yaml").write_text(station_config() + self.lab.station_block(), encoding="utf-8")
        store = SqliteStationStore(folder / "data" / "station.db")
        await store.open()
        await store.register_hub("test-hub", "test-hub", time.time())
        await store.close()
        self.station = _spawn_station(folder)

    def incidents_at_station(self) -> int:
        import contextlib
        import sqlite3

        db = self.folder / "station" / "data" / "station.db"
        with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
            return int(
                conn.execute(
                    "SELECT COUNT(DISTINCT incident_id) FROM messages WHERE kind = 'incident'"
                ).fetchone()[0]
            )

    def stop(self) -> None:
        if self.station is not None:
            self.station.send_signal(signal.SIGTERM)
            try:
                self.station.wait(30)
            except subprocess.TimeoutExpired:
                self.station.kill()
        self.lab.broker.stop()


async def soak(events: int, log: bool = True) -> dict[str, Any]:
    """Run the compressed day; return hourly RSS and timings."""
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
    from hub.core.clock import FakeClock
    from hub.hub import Hub
    from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME

    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    lab = Lab(folder)
    await lab.start_station()
    clock = FakeClock(start=time.time())
    block = lab.lab.hub_block(health_interval=300, registry_interval=3600, ack_timeout=30)
    config = folder / "hub" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(hub_config(block, folder / "hub" / "data"), encoding="utf-8")
    hub = Hub(config, clock=clock, web=False)
    await hub.start()
    assert not hub.config_errors, hub.config_errors
    fed = hub.data[FEDERATION_RUNTIME]
    if not await fed.link.wait_connected(30):
        raise SystemExit("the hub could not reach the station's broker")
    incidents = hub.data[INCIDENT_RUNTIME]
    done = 0

    def count(_event: Any) -> None:
        nonlocal done
        done += 1

    hub.bus.listen("bench_done", count)
    per_step = events // STEPS
    sensors = [f"sensor.s{n}" for n in range(SENSORS)]
    set_state = hub.states.set
    hours: list[dict[str, float]] = []
    hour_time = hour_cpu = 0.0
    hour_events = 0
    open_ids: list[str] = []
    opened = 0
    value = 0
    started = time.perf_counter()
    for step in range(STEPS):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(per_step):
            value += 1
            set_state(sensors[i % SENSORS], str(value))
            if i % 1000 == 999:
                await hub.block_till_done()
        await hub.block_till_done()
        if step % SOS_EVERY == 0:
            await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": f"soak-{step}"})
            await hub.block_till_done()
            opened += 1
            open_ids = [i.id for i in await incidents.find("open", "sos", 100)]
        elif open_ids and step % SOS_EVERY == 3:
            await incidents.ack(open_ids[0], by="soak")
        elif open_ids and step % SOS_EVERY == 6:
            await incidents.close(open_ids.pop(0), by="soak")
        hour_time += time.perf_counter() - t0
        hour_cpu += time.process_time() - c0
        hour_events += per_step
        await clock.advance(DAY / STEPS)
        if step + 1 == (len(hours) + 1) * STEPS // 24:  # the end of a simulated hour
            gc.collect()
            hours.append(
                {
                    "hour": len(hours) + 1,
                    "rss_mb": _rss_mb(),
                    "us_per_event": hour_time / hour_events * 1e6,
                    "cpu_us_per_event": hour_cpu / hour_events * 1e6,
                    "outbox": fed.outbox.stats().get("pending", 0),
                }
            )
            if log:
                h = hours[-1]
                print(
                    f"  hour {h['hour']:>2}: RSS {h['rss_mb']:6.1f} MB, {h['us_per_event']:6.1f} µs/event "
                    f"({h['cpu_us_per_event']:.1f} CPU), outbox {h['outbox']}",
                    flush=True,
                )
            hour_time = hour_cpu = 0.0
            hour_events = 0
    wall = time.perf_counter() - started
    await fed.outbox.wait_empty(60)
    fed_left = fed.outbox.stats()["pending"]
    await hub.storage.flush()
    await asyncio.sleep(1.0)
    stored = lab.incidents_at_station()
    await hub.stop()
    lab.stop()
    return {
        "events": per_step * STEPS,
        "runs": done,
        "hours": hours,
        "wall_s": wall,
        "opened": opened,
        "outbox_left": fed_left,
        "at_station": stored,
        "db_mb": (folder / "hub" / "data" / "safetyhub.db").stat().st_size / 2**20,
    }


def summary(r: dict[str, Any]) -> dict[str, float]:
    """Growth and slowdown from the hourly samples.

    The slowdown compares CPU µs per event (steadier than wall time on a shared
    machine) in hours 2–7 with hours 19–24, medians of six samples each:
    hour 1 runs on an empty database and is left out, as for the memory.
    """
    import statistics

    hours = r["hours"]
    first, last = hours[0], hours[-1]
    early = [h["cpu_us_per_event"] for h in hours[1:7]] or [first["cpu_us_per_event"]]
    late = [h["cpu_us_per_event"] for h in hours[-6:]]
    return {
        "growth_pct": (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"] * 100,
        "us_hour2": statistics.median(early),
        "us_last": statistics.median(late),
    }


def collect(quick: bool) -> list[Result]:
    """Return the figures for ``python -m bench`` (1M events; quick: 100k)."""
    logging.basicConfig(level=logging.ERROR)
    r = asyncio.run(soak(100_000 if quick else 1_000_000, log=False))
    s = summary(r)
    slowdown = (s["us_last"] / s["us_hour2"] - 1) * 100
    return [
        Result(
            "RSS growth, end of hour 1 → hour 24",
            "%",
            [s["growth_pct"]],
            target="≤ 5",
            note=f"{r['hours'][0]['rss_mb']:.1f} → {r['hours'][-1]['rss_mb']:.1f} MB; {r['events']:,} events, "
            f"{r['runs']:,} automation runs, DB {r['db_mb']:.0f} MB",
        ),
        Result(
            "µs per event, hourly (24 samples)",
            "µs",
            [h["us_per_event"] for h in r["hours"]],
            note=f"CPU µs/event, hours 2–7 {s['us_hour2']:.1f}, hours 19–24 {s['us_last']:.1f}: "
            f"slowdown {slowdown:+.1f} %",
        ),
        Result(
            "slowdown, CPU µs/event h19–24 vs h2–7", "%", [slowdown], note="medians of six hourly samples"
        ),
        Result(
            "incidents at the station / opened",
            "%",
            [r["at_station"] / max(r["opened"], 1) * 100],
            better="higher",
            note=f"{r['at_station']} of {r['opened']} SOS incidents stored at the station",
        ),
        Result("wall time of the compressed day", "s", [r["wall_s"]]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    events = 100_000 if args.quick else args.events
    print(
        textwrap.shorten(
            f"soak: {events:,} events over a simulated 24 h ({STEPS} steps), {SENSORS} automations, "
            "SOS every ~14 min, federation to a station process",
            200,
        )
    )
    r = asyncio.run(soak(events))
    s = summary(r)
    print(
        f"\n{r['events']:,} events, {r['runs']:,} automation runs in {r['wall_s']:.0f} s; DB {r['db_mb']:.0f} MB"
    )
    print(f"RSS growth hour 1 → 24: {s['growth_pct']:+.1f} % (target ≤ 5 %)")
    print(
        f"CPU µs/event: hours 2–7 {s['us_hour2']:.1f}, hours 19–24 {s['us_last']:.1f} "
        f"(slowdown {(s['us_last'] / s['us_hour2'] - 1) * 100:+.1f} %)"
    )
    print(f"SOS incidents: {r['opened']} opened, {r['at_station']} stored at the station")


if __name__ == "__main__":
    main()
