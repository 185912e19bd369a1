"""The station's monthly figures are what its hubs did: three hubs in two zones, through a real Mosquitto.

Issue 17 item 0: a hub with 7 patrol check-ins, 5 poll answers and a Big 6
meeting with 3 resolutions, and the station's KPI page said "not reported yet";
with the programme blocks in the station's own config, it said zeros.  Here
each hub does different work, and the station's per-hub, per-zone and
station-wide figures are checked against exactly that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.core.clock import FakeClock
from hub.hub import Hub
from hub.incidents import INCIDENTS
from hub.testing import BASE_CONFIG
from integrations.federation.kpi_report import EVENT_KPI_MONTH, collect_slots
from integrations.federation.testing import (
    HUB_PASSWORDS,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.federation.uplink import FEDERATION
from integrations.station import kpis
from integrations.station.kpis import Figure, StationKpis, station_kpis
from integrations.station.runtime import STATION
from plugins.big6.manager import BIG6
from plugins.patrol_qr.manager import PATROL, Person
from plugins.people_poll.manager import POLL
from tests.plugins.patrol_qr.patrol_helpers import PATROL_YAML

MONTH = "2026-01"
PASSWORDS = {**HUB_PASSWORDS, "hub-c": "hub-c-password-1234"}
#: hub → (zone, name)
HUBS = {
    "test-hub": ("zone-a", "ตลาดเทศบาล"),
    "hub-b": ("zone-a", "ร้านทองเยาวราช"),
    "hub-c": ("zone-b", "ชุมชนริมน้ำ"),
}
#: What each hub does in January.
CHECKINS = {"test-hub": 7, "hub-b": 2, "hub-c": 4}
ANSWERS = {"test-hub": 5, "hub-b": 3, "hub-c": 0}
#: trust_police answers (1–5): the zone's mean must weigh hubs by their answers.
TRUST = {"test-hub": "4", "hub-b": "2", "hub-c": "3"}
#: (sectors present, resolutions, of which done); None: no meeting.
MEETINGS: dict[str, tuple[dict[str, int], int, int] | None] = {
    "test-hub": ({"police": 2, "citizens": 5, "business": 1, "media": 1}, 3, 1),
    "hub-b": None,
    "hub-c": ({"police": 1, "citizens": 3, "local_government": 1}, 1, 1),
}
PROGRAMME = PATROL_YAML + "people_poll:\nbig6:\n"
AT_SOI3 = (14.5897, 100.4551)


def hub_base(hub_id: str) -> str:
    zone, name = HUBS[hub_id]
    return (
        BASE_CONFIG.replace("id: test-hub", f"id: {hub_id}")
        .replace("name: ตลาดทดสอบ", f"name: {name}")
        .replace("zone: test-zone", f"zone: {zone}")
    )


async def start_station_and_hubs(
    make_hub: Any, lab: FederationLab, tmp_path: Path
) -> tuple[Hub, dict[str, Hub]]:
    # The station has the programme blocks too (the reporter added them): its own empty plugins
    # must not be what the page shows.
    station = await make_hub(
        lab.station_block(silent_after=1e6) + PROGRAMME,
        base=station_config(),
        folder=tmp_path / "station",
    )
    await register_hubs(station, *HUBS)
    hubs = {}
    for hub_id in HUBS:
        block = lab.hub_block(hub_id, health_interval=3600, kpi_interval=3600, kpi_debounce=0)
        hubs[hub_id] = await make_hub(block + PROGRAMME, base=hub_base(hub_id), folder=tmp_path / hub_id)
    for hub in hubs.values():
        assert await hub.data[FEDERATION].link.wait_connected(10)
    assert await station.data[STATION].ingest.link.wait_connected(10)
    return station, hubs


async def do_the_month(hubs: dict[str, Hub], clock: FakeClock) -> None:
    """Each hub's January, through its plugins' own write paths."""
    for hub_id, hub in hubs.items():
        poll = hub.data[POLL]
        for i in range(ANSWERS[hub_id]):
            form = {"fear_of_crime": "2", "trust_police": TRUST[hub_id], "safe_at_night": "yes"}
            await poll.submit(MONTH, f"10.0.{len(hub_id)}.{i}", form, answered=False)
        meeting = MEETINGS[hub_id]
        if meeting is not None:
            attendance, count, done = meeting
            resolutions = [
                {
                    "text": f"มติที่ {i + 1}",
                    "owner": "เทศบาล",
                    "due_date": "2026-01-31",
                    "status": "done" if i < done else "open",
                }
                for i in range(count)
            ]
            await hub.data[BIG6].record_meeting(
                {"date": "2026-01-01", "attendance": attendance, "resolutions": resolutions}, "test"
            )
    # Check-ins half an hour apart (one officer cannot check in twice inside the joint window).
    officer = Person("user:officer-1", "ร.ต.ท. สมชาย", "police")
    for round_ in range(max(CHECKINS.values())):
        for hub_id, hub in hubs.items():
            if round_ < CHECKINS[hub_id]:
                mgr = hub.data[PATROL]
                cp = next(c for c in mgr.checkpoints if c.id == "soi3")
                await mgr.check_in(cp, cp.sheet, officer, lat=AT_SOI3[0], lon=AT_SOI3[1], accuracy=10)
        await clock.advance(1800)
    # One check-in without a position at the first hub: kept, flagged, not counted.
    mgr = hubs["test-hub"].data[PATROL]
    cp = next(c for c in mgr.checkpoints if c.id == "atm_gate")
    await mgr.check_in(cp, cp.sheet, Person("volunteer:v1", "อาสา 1", "volunteer"))
    # SOS: two acknowledged at the first hub (30 s, 90 s), one at hub-c (60 s), one nobody took.
    incidents = {hub_id: hub.data[INCIDENTS] for hub_id, hub in hubs.items()}
    first = await incidents["test-hub"].open("sos", title="SOS 1")
    await clock.advance(30)
    await incidents["test-hub"].ack(first.id, by="ร.ต.อ. สมชาย")
    second = await incidents["test-hub"].open("sos", title="SOS 2")
    third = await incidents["hub-c"].open("sos", title="SOS 3")
    await clock.advance(60)
    await incidents["hub-c"].ack(third.id, by="ร.ต.อ. สมชาย")
    await clock.advance(30)
    await incidents["test-hub"].ack(second.id, by="ร.ต.อ. สมชาย")
    await incidents["hub-b"].open("sos", title="ไม่มีใครรับ")
    await clock.advance(1)  # the debounced reports go out


async def settled(station: Hub, hubs: dict[str, Hub]) -> StationKpis:
    """Wait until the station holds every hub's newest report and incidents; return its figures."""
    for hub in hubs.values():
        for _ in range(3):
            await hub.block_till_done()
        assert await hub.data[FEDERATION].outbox.wait_empty(10)
    store = station.data[STATION].store
    own = {hub_id: await collect_slots(hub, MONTH) for hub_id, hub in hubs.items()}

    async def arrived() -> StationKpis | None:
        got = await station_kpis(store, MONTH, tz=station.clock.tz)
        for hub_id, slots in own.items():
            scope = got.hub(hub_id)
            if scope is None or {f.id: f.value for f in scope.figures.values()} != {
                s["id"]: s["value"] for s in slots
            }:
                return None
        return got if got.station.sos.count == 4 and got.station.sos.acknowledged == 3 else None

    result: StationKpis = await until(arrived)
    return result


async def test_station_figures_are_what_the_hubs_did(
    make_hub: Any, mosquitto_factory: Any, tmp_path: Path, clock: FakeClock
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory, hubs=PASSWORDS)
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


async def test_a_malformed_report_is_named_not_shown(make_hub: Any, tmp_path: Path) -> None:
    from integrations.station.store_sqlite import SqliteStationStore
    from tests.integrations.station.kpi_helpers import store_events

    store = SqliteStationStore(tmp_path / "station.db")
    await store.open()
    try:
        await store.register_hub("h1", "h1", 0)
        good = {"month": MONTH, "slots": [{"id": "patrols", "source": "patrol_qr", "value": 5}]}
        bad = {"month": MONTH, "slots": [{"id": "patrols", "source": "patrol_qr", "value": "lots"}]}
        january = 1_767_300_000.0
        await store_events(
            store, "h1", [(EVENT_KPI_MONTH, good, january), (EVENT_KPI_MONTH, bad, january + 60)]
        )
        from zoneinfo import ZoneInfo

        k = await station_kpis(store, MONTH, tz=ZoneInfo("Asia/Bangkok"))
        # The bad (newer) report is named and left out; the last good one stands.
        assert k.station.value("patrols") == 5
        assert [(r.hub_id, r.reason.split(":")[0]) for r in k.rejected] == [("h1", "slots.0.value")]
    finally:
        await store.close()
