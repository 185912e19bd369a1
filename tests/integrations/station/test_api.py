"""The station's REST API: hubs, federated incidents beside local ones, the hubs page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.hub import Hub
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME


async def session(station: Hub, role: str) -> aiohttp.ClientSession:
    user = await station.auth.add_user(f"{role}-1", "correct horse battery", role)
    token = await station.auth.create_token(user, "test")
    return aiohttp.ClientSession(base_url=station.http.url, headers={"Authorization": f"Bearer {token}"})


async def test_hubs_and_federated_incidents(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st")
    sos = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ร้านทอง", place="ร้านทอง")
    manual = await hub.data[INCIDENT_RUNTIME].open("manual", title="ของหาย")
    await hub.data[INCIDENT_RUNTIME].close(manual.id, by="แม่ค้า")
    local = await station.data[INCIDENT_RUNTIME].open("manual", title="เหตุที่สถานีเอง")
    assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
    st = station.data[STATION_RUNTIME]
    await until(lambda: _health_in(st))

    async with await session(station, "viewer") as viewer:
        listed = await (await viewer.get("/api/incidents")).json()
        assert [(i["id"], i["hub_id"]) for i in listed] == [
            (local.id, "ccoc"),
            (manual.id, "test-hub"),
            (sos.id, "test-hub"),
        ]
        assert listed[1]["federated"] and "federated" not in listed[0]
        only_hub = await (await viewer.get("/api/incidents?hub_id=test-hub&status=active")).json()
        assert [i["id"] for i in only_hub] == [sos.id]
        only_local = await (await viewer.get("/api/incidents?hub_id=ccoc")).json()
        assert [i["id"] for i in only_local] == [local.id]
        assert [i["id"] for i in await (await viewer.get("/api/incidents?kind=sos")).json()] == [sos.id]
        detail = await (await viewer.get(f"/api/incidents/{manual.id}")).json()
        assert detail["hub_id"] == "test-hub" and [e["kind"] for e in detail["timeline"]] == [
            "opened",
            "closed",
        ]
        assert (await viewer.get(f"/api/incidents/{manual.id}?hub_id=hub-b")).status == 404
        assert (await (await viewer.get(f"/api/incidents/{local.id}")).json())["hub_id"] == "ccoc"

        hubs = {h["id"]: h for h in await (await viewer.get("/api/hubs")).json()}
        assert set(hubs) == {"test-hub", "hub-b"}
        assert (hubs["test-hub"]["status"], hubs["hub-b"]["status"]) == ("online", "unknown")
        assert hubs["test-hub"]["open_incidents"] == 1 and hubs["test-hub"]["zone"] == "test-zone"
        one = await (await viewer.get("/api/hubs/test-hub")).json()
        assert one["registry"]["hub"]["id"] == "test-hub" and one["health"]["status"] == "online"
        assert [i["id"] for i in one["incidents"]] == [sos.id]
        assert (await viewer.get("/api/hubs/nope-hub")).status == 404
        assert (await viewer.get("/api/hubs/Bad%20Id")).status == 404
        assert (await viewer.get("/api/station")).status == 403  # counters are for operators
        page = await (await viewer.get("/station/hubs")).text()
        assert 'data-hub-id="test-hub"' in page and 'data-status="online"' in page
        spec = await (await viewer.get("/api/openapi.json")).json()
        assert "/api/hubs/{hub_id}/commands" in spec["paths"]
    async with await session(station, "operator") as operator:
        stats = await (await operator.get("/api/station")).json()
        assert stats["stored"] >= 5 and stats["rejected"] == 0 and stats["link"]["status"] == "connected"


async def _health_in(st: Any) -> bool:
    item = await st.store.hub("test-hub")
    return bool(item and item["health"])


async def test_a_hub_has_no_station_api(make_hub: Any, federation_lab: FederationLab, tmp_path: Path) -> None:
    hub, _station = await start_pair(make_hub, federation_lab, tmp_path / "st")
    async with await session(hub, "admin") as admin:
        assert (await admin.get("/api/hubs")).status == 404
        status = await (await admin.get("/api/federation")).json()
        assert status["link"]["status"] == "connected" and status["outbox"]["window"] == 200
        assert "password" not in str(status)
