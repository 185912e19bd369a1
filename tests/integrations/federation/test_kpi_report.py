"""The hub reports its month's figures (kpi_month): after a change, once per burst, never unchanged, and the closed month again."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub.core.clock import FakeClock
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.kpi_report import EVENT_KPI_MONTH, read_report
from integrations.federation.testing import FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.kpis import station_kpis
from plugins.big6.const import RUNTIME as BIG6_RUNTIME
from plugins.people_poll.const import RUNTIME as PEOPLE_POLL_RUNTIME

BKK = ZoneInfo("Asia/Bangkok")
FORM = {"fear_of_crime": "2", "trust_police": "4", "safe_at_night": "no", "comment": "โทร 0812345678"}


async def test_reports_follow_changes_and_close_the_month(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, clock: FakeClock
) -> None:
    await clock.set_time(datetime(2026, 1, 31, 22, 30, tzinfo=BKK).timestamp())
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        hub_extra="people_poll:\nbig6:\n",
        station_extra={"supervision": {"grace": 86400}},
        kpi_interval=3600,
        kpi_debounce=5,
        health_interval=3600,
    )
    store = station.data[STATION_RUNTIME].store
    fed = hub.data[FEDERATION_RUNTIME]

    async def reports(month: str, count: int) -> list[dict[str, Any]]:
        assert await fed.outbox.wait_empty(10)

        async def arrived() -> list[dict[str, Any]] | None:
            events = await store.hub_events([EVENT_KPI_MONTH], 0, 1e11)
            mine = [e["data"] for e in events if e["data"].get("month") == month]
            return mine if len(mine) >= count else None

        got: list[dict[str, Any]] = await until(arrived)
        assert len(got) == count, got
        return got

    def responses(report: dict[str, Any]) -> Any:
        return next(s["value"] for s in report["slots"] if s["id"] == "poll_responses")

    # At start: January as it stands (the 31st: December is long closed, not reported again).
    [first] = await reports("2026-01", 1)
    assert responses(first) == 0 and first["final"] is False
    assert not [
        e for e in await store.hub_events([EVENT_KPI_MONTH], 0, 1e11) if e["data"]["month"] != "2026-01"
    ]

    # Poll answers alone send nothing at once (a report right after an answer would date it) ...
    for i in range(2):
        await hub.data[PEOPLE_POLL_RUNTIME].submit("2026-01", f"10.0.0.{i}", FORM, answered=False)
    await hub.block_till_done()  # the debounce timer is set before the clock moves
    await clock.advance(5)
    await reports("2026-01", 1)
    # ... they go with the next report: here a Big 6 meeting and a resolution, one report for the burst.
    big6 = hub.data[BIG6_RUNTIME]
    meeting = await big6.record_meeting({"date": "2026-01-31", "attendance": {"police": 2}}, "test")
    await big6.add_resolution(meeting.id, {"text": "ติดไฟซอย 3", "owner": "เทศบาล", "due_date": "2026-02-15"})
    await hub.block_till_done()
    await clock.advance(5)
    second = (await reports("2026-01", 2))[-1]
    assert responses(second) == 2
    assert {s["id"]: s["value"] for s in second["slots"] if s["source"] == "big6"} == {
        "big6_meeting_held": 1,
        "big6_sectors_present": 1,
        "big6_resolutions": 1,
        "big6_resolutions_done": 0,
    }
    trust = next(s for s in second["slots"] if s["id"] == "poll_trust_police")
    assert (trust["value"], trust["n"], trust["sum"]) == (4, 2, 8)
    # Aggregates only: nothing a respondent typed travels.
    assert "0812345678" not in str(second) and "comment" not in str(second)

    # An hour with nothing new: no report.
    await hub.block_till_done()
    await clock.advance(3600)
    await reports("2026-01", 2)

    # Into February: January again, final, and February's first.
    await hub.block_till_done()
    await clock.advance(3600)
    final = (await reports("2026-01", 3))[-1]
    assert final["final"] is True and responses(final) == 2
    [february] = await reports("2026-02", 1)
    assert responses(february) == 0

    january = await station_kpis(store, "2026-01", tz=BKK)
    assert january.station.final and january.station.value("poll_responses") == 2
    assert january.station.value("poll_trust_police") == 4


def test_report_schema_takes_a_long_question_and_refuses_bad_values() -> None:
    question = "ก" * 300  # a poll question may be 300 characters long
    slot = {"id": "poll_q", "source": "people_poll", "label_th": question, "value": 3.5, "n": 4, "sum": 14}
    report, reason = read_report({"month": "2026-01", "slots": [slot]})
    assert reason is None and report is not None and report.slots[0].label_th == question
    for bad in ({"value": float("nan")}, {"n": -1}, {"id": "Bad Id"}, {"value": "lots"}):
        assert read_report({"month": "2026-01", "slots": [{**slot, **bad}]})[0] is None, bad
    assert (
        read_report({"month": "2026-13", "slots": []})[1]
        == "month: String should match pattern '^\\d{4}-(0[1-9]|1[0-2])$'"
    )


async def test_an_offline_hub_keeps_only_its_newest_report_per_month(make_hub: Any) -> None:
    with socket.socket() as s:  # a closed port on 127.0.0.1: the station is unreachable
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hub = await make_hub(
        "people_poll:\n"
        f"federation: {{station: test-station, broker: 'mqtt://127.0.0.1:{port}', username: test-hub,\n"
        "             password: hub-a-password-1234, reconnect_min: 30, reconnect_max: 60}\n"
    )
    fed = hub.data[FEDERATION_RUNTIME]

    async def queued() -> dict[str, list[int]]:
        rows = await hub.storage.fetchall(
            "SELECT coalesce_key, payload FROM federation_outbox WHERE coalesce_key LIKE 'kpi_month:%'"
        )
        out: dict[str, list[int]] = {}
        for row in rows:
            slots = json.loads(row["payload"])["body"]["data"]["slots"]
            out.setdefault(row["coalesce_key"], []).append(
                next(s["value"] for s in slots if s["id"] == "poll_responses")
            )
        return out

    await fed.kpis.report()
    for i in range(3):
        await hub.data[PEOPLE_POLL_RUNTIME].submit("2026-01", f"10.0.0.{i}", FORM, answered=False)
        await fed.kpis.report()
    # The 1st of January: December (closed) and January, each once, January with all three answers.
    assert await queued() == {"kpi_month:2025-12": [0], "kpi_month:2026-01": [3]}
