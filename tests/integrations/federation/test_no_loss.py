"""No loss: 10,000 events while the hub process is SIGKILLed three times and the broker restarts once.

The hub runs as a real ``safetyhub run`` subprocess so the kills are real:
no shutdown hook runs, in-flight messages are unacknowledged, the broker
publishes the hub's last will.  A driver sends the events through the hub's
REST API (``federation.send_batch``, 20 to a call), each with its own
message id so a call cut off by a kill can be repeated without making a
second event.  At the end
the station must hold every event exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.auth import Auth
from hub.core.ids import ulid
from hub.storage import Storage
from integrations.federation.testing import FederationLab, register_hubs, station_config, until
from integrations.mqtt.testing import free_port
from integrations.station.const import EVENT_HUB_OFFLINE
from integrations.station.const import RUNTIME as STATION_RUNTIME

REPO = Path(__file__).resolve().parents[3]
EVENTS = 10_000
BATCH = 20
WORKERS = 16
#: (events done, what happens): three SIGKILLs of the hub and one broker restart.
CHAOS = ((1_500, "kill"), (3_500, "broker"), (5_500, "kill"), (7_500, "kill"))

pytestmark = pytest.mark.slow


class HubProcess:
    """``safetyhub run`` in a subprocess, killed and restarted on demand."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "hub.log"
        self.starts = 0

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml"],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        self.starts += 1

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    async def ready(self, session: aiohttp.ClientSession) -> None:
        async def up() -> bool:
            try:
                async with session.get(f"{self.url}/api/health") as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await until(up, within=30, interval=0.05)


async def make_token(data_dir: Path) -> str:
    storage = Storage(data_dir / "safetyhub.db")
    await storage.open()
    try:
        auth = Auth(storage)
        user = await auth.add_user("loadgen", "correct horse battery", "operator")
        token: str = await auth.create_token(user, "no-loss test")
        return token
    finally:
        await storage.close()


async def test_ten_thousand_events_survive_kills_and_a_broker_restart(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    lab = federation_lab
    station = await make_hub(lab.station_block(), base=station_config(), folder=tmp_path / "st")
    await register_hubs(station, "test-hub")
    st = station.data[STATION_RUNTIME]
    offline_events: list[Any] = []
    station.bus.listen(EVENT_HUB_OFFLINE, offline_events.append)

    folder = tmp_path / "hub"
    folder.mkdir()
    port = free_port()
    (folder / "config.yaml").write_text(
        "hub:\n  id: test-hub\n  name: ตลาดทดสอบ\n  zone: test-zone\n  timezone: Asia/Bangkok\n"
        f"  data_dir: ./data\n  web: {{host: 127.0.0.1, port: {port}}}\n"
        + lab.hub_block(window=500, ack_timeout=3, health_interval=3600, registry_interval=86400),
        encoding="utf-8",
    )
    token = await make_token(folder / "data")
    proc = HubProcess(folder, port)
    ids = [ulid() for _ in range(EVENTS)]
    todo: asyncio.Queue[int] = asyncio.Queue()
    for first in range(0, EVENTS, BATCH):
        todo.put_nowait(first)
    done = 0
    retried = 0
    started = time.monotonic()

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done, retried
        while not todo.empty():
            first = todo.get_nowait()
            seqs = range(first, min(first + BATCH, EVENTS))
            body = {"events": [{"event_type": "load_test", "data": {"seq": s}, "id": ids[s]} for s in seqs]}
            while True:
                try:
                    async with session.post(
                        f"{proc.url}/api/services/federation/send_batch", json=body
                    ) as resp:
                        if resp.status == 200:
                            answer = await resp.json()
                            assert answer["service_response"]["ids"] == [ids[s] for s in seqs]
                            break
                except (TimeoutError, aiohttp.ClientError):
                    pass
                retried += 1  # cut off by a kill: the same ids again, so at most one event each
                await asyncio.sleep(0.2)
            done += len(seqs)

    async def chaos(session: aiohttp.ClientSession) -> None:
        for threshold, action in CHAOS:
            await until(lambda t=threshold: done >= t, within=60, interval=0.005)
            if action == "kill":
                proc.kill()
                proc.start()
                await proc.ready(session)
            else:
                lab.broker.restart()

    proc.start()
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        ) as session:
            await proc.ready(session)
            await asyncio.gather(chaos(session), *(worker(session) for _ in range(WORKERS)))
        sent_in = time.monotonic() - started
        await until(lambda: _count(st), within=45, interval=0.2)
    finally:
        code = proc.stop()
    assert code == 0, proc.log.read_text()[-3000:]

    rows = await st.store.messages(hub_id="test-hub", kind="event", limit=100_000)
    load = [r for r in rows if r["type"] == "load_test"]
    seqs = [json.loads(r["body"])["body"]["data"]["seq"] for r in load]
    assert len(load) == EVENTS, f"{len(load)} stored"
    assert sorted(seqs) == list(range(EVENTS))  # every one, exactly once
    assert {r["id"] for r in load} == set(ids)
    assert proc.starts == 4 and len(offline_events) >= 3  # the kills were real: the broker sent the will
    # Nothing is left in the hub's outbox once the station has acknowledged everything.
    storage = Storage(folder / "data" / "safetyhub.db")
    await storage.open()
    try:
        left = await storage.fetchone("SELECT COUNT(*) AS n FROM federation_outbox WHERE kind = 'event'")
    finally:
        await storage.close()
    assert left["n"] == 0
    print(
        f"\n{EVENTS} events in {sent_in:.1f}s, {retried} calls repeated after kills, "
        f"{st.ingest.duplicates} re-sent copies absorbed by the station"
    )


async def _count(st: Any) -> bool:
    return bool(await st.store.count_messages(hub_id="test-hub", type_="load_test") >= EVENTS)
