"""Joint patrols, replays and coverage gaps, with the hub's FakeClock moved by hand."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.core.clock import FakeClock
from plugins.patrol_qr.config import DEFAULT_SHIFTS, PatrolConfig
from plugins.patrol_qr.const import RUNTIME as PATROL_QR_RUNTIME
from plugins.patrol_qr.patrols import Patrol, Visit, choose_patrol, composition_label, coverage, shift_slot
from tests.plugins.patrol_qr.patrol_helpers import (
    AT_SOI3,
    PATROL_YAML,
    checkin_count,
    sheet_link,
    volunteer_link,
)

BKK = ZoneInfo("Asia/Bangkok")


def at(day: int, hour: int, minute: int = 0, month: int = 1) -> float:
    """Return a UNIX time on a day of January 2026, Bangkok time."""
    return datetime(2026, month, day, hour, minute, tzinfo=BKK).timestamp()


async def test_joint_patrol_grouping_and_replay(make_hub: Any, phones: Any, clock: FakeClock) -> None:
    hub = await make_hub(PATROL_YAML)
    events: list[Any] = []
    hub.bus.listen("patrol_checkin", events.append)
    link = await sheet_link(hub, "soi3")
    somchai, officer, somsri = await phones(hub), await phones(hub, "officer1"), await phones(hub)
    await somchai.get((await volunteer_link(hub, "สมชาย"))[1])
    await somsri.get((await volunteer_link(hub, "สมศรี"))[1])

    first = await somchai.check_in(link, **AT_SOI3)
    assert first.status == 200 and "อาสา 1" in first.text
    await clock.advance(5 * 60)
    second = await officer.check_in(link, **AT_SOI3)
    # "1 officer + 1 volunteer": one joint patrol, as the programme counts it.
    assert second.status == 200 and "ตำรวจ 1 + อาสา 1" in second.text and 'data-people="2"' in second.text

    # The same person with the same sheet inside the window is a replay, not a second patrol.
    await clock.advance(5 * 60)
    replay = await somchai.check_in(link, **AT_SOI3)
    assert (replay.status, replay.reason) == (409, "replay")
    assert await checkin_count(hub) == 2

    # 25 minutes after the first check-in the window (20 min, from the first) is over: a new patrol.
    await clock.advance(15 * 60)
    third = await somsri.check_in(link, **AT_SOI3)
    assert third.status == 200 and 'data-people="1"' in third.text
    again = await somchai.check_in(link, **AT_SOI3)
    assert again.status == 200 and 'data-people="2"' in again.text

    # Another checkpoint at the same moment is another patrol.
    assert (await officer.check_in(await sheet_link(hub, "atm_gate"), **AT_SOI3)).status == 200
    await hub.block_till_done()
    assert [
        (e.data["checkpoint_id"], e.data["people"], e.data["joint"], e.data["mixed"]) for e in events
    ] == [
        ("soi3", 1, False, False),
        ("soi3", 2, True, True),
        ("soi3", 1, False, False),
        ("soi3", 2, True, False),
        ("atm_gate", 1, False, False),
    ]
    assert events[1].data["composition"] == {"police": 1, "volunteer": 1}
    assert events[0].data["patrol_id"] == events[1].data["patrol_id"] != events[2].data["patrol_id"]
    recent = await hub.data[PATROL_QR_RUNTIME].recent_patrols()
    assert [(p.checkpoint_id, len(p.people), p.mixed) for p in recent] == [
        ("atm_gate", 1, False),
        ("soi3", 2, False),
        ("soi3", 2, True),
    ]


def test_choose_patrol_counts_from_the_first_checkin() -> None:
    assert choose_patrol({}, 1000, 600) is None
    assert choose_patrol({"a": 500}, 1000, 600) == "a"
    assert choose_patrol({"a": 399}, 1000, 600) is None
    # Two open patrols (possible after a config change of the window): the newest wins.
    assert choose_patrol({"a": 500, "b": 900}, 1000, 600) == "b"


def test_composition_labels() -> None:
    assert composition_label({"police": 1, "volunteer": 1}, "en") == "1 officer + 1 volunteer"
    assert composition_label({"police": 2, "volunteer": 0}, "en") == "2 officers"
    assert composition_label({"police": 0, "volunteer": 3}, "th") == "อาสา 3"
    assert composition_label({}, "th") == "—"


def test_shift_slots_put_small_hours_on_the_night_before() -> None:
    shifts = list(DEFAULT_SHIFTS)
    assert shift_slot(at(2, 2), shifts, BKK) == (date(2026, 1, 1), "night")
    assert shift_slot(at(2, 22), shifts, BKK) == (date(2026, 1, 2), "night")
    assert shift_slot(at(2, 13, 59), shifts, BKK) == (date(2026, 1, 2), "morning")
    assert shift_slot(at(2, 14), shifts, BKK) == (date(2026, 1, 2), "evening")
    partial = [s for s in shifts if s.id == "night"]
    assert shift_slot(at(2, 12), partial, BKK) is None


def _patrol(cp: str, ts: float) -> Patrol:
    return Patrol(f"p{ts}", cp, ts, [Visit(cp, ts, "user:1", "police", f"p{ts}")])


def test_coverage_grid_and_gap_detection() -> None:
    shifts = list(DEFAULT_SHIFTS)
    grid = coverage(
        {"a": at(1, 0), "b": at(4, 12)},
        [
            _patrol("a", at(1, 23)),
            _patrol("a", at(2, 8)),
            _patrol("a", at(3, 8)),
            _patrol("a", at(4, 8)),
            _patrol("a", at(5, 8)),
            _patrol("a", at(5, 9)),
        ],
        first_day=date(2025, 12, 29),
        last_day=date(2026, 1, 5),
        shifts=shifts,
        tz=BKK,
        now=at(5, 10),
        gap_days=3,
    )
    cell = grid.cells
    assert cell[("a", date(2026, 1, 1), "night")].status == "visited"
    assert [cell[("a", date(2026, 1, d), "night")].status for d in (2, 3, 4, 5)] == [
        "missed",
        "missed",
        "missed",
        "pending",
    ]
    assert cell[("a", date(2026, 1, 5), "morning")].patrols == 2  # visited twice, still under way
    assert cell[("a", date(2025, 12, 30), "night")].status == "before"
    # "No night visit in 3 days" at a; b is new (since the 4th noon) and not yet 3 days short.
    gaps = {(g.checkpoint_id, g.shift_id): g for g in grid.gaps}
    assert set(gaps) == {("a", "night"), ("a", "evening")}
    assert gaps[("a", "night")].days == 3 and not gaps[("a", "night")].at_least
    assert gaps[("a", "night")].last_visit == at(1, 23)
    assert gaps[("a", "evening")].days == 4 and gaps[("a", "evening")].last_visit is None
    assert [cell[("b", date(2026, 1, 4), s)].status for s in ("morning", "evening", "night")] == [
        "before",
        "missed",
        "missed",
    ]
    # Of a's 12 finished shifts, 4 were patrolled (mornings 2–4, the night of the 1st); today's
    # morning is under way and already patrolled, so it counts as well.
    assert grid.ratio("a") == 5 / 13
    # The shown range can be shorter than the range looked at for gaps.
    short = coverage(
        {"a": at(1, 0)},
        [_patrol("a", at(1, 23))],
        first_day=date(2026, 1, 1),
        last_day=date(2026, 1, 5),
        shifts=shifts,
        tz=BKK,
        now=at(5, 10),
        gap_days=3,
        shown_from=date(2026, 1, 4),
    )
    assert short.days == [date(2026, 1, 4), date(2026, 1, 5)]
    assert ("a", "night") in {(g.checkpoint_id, g.shift_id) for g in short.gaps}


async def test_daily_check_fires_patrol_gap(make_hub: Any, phones: Any, clock: FakeClock) -> None:
    hub = await make_hub(PATROL_YAML)
    gaps: list[Any] = []
    hub.bus.listen("patrol_gap", gaps.append)
    officer = await phones(hub, "officer1")
    await clock.set_time(at(1, 23))
    assert (await officer.check_in(await sheet_link(hub, "soi3"), **AT_SOI3)).status == 200
    await clock.set_time(at(4, 7, 31))
    await hub.block_till_done()
    assert not [g for g in gaps if g.data["checkpoint_id"] == "soi3" and g.data["shift"] == "night"]
    await clock.set_time(at(5, 7, 31))
    await hub.block_till_done()
    [night] = [g.data for g in gaps if g.data["checkpoint_id"] == "soi3" and g.data["shift"] == "night"]
    assert night["days"] == 3 and night["shift_name_th"] == "ดึก" and night["last_visit"] == at(1, 23)
    # The never-visited checkpoint has been reported every day since its third missed shift.
    assert {g.data["shift"] for g in gaps if g.data["checkpoint_id"] == "atm_gate"} == {
        "morning",
        "evening",
        "night",
    }

    # The same gaps show on the coverage page and in the API.
    phone = await phones(hub, "viewer1", role="viewer")
    async with phone.session.get("/api/patrol_qr/coverage?days=5") as resp:
        data = await resp.json()
    assert {
        "checkpoint_id": "soi3",
        "shift": "night",
        "days": 3,
        "at_least": False,
        "last_visit": at(1, 23),
    } in data["gaps"]
    page = await phone.get("/patrol_qr/coverage?days=5")
    assert page.status == 200 and "ตู้แดงซอย 3: ไม่มีการตรวจผลัดดึก 3 วัน" in page.text
    assert (await phone.get("/patrol_qr/coverage?days=999")).status == 400


async def test_month_figures_and_kpi(make_hub: Any, phones: Any, clock: FakeClock) -> None:
    hub = await make_hub(PATROL_YAML)
    link = await sheet_link(hub, "soi3")
    volunteer, officer = await phones(hub), await phones(hub, "officer1")
    await volunteer.get((await volunteer_link(hub, "อาสา"))[1])
    await volunteer.check_in(link, **AT_SOI3)
    await officer.check_in(link, **AT_SOI3)
    await clock.set_time(at(2, 9))
    await officer.check_in(link, **AT_SOI3)
    [(_, slots)] = [
        r
        for r in await hub.plugins.async_call_each("kpi_slots", hub=hub, month="2026-01")
        if r[0].domain == "patrol_qr"
    ]
    by_key = {s["key"]: s["value"] for s in slots}
    assert by_key["patrols"] == 2 and by_key["patrol_checkins"] == 3
    assert by_key["patrol_officer_volunteer"] == 50.0
    # The hub (and its checkpoints) started on Jan 1 at 07:00, so that morning counts only where it
    # was patrolled: soi3 that morning and on the 2nd, against 2 × (evening + night) missed on the 1st.
    assert by_key["patrol_coverage"] == round(2 / 6 * 100, 1)
    [(_, empty)] = [
        r
        for r in await hub.plugins.async_call_each("kpi_slots", hub=hub, month="2026-03")
        if r[0].domain == "patrol_qr"
    ]
    assert {s["key"]: s["value"] for s in empty}["patrol_coverage"] is None


def test_config_rejects_overlapping_shifts_and_duplicate_ids() -> None:
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError, match="overlaps"):
        PatrolConfig.model_validate(
            {
                "shifts": [
                    {"id": "a", "name_th": "ก", "name_en": "A", "start": "06:00", "end": "15:00"},
                    {"id": "b", "name_th": "ข", "name_en": "B", "start": "14:00", "end": "22:00"},
                ]
            }
        )
    with pytest.raises(pydantic.ValidationError, match="unique"):
        PatrolConfig.model_validate({"checkpoints": [{"id": "x", "name": "X"}, {"id": "x", "name": "Y"}]})
    # YAML 1.1 reads an unquoted 22:30 as 1350: taken as minutes after midnight.
    cfg = PatrolConfig.model_validate(
        {
            "daily_check": 1350,
            "shifts": [{"id": "n", "name_th": "ดึก", "name_en": "Night", "start": 1320, "end": "06:00"}],
        }
    )
    assert cfg.daily_check == "22:30" and cfg.shifts[0].start == "22:00"
