"""No secret from the config leaks: seed every secret with a canary, exercise the hub, grep every output.

Secrets (through ``!secret``): the MQTT password, the LINE channel token and
secret, the camera password, the federation password and the SIA AES key.
The hub starts, connects to a real Mosquitto (device MQTT and federation, with
accounts whose passwords are the canaries), a fake ONVIF camera (Digest auth
with the canary password), the fake LINE API (the canary token); an SOS press
runs the shipped blueprint (incident, snapshot, light, LINE card), the
federation uplink publishes registry, health and the incident.

Grepped, and required to be canary-free:

* every log record of the run (DEBUG and up, with tracebacks);
* every GET route of the web server (API and pages) that needs no path
  parameter, plus the incident, the automation and its traces, as admin;
* the states of every entity; the JSON Schema and OpenAPI documents;
* every MQTT message the hub published (federation payloads included);
* every message body the hub sent to LINE;
* a full text dump of the database (``iterdump``), and every file in the data dir.

Where a secret legitimately goes, and is therefore not checked: the
credential headers and handshakes that carry it to the peer that needs it
(MQTT CONNECT to the broker, ``Authorization: Bearer`` to LINE, HTTP Digest
to the camera) and ``secrets.yaml`` itself.  The database holds none: the
test proves that too, so a later feature that stores a credential there has
to say so here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from hub.testing import BASE_CONFIG
from integrations.line.testing import FakeLineApi
from integrations.onvif import CAMERAS
from integrations.onvif.testing import FakeOnvifDevice
from tests.security.conftest import (
    STATION,
    STATION_PASSWORD,
    STATION_USER,
    Canaries,
    hub_blocks,
    write_broker_files,
)

BASE = BASE_CONFIG.replace(
    "web: {host: 127.0.0.1, port: 0}",
    "web: {host: 127.0.0.1, port: 0, public_url: 'https://talat.example.org'}",
)


async def _record_broker(broker: Any, seen: list[tuple[str, bytes]], ready: asyncio.Event) -> None:
    """Subscribe as the station to everything the hub publishes under the federation root, and to ``#``."""
    async with aiomqtt.Client(
        broker.host,
        broker.port,
        username=STATION_USER,
        password=STATION_PASSWORD,
        identifier=f"canary-station-{os.getpid()}",
    ) as client:
        await client.subscribe(f"ssz/v1/{STATION}/#", qos=1)
        ready.set()
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            seen.append((str(message.topic), payload))


async def test_no_secret_leaks_anywhere(
    make_hub: Any,
    mosquitto_factory: Any,
    canaries: Canaries,
    config_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    passwd, acl = write_broker_files(config_dir.parent / "broker-files", canaries)
    broker = mosquitto_factory(password_file=passwd, acl_file=acl)
    camera = FakeOnvifDevice(max_pull_wait=0.5, password=canaries.values["cam_pw"], snapshot_auth="digest")
    await camera.start()
    fake = FakeLineApi(
        token=canaries.values["line_token"], channel_secret=canaries.values["line_secret"], quota_limit=None
    )
    await fake.start()
    fake.add_group("Big 6", {"U" + "a" * 32: "สมชาย"}, group_id="C" + "6" * 32)
    published: list[tuple[str, bytes]] = []
    sessions: list[aiohttp.ClientSession] = []
    ready = asyncio.Event()
    recorder = asyncio.ensure_future(_record_broker(broker, published, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        (config_dir / "secrets.yaml").write_text(canaries.secrets_yaml(), encoding="utf-8")
        hub = await make_hub(
            hub_blocks(canaries, broker.url, fake.base_url, camera.port), base=BASE, real_clock=True
        )
        assert not hub.config_errors, hub.config_errors
        assert await hub.data[CAMERAS]["camera.gate_cam"].wait_connected(15)
        from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
        from integrations.mqtt import get_client

        assert await get_client(hub).wait_connected(10)
        federation = hub.data[FEDERATION_RUNTIME]
        assert await federation.link.wait_connected(10)
        await federation.send_registry(force=True)
        await federation.send_health()

        # The SOS path: incident, snapshot (Digest with the canary), light, LINE card (canary token).
        await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "canary"})
        for _ in range(200):
            await asyncio.sleep(0.05)
            if fake.pushes and any("/incident" in t for t, _ in published):
                break
        await hub.block_till_done()
        assert fake.pushes, "the LINE card never went out: the test exercised less than it claims"
        assert any(t.endswith("/registry") for t, _ in published) and any(
            t.endswith("/health") for t, _ in published
        )
        incident = (await hub.storage.fetchall("SELECT id FROM incidents"))[0]["id"]

        # Every GET the web server has without path parameters, as admin; plus the ones the run created.
        user = await hub.auth.add_user("canary-admin", "correct horse battery", "admin")
        admin = aiohttp.ClientSession(
            base_url=hub.http.url,
            headers={"Authorization": f"Bearer {await hub.auth.create_token(user, 'c')}"},
        )
        sessions.append(admin)
        paths = sorted({r.path for r in hub.http.routes if r.method == "GET" and "{" not in r.path})
        paths += [
            f"/api/incidents/{incident}",
            "/api/automations/sos_gate",
            "/api/automations/sos_gate/traces",
            "/automations/sos_gate",
            f"/incidents/{incident}",
            "/api/states/sos.gate",
            "/api/states/camera.gate_cam",
        ]
        bodies: dict[str, bytes] = {}
        for path in paths:
            if path.endswith("/stream") or "events" in path.split("/")[-1:] and "stream" in path:
                continue
            try:
                async with asyncio.timeout(10):
                    resp = await admin.get(path, allow_redirects=False)
                    bodies[path] = await resp.content.read(2_000_000)
                    resp.release()
            except TimeoutError:  # a live stream (SSE): what it sent so far is what counts
                continue
        assert len(bodies) >= 15, sorted(bodies)
        states = json.dumps([s.as_dict() for s in hub.states.all()], ensure_ascii=False, default=str)
        deliveries = json.dumps([d.messages for d in fake.deliveries], ensure_ascii=False)
        await hub.storage.flush()
        db = hub.storage.path
        data_dir = db.parent
    finally:
        for session in sessions:
            await session.close()
        recorder.cancel()
        await asyncio.gather(recorder, return_exceptions=True)
        await camera.stop()
        await fake.close()

    dump = "\n".join(sqlite3.connect(db).iterdump())
    files = {str(p.relative_to(data_dir)): p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    logs = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()}" + (f"\n{r.exc_text}" if r.exc_text else "")
        for r in caplog.records
    )

    leaks: dict[str, list[str]] = {}
    for where, text in [
        ("logs", logs),
        ("states", states),
        ("LINE messages", deliveries),
        ("database", dump),
        *((f"GET {p}", b) for p, b in bodies.items()),
        *((f"MQTT {t}", p) for t, p in published),
        *((f"file {n}", b) for n, b in files.items()),
    ]:
        found = canaries.find(text)
        if found:
            leaks[where] = found
    assert not leaks, f"secrets leaked: {leaks}"
    # The checks looked at real material: the run logged, published and answered.
    assert len(caplog.records) > 20 and len(published) >= 3 and dump.count("INSERT INTO") > 20
    # The secrets did reach the peers that need them (the canaries are live values, not unused ones).
    assert fake.requests and all(
        r.headers.get("Authorization") == f"Bearer {canaries.values['line_token']}" for r in fake.requests
    )
    assert camera.snapshot_requests and camera.auth_failures < camera.snapshot_requests
