"""Station scale benchmark on PostgreSQL (issue 17): one and two station workers on one database.

For N = 1 and N = 2 ``safetyhub run`` workers with the same config
(``station.share_group`` and ``station.database: postgresql://…``), sharing
the broker's ``$share/…`` subscription through one Mosquitto:

* **ingest**: simulated hubs (``bench.federation``'s lightweight clients, each
  under its own broker account and ACL) send their backlogs, 100 envelopes
  to an MQTT message; the rate is events *stored and acknowledged*, from the
  first publish to the last ack back at the hubs (goal ≥ 20,000/s with one
  worker);
* **CPU per event**: the workers' CPU and PostgreSQL's (the postmaster and
  every backend) over that run, divided by the events: what one more machine
  would carry;
* **SOS → ack at half load**: while the hubs keep the workers at half the
  measured rate, a hub sends SOS incidents (one MQTT message each); measured
  is publish → the station's ack back at the hub (the ack follows the
  commit).

A one-worker station on its SQLite file (today's default) runs first, on the
same broker and hubs, as the baseline the ratios are taken against
(``--no-baseline`` skips it).

PostgreSQL runs with its *durable* defaults (fsync, synchronous commit,
autovacuum), from Debian's package, on 127.0.0.1 and a unix socket in a
temporary folder.  Never part of the test run.

Run:  python -m bench.scale --quick   (200 hubs, 20,000 events per run)
      python -m bench.scale           (1,000 hubs, 100,000 events per run)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.federation import (  # noqa: E402
    PASSWORD,
    STATION,
    STATION_USER,
    SimHub,
    connect_fleet,
    cpu_seconds,
    ingest,
    pct,
    write_broker_files,
)
from bench.mqtt_wire import mqtt_str, packet  # noqa: E402
from bench.runner import Result  # noqa: E402
from hub.core.ids import ulid  # noqa: E402
from hub.testing_postgres import PostgresServer, find_postgres_bin  # noqa: E402
from integrations.federation.protocol import envelope  # noqa: E402
from integrations.mqtt.testing import Mosquitto, find_mosquitto, free_port  # noqa: E402

SOS_HUB = "bench-hub"


class SosHub(SimHub):
    """A simulated hub that sends SOS incidents and times each one's ack."""

    def __init__(self, hub_id: str) -> None:
        super().__init__(hub_id)
        self.topic = f"ssz/v1/{STATION}/{hub_id}/incident"
        self.sent_at: dict[str, float] = {}
        self.acked_at: dict[str, float] = {}

    def data_received(self, data: bytes) -> None:
        before = len(self.acked)
        super().data_received(data)
        if len(self.acked) != before:
            now = time.perf_counter()
            for msg_id in self.acked:
                self.acked_at.setdefault(msg_id, now)

    def sos(self) -> None:
        """Send one SOS incident now."""
        msg_id, now = ulid(), time.time()
        incident = {
            "id": ulid(),
            "kind": "sos",
            "severity": "critical",
            "status": "open",
            "title": "SOS",
            "opened_at": now,
            "updated_at": now,
        }
        body = {"action": "opened", "incident": incident, "entry": {"ts": now, "kind": "opened"}}
        raw = envelope(msg_id, STATION, self.hub_id, "incident", now, body)
        self._pid = self._pid % 65535 + 1
        self.sent_at[msg_id] = time.perf_counter()
        self.send(packet(0x32, mqtt_str(self.topic) + struct.pack("!H", self._pid) + raw))


def postgres_cpu(server: PostgresServer) -> float:
    """Return the CPU seconds of the postmaster and its children (the backends) so far."""
    root = server.pid
    if root is None:
        return 0.0
    total = cpu_seconds(root)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == root:
                total += cpu_seconds(int(entry.name))
    return total


def write_config(folder: Path, broker: Mosquitto, url: str | None, hubs: int) -> None:
    """One config for every worker; only ``SAFETYHUB_WORKER_DIR`` and the port differ."""
    folder.mkdir(parents=True, exist_ok=True)
    shared = f"  share_group: ccoc\n  database: {json.dumps(url)}\n" if url else ""
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""\
        hub: {{id: bench-ccoc, name: Bench CCOC, timezone: Asia/Bangkok,
              data_dir: !env_var SAFETYHUB_WORKER_DIR ./data, web: {{host: 127.0.0.1, port: 0}}}}
        station:
          id: {STATION}
          broker: {broker.url}
          username: {STATION_USER}
          password: {PASSWORD}
          reconnect_min: 0.1
          reconnect_max: 1
          expected_hubs: {hubs}
        """)
        + shared,
        encoding="utf-8",
    )


def spawn_worker(folder: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SAFETYHUB_ENTRYPOINTS": "0",
        "SAFETYHUB_WORKER_DIR": str(folder / name),
    }
    log = (folder / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml", "--port", str(free_port())],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def wait_workers(folder: Path, procs: list[subprocess.Popen[bytes]], probe: SimHub) -> None:
    """Wait until every worker has subscribed, then until a probe comes back acknowledged."""
    for _ in range(600):
        logs = [(folder / f"w{i}.log").read_text(errors="replace") for i in range(len(procs))]
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"a station worker exited; see {folder}")
        if all("station urgent: connected" in log and "started (station role)" in log for log in logs):
            break
        await asyncio.sleep(0.1)
    for _ in range(300):
        ((ids, packet),) = probe.packets(1)
        probe.send(packet)
        await asyncio.sleep(0.1)
        if ids[0] in probe.acked:
            return
    raise SystemExit(f"the station never acknowledged a probe; see {folder}")


async def one_setup(
    server: PostgresServer,
    broker: Mosquitto,
    work: Path,
    hubs: list[str],
    backend: str,
    workers: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Run the three measurements with ``workers`` station workers on a fresh database."""
    from integrations.station.store import StationStore
    from integrations.station.store_pg import PgStationStore
    from integrations.station.store_sqlite import SqliteStationStore

    folder = work / f"station-{backend}-{workers}"
    name = ""
    url: str | None = None
    store: StationStore
    if backend == "postgresql":
        name = server.create_database()
        url = server.url(name)
        store = PgStationStore(url)
    else:  # the baseline: one worker on its SQLite file, as a station runs today
        store = SqliteStationStore(folder / "w0" / "station.db")
    await store.open()
    for hub_id in [*hubs, SOS_HUB]:
        await store.register_hub(hub_id, hub_id, time.time())
    await store.close()
    write_config(folder, broker, url, len(hubs) + 1)
    procs = [spawn_worker(folder, f"w{i}") for i in range(workers)]
    out: dict[str, Any] = {"backend": backend, "workers": workers}
    try:
        sims = await connect_fleet(broker, hubs)
        loop = asyncio.get_running_loop()
        _, sos_hub = await loop.create_connection(lambda: SosHub(SOS_HUB), broker.host, broker.port)
        await asyncio.wait_for(sos_hub.ready, 30)
        await wait_workers(folder, procs, sims[0])
        await ingest(sims, 2, batch=args.batch)  # warm-up
        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        pg0 = postgres_cpu(server)
        out["ingest"] = ing = await ingest(sims, args.events_per_hub, batch=args.batch)
        ing["workers_cpu_us"] = (sum(cpu_seconds(p.pid) for p in procs) - cpu0) / ing["events"] * 1e6
        pg_cpu = postgres_cpu(server) - pg0 if backend == "postgresql" else 0.0
        ing["postgres_cpu_us"] = pg_cpu / ing["events"] * 1e6
        # SOS while the hubs keep the workers at half the rate just measured.
        pace = ing["rate"] / 2
        seconds = 4 + args.sos * args.sos_gap
        per_hub = max(args.batch, int(pace * seconds / len(sims)))
        load = asyncio.create_task(ingest(sims, per_hub, rate=pace, batch=args.batch))
        await asyncio.sleep(1.0)  # the load is flowing
        sos_hub.waiting = args.sos  # its `done` is set when every SOS is acknowledged
        for _ in range(args.sos):
            sos_hub.sos()
            await asyncio.sleep(args.sos_gap)
        out["background"] = await load
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sos_hub.done.wait(), 30)
        lat = [(sos_hub.acked_at[i] - t) * 1000 for i, t in sos_hub.sent_at.items() if i in sos_hub.acked_at]
        out["sos"] = {
            "count": len(lat),
            "sent": len(sos_hub.sent_at),
            "p50": statistics.median(lat) if lat else float("nan"),
            "p99": pct(lat, 0.99) if lat else float("nan"),
            "samples": lat,
        }
        for sim in [*sims, sos_hub]:
            if sim.transport is not None:
                sim.transport.close()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if name:
            with contextlib.suppress(Exception):
                server.drop_database(name)
    return out


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    binary, bindir = find_mosquitto(), find_postgres_bin()
    if binary is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    work = Path(tempfile.mkdtemp(prefix="scalebench-"))
    hubs = [f"hub-{i:04d}" for i in range(args.hubs)]
    passwd, acl = write_broker_files(work, [*hubs, SOS_HUB])
    broker = Mosquitto(
        work / "broker",
        binary=binary,
        password_file=passwd,
        acl_file=acl,
        persistence=False,
        extra_conf="max_inflight_messages 1000\nset_tcp_nodelay true",
    )
    server = PostgresServer(bindir, durable=True)
    broker.start()
    results = []
    try:
        server.start()
        setups = ([("sqlite", 1)] if args.baseline else []) + [("postgresql", n) for n in args.workers]
        for backend, workers in setups:
            results.append(await one_setup(server, broker, work, hubs, backend, workers, args))
    finally:
        server.stop()
        broker.stop()
    return results


def report(results: list[dict[str, Any]]) -> None:
    print("\nStation ingest (batched) and SOS at half load; PostgreSQL with its durable defaults")
    head = f"{'engine':>10} {'workers':>7} {'events/s':>10} {'worker µs/ev':>13} {'pg µs/ev':>9}"
    print(f"{head} {'SOS p50 ms':>11} {'SOS p99 ms':>11}")
    for r in results:
        ing, s = r["ingest"], r["sos"]
        print(
            f"{r['backend']:>10} {r['workers']:>7} {ing['rate']:>10,.0f} {ing['workers_cpu_us']:>13.1f}"
            f" {ing['postgres_cpu_us']:>9.1f} {s['p50']:>11.1f} {s['p99']:>11.1f}"
            f"   (missing {ing['missing']}, SOS acked {s['count']}/{s['sent']})"
        )
    by = {(r["backend"], r["workers"]): r["ingest"] for r in results}
    one, two, lite = by.get(("postgresql", 1)), by.get(("postgresql", 2)), by.get(("sqlite", 1))
    if one and two:
        print(f"PostgreSQL, 2 workers / 1 worker: {two['rate'] / one['rate']:.2f}× the rate")
    if one and lite:
        print(f"PostgreSQL / SQLite, 1 worker: {one['rate'] / lite['rate']:.2f}× the rate")
    if one:
        per_core = 1e6 / (one["workers_cpu_us"] + one["postgres_cpu_us"])
        print(f"one core carries ≈ {per_core:,.0f} events/s (worker + PostgreSQL CPU per event)")


def collect(quick: bool) -> list[Result]:
    """Run the benchmark for ``python -m bench`` and return its figures."""
    results = asyncio.run(run(parse(["--quick"] if quick else [])))
    report(results)
    out = []
    for r in results:
        n, ing, s = r["workers"], r["ingest"], r["sos"]
        label = f"{r['backend']}, {n} worker(s)"
        target = "≥ 20,000" if n == 1 else None
        note = f"missing {ing['missing']}"
        out.append(
            Result(f"ingest, {label}", "events/s", [ing["rate"]], better="higher", target=target, note=note)
        )
        out.append(Result(f"worker CPU per event, {label}", "µs", [ing["workers_cpu_us"]]))
        if r["backend"] == "postgresql":
            out.append(Result(f"PostgreSQL CPU per event, {label}", "µs", [ing["postgres_cpu_us"]]))
        out.append(Result(f"SOS → ack at half load, {label}", "ms", s["samples"], target="p99 ≤ 50"))
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="200 hubs, 20,000 events per run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="PostgreSQL worker counts")
    parser.add_argument(
        "--no-baseline", dest="baseline", action="store_false", help="skip the one-worker SQLite baseline"
    )
    parser.add_argument("--batch", type=int, default=100, help="envelopes per MQTT message")
    parser.add_argument("--sos", type=int, default=None, help="SOS incidents at half load")
    parser.add_argument("--sos-gap", type=float, default=0.05, help="seconds between SOS")
    args = parser.parse_args(argv)
    args.hubs = 200 if args.quick else 1000
    args.events_per_hub = 100
    if args.sos is None:
        args.sos = 60 if args.quick else 200
    return args


def main() -> None:
    report(asyncio.run(run(parse())))


if __name__ == "__main__":
    main()
