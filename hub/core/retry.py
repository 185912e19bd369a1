"""One retry backoff for every retry loop: :class:`Backoff`.

A loop that retries (a held incident waiting for the disk, a plugin that is not ready,
a camera or a stream that went away, a LINE push, the broker connection) waits
``first``, then twice that, … up to ``maximum``, optionally jittered so that many
retriers that failed together do not come back in step.

Why not tenacity: the loops differ in what they retry (a batch that keeps growing, a
connection with state, a request with a server-given ``Retry-After``) and when they
reset, so they keep their own loop and take only the delays from here; and most of them
must wait on the hub clock (:meth:`Backoff.sleep` with ``hub.clock``), so that a test's
FakeClock moves them, which tenacity's sleep would not.  Loops that talk to real
processes in real time (the MQTT broker, the database while stopping) sleep on
:data:`REAL_TIME`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Protocol

__all__ = ("Backoff", "REAL_TIME", "Sleeper")


class Sleeper(Protocol):
    """Something with ``await sleep(seconds)``: the hub clock, or :data:`REAL_TIME`."""

    async def sleep(self, delay: float) -> None:
        """Wait ``delay`` seconds."""


class _RealTime:
    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(delay)


#: Wall-clock waits (a FakeClock in a test does not move them).
REAL_TIME: Sleeper = _RealTime()


class Backoff:
    """Delays growing from ``first`` by ``factor`` up to ``maximum``.

    ``jitter=(low, high)`` multiplies each delay by a random factor in that range
    (``(0.8, 1.2)``: ±20 %).  ``decorrelated=True`` uses "decorrelated jitter" instead:
    each delay is random between ``first`` and three times the previous one (capped),
    which spreads a crowd of clients (a hundred hubs losing one broker) best.

    Use :meth:`delay` for the n-th attempt when the caller counts attempts itself, or
    the stateful :meth:`next` / :meth:`sleep` / :meth:`reset` in a loop.
    """

    __slots__ = ("first", "maximum", "factor", "jitter", "decorrelated", "attempts", "_last", "_uniform")

    def __init__(
        self,
        first: float,
        maximum: float,
        *,
        factor: float = 2.0,
        jitter: tuple[float, float] | None = None,
        decorrelated: bool = False,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if first <= 0 or factor < 1:
            raise ValueError(f"backoff needs first > 0 and factor >= 1, got {first}, {factor}")
        self.first = first
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.decorrelated = decorrelated
        #: Delays handed out since the last reset.
        self.attempts = 0
        self._last = first
        self._uniform = uniform

    def delay(self, attempt: int) -> float:
        """Return the wait before retry number ``attempt`` (1: the first retry), jittered."""
        base = min(self.maximum, self.first * self.factor ** max(0, attempt - 1))
        if self.jitter is not None:
            base *= self._uniform(*self.jitter)
        return base

    @property
    def current(self) -> float:
        """Return the un-jittered delay after ``attempts`` retries (a timeout that grows: the ack wait)."""
        return min(self.maximum, self.first * self.factor**self.attempts)

    def next(self) -> float:
        """Return the next delay and count it."""
        self.attempts += 1
        if self.decorrelated:
            self._last = min(self.maximum, self._uniform(self.first, self._last * 3))
            return self._last
        return self.delay(self.attempts)

    def reset(self) -> None:
        """Start again from ``first`` (after a success)."""
        self.attempts = 0
        self._last = self.first

    async def sleep(self, clock: Sleeper) -> float:
        """Wait the next delay on ``clock`` (``hub.clock`` or :data:`REAL_TIME`); return it."""
        delay = self.next()
        await clock.sleep(delay)
        return delay
