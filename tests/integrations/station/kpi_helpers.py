"""Helpers for the KPI tests: three hubs in two zones doing a month's programme work, and raw events.

``start_station_and_hubs`` + ``do_the_month`` + ``settled`` give a station that holds
what each hub did in January 2026 (the constants below say what), through a real Mosquitto.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from hub.core.ids import ulid
from hub.hub import Hub
from hub.testing import BASE_CONFIG
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.kpi_report import collect_slots
from integrations.federation.protocol import envelope, parse_envelope
from integrations.federation.testing import (
    HUB_PASSWORDS,
    STATION_ID,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.kpis import StationKpis, station_kpis
from integrations.station.store import Inbound, StationStore
from plugins.big6.const import RUNTIME as BIG6_RUNTIME
from plugins.patrol_qr.const import RUNTIME as PATROL_QR_RUNTIME
from plugins.patrol_qr.manager import Person
from plugins.people_poll.const import RUNTIME as PEOPLE_POLL_RUNTIME
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
    make_hub: Any, lab: FederationLab, tmp_path: Path, **station_extra: Any
) -> tuple[Hub, dict[str, Hub]]:
    # The station has the programme blocks too (the reporter added them): its own empty plugins
    # must not be what the page shows.
    station = await make_hub(
        lab.station_block(supervision={"grace": 86400}, **station_extra) + PROGRAMME,
        base=station_config(),
        folder=tmp_path / "station",
    )
    await register_hubs(station, *HUBS)
    hubs = {}
    for hub_id in HUBS:
        block = lab.hub_block(hub_id, health_interval=3600, kpi_interval=3600, kpi_debounce=0)
        hubs[hub_id] = await make_hub(block + PROGRAMME, base=hub_base(hub_id), folder=tmp_path / hub_id)
    for hub in hubs.values():
        assert await hub.data[FEDERATION_RUNTIME].link.wait_connected(10)
    assert await station.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    return station, hubs


async def do_the_month(hubs: dict[str, Hub], clock: FakeClock) -> None:
    """Each hub's January, through its plugins' own write paths."""
    for hub_id, hub in hubs.items():
        poll = hub.data[PEOPLE_POLL_RUNTIME]
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
            await hub.data[BIG6_RUNTIME].record_meeting(
                {"date": "2026-01-01", "attendance": attendance, "resolutions": resolutions}, "test"
            )
    # Check-ins half an hour apart (one officer cannot check in twice inside the joint window).
    officer = Person("user:officer-1", "ร.ต.ท. สมชาย", "police")
    for round_ in range(max(CHECKINS.values())):
        for hub_id, hub in hubs.items():
            if round_ < CHECKINS[hub_id]:
                mgr = hub.data[PATROL_QR_RUNTIME]
                cp = next(c for c in mgr.checkpoints if c.id == "soi3")
                await mgr.check_in(cp, cp.sheet, officer, lat=AT_SOI3[0], lon=AT_SOI3[1], accuracy=10)
        await clock.advance(1800)
    # One check-in without a position at the first hub: kept, flagged, not counted.
    mgr = hubs["test-hub"].data[PATROL_QR_RUNTIME]
    cp = next(c for c in mgr.checkpoints if c.id == "atm_gate")
    await mgr.check_in(cp, cp.sheet, Person("volunteer:v1", "อาสา 1", "volunteer"))
    # SOS: two acknowledged at the first hub (30 s, 90 s), one at hub-c (60 s), one nobody took.
    incidents = {hub_id: hub.data[INCIDENT_RUNTIME] for hub_id, hub in hubs.items()}
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
        assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
    store = station.data[STATION_RUNTIME].store
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


async def store_events(
    store: StationStore, hub_id: str, events: Sequence[tuple[str, dict[str, Any], float]]
) -> None:
    """Store ``(type, data, sent_at)`` events from ``hub_id`` through the store's ingest path."""
    batch = []
    for event_type, data, at in events:
        msg_id = ulid()
        raw = envelope(
            msg_id, STATION_ID, hub_id, "event", at, {"type": event_type, "data": data, "time": at}
        )
        batch.append(Inbound(msg_id, hub_id, "event", at, at, raw, parse_envelope(raw)))
    result = await store.ingest(batch, {}, {})
    assert len(result.new_keys) == len(events)


async def health_in(station: Hub, hubs: dict[str, Hub]) -> None:
    """Send each hub's health report now and wait until the station holds the check-ins' last visits."""
    for hub in hubs.values():
        await hub.data[FEDERATION_RUNTIME].send_health()
        assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
    store = station.data[STATION_RUNTIME].store

    async def visits() -> bool:
        for hub_id in hubs:
            item = await store.hub(hub_id) or {}
            info = ((item.get("health") or {}).get("info") or {}).get("patrol_qr") or {}
            if not info.get("last_visits"):
                return False
        return True

    await until(visits)
