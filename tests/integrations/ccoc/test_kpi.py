"""The monthly KPIs, computed from incidents that really travelled hub → broker → station."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.ccoc import kpi
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until


def test_percentile_and_months() -> None:
    assert kpi.percentile([], 50) is None
    assert kpi.percentile([42.0], 90) == 42.0
    assert kpi.percentile([300, 30, 120, 60, 90], 50) == 90
    assert kpi.percentile([300, 30, 120, 60, 90], 90) == pytest.approx(228.0)
    assert kpi.shift_month("2026-01", -1) == "2025-12" and kpi.shift_month("2025-12", 1) == "2026-01"
    from zoneinfo import ZoneInfo

    start, end = kpi.month_bounds("2026-02", ZoneInfo("Asia/Bangkok"))
    assert end - start == 28 * 86400 and start == 1769878800.0  # 2026-02-01T00:00+07:00
    with pytest.raises(ValueError):
        kpi.month_bounds("2026-13", ZoneInfo("Asia/Bangkok"))


async def test_kpis_from_real_incidents(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, clock: Any
) -> None:
    # The fake clock jumps hours at once: keep the silence check from calling the hub silent.
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        station_extra={"supervision": {"grace": 86400, "missed_beats": 100}},
    )
    console = station.data[CCOC_RUNTIME]
    mgr = hub.data[INCIDENT_RUNTIME]
    for delay in (30, 60, 90, 120, 300):
        inc = await mgr.open("sos", title="SOS")
        await clock.advance(delay)
        await mgr.ack(inc.id, by="ร.ต.อ. สมชาย")
    await mgr.open("sos", title="ไม่มีใครรับ")
    await mgr.open("tip", title="เบาะแส")
    assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)

    async def stored() -> bool:
        facts = await station.data[CCOC_RUNTIME].station.store.incident_facts(0, 1e11)
        return len(facts) == 7 and sum(1 for f in facts if f["acknowledged_at"]) == 5

    await until(stored)
    await clock.advance(3600)
    figures = await kpi.compute(station, console.station, console.hubs, "2026-01")
    assert figures["sos"]["count"] == 6 and figures["sos"]["unacknowledged"] == 1
    assert figures["sos"]["p50"] == pytest.approx(90) and figures["sos"]["p90"] == pytest.approx(228)
    assert figures["incidents"]["by_kind"] == {"sos": 6, "tip": 1}
    assert figures["incidents"]["by_zone"] == {"test-zone": 7}
    # Two registered hubs, one of which never connected: half the hub-time was online.
    assert figures["hubs"]["registered"] == 2 and figures["hubs"]["online_now"] == 1
    assert figures["hubs"]["online_share"] == pytest.approx(0.5, abs=0.01)
    slots = {s["key"]: s for s in figures["slots"]}
    assert slots["patrol_coverage"]["value"] is None and "poll_responses" in slots
    empty = await kpi.compute(station, console.station, console.hubs, "2025-11")
    assert empty["sos"]["p50"] is None and empty["incidents"]["total"] == 0

    user = await station.auth.add_user("viewer-1", "correct horse battery", "viewer")
    token = await station.auth.create_token(user, "t")
    async with aiohttp.ClientSession(
        base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        page = await (await s.get("/ccoc/kpi?month=2026-01")).text()
        assert page.count("<svg") >= 4 and 'id="kpi-p50">90<' in page and 'id="kpi-p90">228<' in page
        assert (await s.get("/ccoc/kpi?month=2026-13")).status == 400
        api = await (await s.get("/api/ccoc/kpi?month=2026-01")).json()
        assert api["sos"]["times"] == [30, 60, 90, 120, 300]
