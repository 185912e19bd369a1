"""The one retry backoff: doubling with a cap, jitter, decorrelated jitter, on the hub clock."""

from __future__ import annotations

import asyncio

import pytest

from hub.core.clock import FakeClock
from hub.core.retry import REAL_TIME, Backoff


def test_delays_double_up_to_the_cap_and_start_again_after_a_reset() -> None:
    backoff = Backoff(0.5, 10.0)
    assert [backoff.next() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.attempts == 7
    backoff.reset()
    assert backoff.attempts == 0 and backoff.current == 0.5 and backoff.next() == 0.5
    # A timeout that grows while nobody answers (federation's ack wait): current, then next().
    ack_wait = Backoff(30, 600)
    assert [ack_wait.current, ack_wait.next() and ack_wait.current, ack_wait.next() and ack_wait.current] == [
        30,
        60,
        120,
    ]
    # Counted by the caller: the n-th retry (the CAP push counts in the database).
    assert [Backoff(30, 3600).delay(n) for n in (1, 2, 8, 20)] == [30, 60, 3600, 3600]
    # A cap below the first delay wins, as the LINE settings allow.
    assert Backoff(2.0, 1.0).delay(1) == 1.0
    with pytest.raises(ValueError):
        Backoff(0, 10)


def test_jitter_scales_each_delay_within_its_range() -> None:
    picks: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        picks.append((low, high))
        return high

    backoff = Backoff(5.0, 300.0, jitter=(0.8, 1.2), uniform=uniform)
    assert backoff.delay(1) == pytest.approx(6.0) and backoff.delay(10) == pytest.approx(360.0)
    assert picks == [(0.8, 1.2), (0.8, 1.2)]
    real = Backoff(5.0, 300.0, jitter=(0.8, 1.2))
    assert all(4.0 <= real.delay(1) <= 6.0 for _ in range(50))


def test_decorrelated_jitter_stays_between_first_and_the_cap_and_grows() -> None:
    backoff = Backoff(1.0, 60.0, decorrelated=True, uniform=lambda low, high: high)
    assert [backoff.next() for _ in range(5)] == [3.0, 9.0, 27.0, 60.0, 60.0]
    backoff.reset()
    assert backoff.next() == 3.0
    real = Backoff(0.2, 0.5, decorrelated=True)
    assert all(0.2 <= real.next() <= 0.5 for _ in range(50))


async def test_sleep_waits_on_the_clock_it_is_given() -> None:
    clock = FakeClock()
    backoff = Backoff(5.0, 300.0)
    task = asyncio.ensure_future(backoff.sleep(clock))
    await clock.advance(4.9)
    assert not task.done()  # the hub clock, not wall time: a test moves it
    await clock.advance(0.2)
    assert await task == 5.0
    started = asyncio.get_running_loop().time()
    assert await Backoff(0.01, 1.0).sleep(REAL_TIME) == 0.01
    assert asyncio.get_running_loop().time() - started >= 0.01
