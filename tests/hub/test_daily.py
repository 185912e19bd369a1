"""DailyTask: the daily job wiring shared by big6, patrol_qr, people_poll and the backup."""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.core.clock import FakeClock
from hub.daily import DailyTask


async def test_runs_every_day_survives_a_failure_and_stops(
    make_hub: Any, clock: FakeClock, caplog: Any
) -> None:
    hub = await make_hub(web=False)
    days: list[date] = []

    async def job(today: date) -> None:
        days.append(today)
        if len(days) == 2:
            raise RuntimeError("the database is locked")

    task = DailyTask(hub, "demo", "06:30", job)
    task.start()
    task.start()  # a second start sets no second timer
    for _ in range(3):
        await clock.advance(86400)
        await hub.block_till_done()  # the job is a hub task: waited for like any other
    assert len(days) == 3 and len(set(days)) == 3  # the failing day did not cost the next one
    assert "demo: daily job of" in caplog.text and "the database is locked" in caplog.text
    task.stop()
    assert not task.running
    await clock.advance(3 * 86400)
    await hub.block_till_done()
    assert len(days) == 3
