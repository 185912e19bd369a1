"""Time for the hub: the real clock, and a controllable one for tests.

Everything time-based in the hub (delays, ``for:``, timers, escalation,
retention) goes through :class:`Clock`, so a test can move time forward
instead of sleeping, and a durable timer can be stated as a wall-clock
deadline that survives a restart.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dt_time
from zoneinfo import ZoneInfo

__all__ = ("Clock", "RealClock", "FakeClock", "Cancel")

Cancel = Callable[[], None]

# Set by :func:`labelled`; read when a task starts sleeping so tests can wait for *their* work.
_LABEL: contextvars.ContextVar[str | None] = contextvars.ContextVar("safetyhub_clock_label", default=None)


class Clock:
    """Interface of the hub's clock."""

    tz: tzinfo = ZoneInfo("Asia/Bangkok")

    def __init__(self) -> None:
        #: Tasks waiting in :meth:`sleep_until` and their :func:`labelled` name;
        #: ``Hub.block_till_done`` treats them as settled.
        self.sleepers: dict[asyncio.Task[object], str | None] = {}

    def time(self) -> float:
        """Return the current UNIX time in seconds."""
        raise NotImplementedError

    def now(self) -> datetime:
        """Return the current time as an aware datetime in the hub's timezone."""
        return datetime.fromtimestamp(self.time(), self.tz)

    def call_at(self, when: float, callback: Callable[[], object]) -> Cancel:
        """Run ``callback`` at UNIX time ``when`` (at once if it has passed)."""
        raise NotImplementedError

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancel:
        """Run ``callback`` after ``delay`` seconds."""
        return self.call_at(self.time() + delay, callback)

    async def sleep_until(self, when: float) -> None:
        """Sleep until UNIX time ``when``."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        cancel = self.call_at(when, wake)
        task = asyncio.current_task()
        if task is not None:
            self.sleepers[task] = _LABEL.get()
            self._fell_asleep()
        try:
            await fut
        finally:
            cancel()
            if task is not None:
                self.sleepers.pop(task, None)

    def call_daily(self, at: str, callback: Callable[[date], object]) -> Cancel:
        """Run ``callback(today)`` every day at ``at`` ("HH:MM" in the clock's timezone).

        The next run is scheduled *before* the callback runs, so a slow job (or a test
        moving a FakeClock across many days) never skips a day.  Returns a cancel.
        """
        hours, minutes = (int(x) for x in at.split(":"))

        def next_run() -> float:
            now = self.now()
            target = datetime.combine(now.date(), dt_time(hours, minutes), now.tzinfo)
            return (target if target > now else target + timedelta(days=1)).timestamp()

        cancel_next: Cancel

        def due() -> None:
            nonlocal cancel_next
            cancel_next = self.call_at(next_run(), due)
            callback(self.now().date())

        cancel_next = self.call_at(next_run(), due)
        return lambda: cancel_next()

    def _fell_asleep(self) -> None:
        """Called each time a task starts sleeping; :class:`FakeClock` wakes its waiters."""

    async def sleep(self, delay: float) -> None:
        """Sleep for ``delay`` seconds."""
        await self.sleep_until(self.time() + max(0.0, delay))


@contextmanager
def labelled(label: str) -> Iterator[None]:
    """Label the tasks started inside this block, for :meth:`FakeClock.until_asleep`.

    Tasks copy the context they are created in, so the label reaches every task the
    work spawns or gathers.
    """
    token = _LABEL.set(label)
    try:
        yield
    finally:
        _LABEL.reset(token)


class RealClock(Clock):
    """Wall-clock time on the running loop."""

    def __init__(self, tz: tzinfo | None = None) -> None:
        super().__init__()
        if tz is not None:
            self.tz = tz

    def time(self) -> float:
        """Return the current UNIX time in seconds."""
        return time.time()

    def call_at(self, when: float, callback: Callable[[], object]) -> Cancel:
        """Run ``callback`` at UNIX time ``when``."""
        loop = asyncio.get_running_loop()
        handle = loop.call_later(max(0.0, when - time.time()), callback)
        return handle.cancel


class FakeClock(Clock):
    """A clock that only moves when a test calls :meth:`advance`."""

    def __init__(self, start: float = 1_767_225_600.0, tz: tzinfo | None = None) -> None:
        super().__init__()
        # Default start: 2026-01-01 00:00 UTC (07:00 in Bangkok).
        self._now = start
        self._heap: list[tuple[float, int, Callable[[], object]]] = []
        self._cancelled: set[int] = set()
        self._seq = itertools.count()
        #: Awaited after each due callback so chained work can schedule more.
        self.settle: Callable[[], Awaitable[None]] | None = None
        self._sleep_started = asyncio.Event()
        if tz is not None:
            self.tz = tz

    def time(self) -> float:
        """Return the fake current time."""
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> Cancel:
        """Schedule ``callback`` for fake time ``when``."""
        seq = next(self._seq)
        heapq.heappush(self._heap, (when, seq, callback))

        def cancel() -> None:
            self._cancelled.add(seq)

        return cancel

    @property
    def pending(self) -> int:
        """Return the number of scheduled, uncancelled callbacks."""
        return sum(1 for _, seq, _ in self._heap if seq not in self._cancelled)

    async def _settle(self) -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        if self.settle is not None:
            await self.settle()

    async def advance(self, seconds: float) -> None:
        """Move time forward, running every callback that falls due in order."""
        target = self._now + seconds
        await self._settle()
        while self._heap and self._heap[0][0] <= target:
            when, seq, callback = heapq.heappop(self._heap)
            if seq in self._cancelled:
                self._cancelled.discard(seq)
                continue
            self._now = max(self._now, when)
            callback()
            await self._settle()
        self._now = target
        await self._settle()

    def _fell_asleep(self) -> None:
        self._sleep_started.set()

    async def until_asleep(self, label: str) -> None:
        """Wait (in real time) until a task started under :func:`labelled` sleeps on this clock.

        A test that saw a request land must not advance time before the code under test has
        gone back to sleep, or the advance happens first and the sleep starts late. The label
        follows the work into the tasks it gathers, which a task identity would not.
        """
        try:
            async with asyncio.timeout(10):
                while label not in self.sleepers.values():
                    self._sleep_started.clear()
                    await self._sleep_started.wait()
        except TimeoutError as err:
            raise TimeoutError(f"nothing labelled {label!r} asleep on the clock after 10 s") from err

    async def set_time(self, when: float) -> None:
        """Jump to UNIX time ``when`` (forward only), running due callbacks."""
        await self.advance(max(0.0, when - self._now))
