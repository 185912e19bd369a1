"""Federation benchmark: many hubs → one Mosquitto → one station process.

What it measures (issue 7):

* **station ingest**: simulated hubs publish federated events as fast as
  they can; the rate is events *stored and acknowledged* per second, timed
  from the first publish to the last ack back at the hubs (target ≥ 20,000/s);
* **hub outbox throughput**: one real hub (the real ``federation``
  integration, its SQLite outbox and its window) queues events; reported as
  commit rate into the outbox and end-to-end rate until the station has
  acknowledged them all;
* **SOS latency**: SOS incidents opened on that real hub, from
  ``IncidentManager.open`` to (a) the station receiving the message and
  (b) the station's ack arriving back at the hub, which can only happen after
  the row is committed in the station database (target p99 ≤ 25 ms).

The station runs as its own ``safetyhub run`` process with a ``station:``
block; the broker is a real Mosquitto with a password file (PBKDF2) and the
per-hub ACL written by the station's admin code; the simulated hubs are
lightweight: paho clients sharing this process's event loop, publishing
pre-encoded envelopes with QoS 1 under their own accounts.

Run:  python -m bench.federation --quick      (CI-sized: 1,000 hubs, 20,000 events)
      python -m bench.federation              (1,000 hubs, 100,000 events)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import aiomqtt

from hub.core.ids import ulid
from hub.testing_mqtt import Mosquitto, find_mosquitto, free_port
from integrations.federation.protocol import envelope
from integrations.station.broker import acl_text, hash_password, write_passwd

REPO = Path(__file__).resolve().parents[1]
STATION = "bench-station"
STATION_USER = "ccoc"
PASSWORD = "bench-password-123"


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class SimHub:
    """One lightweight hub: a paho client publishing pre-built envelopes and counting acks."""

    def __init__(self, hub_id: str, broker: Mosquitto) -> None:
        self.hub_id = hub_id
        self.acked: set[str] = set()
        self.waiting = 0
        self.done = asyncio.Event()
        self.client = aiomqtt.Client(broker.host, broker.port, username=hub_id, password=PASSWORD,
                                     identifier=f"sim-{hub_id}", protocol=aiomqtt.ProtocolVersion.V5,
                                     max_inflight_messages=1000, timeout=30)
        paho = self.client._client

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            ids = json.loads(msg.payload)["ids"]
            self.acked.update(ids)
            if self.waiting and len(self.acked) >= self.waiting:
                self.done.set()

        paho.on_message = on_message
        self.topic = f"ssz/v1/{STATION}/{hub_id}/event"

    def payloads(self, count: int) -> list[tuple[str, bytes]]:
        out = []
        for seq in range(count):
            msg_id = ulid()
            now = time.time()
            out.append((msg_id, envelope(msg_id, STATION, self.hub_id, "event", now, {
                "type": "camera_motion", "data": {"entity_id": "camera.gate", "seq": seq}, "time": now})))
        return out

    def publish(self, payload: bytes) -> None:
        self.client._client.publish(self.topic, payload, 1, False, None)


def write_broker_files(folder: Path, hubs: list[str]) -> tuple[Path, Path]:
    passwd, acl = folder / "passwd", folder / "acl"
    # mosquitto checks each login on its one thread: these are the station's real PBKDF2 rounds.
    hashed = hash_password(PASSWORD)
    write_passwd(passwd, {u: hashed for u in [STATION_USER, *hubs]})
    acl.write_text(acl_text(STATION, STATION_USER, hubs), encoding="utf-8")
    return passwd, acl


async def start_station(folder: Path, broker: Mosquitto, hubs: list[str]) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(textwrap.dedent(f"""\
        hub: {{id: bench-ccoc, name: Bench CCOC, timezone: Asia/Bangkok, data_dir: ./data,
              web: {{host: 127.0.0.1, port: {free_port()}}}}}
        station:
          id: {STATION}
          broker: {broker.url}
          username: {STATION_USER}
          password: {PASSWORD}
          reconnect_min: 0.1
          reconnect_max: 1
          expected_hubs: {len(hubs)}
        """), encoding="utf-8")
    # Register the hubs the way `safetyhub station add-hub` does, before the station starts.
    from integrations.station.store_sqlite import SqliteStationStore

    store = SqliteStationStore(folder / "data" / "station.db")
    await store.open()
    for hub_id in hubs:
        await store.register_hub(hub_id, hub_id, time.time())
    await store.close()
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0"}
    log = (folder / "station.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml"], cwd=folder, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def stored(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


async def wait_station(db: Path, sims: list[SimHub]) -> None:
    """Wait until the station is subscribed: a probe message comes back acknowledged."""
    probe = sims[0]
    for _ in range(600):
        (msg_id, payload), = probe.payloads(1)
        probe.publish(payload)
        await asyncio.sleep(0.1)
        if msg_id in probe.acked:
            return
    raise SystemExit("the station never acknowledged a probe message; see its log")


async def ingest(sims: list[SimHub], per_hub: int) -> dict[str, float]:
    """Every sim publishes ``per_hub`` events; return the rate stored-and-acknowledged."""
    batches = [sim.payloads(per_hub) for sim in sims]
    for sim, batch in zip(sims, batches, strict=True):
        sim.done.clear()
        sim.waiting = len(sim.acked) + per_hub
    total = per_hub * len(sims)
    t0 = time.monotonic()
    for seq in range(per_hub):
        for sim, batch in zip(sims, batches, strict=True):
            sim.publish(batch[seq][1])
        await asyncio.sleep(0)  # let paho's writers drain
    published = time.monotonic() - t0
    await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in sims)), timeout=600)
    elapsed = time.monotonic() - t0
    missing = sum(1 for sim, batch in zip(sims, batches, strict=True) for i, _ in batch if i not in sim.acked)
    return {"events": total, "seconds": elapsed, "rate": total / elapsed, "publish_s": published,
            "missing": missing}


async def real_hub(folder: Path, broker: Mosquitto, window: int) -> Any:
    """Start one real hub (the federation integration with its outbox) in this process."""
    from hub.hub import Hub

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    config.write_text(textwrap.dedent(f"""\
        hub: {{id: bench-hub, name: Bench hub, zone: bench, timezone: Asia/Bangkok, data_dir: ./data,
              location: {{lat: 14.59, lon: 100.45}}}}
        federation:
          station: {STATION}
          broker: {broker.url}
          username: bench-hub
          password: {PASSWORD}
          window: {window}
          health_interval: 3600
          registry_interval: 86400
        """), encoding="utf-8")
    hub = Hub(config, web=False)
    await hub.start()
    return hub


async def outbox_throughput(hub: Any, count: int) -> dict[str, float]:
    from integrations.federation.uplink import FEDERATION

    fed = hub.data[FEDERATION]
    t0 = time.monotonic()
    chunk = 500
    for start in range(0, count, chunk):
        await asyncio.gather(*(fed.send_event("camera_motion", {"entity_id": "camera.gate", "n": n})
                               for n in range(start, min(start + chunk, count))))
    committed = time.monotonic() - t0
    if not await fed.outbox.wait_empty(600):
        raise SystemExit(f"outbox did not drain: {fed.status()}")
    elapsed = time.monotonic() - t0
    return {"events": count, "commit_rate": count / committed, "e2e_rate": count / elapsed, "seconds": elapsed}


async def sos_latency(hub: Any, db: Path, count: int, gap: float) -> dict[str, float]:
    from hub.incidents import INCIDENTS
    from integrations.federation.uplink import FEDERATION

    fed = hub.data[FEDERATION]
    acked_at: dict[str, float] = {}
    original_ack = fed.outbox.ack

    async def timed_ack(ids: Any) -> int:
        now = time.time()
        ids = list(ids)
        for msg_id in ids:
            acked_at.setdefault(msg_id, now)
        return int(await original_ack(ids))

    fed.outbox.ack = timed_ack  # type: ignore[method-assign]
    opened: dict[str, float] = {}
    mgr = hub.data[INCIDENTS]
    for _ in range(count):
        t0 = time.time()
        inc = await mgr.open("sos", title="bench SOS")
        opened[inc.id] = t0
        await asyncio.sleep(gap)
    await fed.outbox.wait_empty(60)
    fed.outbox.ack = original_ack  # type: ignore[method-assign]
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        rows = conn.execute("SELECT id, incident_id, received_at FROM messages WHERE kind = 'incident' "
                            "AND type = 'opened' AND hub_id = 'bench-hub'").fetchall()
    to_station = [(received - opened[inc]) * 1000 for _, inc, received in rows if inc in opened]
    to_ack = [(acked_at[msg] - opened[inc]) * 1000 for msg, inc, _ in rows if inc in opened and msg in acked_at]
    return {"n": len(to_ack), "recv_p50": statistics.median(to_station), "recv_p99": pct(to_station, 0.99),
            "ack_p50": statistics.median(to_ack), "ack_p99": pct(to_ack, 0.99), "ack_max": max(to_ack)}


async def run(args: argparse.Namespace) -> None:
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    work = Path(tempfile.mkdtemp(prefix="fedbench-"))
    hubs = [f"hub-{i:04d}" for i in range(args.hubs)]
    passwd, acl = write_broker_files(work, [*hubs, "bench-hub"])
    broker = Mosquitto(work / "broker", binary=binary, password_file=passwd, acl_file=acl, persistence=False,
                       extra_conf="max_inflight_messages 1000\nset_tcp_nodelay true")
    broker.start()
    station = await start_station(work / "station", broker, [*hubs, "bench-hub"])
    db = work / "station" / "data" / "station.db"
    sims = [SimHub(h, broker) for h in hubs]
    results: dict[str, Any] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            t0 = time.monotonic()
            limit = asyncio.Semaphore(50)

            async def connect(sim: SimHub) -> None:
                async with limit:
                    await stack.enter_async_context(sim.client)
                    await sim.client.subscribe(f"ssz/v1/{STATION}/{sim.hub_id}/ack", qos=1)

            await asyncio.gather(*(connect(s) for s in sims))
            results["connect"] = time.monotonic() - t0
            await wait_station(db, sims)
            # Warm-up (station caches, SQLite pages), then the measured burst.
            await ingest(sims, 2)
            results["ingest"] = await ingest(sims, args.events_per_hub)
            results["stored_rows"] = stored(db)
            hub = await real_hub(work / "hub", broker, args.window)
            try:
                from integrations.federation.uplink import FEDERATION

                await hub.data[FEDERATION].link.wait_connected(30)
                results["outbox"] = await outbox_throughput(hub, args.outbox_events)
                results["sos_idle"] = await sos_latency(hub, db, args.sos, 0.02)
                # SOS again while the thousand hubs keep the station busy.
                load = asyncio.create_task(ingest(sims, args.events_per_hub // 2))
                await asyncio.sleep(0.2)
                results["sos_loaded"] = await sos_latency(hub, db, args.sos, 0.02)
                results["background"] = await load
            finally:
                await hub.stop()
    finally:
        station.send_signal(signal.SIGTERM)
        try:
            station.wait(30)
        except subprocess.TimeoutExpired:
            station.kill()
        broker.stop()
    report(args, results, work)


def report(args: argparse.Namespace, r: dict[str, Any], work: Path) -> None:
    ing, box = r["ingest"], r["outbox"]
    print(f"\nFederation bench: {args.hubs} hubs → 1 Mosquitto → 1 station process   ({work})")
    print(f"  connect {args.hubs} hubs (PBKDF2 logins, ACL)   {r['connect']:.1f} s")
    print(f"  station ingest, stored + acknowledged     {ing['rate']:,.0f} events/s   "
          f"({ing['events']:,} events in {ing['seconds']:.2f} s; missing {ing['missing']}; target ≥ 20,000/s)")
    print(f"  station rows                              {r['stored_rows']:,}")
    print(f"  hub outbox: commit                        {box['commit_rate']:,.0f} events/s")
    print(f"  hub outbox: until all acknowledged        {box['e2e_rate']:,.0f} events/s   "
          f"({box['events']:,} events, window {args.window})")
    for key, label in (("sos_idle", "idle station"), ("sos_loaded", "station under load")):
        s = r[key]
        print(f"  SOS → station, {label:<19}  received p50 {s['recv_p50']:.1f} ms  p99 {s['recv_p99']:.1f} ms; "
              f"DB row + ack back p50 {s['ack_p50']:.1f} ms  p99 {s['ack_p99']:.1f} ms  (n={s['n']}, target p99 ≤ 25)")
    bg = r["background"]
    print(f"  background load during the second run     {bg['rate']:,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-sized run")
    parser.add_argument("--hubs", type=int, default=1000)
    parser.add_argument("--events-per-hub", type=int, default=None)
    parser.add_argument("--outbox-events", type=int, default=None)
    parser.add_argument("--sos", type=int, default=None, help="SOS incidents per latency run")
    parser.add_argument("--window", type=int, default=200)
    args = parser.parse_args()
    args.events_per_hub = args.events_per_hub or (20 if args.quick else 100)
    args.outbox_events = args.outbox_events or (10_000 if args.quick else 50_000)
    args.sos = args.sos or (100 if args.quick else 500)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
