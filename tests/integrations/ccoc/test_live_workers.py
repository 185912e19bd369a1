"""Live video with two station workers behind a round-robin proxy: the hub's uplink lands on the other worker.

The officer watches on worker A; the hub dials worker B (the proxy's pick).
B relays the uplink to A, which owns the stream: the player gets the init
segment and fragments, the grant still cuts it within a second, both sides
audit, and a call between workers without their key is refused.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integrations.ccoc.live import LIVE
from integrations.ccoc.live_peers import PEER_UPLINK_PATH
from integrations.federation.const import LIVE_UPLINK_PATH, STATION_VIEW_COMMAND
from integrations.federation.testing import HUB_PASSWORDS, until
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.workers import HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIME, HEADER_WORKER, STALE
from integrations.video.mp4 import BoxReader
from integrations.video.uplink import LIVE_UPLINKS
from tests.integrations.station.workers_lab import workers_and_hub
from tests.integrations.video.conftest import make_h264
from tests.integrations.video.live_lab import audit_details, officer, open_view, read_stream


@pytest.fixture
def clip(tmp_path: Path) -> str:
    """A 4-second H.264 test pattern the hub's restream loops (no camera needed)."""
    return f"file:{make_h264(tmp_path / 'clip.mp4', 4, gop=10)}"


async def test_uplink_on_the_other_worker_reaches_the_viewer_and_the_grant_still_cuts_it(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clip: str, clock: Any
) -> None:
    hub, a, b = await workers_and_hub(make_hub, mosquitto_factory, postgres_url, tmp_path, camera=clip)
    op, _token = await officer(a)
    async with op:
        view = await open_view(op, "camera.gate", "ตามหาคนร้าย")
        resp = await op.get(view["live_url"])
        assert resp.status == 200, await resp.text()
        data = await read_stream(resp, 20_000)
        kinds = [k for k, _ in BoxReader().feed(data)]
        assert kinds[:3] == [b"ftyp", b"moov", b"moof"]
        # A owns the upstream; B only relayed the hub's connection.
        [up] = a.data[LIVE].streams.values()
        assert up.state == "live" and up.fragments > 0
        assert not b.data[LIVE].streams
        a_workers = a.data[STATION_RUNTIME].workers
        claim = await a_workers.owner("live", up.stream_id)
        assert claim is not None and claim.worker_id == a_workers.id and claim.alive

        await clock.advance(601)  # the station's grant is 600 s
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def drain() -> None:
            async for _chunk in resp.content.iter_any():
                pass

        await asyncio.wait_for(drain(), 5)
        assert loop.time() - started < 1.5  # within a second of the expiry, relay or not
    # The hub's uplink ends (A closed it, B passed the close on); the claim goes with the stream.
    await until(lambda: not hub.data[LIVE_UPLINKS].active, 5)
    assert await a_workers.owner("live", up.stream_id) is None

    entries = await a.audit.query(action="station.camera.live")
    [upstream] = audit_details(entries, "upstream_start")
    assert upstream["via_worker"] == b.data[STATION_RUNTIME].workers.id
    assert [d["why"] for d in audit_details(entries, "stop")] == ["grant_expired"]
    assert len(audit_details(entries, "start")) == 1

    async def mirrored() -> bool:
        views = await hub.audit.query(action="camera.view")
        live = [e for e in views if (e.detail or {}).get("what") == "live"]
        return len(audit_details(live, "start")) == 1

    await until(mirrored, 10)
    # The stop's mirror is on its way to the owner (queued: the clock's jump made the hub look silent).
    sent = await a.data[STATION_RUNTIME].store.commands(hub_id="test-hub", limit=100)
    mirrors = [
        str(c.data.get("phase"))
        for c in sent
        if c.command == STATION_VIEW_COMMAND and c.data.get("what") == "live"
    ]
    assert sorted(mirrors) == ["start", "stop"]


async def test_the_relaying_worker_stopping_is_said_plainly_to_the_viewer(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clip: str
) -> None:
    _hub, a, b = await workers_and_hub(make_hub, mosquitto_factory, postgres_url, tmp_path, camera=clip)
    op, _token = await officer(a)
    async with op:
        view = await open_view(op, "camera.gate")
        resp = await op.get(view["live_url"])
        await read_stream(resp, 10_000)
        await b.stop()  # the worker the hub's uplink came through goes away

        async def drain() -> None:
            async for _chunk in resp.content.iter_any():
                pass

        await asyncio.wait_for(drain(), 10)  # the player ends rather than hanging
        status = await (await op.get(view["live_status_url"])).json()  # Thai: the station's language
        assert status["state"] == "ended" and status["reason"].startswith("worker_lost")
        assert status["reason_text"] == "เครื่องของสถานีที่ส่งต่อภาพนี้หยุดทำงาน เปิดดูใหม่อีกครั้ง"
    stops = audit_details(await a.audit.query(action="station.camera.live"), "stop")
    assert [d["why"] for d in stops] == ["worker_lost"]


async def test_officers_on_both_workers_share_one_upstream_and_hear_when_its_worker_stops(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clip: str
) -> None:
    hub, a, b = await workers_and_hub(make_hub, mosquitto_factory, postgres_url, tmp_path, camera=clip)
    op_a, _ = await officer(a, "somchai")
    somsak_at_a, _ = await officer(a, "somsak")
    op_b, _ = await officer(b, "somsak")
    async with op_a, somsak_at_a, op_b:
        view_a = await open_view(op_a, "camera.gate", "ตามหาคนร้าย")
        resp_a = await op_a.get(view_a["live_url"])
        await read_stream(resp_a, 10_000)
        # Somsak's requests are dealt to both workers: he opens the view on A and plays it on B.
        view_b = await open_view(somsak_at_a, "camera.gate", "ติดตามรถต้องสงสัย")
        resp_b = await op_b.get(view_b["live_url"])
        assert resp_b.status == 200, await resp_b.text()
        kinds = [k for k, _ in BoxReader().feed(await read_stream(resp_b, 20_000))]
        assert kinds[:3] == [b"ftyp", b"moov", b"moof"]
        # One upstream from the hub: A holds it, B reads a copy of it for its officer.
        assert len(hub.data[LIVE_UPLINKS].active) == 1
        [up_a] = a.data[LIVE].streams.values()
        [up_b] = b.data[LIVE].streams.values()
        assert up_a.owner_ws is None and up_b.owner_ws is not None and up_b.stream_id == up_a.stream_id
        assert len(up_a.viewers) == 2  # somchai, and worker B for somsak
        status = await (await op_b.get(view_b["live_status_url"])).json()
        assert status["state"] == "live" and status["viewers"] == 1

        # Somchai's view (opened on A, its row shared by the workers) is not somsak's on B.
        assert (await op_b.get(view_a["live_status_url"])).status == 404
        # Each officer is audited by the worker they use, naming the one stream, in the log the
        # workers share (station workers on PostgreSQL keep one audit log).
        starts = audit_details(await a.audit.query(action="station.camera.live"), "start")
        assert sorted((d["stream_id"], d["reason"]) for d in starts) == [
            (up_a.stream_id, "ตามหาคนร้าย"),
            (up_a.stream_id, "ติดตามรถต้องสงสัย"),
        ]

        await a.stop()  # the worker holding the upstream goes away

        async def drain() -> None:
            async for _chunk in resp_b.content.iter_any():
                pass

        await asyncio.wait_for(drain(), 10)  # somsak's player ends rather than hanging
        status = await (await op_b.get(view_b["live_status_url"])).json()  # Thai: the station's language
        assert status["state"] == "ended" and status["reason"].startswith("worker_lost")
        assert status["reason_text"] == "เครื่องของสถานีที่ส่งต่อภาพนี้หยุดทำงาน เปิดดูใหม่อีกครั้ง"
    somsak = [e for e in await b.audit.query(action="station.camera.live") if e.actor == "somsak"]
    assert [(d["stream_id"], d["reason"]) for d in audit_details(somsak, "start")] == [
        (up_a.stream_id, "ติดตามรถต้องสงสัย")
    ]
    assert [d["why"] for d in audit_details(somsak, "stop")] == ["worker_lost"]
    # One upstream, audited once: by A, which held it.
    assert len(audit_details(await b.audit.query(action="station.camera.live"), "upstream_start")) == 1


async def test_a_call_between_workers_needs_their_key(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path
) -> None:
    _hub, a, b = await workers_and_hub(make_hub, mosquitto_factory, postgres_url, tmp_path)
    b_workers = b.data[STATION_RUNTIME].workers
    path = f"{PEER_UPLINK_PATH}?stream=01JD0000000000000000000000&camera=camera.gate&hub=test-hub"

    async def dial(headers: dict[str, str]) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(a.http.url + path, headers=headers) as ws:
                    await ws.close()
                    return 101
            except aiohttp.WSServerHandshakeError as err:
                return err.status

    # No signature at all, a forged one, one for another path, an old one: all refused.
    assert await dial({}) == 403
    forged = b_workers.sign("GET", path)
    forged[HEADER_SIGNATURE] = "0" * 64
    assert await dial(forged) == 403
    assert await dial(b_workers.sign("GET", path.replace("camera.gate", "camera.other"))) == 403
    stale = b_workers.sign("GET", path)
    stale[HEADER_TIME] = str(int(stale[HEADER_TIME]) - 600)
    assert await dial(stale) == 403
    # Signed by B with the station's key: accepted as a worker, then refused for the unknown stream.
    signed = b_workers.sign("GET", path)
    assert signed[HEADER_WORKER] == b_workers.id
    assert await dial(signed) == 403
    # The same call again (recorded on the way and sent a second time): refused as a copy.
    assert await dial(signed) == 403
    unsigned_nonce = b_workers.sign("GET", path)
    unsigned_nonce[HEADER_NONCE] = "f" * 32  # a fresh nonce the signature does not cover
    assert await dial(unsigned_nonce) == 403
    refused = [e for e in await a.audit.query(action="station.camera.live") if e.result == "refused"]
    errors = {e.detail["error"] for e in refused}
    assert errors == {
        "only the station's workers may call this",
        "not a valid call from a station worker",
        "no such stream was asked of this hub",
        "this call from a station worker was already made once",
    }
    # The key is the station's own, in its database: in no file of either worker.
    secret = b_workers._secret
    assert len(secret) >= 32
    for worker in (a, b):
        assert not await asyncio.to_thread(_holds, Path(worker.config_dir), secret)


async def test_a_worker_that_stopped_beating_is_not_followed(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path
) -> None:
    _hub, a, b = await workers_and_hub(make_hub, mosquitto_factory, postgres_url, tmp_path)
    a_workers, b_workers = a.data[STATION_RUNTIME].workers, b.data[STATION_RUNTIME].workers
    assert a_workers.url == a.http.url  # registered where it listens
    stream = "01JD0000000000000000000001"
    await a_workers.claim("live", stream, "test-hub")
    assert await b_workers.claim_first("live_camera", "test-hub/camera.gate/sub", "test-hub") is None
    assert (await a_workers.claim_first("live_camera", "test-hub/camera.gate/sub", "test-hub")).worker_id == (
        b_workers.id
    )
    # B hangs (its beat stops) for longer than STALE: A takes the camera over, and B's claims are not followed.
    b_workers._task.cancel()
    await b_workers.store.database.write(
        lambda db: db.execute(
            "UPDATE station_workers SET heartbeat = heartbeat - ? WHERE worker_id = ?",
            (STALE + 1, b_workers.id),
        )
    )
    assert await a_workers.claim_first("live_camera", "test-hub/camera.gate/sub", "test-hub") is None
    await b_workers.claim("live", "01JD0000000000000000000002", "test-hub")
    claim = await a_workers.owner("live", "01JD0000000000000000000002")
    assert claim is not None and not claim.alive
    # The hub's uplink for a stream the hung worker asked for, landing on A: refused plainly (503).
    auth = base64.b64encode(f"test-hub:{HUB_PASSWORDS['test-hub']}".encode()).decode()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(
                a.http.url + LIVE_UPLINK_PATH,
                params={"stream": "01JD0000000000000000000002", "camera": "camera.gate"},
                headers={"Authorization": f"Basic {auth}"},
            )
    assert err.value.status == 503


def _holds(folder: Path, secret: bytes) -> bool:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    return any(secret in p.read_bytes() for p in files)
