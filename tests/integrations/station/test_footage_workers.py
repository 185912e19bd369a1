"""Footage with two station workers behind a round-robin proxy: the hub's uploads land on the other worker.

The officer asks on worker A; the hub uploads to worker B (the proxy's
pick).  B checks each call's signature and relays it to A, which holds the
request's clips: the clip is stored and hash-checked there, the request is
delivered, and A's evidence pack carries the same bytes the hub hashed.  The
request's rows are on the workers' shared database: B's desk lists and opens it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import aiohttp

from integrations.federation.const import FOOTAGE_REQUEST_COMMAND
from integrations.federation.testing import until
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.footage import EVENT_CCOC_FOOTAGE, FOOTAGE, PEER_FOOTAGE_PATH
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from integrations.video.evidence_pack import verify_pack
from integrations.video.footage_testing import make_segments, register_segments
from tests.integrations.station.workers_lab import workers_and_hub
from tests.integrations.video.live_lab import officer


async def test_a_clip_uploaded_to_the_other_worker_is_delivered_where_it_was_asked(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clock: Any
) -> None:
    files = await make_segments(tmp_path / "segments", count=4, seconds=2)
    hub, a, b = await workers_and_hub(
        make_hub,
        mosquitto_factory,
        postgres_url,
        tmp_path,
        camera="rtsp://127.0.0.1:9/none",  # recordings only: no stream is pulled
        video_extra="footage: {retry_seconds: 0.1, chunk_bytes: 65536}",
    )
    await until(lambda: a.data[FOOTAGE].hub_key("test-hub"), 15)
    t0 = clock.time() - 600
    await register_segments(hub.data[VIDEO_RUNTIME].recordings, "camera.gate", files, start=t0, seconds=2)
    # B's consoles follow the request live too (A changes it; PostgreSQL tells B).
    heard_on_b: list[dict[str, Any]] = []
    unsub = b.bus.listen(EVENT_CCOC_FOOTAGE, lambda event: heard_on_b.append(dict(event.data)))
    op, _token = await officer(a)
    async with op:
        resp = await op.post(
            "/api/ccoc/footage_requests",
            json={
                "hub_id": "test-hub",
                "cameras": ["camera.gate"],
                "start": t0 + 1,
                "end": t0 + 5,
                "reason": "ชิงทรัพย์หน้าร้าน",
                "case_number": "77/2569",
            },
        )
        assert resp.status == 201, await resp.text()
        request_id = (await resp.json())["id"]

        async def delivered() -> Any:
            found = await (await op.get(f"/api/ccoc/footage_requests/{request_id}")).json()
            return found if found["state"] == "delivered" else None

        found = await until(delivered, 30)
        await until(lambda: any(e["state"] == "delivered" for e in heard_on_b), 10)
        unsub()
        assert {(e["id"], e["case_number"]) for e in heard_on_b} == {(request_id, "77/2569")}
        [item] = found["items"]
        assert item["complete"]
        pack = await op.get(f"/api/ccoc/footage_requests/{request_id}/pack.zip")
        assert pack.status == 200
        body = await pack.read()

    # The hub was told to upload to B; A claimed the request and holds its clip, B no file.
    [command] = [
        c
        for c in await a.data[STATION_RUNTIME].store.commands(hub_id="test-hub")
        if c.command == FOOTAGE_REQUEST_COMMAND
    ]
    assert command.data["upload_url"] == b.http.url
    claim = await a.data[STATION_RUNTIME].workers.owner("footage", request_id)
    assert claim is not None and claim.worker_id == a.data[STATION_RUNTIME].workers.id
    assert await b.data[FOOTAGE].get(request_id) == await a.data[FOOTAGE].get(request_id)
    for worker in (a, b):  # the rows are shared, in neither worker's own file
        assert await worker.storage.fetchall("SELECT 1 FROM footage_requests") == []
    assert not list((b.data[FOOTAGE].folder).rglob("*.mp4"))
    # The same bytes the hub hashed, in A's pack, which verifies.
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        clip = zf.read(f"clips/camera.gate/{item['id']}.mp4")
        manifest = json.loads(zf.read("manifest.json"))
    assert hashlib.sha256(clip).hexdigest() == item["sha256"]
    assert {f["path"]: f["sha256"] for f in manifest["files"]}[f"clips/camera.gate/{item['id']}.mp4"] == item[
        "sha256"
    ]
    report = verify_pack(io.BytesIO(body))
    assert report.ok, report
    # Audited where it happened: the delivery on A, from the hub.
    [done] = await a.audit.query(action="station.footage.delivered")
    assert done.actor == "hub:test-hub" and done.detail["items"][0]["sha256"] == item["sha256"]

    # An officer signed in at B finds the request in B's list and opens it there (the shared row);
    # its pack B asks of A, which holds the clips.
    # (A name as odd as the accounts allow: the signed call names the officer in its query.)
    op_b, _token = await officer(b, "สมศักดิ์@ccoc/2+1")
    async with op_b:
        listed = await (await op_b.get("/api/ccoc/footage_requests")).json()
        assert [(r["id"], r["state"], r["case_number"]) for r in listed] == [
            (request_id, "delivered", "77/2569")
        ]
        seen = await op_b.get(f"/api/ccoc/footage_requests/{request_id}")
        assert seen.status == 200 and (await seen.json())["items"][0]["sha256"] == item["sha256"]
        pack_b = await op_b.get(f"/api/ccoc/footage_requests/{request_id}/pack.zip")
        assert pack_b.status == 200 and pack_b.headers["Content-Type"] == "application/zip"
        body_b = await pack_b.read()
        unknown = await op_b.get("/api/ccoc/footage_requests/01JD0000000000000000000000/pack.zip")
        assert unknown.status == 404
    with zipfile.ZipFile(io.BytesIO(body_b)) as zf:
        assert zf.read(f"clips/camera.gate/{item['id']}.mp4") == clip
    assert verify_pack(io.BytesIO(body_b)).ok
    exports = await a.audit.query(action="station.footage.export")
    assert sorted(e.actor for e in exports) == ["somchai", "สมศักดิ์@ccoc/2+1"]
    # Without the workers' key, A's side of that door stays shut.
    async with aiohttp.ClientSession() as anonymous:
        path = f"{PEER_FOOTAGE_PATH}/{request_id}/pack.zip?user=somsak&role=operator"
        assert (await anonymous.get(a.http.url + path)).status == 403
