"""The poll's tables: anonymous answers, and a month's throttle kept only as salted hashes.

No response row holds anything about who sent it: no time finer than the
month, no address, no cookie.  Throttling needs to recognise a client for an
hour or a month, so it keeps ``sha256(salt + address)`` with a salt made per
month; salt and hashes are deleted once the month's link has expired, after
which nobody can tell whose they were.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from hub.storage import Storage
from plugins.people_poll.migrations import MIGRATIONS

__all__ = ("MIGRATIONS", "PollStore")


class PollStore:
    """Queries on the poll's tables."""

    def __init__(self, storage: Storage) -> None:
        self._db = storage

    async def add_response(self, month: str, answers: dict[str, Any]) -> None:
        """Store one anonymous response."""
        await self._db.execute(
            "INSERT INTO poll_responses (month, answers) VALUES (?, ?)",
            (month, json.dumps(answers, ensure_ascii=False)),
        )

    async def responses(self, month: str) -> list[dict[str, Any]]:
        """Return a month's answers, in arrival order."""
        rows = await self._db.fetchall(
            "SELECT answers FROM poll_responses WHERE month = ? ORDER BY id", (month,)
        )
        return [json.loads(r["answers"]) for r in rows]

    async def counts(self, months: list[str]) -> dict[str, int]:
        """Return responses per month."""
        if not months:
            return {}
        marks = ", ".join("?" for _ in months)
        rows = await self._db.fetchall(
            f"SELECT month, COUNT(*) AS n FROM poll_responses WHERE month IN ({marks}) GROUP BY month", months
        )
        return {r["month"]: r["n"] for r in rows}

    async def client_hash(self, month: str, address: str, expires_at: float) -> str:
        """Return the salted hash of a client address for ``month`` (making the salt if needed)."""
        row = await self._db.fetchone("SELECT salt FROM poll_salts WHERE month = ?", (month,))
        if row is None:
            salt = secrets.token_hex(16)
            await self._db.execute(
                "INSERT OR IGNORE INTO poll_salts (month, salt, expires_at) VALUES (?, ?, ?)",
                (month, salt, expires_at),
            )
            row = await self._db.fetchone("SELECT salt FROM poll_salts WHERE month = ?", (month,))
            assert row is not None
        return hashlib.sha256(f"{row['salt']}|{address}".encode()).hexdigest()

    async def attempts(self, month: str, client: str, since: float) -> int:
        """Return a client's attempts for ``month`` since ``since``."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM poll_throttle WHERE month = ? AND client = ? AND ts >= ?",
            (month, client, since),
        )
        return int(row["n"]) if row else 0

    async def add_attempt(self, month: str, client: str, ts: float) -> None:
        """Count one attempt."""
        await self._db.execute(
            "INSERT INTO poll_throttle (month, client, ts) VALUES (?, ?, ?)", (month, client, ts)
        )

    async def purge(self, now: float) -> int:
        """Delete salts and client hashes of months whose link has expired; return months purged."""
        rows = await self._db.fetchall("SELECT month FROM poll_salts WHERE expires_at < ?", (now,))
        for row in rows:
            await self._db.execute("DELETE FROM poll_throttle WHERE month = ?", (row["month"],))
            await self._db.execute("DELETE FROM poll_salts WHERE month = ?", (row["month"],))
        return len(rows)
