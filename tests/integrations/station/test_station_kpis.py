"""The station's monthly figures are what its hubs did: three hubs in two zones, through a real Mosquitto.

Issue 17 item 0: a hub with 7 patrol check-ins, 5 poll answers and a Big 6
meeting with 3 resolutions, and the station's KPI page said "not reported yet";
with the programme blocks in the station's own config, it said zeros.  Here
each hub does different work, and the station's per-hub, per-zone and
station-wide figures are checked against exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from hub.core.clock import FakeClock
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.kpi_report import EVENT_KPI_MONTH
from integrations.federation.testing import FederationLab, register_hubs, station_config
from integrations.station import kpis
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.kpis import Figure, station_kpis
from tests.integrations.station.kpi_helpers import (
    ANSWERS,
    CHECKINS,
    HUBS,
    MEETINGS,
    MONTH,
    PASSWORDS,
    do_the_month,
    health_in,
    settled,
    start_station_and_hubs,
    store_events,
)

BKK = ZoneInfo("Asia/Bangkok")


async def test_station_figures_are_what_the_hubs_did(
    make_hub: Any, station_lab: Callable[..., FederationLab], tmp_path: Path, clock: FakeClock
) -> None:
    lab = station_lab(hubs=PASSWORDS)
    station, hubs = await start_station_and_hubs(make_hub, lab, tmp_path)
    await do_the_month(hubs, clock)
    k = await settled(station, hubs)

    # Per hub: exactly what each did.
    for hub_id in HUBS:
        scope = k.hub(hub_id)
        assert scope is not None and scope.reported == 1 and scope.zone == HUBS[hub_id][0]
        assert scope.name == HUBS[hub_id][1]
        assert scope.value("patrols") == CHECKINS[hub_id]
        assert scope.value("patrol_checkins") == CHECKINS[hub_id]
        assert scope.value("poll_responses") == ANSWERS[hub_id]
        meeting = MEETINGS[hub_id]
        assert scope.value("big6_meeting_held") == (1 if meeting else 0)
        assert scope.value("big6_resolutions") == (meeting[1] if meeting else 0)
        assert scope.value("big6_sectors_present") == (len(meeting[0]) if meeting else 0)
        assert scope.checkpoints == 2
    first = k.hub("test-hub")
    assert first is not None
    assert first.value("patrol_flagged") == 1 and first.value("big6_resolutions_done") == pytest.approx(33.3)
    assert first.value("poll_trust_police") == 4
    assert first.sos.count == 2 and first.sos.times == [30, 90]

    # Per zone: zone-a is the first hub and hub-b, zone-b is hub-c alone.
    zone_a, zone_b = k.zone("zone-a"), k.zone("zone-b")
    assert zone_a is not None and zone_b is not None and [z.id for z in k.zones] == ["zone-a", "zone-b"]
    assert sorted(zone_a.hub_ids) == ["hub-b", "test-hub"] and zone_a.reported == 2
    assert zone_a.value("patrols") == 9 and zone_b.value("patrols") == 4
    assert zone_a.value("poll_responses") == 8 and zone_b.value("poll_responses") == 0
    # Weighted by answers: (5 × 4 + 3 × 2) / 8, not the hubs' plain mean of 3.
    assert zone_a.value("poll_trust_police") == pytest.approx(3.25)
    assert zone_b.value("poll_trust_police") is None  # nobody answered there: not a zero
    assert zone_a.value("big6_resolutions") == 3 and zone_b.value("big6_resolutions_done") == 100
    assert zone_a.sos.count == 3 and zone_a.sos.unacknowledged == 1

    # Station-wide.
    st = k.station
    assert st.reported == 3 and sorted(st.hub_ids) == sorted(HUBS)
    assert st.value("patrols") == 13 and st.value("patrol_checkins") == 13 and st.value("patrol_flagged") == 1
    assert st.value("poll_responses") == 8
    assert st.value("big6_meeting_held") == 2 and st.value("big6_resolutions") == 4
    assert st.value("big6_resolutions_done") == 50  # 2 of 4
    assert st.value("big6_sectors_present") == 3.5  # the two meetings: 4 and 3 sectors
    coverage = [(h.figures["patrol_coverage"].value, h.figures["patrol_coverage"].n) for h in k.hubs]
    weight = sum(n or 0 for v, n in coverage if v is not None)
    assert weight > 0
    assert st.value("patrol_coverage") == pytest.approx(
        sum(v * (n or 0) for v, n in coverage if v is not None) / weight, abs=0.01
    )
    assert (st.sos.count, st.sos.acknowledged, st.sos.p50) == (4, 3, 60)
    assert st.checkpoints == 6 and not k.rejected


async def test_pages_show_hubs_zones_and_checkpoints(
    make_hub: Any, station_lab: Callable[..., FederationLab], tmp_path: Path, clock: FakeClock
) -> None:
    lab = station_lab(hubs=PASSWORDS)
    station, hubs = await start_station_and_hubs(make_hub, lab, tmp_path)
    await do_the_month(hubs, clock)
    await settled(station, hubs)
    await health_in(station, hubs)
    station.data[CCOC_RUNTIME].hubs.invalidate()
    user = await station.auth.add_user("viewer-1", "correct horse battery", "viewer")
    token = await station.auth.create_token(user, "t")
    async with aiohttp.ClientSession(
        base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        page = await (await s.get(f"/ccoc/kpi?month={MONTH}")).text()
        api = await (await s.get(f"/api/ccoc/kpi?month={MONTH}")).json()
        map_page = await (await s.get("/ccoc/map")).text()
        s.cookie_jar.update_cookies({"lang": "en"})
        english = await (await s.get(f"/ccoc/kpi?month={MONTH}")).text()
        english_map = await (await s.get("/ccoc/map")).text()
    # The station-wide programme figures: the hubs' sums, never the station's own zeros.
    assert 'data-slot="patrols"' in page and 'id="kpi-fig-patrols">13<' in page
    assert 'id="kpi-fig-poll_responses">8<' in page and 'id="kpi-fig-big6_resolutions">4<' in page
    # Bars by zone: zone-a's 9 patrols and zone-b's 4.
    chart = page.split('id="kpi-zone-patrols"')[1].split("</section>")[0]
    assert "จำนวนรอบตรวจ · ตามพื้นที่" in chart and ">9<" in chart and ">4<" in chart
    # A row per hub and per zone.
    assert 'data-hub="test-hub"' in page and 'data-zone="zone-b"' in page
    assert (
        "ตลาดเทศบาล" in page and "ยังไม่มีรายงาน" not in page.split('id="kpi-slots"')[1].split("</section>")[0]
    )
    assert api["programme"]["station"]["reported"] == 3
    assert {h["id"]: h["incidents"] for h in api["programme"]["hubs"]} == {
        "test-hub": 2,
        "hub-b": 1,
        "hub-c": 1,
    }
    # The map: each hub's positioned box (soi3; atm_gate has no position), drawn and listed with
    # its last proven check-in. hub-b's last was 6 rounds of half an hour before the first hub's.
    for hub_id in HUBS:
        assert f'class="map-checkpoint" data-state="fresh" data-checkpoint="{hub_id}/soi3"' in map_page
        assert f'<tr data-checkpoint="{hub_id}/soi3" data-state="fresh">' in map_page
    assert "atm_gate" not in map_page and "ตรวจล่าสุด" in map_page
    # The same in English, with the hubs' own Thai names.
    assert "Programme figures by hub" in english and 'id="kpi-fig-patrols">13<' in english
    assert "last check-in 1 Jan 2026 10:00" in english_map and "Patrol boxes" in english_map
    rows = map_page.split('id="ccoc-checkpoints"')[1]
    assert "1 ม.ค. 2569 07:30" in rows.split('data-checkpoint="hub-b/soi3"')[1].split("</tr>")[0]
    assert "1 ม.ค. 2569 10:00" in rows.split('data-checkpoint="test-hub/soi3"')[1].split("</tr>")[0]


def test_combine_counts_and_rates() -> None:
    def fig(value: float | None, n: int | None = None, unit: str = "") -> Figure:
        return Figure("x", "p", "x", "x", unit, value, n)

    assert kpis.combine([fig(3), fig(None), fig(4)]).value == 7
    assert kpis.combine([fig(None), fig(None)]).value is None
    rate = kpis.combine([fig(50.0, 10, "%"), fig(100.0, 30, "%"), fig(None, 0, "%")])
    assert rate.value == 87.5 and rate.n == 40 and rate.hubs == 3
    # An older hub's share without ``n`` counts as one measurement.
    assert kpis.combine([fig(80.0, None, "%"), fig(40.0, 1, "%")]).value == 60.0
    assert kpis.combine([fig(None, 0, "%")]).value is None


async def test_alerts_and_a_bad_report(make_hub: Any, federation_lab: FederationLab, tmp_path: Path) -> None:
    station = await make_hub(
        federation_lab.station_block(), base=station_config(), folder=tmp_path / "station"
    )
    await register_hubs(station)
    store = station.data[STATION_RUNTIME].store
    january = datetime(2026, 1, 10, 9, tzinfo=BKK).timestamp()
    good = {"month": MONTH, "slots": [{"id": "patrols", "source": "patrol_qr", "value": 5}]}
    bad = {"month": MONTH, "slots": [{"id": "patrols", "source": "patrol_qr", "value": "lots"}]}
    gap = {"checkpoint_id": "soi3", "shift": "night", "days": 3}
    await store_events(
        store,
        "test-hub",
        [
            (EVENT_KPI_MONTH, good, january),
            (EVENT_KPI_MONTH, bad, january + 60),
            ("patrol_gap", gap, january + 120),
            ("patrol_gap", {**gap, "shift": "day"}, january + 180),
            # The same overdue resolution reminded twice, and another: two resolutions.
            ("big6_resolution_overdue", {"resolution_id": "r1", "days_overdue": 1}, january),
            ("big6_resolution_overdue", {"resolution_id": "r1", "days_overdue": 4}, january + 3 * 86400),
            ("big6_resolution_overdue", {"resolution_id": "r2", "days_overdue": 1}, january + 3 * 86400),
        ],
    )
    # hub-b's reminder came in February: not January's.
    await store_events(
        store, "hub-b", [("big6_resolution_overdue", {"resolution_id": "r9"}, january + 30 * 86400)]
    )
    # An older report re-sent late (after an outage) does not replace the newer one.
    old = {"month": MONTH, "slots": [{"id": "patrols", "source": "patrol_qr", "value": 99}]}
    await store_events(store, "test-hub", [(EVENT_KPI_MONTH, old, january - 600)])
    k = await station_kpis(store, MONTH, tz=BKK)
    # The bad (newer) report is named and left out; the last good one stands.
    assert k.station.value("patrols") == 5
    assert [(r.hub_id, r.field) for r in k.rejected] == [("test-hub", "slots.0.value")]
    first, other = k.hub("test-hub"), k.hub("hub-b")
    assert first is not None and other is not None
    assert (first.gap_alerts, first.overdue_resolutions) == (2, 2)
    assert (other.gap_alerts, other.overdue_resolutions, other.reported) == (0, 0, 0)
    assert other.figures == {} and k.station.reported == 1

    user = await station.auth.add_user("viewer-1", "correct horse battery", "viewer")
    token = await station.auth.create_token(user, "t")
    async with aiohttp.ClientSession(
        base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        page = await (await s.get(f"/ccoc/kpi?month={MONTH}")).text()
    rejected = page.split('id="kpi-rejected"')[1].split("</section>")[0]
    assert 'data-hub="test-hub"' in rejected and "<code>slots.0.value</code>" in rejected
    assert "Input should" not in page  # the schema's English stays in the API
    row = page.split('<tr data-hub="test-hub">')[1].split("</tr>")[0]
    assert row.rstrip().endswith("<td>2</td><td>2</td>")
    other_row = page.split('<tr data-hub="hub-b">')[1].split("</tr>")[0]
    assert "ยังไม่มีรายงาน" in other_row and ">5<" not in other_row
