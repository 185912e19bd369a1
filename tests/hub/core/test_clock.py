"""The controllable clock."""

import asyncio

from hub.core.clock import FakeClock, RealClock
from hub.core.ids import ulid, ulid_at


async def test_fake_clock_runs_due_callbacks_in_order() -> None:
    clock = FakeClock(start=1000.0)
    fired: list[tuple[str, float]] = []
    clock.call_later(10, lambda: fired.append(("b", clock.time())))
    clock.call_later(5, lambda: fired.append(("a", clock.time())))
    cancel = clock.call_later(7, lambda: fired.append(("x", clock.time())))
    cancel()
    await clock.advance(6)
    assert fired == [("a", 1005.0)]
    await clock.advance(100)
    assert fired == [("a", 1005.0), ("b", 1010.0)]
    assert clock.time() == 1106.0


async def test_fake_sleep() -> None:
    clock = FakeClock()
    woke = []

    async def sleeper() -> None:
        await clock.sleep(30)
        woke.append(clock.time())

    task = asyncio.create_task(sleeper())
    await clock.advance(29)
    assert woke == []
    await clock.advance(1)
    await task
    assert woke == [clock.time()]


async def test_real_clock_sleep_until_past() -> None:
    clock = RealClock()
    await asyncio.wait_for(clock.sleep_until(clock.time() - 5), 1)


def test_ulids_sort_in_time_order() -> None:
    ids = [ulid() for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert ulid_at(1.0) < ulid_at(2.0)


async def test_block_till_done_does_not_wait_for_clock_sleepers(make_hub, clock) -> None:
    """A task asleep on the fake clock is settled: advancing time must not hang."""
    hub = await make_hub()
    woke: list[float] = []

    async def flash_like() -> None:
        await hub.clock.sleep(60)
        woke.append(hub.clock.time())

    hub.create_task(flash_like())
    await asyncio.wait_for(hub.block_till_done(), 2)
    assert woke == []
    await asyncio.wait_for(clock.advance(60), 2)
    assert woke == [clock.time()]


async def test_call_daily_runs_once_a_day_at_its_local_time() -> None:
    from datetime import date, datetime

    clock = FakeClock()  # 2026-01-01 07:00 in Bangkok
    days: list[date] = []
    cancel = clock.call_daily("06:30", days.append)
    await clock.advance(3 * 86400)  # to 2026-01-04 07:00
    assert days == [date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 4)]
    assert datetime.fromtimestamp(clock.time(), clock.tz).hour == 7
    cancel()
    await clock.advance(86400)
    assert len(days) == 3
