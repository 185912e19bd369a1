"""The footage desk's tables on the station workers' shared PostgreSQL: the twins, and a worker's own rows copied once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.core.clock import FakeClock
from hub.storage import Storage
from hub.storage_pg import SharedStorage
from hub.testing_postgres import table_columns
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, station_config, until
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.footage import COMPONENT, FOOTAGE, MIGRATIONS, SHARED_PG_MIGRATIONS
from integrations.video.footage import FOOTAGE_DESK as VIDEO_FOOTAGE
from tests.integrations.station.workers_lab import workers_and_hub
from tests.integrations.video.conftest import add_stream_camera
from tests.integrations.video.live_lab import officer

_TABLES = ("footage_requests", "footage_items", "footage_history")
_OLD = "01JD0000000000000000000007"


async def test_the_shared_footage_tables_have_the_columns_of_the_desk_s_own(
    tmp_path: Path, postgres_url: str
) -> None:
    lite, pg = Storage(tmp_path / "hub.db"), SharedStorage(postgres_url)
    lite.add_migrations(COMPONENT, MIGRATIONS)
    await lite.open()
    await pg.open()
    try:
        await pg.apply_migrations("station_footage_shared", SHARED_PG_MIGRATIONS)
        for table in _TABLES:
            lite_cols, pg_cols = await table_columns(lite, table), await table_columns(pg, table)
            assert lite_cols == pg_cols and lite_cols, table
    finally:
        await lite.close()
        await pg.close()


async def test_a_worker_s_own_requests_join_the_shared_desk_once(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    # The worker ran before the desk was shared: one delivered request in its own file.
    now = clock.time()
    own = Storage(tmp_path / "w" / "data" / "safetyhub.db")
    own.add_migrations(COMPONENT, MIGRATIONS)
    await own.open()
    await own.execute(
        "INSERT INTO footage_requests (id, hub_id, cameras, start_ts, end_ts, reason, case_number, username, "
        "role, created_at, updated_at, state, delivered_at, hub_manifest, hub_signature, hub_key) "
        "VALUES (?, 'test-hub', '[\"camera.gate\"]', ?, ?, 'ชิงทรัพย์', '12/2569', 'somchai', 'operator', ?, ?, "
        "'delivered', ?, ?, 'c2lnbmF0dXJl', 'a2V5')",
        (_OLD, now - 600, now - 300, now, now, now, b'{"manifest": true}'),
    )
    await own.execute(
        "INSERT INTO footage_items (request_id, item_id, camera, start_ts, end_ts, size, sha256, received, "
        "complete, path, created_at) VALUES (?, 'clip-1', 'camera.gate', ?, ?, 10, 'ab', 10, 1, 'x.mp4', ?)",
        (_OLD, now - 600, now - 300, now),
    )
    for state in ("pending", "approved", "delivered"):
        await own.execute(
            "INSERT INTO footage_history (request_id, ts, state, actor, detail) VALUES (?, ?, ?, 'hub:test-hub', ?)",
            (_OLD, now, state, json.dumps({"step": state})),
        )
    await own.close()

    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    worker = await make_hub(
        lab.station_block(share_group="ccoc", database=postgres_url),
        base=station_config(),
        folder=tmp_path / "w",
    )
    desk = worker.data[FOOTAGE]
    assert desk.storage is worker.shared_storage and desk.storage is not worker.storage
    [found] = await desk.requests()
    assert (found["id"], found["state"], found["case_number"]) == (_OLD, "delivered", "12/2569")
    assert [i["id"] for i in found["items"]] == ["clip-1"]
    assert [h["state"] for h in found["history"]] == ["pending", "approved", "delivered"]
    row = await desk.storage.fetchone("SELECT hub_manifest FROM footage_requests WHERE id = ?", (_OLD,))
    assert row is not None and bytes(row["hub_manifest"]) == b'{"manifest": true}'
    # A later start copies nothing again (the history has no key of its own to stop a second copy).
    await desk._adopt_own(desk.storage)
    assert await desk.get(_OLD) == found


async def test_the_owner_s_answer_reaches_the_shared_request_while_the_worker_that_asked_is_stopped(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    hub, a, b = await workers_and_hub(make_hub, mosquitto_factory, postgres_url, tmp_path)
    add_stream_camera(hub, "shop", "rtsp://127.0.0.1:9/none", share="registry")  # the owner is asked
    await hub.data[FEDERATION_RUNTIME].send_registry(force=True)

    async def listed() -> bool:
        item = await a.data[STATION_RUNTIME].store.hub("test-hub")
        cameras = ((item or {}).get("registry") or {}).get("cameras") or []
        return any(c.get("entity_id") == "camera.shop" for c in cameras)

    await until(listed, 15)
    op, _token = await officer(a)
    async with op:
        resp = await op.post(
            "/api/ccoc/footage_requests",
            json={
                "hub_id": "test-hub",
                "cameras": ["camera.shop"],
                "start": clock.time() - 600,
                "end": clock.time() - 300,
                "reason": "ลักทรัพย์",
                "case_number": "90/2569",
            },
        )
        assert resp.status == 201, await resp.text()
        request_id = (await resp.json())["id"]
    owner = hub.data[VIDEO_FOOTAGE]
    await until(lambda: owner.get(request_id), 15)  # the hub holds it, asking its owner
    await a.stop()  # the worker whose officer asked goes away
    assert await owner.decide(request_id, False, by="owner", via="web") == "denied"

    async def denied() -> Any:
        found = await b.data[FOOTAGE].get(request_id)
        return found if found is not None and found["state"] == "denied" else None

    found = await until(denied, 15)  # B heard the hub and recorded it on the shared row
    assert found["history"][-1]["actor"] == "hub:test-hub/owner"
    [entry] = await b.audit.query(action="station.footage.state")
    assert entry.detail["state"] == "denied"
