"""Sortable unique ids (ULID, Crockford base32) without a per-call syscall.

Ids order by creation time, which keeps incidents, outbox rows and traces in
time order when sorted as text.  Within one millisecond the random part is
incremented (monotonic ULID) so ids made in a burst still sort in order.
"""

from __future__ import annotations

import os
import time

__all__ = ("ulid", "ulid_at")

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_last_ms = -1
_last_rand = 0
_RAND_MAX = (1 << 80) - 1


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def ulid_at(timestamp: float) -> str:
    """Return a new ULID for the given UNIX timestamp (seconds)."""
    global _last_ms, _last_rand
    ms = int(timestamp * 1000)
    if ms <= _last_ms:
        # Same (or earlier, after a clock step) millisecond: keep the order.
        ms = _last_ms
        _last_rand = (_last_rand + 1) & _RAND_MAX
    else:
        _last_ms = ms
        _last_rand = int.from_bytes(os.urandom(10), "big")
    return _encode(ms, 10) + _encode(_last_rand, 16)


def ulid() -> str:
    """Return a new ULID for the current time."""
    return ulid_at(time.time())
