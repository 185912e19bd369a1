"""Region bench: 1,500 simulated stations send a month of summaries to a region.

    python bench/region.py            # 1,500 stations
    python bench/region.py --quick    # 150 stations, a smoke check

Each station logs in to a real Mosquitto with its own account (the region's
passwd and ACL, written by the code ``safetyhub region add-station`` runs) and
publishes what its region link would send after a month away, batched one
kind per MQTT message as the real sender does: ``--incidents`` incident
summaries, six months of monthly reports (``--updates`` versions of each, the
newest wins), one health report.  The region is a real ``safetyhub`` process
(``region:`` block); the stations are one load-generator process speaking
MQTT 3.1.1 over raw sockets (a load tool only).

Measured:

* ingest: first publish → every message stored *and* acknowledged back to its
  station; messages/s and the region's CPU per message;
* the ranking page (``/region``: 1,500 stations, every criterion, six months of
  trend) rendered by the region: server time, and a real Chromium at 390 px
  (navigation → load) when Debian's chromium is installed (goal ≤ 1 s);
* the committee's CSV and PDF of the same month.

Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
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

from bench.mqtt_wire import connect_packet, frames, mqtt_str, packet, subscribe_packet  # noqa: E402
from bench.runner import Result  # noqa: E402
from hub.core.ids import ulid  # noqa: E402
from integrations.federation.protocol import envelope  # noqa: E402
from integrations.mqtt.testing import Mosquitto, find_mosquitto  # noqa: E402
from integrations.region.cli import REGION_TIER  # noqa: E402
from integrations.region.const import REGION_ROOT  # noqa: E402
from integrations.station.broker import acl_text, hash_password, write_passwd  # noqa: E402

REGION = "bench-region"
REGION_USER = "region"
PASSWORD = "bench-password-123"
#: The month the ranking is read for, and the five before it (the trend).
MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
MONTH = MONTHS[-1]
CHROMIUM = "/usr/bin/chromium"


# -- what one station sends after a month --------------------------------------------------------


def station_messages(
    station: str, rng: random.Random, incidents: int, updates: int
) -> list[tuple[str, list[bytes]]]:
    """Return (kind, envelopes) groups: what the region link would send, one kind per group."""
    now = time.time()
    start = now - 30 * 86400
    inc: list[bytes] = []
    speed = rng.uniform(30, 900)  # this station's typical seconds to acknowledge an SOS
    for i in range(incidents):
        opened = start + i * (30 * 86400 / incidents)
        sos = rng.random() < 0.4
        ack = rng.expovariate(1 / speed) if rng.random() < 0.95 else None
        body: dict[str, Any] = {
            "id": f"inc-{i}",
            "hub": f"{station}-h{i % 8}",
            "kind": "sos" if sos else rng.choice(("tip", "fire", "medical", "traffic")),
            "zone": f"{station}-z{i % 3}",
            "status": "closed" if ack is not None else "open",
            "opened_at": opened,
            "acknowledged_at": opened + ack if ack is not None else None,
            "closed_at": opened + (ack or 0) + 600 if ack is not None else None,
            "ack_seconds": ack,
            "drill": False,
        }
        inc.append(envelope(ulid(), REGION, station, "incident", opened, body))
    monthly: list[bytes] = []
    for m_index, month in enumerate(MONTHS):
        for u in range(updates):
            kpis = {
                "sos_ack_p90": round(speed * rng.uniform(0.8, 1.6), 1),
                "sos_ack_p50": round(speed * rng.uniform(0.3, 0.7), 1),
                "sos_count": rng.randint(5, 60),
                "incidents_total": incidents,
                "poll_trust_police": round(rng.uniform(2.5, 4.8), 2),
                "poll_fear_of_crime": round(rng.uniform(1.5, 4.0), 2),
                "poll_responses": rng.randint(0, 400),
                "patrol_coverage": round(rng.uniform(20, 100), 1),
                "cameras_linked": rng.randint(0, 80),
                "big6_meeting_held": float(rng.random() < 0.8),
                "big6_resolutions_done": round(rng.uniform(0, 100), 1),
            }
            body = {
                "month": month,
                "kpis": kpis,
                "hubs": 8,
                "hubs_online_share": round(rng.uniform(0.7, 1.0), 3),
                "cameras_by_policy": {"always": 5, "on_alarm": 10, "registry": 3},
                "incidents_by_kind": {"sos": 20, "tip": 30},
                "incidents_by_zone": {f"{station}-z0": 25, f"{station}-z1": 25},
                "patrols": {"coverage": kpis["patrol_coverage"], "patrols": 90, "checkins": 700},
                "poll": {
                    "responses": kpis["poll_responses"],
                    "questions": {"trust_police": kpis["poll_trust_police"]},
                },
                "big6": {"meetings": 1, "sectors_present": 5, "resolutions": 4, "resolutions_done": 3},
            }
            ts = start + m_index * 86400 + u * 3600
            monthly.append(envelope(ulid(), REGION, station, "monthly", ts, body))
    health = [envelope(ulid(), REGION, station, "health", now, {"status": "online", "version": "bench"})]
    return [("incident", inc), ("monthly", monthly), ("health", health)]


# -- the load generator (a child process) --------------------------------------------------------


class SimStation(asyncio.Protocol):
    """One station: logs in with its own account, publishes QoS 1, counts the region's acks."""

    def __init__(self, station: str, expected: int, done: asyncio.Event, counter: list[int]) -> None:
        self.station = station
        self.expected = expected
        self.acked = 0
        self.done = done
        self.counter = counter
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(connect_packet(f"sim-{self.station}", self.station, PASSWORD, keepalive=600))
        transport.write(subscribe_packet(f"{REGION_ROOT}/{REGION}/{self.station}/ack"))

    def data_received(self, data: bytes) -> None:
        self._buf += data
        for kind, body in frames(self._buf):
            if kind == 2 and body[1] != 0 and not self.ready.done():
                self.ready.set_exception(RuntimeError(f"{self.station}: CONNACK {body[1]}"))
            elif kind == 9 and not self.ready.done():
                self.ready.set_result(None)
            elif kind == 3:
                tlen = struct.unpack("!H", body[:2])[0]
                doc = json.loads(body[2 + tlen :])
                got = len(doc["ids"]) + len(doc["rejected"])
                self.acked += got
                self.counter[0] += got
                if self.acked >= self.expected:
                    self.done.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"{self.station}: connection lost: {exc}"))


async def _generate(
    host: str, port: int, stations: list[str], incidents: int, updates: int, batch: int
) -> dict[str, Any]:
    rng = random.Random(17)
    loop = asyncio.get_running_loop()
    plan: dict[str, list[bytes]] = {}
    total = 0
    for station in stations:
        packets = []
        topic_of = {
            k: mqtt_str(f"{REGION_ROOT}/{REGION}/{station}/{k}") for k in ("incident", "monthly", "health")
        }
        pid = 0
        for kind, lines in station_messages(station, rng, incidents, updates):
            for first in range(0, len(lines), batch):
                pid += 1
                chunk = lines[first : first + batch]
                packets.append(packet(0x32, topic_of[kind] + struct.pack("!H", pid) + b"\n".join(chunk)))
                total += len(chunk)
        plan[station] = packets
    counter = [0]
    sims: list[SimStation] = []
    limit = asyncio.Semaphore(100)
    t_connect = time.monotonic()

    async def one(station: str) -> None:
        async with limit:
            expected = total // len(stations)
            sim = SimStation(station, expected, asyncio.Event(), counter)
            await loop.create_connection(lambda: sim, host, port)
            await asyncio.wait_for(sim.ready, 60)
            sims.append(sim)

    await asyncio.gather(*(one(s) for s in stations))
    connect_s = time.monotonic() - t_connect
    t0 = time.monotonic()
    rounds = max(len(p) for p in plan.values())
    for r in range(rounds):
        for sim in sims:
            packets = plan[sim.station]
            if r < len(packets):
                assert sim.transport is not None
                sim.transport.write(packets[r])
        await asyncio.sleep(0)
    published = time.monotonic() - t0
    await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in sims)), timeout=1800)
    elapsed = time.monotonic() - t0
    for sim in sims:
        if sim.transport is not None:
            sim.transport.close()
    return {
        "messages": total,
        "acked": counter[0],
        "seconds": elapsed,
        "publish_s": published,
        "connect_s": connect_s,
        "t0": t0,
    }


def generator_main(args: argparse.Namespace) -> None:
    stations = [f"st-{i:04d}" for i in range(args.stations)]
    out = asyncio.run(_generate(args.host, args.port, stations, args.incidents, args.updates, args.batch))
    print("JSON " + json.dumps(out), flush=True)


# -- the region process and the measurements -----------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SAFETYHUB_ENTRYPOINTS": "0"}


async def _start_region(
    work: Path, broker: Mosquitto, stations: list[str], web_port: int
) -> subprocess.Popen[bytes]:
    from integrations.region.store import RegionStore

    (work / "config.yaml").write_text(
        textwrap.dedent(f"""\
        hub: {{id: bench-region-centre, name: Bench region, timezone: Asia/Bangkok, data_dir: ./data,
              web: {{host: 127.0.0.1, port: {web_port}}}}}
        region:
          id: {REGION}
          name: ภาคทดสอบ
          broker: {broker.url}
          username: {REGION_USER}
          password: {PASSWORD}
          reconnect_min: 0.1
          reconnect_max: 1
          silent_after: 100000
          expected_stations: {len(stations)}
        """),
        encoding="utf-8",
    )
    store = RegionStore(work / "data" / "region.db")
    await store.open()
    for station in stations:
        await store.register_station(station, f"สถานีตำรวจภูธร {station}", time.time())
    await store.close()
    return await asyncio.to_thread(_spawn_region, work)


def _spawn_region(work: Path) -> subprocess.Popen[bytes]:
    log = (work / "region.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml"],
        cwd=work,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def _token(work: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        "user",
        "add",
        "bench",
        "--role",
        "viewer",
        "-c",
        "config.yaml",
        cwd=work,
        env=_env(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await proc.communicate(b"bench-password-123\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        "token",
        "create",
        "bench",
        "-c",
        "config.yaml",
        cwd=work,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return out.decode().strip().splitlines()[-1].split()[-1]


async def _wait_http(url: str, within: float = 60) -> None:
    import aiohttp

    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url + "/api/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the region did not start; see region.log")


async def _pages(url: str, token: str, repeats: int) -> dict[str, Any]:
    import aiohttp

    out: dict[str, Any] = {"page_ms": [], "api_ms": [], "csv_ms": [], "pdf_ms": []}
    async with aiohttp.ClientSession(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=aiohttp.ClientTimeout(total=300)
    ) as http:
        for key, path in (
            ("page_ms", "/region"),
            ("api_ms", "/api/region/ranking"),
            ("csv_ms", "/region/ranking.csv"),
        ):
            for _ in range(repeats):
                t = time.perf_counter()
                async with http.get(f"{path}?month={MONTH}") as resp:
                    body = await resp.read()
                    assert resp.status == 200, (path, resp.status, body[:200])
                out[key].append((time.perf_counter() - t) * 1000)
            out[key.replace("_ms", "_bytes")] = len(body)
        t = time.perf_counter()
        async with http.get(f"/region/ranking.pdf?month={MONTH}") as resp:
            body = await resp.read()
            out["pdf_status"] = resp.status
        out["pdf_ms"].append((time.perf_counter() - t) * 1000)
        out["pdf_bytes"] = len(body)
        async with http.get(f"/api/region/ranking?month={MONTH}") as resp:
            ranking = await resp.json()
        out["rows"] = len(ranking["rows"])
        out["top"] = ranking["rows"][0]["station_id"], ranking["rows"][0]["score"]
    return out


async def _chromium(url: str, repeats: int) -> list[float] | None:
    if not shutil.which(CHROMIUM):
        return None
    from playwright.async_api import async_playwright

    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    times: list[float] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
            page = await context.new_page()
            await page.goto(url + f"/login?next=/region?month={MONTH}")
            await page.locator("#login-form [name=username]").fill("bench")
            await page.locator("#login-form [name=password]").fill("bench-password-123")
            await page.locator("#login-form [type=submit]").click()
            await page.locator("#region-ranking").wait_for(timeout=60_000)
            for _ in range(repeats):
                t = time.perf_counter()
                await page.goto(url + f"/region?month={MONTH}", wait_until="load", timeout=120_000)
                times.append((time.perf_counter() - t) * 1000)
        finally:
            await browser.close()
    return times


async def run(args: argparse.Namespace) -> dict[str, Any]:
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    stations = [f"st-{i:04d}" for i in range(args.stations)]
    work = Path(tempfile.mkdtemp(prefix="bench-region-"))
    passwd, acl = work / "passwd", work / "acl"
    hashed = hash_password(PASSWORD)
    write_passwd(passwd, {u: hashed for u in [REGION_USER, *stations]})
    acl.write_text(acl_text(REGION, REGION_USER, stations, REGION_TIER), encoding="utf-8")
    broker = Mosquitto(work / "broker", binary=binary, password_file=passwd, acl_file=acl)
    broker.start()
    from integrations.mqtt.testing import free_port

    web_port = free_port()
    region = await _start_region(work, broker, stations, web_port)
    url = f"http://127.0.0.1:{web_port}"
    try:
        await _wait_http(url)
        await asyncio.sleep(1.0)  # subscribed
        cpu0 = cpu_seconds(region.pid)
        broker_cpu0 = cpu_seconds(broker._proc.pid) if broker._proc else 0.0
        gen = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__)),
            "--role",
            "generator",
            "--host",
            broker.host,
            "--port",
            str(broker.port),
            "--stations",
            str(args.stations),
            "--incidents",
            str(args.incidents),
            "--updates",
            str(args.updates),
            "--batch",
            str(args.batch),
            stdout=asyncio.subprocess.PIPE,
            env=_env(),
        )
        out, _ = await gen.communicate()
        line = next(x for x in out.decode().splitlines() if x.startswith("JSON "))
        ingest = json.loads(line[5:])
        ingest["region_cpu_s"] = cpu_seconds(region.pid) - cpu0
        ingest["broker_cpu_s"] = (cpu_seconds(broker._proc.pid) - broker_cpu0) if broker._proc else 0.0
        token = await _token(work)
        pages = await _pages(url, token, args.repeats)
        chromium = await _chromium(url, args.repeats)
        db = work / "data" / "region.db"
        import sqlite3

        with sqlite3.connect(db) as conn:
            rows = {
                t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("messages", "incidents", "monthly")
            }
        size = db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob("region.db-*"))
        return {
            "stations": args.stations,
            "ingest": ingest,
            "pages": pages,
            "chromium_ms": chromium,
            "rows": rows,
            "db_bytes": size,
            "work": str(work),
        }
    finally:
        region.terminate()
        try:
            region.wait(timeout=30)
        except subprocess.TimeoutExpired:
            region.kill()
        broker.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def report(r: dict[str, Any]) -> None:
    ing, pages = r["ingest"], r["pages"]
    n = ing["messages"]
    print(f"\nRegion bench: {r['stations']:,} stations → 1 Mosquitto → 1 region process")
    print(f"  connect {r['stations']:,} stations (PBKDF2 logins, ACL)   {ing['connect_s']:.1f} s")
    print(f"  a month of summaries: {n:,} messages ({n // r['stations']} per station)")
    print(
        f"  ingest, stored + acknowledged            {ing['seconds']:.1f} s = {n / ing['seconds']:,.0f} messages/s (published in {ing['publish_s']:.1f} s)"
    )
    print(
        f"      region CPU {ing['region_cpu_s'] / n * 1e6:.0f} µs/message, Mosquitto {ing['broker_cpu_s'] / n * 1e6:.0f} µs/message"
    )
    print(f"  rows: {r['rows']}, database {r['db_bytes'] / 1e6:.1f} MB")
    med = statistics.median
    cold, warm = pages["page_ms"][0], pages["page_ms"][1:]
    print(
        f"  ranking page /region ({pages['rows']:,} stations, {pages['page_bytes'] / 1e6:.2f} MB HTML): "
        f"server {cold:.0f} ms cold (scores computed), {med(warm):.0f} ms warm (scores reused) (target ≤ 1,000)"
    )
    print(f"  machine load average at the end            {os.getloadavg()[0]:.1f}")

    if r["chromium_ms"]:
        print(f"      in Chromium at 390 px, navigation → load: {med(r['chromium_ms']):.0f} ms median")
    print(f"  /api/region/ranking JSON                 {med(pages['api_ms']):.0f} ms median")
    print(
        f"  CSV export                               {med(pages['csv_ms']):.0f} ms median ({pages['csv_bytes'] / 1e3:.0f} kB)"
    )
    print(
        f"  PDF export                               {pages['pdf_ms'][0]:.0f} ms ({pages['pdf_bytes'] / 1e3:.0f} kB, status {pages['pdf_status']})"
    )
    print("JSON " + json.dumps(r, default=str))


def collect(quick: bool) -> list[Result]:
    """Return the figures for ``python -m bench``."""
    args = argparse.Namespace(
        stations=150 if quick else 1500, incidents=100, updates=5, batch=100, repeats=3, keep=False
    )
    r = asyncio.run(run(args))
    ing, pages = r["ingest"], r["pages"]
    n = ing["messages"]
    out = [
        Result(f"ingest, {r['stations']} stations' month", "s", [ing["seconds"]], note=f"{n:,} messages"),
        Result("ingest rate, stored + acknowledged", "messages/s", [n / ing["seconds"]], better="higher"),
        Result("region CPU per message", "µs", [ing["region_cpu_s"] / n * 1e6]),
        Result(f"ranking page, {r['stations']} stations (server)", "ms", pages["page_ms"], target="≤ 1000"),
        Result("ranking CSV export", "ms", pages["csv_ms"]),
        Result("ranking PDF export", "ms", pages["pdf_ms"]),
    ]
    if r["chromium_ms"]:
        out.append(Result("ranking page in Chromium, 390 px", "ms", r["chromium_ms"], target="≤ 1000"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="150 stations")
    parser.add_argument("--stations", type=int, default=None)
    parser.add_argument("--incidents", type=int, default=100, help="incident summaries per station")
    parser.add_argument("--updates", type=int, default=5, help="versions of each monthly report")
    parser.add_argument(
        "--batch", type=int, default=100, help="envelopes per MQTT message (the link's batch)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--role", choices=("bench", "generator"), default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.stations = args.stations or (150 if args.quick else 1500)
    if args.role == "generator":
        generator_main(args)
        return
    report(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
