"""The one throttle: sliding window per key, a global bound, and memory bounded without amnesty."""

from __future__ import annotations

import pytest

from hub.core.throttle import Throttle


def test_limit_then_wait_then_slide() -> None:
    throttle = Throttle(limit=3, window=60)
    for t in (0, 10, 20):
        assert not throttle.blocked("a", t)
        throttle.fail("a", t)
    assert throttle.retry_after("a", 21) == pytest.approx(39)  # the first failure ages out at 60
    assert not throttle.blocked("b", 21)  # keys are apart
    assert not throttle.blocked("a", 60)
    throttle.fail("a", 60)
    assert throttle.blocked("a", 61)  # 10, 20, 60 are in the window
    throttle.forget("a")
    assert not throttle.blocked("a", 61)


def test_a_flood_of_new_keys_never_lifts_a_lockout() -> None:
    throttle = Throttle(limit=5, window=300, max_keys=1000)
    for _ in range(5):
        throttle.fail("guesser", 0)
    for i in range(20_000):
        throttle.fail(f"flood-{i}", 1 + i * 0.001)
    assert len(throttle) <= 1000
    assert throttle.blocked("guesser", 30), "a flood reset the lockout"


def test_when_every_key_is_locked_new_keys_are_not_tracked() -> None:
    throttle = Throttle(limit=1, window=300, max_keys=10, global_limit=100)
    for i in range(10):
        throttle.fail(f"k{i}", 0)
    throttle.fail("new", 1)
    assert len(throttle) == 10 and all(throttle.blocked(f"k{i}", 2) for i in range(10))


def test_the_global_bound_limits_spraying_many_keys() -> None:
    throttle = Throttle(limit=5, window=300, global_limit=20)
    for i in range(20):
        assert not throttle.blocked(f"user-{i}", i)
        throttle.fail(f"user-{i}", i)
    wait = throttle.retry_after("someone-else", 20)
    assert wait == pytest.approx(280)  # the first of the 20 ages out at 300
    assert not throttle.blocked("someone-else", 300)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Throttle(limit=0, window=1)
