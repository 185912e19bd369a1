"""Federation benchmark: 1,000 hubs → one Mosquitto → one station process.

What it measures (issue 7):

* **station ingest**: 1,000 simulated hubs publish federated events (valid
  envelopes, QoS 1, each under its own broker account and ACL); the rate is
  events *stored and acknowledged*, timed from the first publish to the last
  ack back at the hubs (target ≥ 20,000/s), plus the station's CPU per event;
* **hub outbox throughput**: one real hub (the ``federation`` integration,
  its SQLite outbox and in-flight window) queues events: the commit rate into
  the outbox, and the rate until the station has acknowledged them all;
* **SOS latency**: SOS incidents opened on that real hub, from
  ``IncidentManager.open`` to (a) the station receiving the message and (b)
  the station's ack arriving back at the hub, which the station only sends
  after the row is committed (target p99 ≤ 25 ms), with the station idle and
  again with the 1,000 hubs keeping it at half its measured capacity
  (target p99 ≤ 50 ms);
* **the first SOS behind a backlog** (target p99 ≤ 50 ms), two ways: the
  1,000 hubs dump 100,000 events on the station (100 per MQTT message) and
  the real hub opens an SOS at that instant; and the real hub's own outbox
  holds 100,000 committed events when the SOS is opened.

Before/after on one machine: copy this file into a checkout of the earlier
code and run it there, then here, back to back.

Processes: Mosquitto (real password file and ACL from the station's admin
code), the station (``safetyhub run`` with a ``station:`` block), the real
hub (``safetyhub``'s own Hub in a child process), and this one, which runs
the simulated hubs.  They are *lightweight*: one asyncio connection each,
MQTT 3.1.1 written by hand from pre-encoded packets, because a thousand full
clients in one Python process would measure the simulator, not the station.

Run:  python -m bench.federation --quick   (CI-sized: 1,000 hubs, 20,000 events)
      python -m bench.federation           (1,000 hubs, 100,000 events)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from bench.mqtt_wire import connect_packet, frames, mqtt_str, packet, subscribe_packet
from hub.core.ids import ulid
from integrations.federation.protocol import envelope
from integrations.mqtt.testing import Mosquitto, find_mosquitto
from integrations.station.broker import acl_text, hash_password, write_passwd

REPO = Path(__file__).resolve().parents[1]
STATION = "bench-station"
STATION_USER = "ccoc"
PASSWORD = "bench-password-123"


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- a lightweight MQTT 3.1.1 client (simulator only) -------------------------------------


class SimHub(asyncio.Protocol):
    """One simulated hub: publishes pre-encoded QoS 1 envelopes, counts the station's acks."""

    def __init__(self, hub_id: str) -> None:
        self.hub_id = hub_id
        self.topic = f"ssz/v1/{STATION}/{hub_id}/event"
        self.acked: set[str] = set()
        self.waiting = 0
        self.done = asyncio.Event()
        self.ready = asyncio.get_running_loop().create_future()
        self._buf = bytearray()
        self._pid = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(connect_packet(f"sim-{self.hub_id}", self.hub_id, PASSWORD, keepalive=120))
        transport.write(subscribe_packet(f"ssz/v1/{STATION}/{self.hub_id}/ack"))

    def data_received(self, data: bytes) -> None:
        self._buf += data
        for kind, body in frames(self._buf):
            if kind == 2:  # CONNACK
                if body[1] != 0 and not self.ready.done():
                    self.ready.set_exception(RuntimeError(f"{self.hub_id}: CONNACK {body[1]}"))
            elif kind == 9 and not self.ready.done():  # SUBACK: subscribed, ready
                self.ready.set_result(None)
            elif kind == 3:  # PUBLISH: an ack from the station (QoS 0)
                tlen = struct.unpack("!H", body[:2])[0]
                self.acked.update(json.loads(body[2 + tlen :])["ids"])
                if self.waiting and len(self.acked) >= self.waiting:
                    self.done.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"{self.hub_id}: connection lost: {exc}"))

    def packets(self, count: int, batch: int = 1) -> list[tuple[list[str], bytes]]:
        """Return pre-encoded PUBLISH packets carrying ``count`` envelopes, ``batch`` per packet.

        ``batch`` > 1 is what the real hub's sender does with a backlog: envelopes of
        one kind share a packet, one per line.
        """
        out = []
        topic = mqtt_str(self.topic)
        for first in range(0, count, batch):
            ids, lines = [], []
            for seq in range(first, min(first + batch, count)):
                msg_id = ulid()
                now = time.time()
                ids.append(msg_id)
                lines.append(
                    envelope(
                        msg_id,
                        STATION,
                        self.hub_id,
                        "event",
                        now,
                        {
                            "type": "camera_motion",
                            "data": {"entity_id": "camera.gate", "seq": seq},
                            "time": now,
                        },
                    )
                )
            self._pid = self._pid % 65535 + 1
            out.append((ids, packet(0x32, topic + struct.pack("!H", self._pid) + b"\n".join(lines))))
        return out

    def send(self, packet: bytes) -> None:
        assert self.transport is not None
        self.transport.write(packet)


async def connect_fleet(broker: Mosquitto, hubs: list[str]) -> list[SimHub]:
    loop = asyncio.get_running_loop()
    sims: list[SimHub] = []
    limit = asyncio.Semaphore(100)

    async def one(hub_id: str) -> None:
        async with limit:
            _, sim = await loop.create_connection(lambda: SimHub(hub_id), broker.host, broker.port)
            await asyncio.wait_for(sim.ready, 30)
            sims.append(sim)

    await asyncio.gather(*(one(h) for h in hubs))
    return sims


async def ingest(
    sims: list[SimHub],
    per_hub: int,
    rate: float | None = None,
    batch: int = 1,
    on_published: Any = None,
) -> dict[str, float]:
    """Every sim publishes ``per_hub`` events (paced at ``rate``/s if given); return the acked rate."""
    batches = [sim.packets(per_hub, batch) for sim in sims]
    for sim in sims:
        sim.done.clear()
        sim.waiting = len(sim.acked) + per_hub
    total = per_hub * len(sims)
    loop = asyncio.get_running_loop()
    t0 = start = loop.time()
    for seq in range(len(batches[0])):
        for sim, packets in zip(sims, batches, strict=True):
            sim.send(packets[seq][1])
        if rate:
            await asyncio.sleep(max(0.0, start + (seq + 1) * batch * len(sims) / rate - loop.time()))
        else:
            await asyncio.sleep(0)
    published = loop.time() - t0
    if on_published is not None:
        on_published()
    await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in sims)), timeout=900)
    elapsed = loop.time() - t0
    missing = sum(
        1
        for sim, packets in zip(sims, batches, strict=True)
        for ids, _ in packets
        for i in ids
        if i not in sim.acked
    )
    return {
        "events": total,
        "seconds": elapsed,
        "rate": total / elapsed,
        "publish_s": published,
        "missing": missing,
    }


# -- the other processes -------------------------------------------------------------------


def write_broker_files(folder: Path, hubs: list[str]) -> tuple[Path, Path]:
    passwd, acl = folder / "passwd", folder / "acl"
    hashed = hash_password(PASSWORD)  # the station's real PBKDF2 rounds: mosquitto pays them per login
    write_passwd(passwd, {u: hashed for u in [STATION_USER, *hubs]})
    acl.write_text(acl_text(STATION, STATION_USER, hubs), encoding="utf-8")
    return passwd, acl


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0"}


def write_station_config(folder: Path, broker: Mosquitto, hubs: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""\
        hub: {{id: bench-ccoc, name: Bench CCOC, timezone: Asia/Bangkok, data_dir: ./data,
              web: {{host: 127.0.0.1, port: 0}}}}
        station:
          id: {STATION}
          broker: {broker.url}
          username: {STATION_USER}
          password: {PASSWORD}
          reconnect_min: 0.1
          reconnect_max: 1
          expected_hubs: {len(hubs)}
        """),
        encoding="utf-8",
    )


def spawn_station(folder: Path) -> subprocess.Popen[bytes]:
    log = (folder / "station.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml"],
        cwd=folder,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def start_station(folder: Path, broker: Mosquitto, hubs: list[str]) -> subprocess.Popen[bytes]:
    from integrations.station.store_sqlite import SqliteStationStore

    await asyncio.to_thread(write_station_config, folder, broker, hubs)
    # Registered as `safetyhub station add-hub` does, before the station starts.
    store = SqliteStationStore(folder / "data" / "station.db")
    await store.open()
    for hub_id in hubs:
        await store.register_hub(hub_id, hub_id, time.time())
    await store.close()
    return await asyncio.to_thread(spawn_station, folder)


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system, all threads) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stored(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


async def wait_station(station: subprocess.Popen[bytes], sims: list[SimHub]) -> None:
    """Wait until the station is subscribed: a probe comes back acknowledged."""
    probe = sims[0]
    for _ in range(600):
        if station.poll() is not None:
            raise SystemExit("the station process exited; see its log")
        ((ids, packet),) = probe.packets(1)
        probe.send(packet)
        await asyncio.sleep(0.1)
        if ids[0] in probe.acked:
            return
    raise SystemExit("the station never acknowledged a probe; see its log")


def hub_command(work: Path, broker: Mosquitto, db: Path, args: argparse.Namespace, phase: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.federation",
        "--role",
        "hub",
        "--phase",
        phase,
        "--broker",
        broker.url,
        "--workdir",
        str(work / "hub"),
        "--db",
        str(db),
        "--sos",
        str(args.sos),
        "--outbox-events",
        str(args.outbox_events),
        "--window",
        str(args.window),
        "--backlog",
        str(args.backlog),
        "--trials",
        str(args.trials),
        "--outbox-trials",
        str(args.outbox_trials),
    ]


async def run_hub_phase(work: Path, broker: Mosquitto, db: Path, args: argparse.Namespace, phase: str) -> Any:
    cmd = hub_command(work, broker, db, args, phase)
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=REPO, env=_env(), stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"hub phase {phase} failed ({proc.returncode}); see {work / 'hub'}")
    return json.loads(out.decode().strip().splitlines()[-1])


# -- the real hub (child process) -----------------------------------------------------------


def write_hub_config(args: argparse.Namespace) -> Path:
    folder = Path(args.workdir)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        hub: {{id: bench-hub, name: Bench hub, zone: bench, timezone: Asia/Bangkok, data_dir: ./data,
              location: {{lat: 14.59, lon: 100.45}}}}
        federation:
          station: {STATION}
          broker: {args.broker}
          username: bench-hub
          password: {PASSWORD}
          window: {args.window}
          health_interval: 3600
          registry_interval: 86400
        """),
        encoding="utf-8",
    )
    return config


async def hub_role(args: argparse.Namespace) -> None:
    from hub.hub import Hub
    from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME

    config = await asyncio.to_thread(write_hub_config, args)
    hub = Hub(config, web=False)
    await hub.start()
    result: dict[str, Any] = {}
    try:
        fed = hub.data[FEDERATION_RUNTIME]
        if not await fed.link.wait_connected(30) or not await fed.outbox.wait_empty(30):
            raise SystemExit("the hub could not reach the station")
        if args.phase == "backlog":
            result.update(await backlog_trials(hub, Path(args.db), args))
        else:
            if "outbox" in args.phase:
                result["outbox"] = await outbox_throughput(hub, args.outbox_events)
            result["sos"] = await sos_latency(hub, Path(args.db), args.sos, 0.02)
    finally:
        await hub.stop()
    print(json.dumps(result))


async def outbox_throughput(hub: Any, count: int) -> dict[str, float]:
    from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME

    fed = hub.data[FEDERATION_RUNTIME]
    t0 = time.monotonic()
    chunk = 500
    for start in range(0, count, chunk):
        await asyncio.gather(
            *(
                fed.send_event("camera_motion", {"entity_id": "camera.gate", "n": n})
                for n in range(start, min(start + chunk, count))
            )
        )
    committed = time.monotonic() - t0
    if not await fed.outbox.wait_empty(600):
        raise SystemExit(f"outbox did not drain: {fed.status()}")
    elapsed = time.monotonic() - t0
    return {
        "events": count,
        "commit_rate": count / committed,
        "e2e_rate": count / elapsed,
        "seconds": elapsed,
    }


def time_acks(hub: Any) -> dict[str, float]:
    """Note when each outbox id is acknowledged at the hub (returned dict fills as acks arrive)."""
    from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME

    fed = hub.data[FEDERATION_RUNTIME]
    acked_at: dict[str, float] = {}
    original_ack = fed.outbox.ack

    async def timed_ack(ids: Any) -> int:
        now = time.time()
        ids = list(ids)
        for msg_id in ids:
            acked_at.setdefault(msg_id, now)
        return int(await original_ack(ids))

    fed.outbox.ack = timed_ack
    return acked_at


async def open_sos(hub: Any) -> str:
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

    result = await hub.data[INCIDENT_RUNTIME].open("sos", title="bench SOS")
    # incident.open returns the incident (or, in older code, its id).
    return str(getattr(result, "id", result))


async def backlog_trials(hub: Any, db: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The first SOS behind a backlog: at the station (the parent dumps it) and in this hub's outbox."""
    from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME

    fed = hub.data[FEDERATION_RUNTIME]
    acked_at = time_acks(hub)
    station_opened: dict[str, float] = {}
    for _ in range(args.trials):
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # the parent has just dumped its backlog
        t0 = time.time()
        station_opened[await open_sos(hub)] = t0
        if not await fed.outbox.wait_empty(120):
            raise SystemExit(f"the SOS was not acknowledged: {fed.status()}")
    print("done", flush=True)
    outbox_opened: dict[str, float] = {}
    for _ in range(args.outbox_trials):
        chunk = 1000
        for start in range(0, args.backlog, chunk):
            await asyncio.gather(
                *(
                    fed.send_event("camera_motion", {"entity_id": "camera.gate", "n": n})
                    for n in range(start, min(start + chunk, args.backlog))
                )
            )
        t0 = time.time()
        outbox_opened[await open_sos(hub)] = t0
        if not await fed.outbox.wait_empty(600):
            raise SystemExit(f"outbox did not drain: {fed.status()}")
    return {
        "station_backlog": sos_figures(db, station_opened, acked_at),
        "outbox_backlog": sos_figures(db, outbox_opened, acked_at),
    }


async def sos_latency(hub: Any, db: Path, count: int, gap: float) -> dict[str, float]:
    from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME

    fed = hub.data[FEDERATION_RUNTIME]
    acked_at = time_acks(hub)
    opened: dict[str, float] = {}
    for _ in range(count):
        t0 = time.time()
        opened[await open_sos(hub)] = t0
        await asyncio.sleep(gap)
    await fed.outbox.wait_empty(60)
    return sos_figures(db, opened, acked_at)


def sos_figures(db: Path, opened: dict[str, float], acked_at: dict[str, float]) -> dict[str, float]:
    """Return received-at-station and acknowledged-back latencies (ms) of the SOS incidents in ``opened``."""
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
        rows = conn.execute(
            "SELECT id, incident_id, received_at FROM messages WHERE kind = 'incident' "
            "AND type = 'opened' AND hub_id = 'bench-hub'"
        ).fetchall()
    to_station = [(received - opened[inc]) * 1000 for _, inc, received in rows if inc in opened]
    to_ack = [
        (acked_at[msg] - opened[inc]) * 1000 for msg, inc, _ in rows if inc in opened and msg in acked_at
    ]
    # Where the time goes: from the station's on_message to the ack back at the hub (the
    # station's store, its ack, the broker and the hub's loop), the rest is hub → station.
    back = [
        (acked_at[msg] - received) * 1000 for msg, inc, received in rows if inc in opened and msg in acked_at
    ]
    return {
        "back_p50": statistics.median(back),
        "back_p99": pct(back, 0.99),
        "n": len(to_ack),
        "recv_p50": statistics.median(to_station),
        "recv_p99": pct(to_station, 0.99),
        "ack_p50": statistics.median(to_ack),
        "ack_p99": pct(to_ack, 0.99),
        "ack_max": max(to_ack),
        "ack_all": to_ack,
    }


# -- orchestration ----------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    work = Path(tempfile.mkdtemp(prefix="fedbench-"))
    hubs = [f"hub-{i:04d}" for i in range(args.hubs)]
    passwd, acl = write_broker_files(work, [*hubs, "bench-hub"])
    broker = Mosquitto(
        work / "broker",
        binary=binary,
        password_file=passwd,
        acl_file=acl,
        persistence=False,
        extra_conf="max_inflight_messages 1000\nset_tcp_nodelay true",
    )
    broker.start()
    station = await start_station(work / "station", broker, [*hubs, "bench-hub"])
    db = work / "station" / "data" / "station.db"
    results: dict[str, Any] = {}
    try:
        t0 = time.monotonic()
        sims = await connect_fleet(broker, hubs)
        results["connect"] = time.monotonic() - t0
        await wait_station(station, sims)
        await ingest(sims, 2)  # warm-up: station caches, SQLite pages
        assert broker._proc is not None
        for mode, batch in (("single", 1), ("batched", args.batch)):
            cpu0, broker0 = cpu_seconds(station.pid), cpu_seconds(broker._proc.pid)
            results[mode] = ing = await ingest(sims, args.events_per_hub, batch=batch)
            ing["station_cpu_us"] = (cpu_seconds(station.pid) - cpu0) / ing["events"] * 1e6
            ing["broker_cpu_us"] = (cpu_seconds(broker._proc.pid) - broker0) / ing["events"] * 1e6
        results["stored_rows"] = stored(db)
        idle = await run_hub_phase(work, broker, db, args, "outbox+sos")
        results["outbox"], results["sos_idle"] = idle["outbox"], idle["sos"]
        # SOS again while the thousand hubs keep the station at half its (unbatched) capacity.
        pace = results["single"]["rate"] / 2
        seconds = 6 + args.sos * 0.03
        load = asyncio.create_task(ingest(sims, max(2, int(pace * seconds / len(sims))), rate=pace))
        results["sos_loaded"] = (await run_hub_phase(work, broker, db, args, "sos"))["sos"]
        results["background"] = await load
        results.update(await backlog_phase(work, broker, db, args, sims))
        for sim in sims:
            if sim.transport is not None:
                sim.transport.close()
    finally:
        station.send_signal(signal.SIGTERM)
        try:
            station.wait(30)
        except subprocess.TimeoutExpired:
            station.kill()
        broker.stop()
    report(args, results, work)


async def backlog_phase(
    work: Path, broker: Mosquitto, db: Path, args: argparse.Namespace, sims: list[SimHub]
) -> dict[str, Any]:
    """Run the hub's backlog phase; before each of its SOS, dump ``args.backlog`` events on the station."""
    cmd = hub_command(work, broker, db, args, "backlog")
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=REPO, env=_env(), stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdin is not None
    per_hub = max(1, args.backlog // len(sims))
    drains: list[float] = []
    while (line := (await proc.stdout.readline()).strip()) != b"done":
        if not line and proc.stdout.at_eof():
            raise SystemExit(f"hub phase backlog ended early; see {work / 'hub'}")
        if line != b"ready":
            continue  # not ours (a stray print)
        published = asyncio.get_running_loop().create_future()
        dump = asyncio.create_task(
            ingest(sims, per_hub, batch=args.batch, on_published=lambda fut=published: fut.set_result(None))
        )
        await published
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        drains.append((await dump)["seconds"])
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"hub phase backlog failed ({proc.returncode}); see {work / 'hub'}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result["station_backlog"]["drain_s"] = statistics.median(drains)
    return result


def report(args: argparse.Namespace, r: dict[str, Any], work: Path) -> None:
    box = r["outbox"]
    print(f"\nFederation bench: {args.hubs} hubs → 1 Mosquitto → 1 station process   ({work})")
    print(f"  connect {args.hubs} hubs (PBKDF2 logins, ACL)   {r['connect']:.1f} s")
    for mode, label in (
        ("single", "1 event per MQTT message"),
        ("batched", f"backlogs, {args.batch} per message"),
    ):
        ing = r[mode]
        print(
            f"  station ingest, {label:<28} {ing['rate']:>8,.0f} events/s stored + acknowledged "
            f"({ing['events']:,} in {ing['seconds']:.2f} s, missing {ing['missing']}; target ≥ 20,000/s)"
        )
        print(
            f"      station CPU {ing['station_cpu_us']:.0f} µs/event (= {1e6 / ing['station_cpu_us']:,.0f}/s "
            f"per core), Mosquitto {ing['broker_cpu_us']:.0f} µs/event"
        )
    print(f"  station rows                              {r['stored_rows']:,}")
    print(f"  hub outbox: commit                        {box['commit_rate']:,.0f} events/s")
    print(
        f"  hub outbox: until all acknowledged        {box['e2e_rate']:,.0f} events/s   "
        f"({box['events']:,} events, window {args.window})"
    )
    for key, label in (("sos_idle", "idle station"), ("sos_loaded", "station at half load")):
        s = r[key]
        print(
            f"  SOS → station, {label:<20} received p50 {s['recv_p50']:.1f} ms p99 {s['recv_p99']:.1f} ms; "
            f"DB row + ack back p50 {s['ack_p50']:.1f} ms p99 {s['ack_p99']:.1f} ms "
            f"(n={s['n']}; target p99 ≤ {25 if key == 'sos_idle' else 50}); "
            f"of which arrival → ack back p50 {s['back_p50']:.1f} ms p99 {s['back_p99']:.1f} ms"
        )
    bg = r["background"]
    print(f"  background load during the loaded run     {bg['events'] / bg['seconds']:,.0f} events/s")
    for key, label in (
        ("station_backlog", f"first SOS behind {args.backlog:,} events dumped on the station"),
        ("outbox_backlog", f"first SOS behind {args.backlog:,} events in the hub's outbox"),
    ):
        s = r[key]
        print(
            f"  {label}: ack p50 {s['ack_p50']:.1f} ms p99 {s['ack_p99']:.1f} ms max {s['ack_max']:.1f} ms "
            f"(n={s['n']}; target p99 ≤ 50); received p50 {s['recv_p50']:.1f} ms p99 {s['recv_p99']:.1f} ms; "
            f"arrival → ack back p50 {s['back_p50']:.1f} ms p99 {s['back_p99']:.1f} ms"
        )
    print(f"  station backlog drained in               {r['station_backlog']['drain_s']:.2f} s (median)")
    print("JSON " + json.dumps({k: v for k, v in r.items()}, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="CI-sized run")
    parser.add_argument("--hubs", type=int, default=1000)
    parser.add_argument("--events-per-hub", type=int, default=None)
    parser.add_argument("--outbox-events", type=int, default=None)
    parser.add_argument("--sos", type=int, default=None, help="SOS incidents per latency run")
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=100_000, help="events queued ahead of an SOS")
    parser.add_argument("--trials", type=int, default=None, help="SOS behind a station backlog")
    parser.add_argument("--outbox-trials", type=int, default=None, help="SOS behind a hub outbox backlog")
    parser.add_argument(
        "--batch", type=int, default=100, help="envelopes per MQTT message in the batched run"
    )
    # Internal: the real hub's child process.
    parser.add_argument("--role", choices=("bench", "hub"), default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--phase", default="outbox+sos", help=argparse.SUPPRESS)
    parser.add_argument("--broker", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.events_per_hub = args.events_per_hub or (20 if args.quick else 100)
    args.outbox_events = args.outbox_events or (10_000 if args.quick else 50_000)
    args.sos = args.sos or (100 if args.quick else 500)
    args.trials = args.trials or (10 if args.quick else 20)
    args.outbox_trials = args.outbox_trials or (2 if args.quick else 3)
    asyncio.run(hub_role(args) if args.role == "hub" else run(args))


if __name__ == "__main__":
    main()
