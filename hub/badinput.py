"""Helpers for input from devices we do not control: decode safely, complain rarely.

A broken or hostile device can publish garbage thousands of times a second;
the hub must neither crash nor fill the disk with log lines.  Parsers return
None for anything they cannot use, and :class:`BadInputLog` writes at most
one line per device per interval.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ("BadInputLog", "json_object", "payload_text", "as_number")

#: Seconds between two log lines about the same device.
BAD_INPUT_LOG_INTERVAL = 300.0
#: Most distinct devices remembered; beyond that the oldest entries go.
_MAX_KEYS = 10_000


class BadInputLog:
    """Log one warning per key (device) per interval; count the rest."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = BAD_INPUT_LOG_INTERVAL,
        time_fn: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._time = time_fn
        self._last: dict[str, float] = {}
        #: Suppressed lines per key since the last one written.
        self.suppressed: dict[str, int] = {}
        self.total = 0

    def warn(self, key: str, message: str, *args: Any, exc_info: bool = False) -> bool:
        """Log ``message`` for ``key`` unless one was logged recently; return whether it was."""
        self.total += 1
        now = self._time()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self.suppressed[key] = self.suppressed.get(key, 0) + 1
            return False
        if len(self._last) >= _MAX_KEYS and key not in self._last:
            # Forget the oldest key rather than grow without bound under a flood of topics.
            oldest = next(iter(self._last))
            self._last.pop(oldest)
            self.suppressed.pop(oldest, None)
        self._last.pop(key, None)
        self._last[key] = now
        skipped = self.suppressed.pop(key, 0)
        suffix = f" ({skipped} similar suppressed)" if skipped else ""
        self._logger.warning(message + "%s", *args, suffix, exc_info=exc_info)
        return True


def payload_text(payload: bytes | bytearray | str | None, limit: int) -> str | None:
    """Return the payload as text, or None when it is too big or not UTF-8."""
    if payload is None:
        return None
    if isinstance(payload, str):
        return payload if len(payload) <= limit else None
    if len(payload) > limit:
        return None
    try:
        return bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        return None


def json_object(payload: bytes | bytearray | str | None, limit: int) -> dict[str, Any] | None:
    """Return the payload as a JSON object, or None for anything else (list, number, garbage)."""
    if payload is None or len(payload) > limit or not payload:
        return None
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and bad UTF-8; RecursionError deeply nested arrays.
        return None
    return value if isinstance(value, dict) else None


def as_number(value: Any) -> float | None:
    """Return ``value`` as a finite number, or None (bools, strings and NaN are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number
