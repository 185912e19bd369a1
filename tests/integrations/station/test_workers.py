"""Two station workers on one PostgreSQL, and one of them SIGKILLed in the middle of 10,000 events.

Both are real ``safetyhub run`` processes with the *same* config file (each
with its own data folder, ``SAFETYHUB_WORKER_DIR``, and web port), sharing
the broker's ``$share/ccoc/...`` subscription through a real Mosquitto.  A
driver plays the hub: it publishes 10,000 events (100 to an MQTT message, as
a hub sends its backlog) and 20 SOS incidents, and re-sends whatever was not
acknowledged, as the hub's outbox does.  One worker is killed with SIGKILL
part way.  At the end every event is stored exactly once, every
acknowledged message is in the database, and every SOS reached the surviving
worker's console over ``/api/stream``, whichever worker stored it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from hub.auth import Auth
from hub.storage_pg import SharedStorage
from integrations.federation.testing import HUB_PASSWORDS, FederationLab, until
from integrations.mqtt.testing import MosquittoFactory, free_port
from integrations.station.store_pg import PgStationStore
from tests.integrations.station.wire import sos_opened, telemetry, topic

REPO = Path(__file__).resolve().parents[3]
EVENTS = 10_000
PER_MESSAGE = 100
SOS = 20
#: Kill worker A once this many events have been published (and it has stored an SOS) ...
KILL_AT = 3_000
#: ... this many events after that, so a burst is in flight at A when it dies.
IN_FLIGHT = 300
RESEND_AFTER = 3.0

pytestmark = pytest.mark.slow


async def officer_token(url: str) -> str:
    """Add an officer to the workers' shared accounts; return an API token of theirs."""
    storage = SharedStorage(url)
    await storage.open()
    try:
        auth = Auth(storage)
        user = await auth.add_user("officer", "correct horse battery", "operator")
        token: str = await auth.create_token(user, "workers test")
        return token
    finally:
        await storage.close()


class Worker:
    """One ``safetyhub run`` of the shared config, in a data folder of its own."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.data = folder / name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "SAFETYHUB_ENTRYPOINTS": "0",
            "SAFETYHUB_WORKER_DIR": str(self.data),
        }
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml", "--port", str(self.port)],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    async def info(self, session: aiohttp.ClientSession, token: str) -> dict[str, Any]:
        """Return the worker's ``/api/station``."""
        async with session.get(f"{self.url}/api/station", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 200
            found: dict[str, Any] = await r.json()
            return found

    async def peer_incidents(self, session: aiohttp.ClientSession, token: str) -> bool:
        """Whether this worker has shown an incident another worker stored."""
        return bool((await self.info(session, token))["peer_incidents"])

    async def subscribed(self, session: aiohttp.ClientSession, token: str) -> bool:
        """Both of its broker connections are up (so the broker deals it a share)."""
        try:
            async with session.get(
                f"{self.url}/api/station", headers={"Authorization": f"Bearer {token}"}
            ) as r:
                if r.status != 200:
                    return False
                info = await r.json()
        except aiohttp.ClientError:
            return False
        return bool(info["link"]["status"] == "connected" and info["urgent_link"]["status"] == "connected")


async def test_two_workers_survive_losing_one_and_store_every_event_once(
    mosquitto_factory: MosquittoFactory, postgres_url: str, tmp_path: Path
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    store = PgStationStore(postgres_url)
    await store.open()
    await store.register_hub("test-hub", "test-hub", time.time())

    folder = tmp_path / "station"
    folder.mkdir()
    # One config for every worker: only the data folder and the port differ per process.
    (folder / "config.yaml").write_text(
        "hub:\n  id: ccoc\n  name: สถานีทดสอบ\n  zone: test-zone\n  timezone: Asia/Bangkok\n"
        "  data_dir: !env_var SAFETYHUB_WORKER_DIR ./data\n  web: {host: 127.0.0.1, port: 0}\n"
        + lab.station_block(share_group="ccoc", database=postgres_url, batch_max=2000),
        encoding="utf-8",
    )
    a, b = Worker(folder, "worker-a"), Worker(folder, "worker-b")
    # One account and one token for both: the workers share them on the station's PostgreSQL.
    tokens = dict.fromkeys((a, b), await officer_token(postgres_url))
    seen_on_b: set[str] = set()
    stream_task: asyncio.Task[None] | None = None
    try:
        a.start()
        b.start()
        async with aiohttp.ClientSession() as session:
            for w in (a, b):
                await until(lambda w=w: w.subscribed(session, tokens[w]), within=40, interval=0.1)

            async def follow_b() -> None:
                headers = {"Authorization": f"Bearer {tokens[b]}"}
                forever = aiohttp.ClientTimeout(total=None)
                async with session.get(f"{b.url}/api/stream", headers=headers, timeout=forever) as resp:
                    assert resp.status == 200
                    kind = ""
                    async for raw in resp.content:
                        line = raw.decode().strip()
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: ") and kind == "ccoc_incident":
                            seen_on_b.add(json.loads(line[6:])["data"]["incident"]["id"])

            stream_task = asyncio.create_task(follow_b())
            await asyncio.sleep(0.3)  # the stream is open before the first SOS

            events = [telemetry(n) for n in range(EVENTS)]
            incidents = [sos_opened(n) for n in range(SOS)]
            # Whole MQTT messages as the hub sends them: 100 events to one, an SOS on its own.
            messages: list[tuple[str, list[str], bytes]] = []
            for k, i in enumerate(range(0, EVENTS, PER_MESSAGE)):
                part = events[i : i + PER_MESSAGE]
                messages.append((topic("event"), [m for m, _ in part], b"\n".join(p for _, p in part)))
                if k % (EVENTS // PER_MESSAGE // SOS) == 0:
                    msg_id, _, payload = incidents[k // (EVENTS // PER_MESSAGE // SOS)]
                    messages.append((topic("incident"), [msg_id], payload))
            assert sum(len(ids) for _, ids, _ in messages) == EVENTS + SOS

            acked: set[str] = set()
            hub = aiomqtt.Client(
                lab.broker.host,
                lab.broker.port,
                username="test-hub",
                password=HUB_PASSWORDS["test-hub"],
                protocol=aiomqtt.ProtocolVersion.V5,
            )
            async with hub:
                await hub.subscribe(topic("ack"), qos=1)

                async def collect_acks() -> None:
                    async for msg in hub.messages:
                        acked.update(json.loads(bytes(msg.payload))["ids"])

                acks_task = asyncio.create_task(collect_acks())
                try:
                    published, killed_at, armed_at = 0, EVENTS + SOS, 0
                    for name, ids, payload in messages:
                        await hub.publish(name, payload, qos=1)
                        published += len(ids)
                        if killed_at < EVENTS + SOS or published < KILL_AT:
                            continue
                        if not armed_at:
                            # First A must have stored an SOS of its share (B has shown it) ...
                            # Asked without stopping the hub: which worker the broker deals the
                            # first SOS to is its choice, so A's share may come a few SOS later.
                            with contextlib.suppress(AssertionError):
                                await until(lambda: b.peer_incidents(session, tokens[b]), within=1)
                                armed_at = published
                        elif published >= armed_at + IN_FLIGHT:
                            # ... then, with a burst just sent and not yet stored, A dies: no
                            # shutdown hook runs, its share in flight is simply gone.
                            a.kill()
                            killed_at = published
                    assert killed_at < EVENTS + SOS, "worker B never showed an SOS worker A stored"
                    # The hub's outbox: whatever is not acknowledged goes again.
                    deadline = time.monotonic() + 90
                    while time.monotonic() < deadline:
                        await asyncio.sleep(RESEND_AFTER)
                        missing = [(n, ids, p) for n, ids, p in messages if not set(ids) <= acked]
                        if not missing:
                            break
                        for name, _, payload in missing:
                            await hub.publish(name, payload, qos=1)
                    assert not [ids for _, ids, _ in messages if not set(ids) <= acked], "unacknowledged"
                finally:
                    acks_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await acks_task

            # Every event exactly once (the unique key makes a second copy impossible; the count
            # shows none was lost), and every acknowledged id is stored.
            assert await store.count_messages(hub_id="test-hub") == EVENTS + SOS
            stored = await store.database.read(
                lambda db: {r[0] for r in db.execute("SELECT id FROM messages WHERE hub_id = 'test-hub'")}
            )
            assert acked <= stored and len(stored) == EVENTS + SOS
            # Every SOS on the surviving worker's console, stored by it or by the killed one.
            want = {incident_id for _, incident_id, _ in incidents}
            await until(lambda: want <= seen_on_b, within=20)
            # A was killed part way, after B had shown an SOS that A stored (through PostgreSQL's
            # NOTIFY, the news of A's commit), with the rest of its share in flight.
            assert killed_at < EVENTS + SOS, "worker A stored no SOS of its own before the end"
            assert a.proc is not None and a.proc.returncode == -signal.SIGKILL
            assert b.proc is not None and b.proc.poll() is None
    finally:
        if stream_task is not None:
            stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stream_task
        b.stop()
        a.stop()
        await store.close()
