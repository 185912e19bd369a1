"""Station workers on one PostgreSQL keep the officers' camera views there: one list, one grant, any worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.federation.testing import until
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.integrations.station.workers_lab import workers_and_hub
from tests.integrations.video.live_lab import officer


async def test_a_view_opened_on_one_worker_is_listed_and_granted_on_the_other(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clock: Any
) -> None:
    hub, a, b = await workers_and_hub(
        make_hub, mosquitto_factory, postgres_url, tmp_path, camera="rtsp://127.0.0.1:9/none"
    )
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ร้านทอง", place="ร้านทองแผง 3")
    await until(lambda: b.data[STATION_RUNTIME].store.incident(inc.id, "test-hub"), 15)
    op_a, _ = await officer(a, "somchai")
    op_b, _ = await officer(b, "somchai")
    other_b, _ = await officer(b, "somsak")
    async with op_a, op_b, other_b:
        resp = await op_a.post(
            "/api/ccoc/views",
            json={
                "hub_id": "test-hub",
                "entity_id": "camera.gate",
                "reason": "ตามหาคนร้าย",
                "incident_id": inc.id,
            },
        )
        assert resp.status == 201, await resp.text()
        view_id = (await resp.json())["view_id"]
        # B's incident page lists the view A opened, with its officer and reason.
        for session in (op_a, op_b):
            detail = await (await session.get(f"/api/ccoc/incidents/test-hub/{inc.id}")).json()
            views = [e for e in detail["timeline"] if e["kind"] == "camera.view"]
            assert [(e["actor"], e["text"]) for e in views] == [("somchai", "camera.gate: ตามหาคนร้าย")]
        # The grant holds on B by the same rules: the same officer, until it expires.
        assert (await op_b.get(f"/api/ccoc/views/{view_id}")).status == 200
        assert (await other_b.get(f"/api/ccoc/views/{view_id}")).status == 404
        await clock.advance(601)  # the station's grant is 600 s
        ended = await op_b.get(f"/api/ccoc/views/{view_id}")
        assert ended.status == 403
    # One row, on the shared database; neither worker's own file has it.
    for worker in (a, b):
        assert await worker.storage.fetchall("SELECT 1 FROM ccoc_views") == []
    # Audited once, by the worker the officer used, in the log the workers share.
    opened = [e for e in await b.audit.query(action="station.camera.view") if e.result == "ok"]
    assert [e.detail["view_id"] for e in opened] == [view_id]
