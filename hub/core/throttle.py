"""One throttle for every guess-limited door: failures per key in a sliding window.

Login (per address and user name), onboarding (per address) and LINE
member-code redemption (per LINE user) all count failures here.  In memory on
purpose: it only has to slow guessing down while the hub runs, and a restart
(visible to the admin) resetting it is fine.

Memory is bounded without forgiving anyone: when ``max_keys`` keys are
tracked, expired keys go first, then the key whose last failure is oldest
*among those not locked*.  A flood of new keys can never clear a lockout (the
old LINE counter cleared every entry at 10,000 keys, so a flood reset
everyone's).  If every tracked key is locked, a new key's failure is counted
only by the optional ``global_limit``, which bounds failures across all keys
so that spraying many keys (user names behind one reverse proxy) cannot
guess faster than that.
"""

from __future__ import annotations

from collections import deque

__all__ = ("Throttle",)


class Throttle:
    """``limit`` failures per key in ``window`` seconds; optionally ``global_limit`` across all keys."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        global_limit: int | None = None,
        max_keys: int = 10_000,
    ) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("a throttle needs limit >= 1, window > 0 and max_keys >= 1")
        self.limit = limit
        self.window = window
        self.global_limit = global_limit
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def __len__(self) -> int:
        """Return how many keys are tracked."""
        return len(self._failures)

    def _expire(self, times: deque[float], now: float) -> None:
        while times and now - times[0] >= self.window:
            times.popleft()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        self._expire(times, now)
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: str, now: float) -> float | None:
        """Return seconds until ``key`` may try again, or None if it may now."""
        waits: list[float] = []
        times = self._recent(key, now)
        if times is not None and len(times) >= self.limit:
            # refused until enough of the window's failures have aged out
            waits.append(times[-self.limit] + self.window - now)
        if self.global_limit is not None:
            self._expire(self._all, now)
            if len(self._all) >= self.global_limit:
                waits.append(self._all[-self.global_limit] + self.window - now)
        return max(waits) if waits else None

    def blocked(self, key: str, now: float) -> bool:
        """Return whether ``key`` must wait."""
        return self.retry_after(key, now) is not None

    def fail(self, key: str, now: float) -> None:
        """Record a failure for ``key``."""
        if self.global_limit is not None:
            self._all.append(now)
            self._expire(self._all, now)
            while len(self._all) > self.global_limit:
                self._all.popleft()  # only the newest ``global_limit`` matter
        times = self._recent(key, now)
        if times is None:
            if len(self._failures) >= self.max_keys and not self._make_room(now):
                return  # every tracked key is locked: the global bound still counts this one
            times = self._failures[key] = deque()
        times.append(now)
        while len(times) > self.limit:
            times.popleft()  # only the newest ``limit`` decide a lockout

    def forget(self, key: str) -> None:
        """Clear ``key`` (after a success: the right password ends the count)."""
        self._failures.pop(key, None)

    def _make_room(self, now: float) -> bool:
        # One pass makes room for a tenth of the table, so a flood of new keys costs
        # O(1) amortised per failure, not a scan of every key each time.
        for key in list(self._failures):
            self._recent(key, now)
        target = self.max_keys - max(1, self.max_keys // 10)
        if len(self._failures) <= target:
            return True
        unlocked = sorted(
            (times[-1], key) for key, times in self._failures.items() if len(times) < self.limit
        )
        for _last, key in unlocked[: len(self._failures) - target]:
            del self._failures[key]
        return len(self._failures) < self.max_keys
