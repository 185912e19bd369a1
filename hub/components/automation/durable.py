"""Durable timers: pending delays, waits, ``for:`` and time triggers in SQLite.

Each pending thing is one row keyed by what it belongs to
(``run:<automation>:<run id>``, ``for:<automation>:<trigger>:<entity>``,
``time:<automation>:<trigger>``).  Rows are written through the storage batch
queue, so saving one costs a ``deque.append`` on the event loop; the queue
is FIFO, so a save followed by a delete can never land in the wrong order.

At start-up every row is read into :attr:`DurableStore.pending`; the engine
claims the rows it can resume and :meth:`forget_unclaimed` deletes the rest.
While the hub stops, :attr:`frozen` is set: the engine tears everything down
as usual, but deletes are skipped so the rows survive for the next start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.storage import from_json, to_json

if TYPE_CHECKING:
    from hub.storage import Storage

__all__ = ("DurableRow", "DurableStore", "MIGRATION")

_LOGGER = logging.getLogger(__name__)

MIGRATION = """
CREATE TABLE automation_timers (
    key TEXT PRIMARY KEY,
    automation TEXT NOT NULL,
    kind TEXT NOT NULL,
    deadline REAL,
    data TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX ix_automation_timers_automation ON automation_timers (automation);
"""

_UPSERT = (
    "INSERT OR REPLACE INTO automation_timers (key, automation, kind, deadline, data, updated)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_DELETE = "DELETE FROM automation_timers WHERE key = ?"


@dataclass
class DurableRow:
    """One persisted pending timer."""

    key: str
    automation: str
    kind: str
    deadline: float | None
    data: dict[str, Any]


class DurableStore:
    """The rows of one hub, mirrored in memory."""

    def __init__(self, storage: Storage, time_fn: Any) -> None:
        self._storage = storage
        self._time = time_fn
        #: Rows found at start-up and not yet claimed.
        self.pending: dict[str, DurableRow] = {}
        #: Keys saved during this run (so a delete of an unsaved key costs nothing).
        self._live: dict[str, str] = {}
        #: The last saved ``for:`` rows, so a reload can hand them to the new definition.
        self._holds: dict[str, DurableRow] = {}
        self.frozen = False

    async def load(self) -> None:
        """Read every row left by the previous run."""
        rows = await self._storage.fetchall(
            "SELECT key, automation, kind, deadline, data FROM automation_timers"
        )
        for row in rows:
            data = from_json(row["data"])
            self.pending[row["key"]] = DurableRow(
                row["key"],
                row["automation"],
                row["kind"],
                row["deadline"],
                data if isinstance(data, dict) else {},
            )
        self._live.update({key: row.automation for key, row in self.pending.items()})
        if rows:
            _LOGGER.info("Found %d pending automation timer(s) from before the restart", len(rows))

    def save(
        self, key: str, automation: str, kind: str, deadline: float | None, data: dict[str, Any]
    ) -> None:
        """Persist (or replace) a pending timer."""
        if self.frozen or not self._storage.is_open:
            return
        self._live[key] = automation
        if kind == "for":
            self._holds[key] = DurableRow(key, automation, kind, deadline, data)
        self._storage.enqueue(_UPSERT, (key, automation, kind, deadline, to_json(data), self._time()))

    def delete(self, key: str) -> None:
        """Forget a timer that finished or was cancelled (not while stopping)."""
        if self.frozen or key not in self._live or not self._storage.is_open:
            return
        del self._live[key]
        self._holds.pop(key, None)
        self.pending.pop(key, None)
        self._storage.enqueue(_DELETE, (key,))

    def claim(self, key: str) -> DurableRow | None:
        """Take a row found at start-up (it stays on disk until deleted or replaced)."""
        return self.pending.pop(key, None)

    def claim_prefix(self, prefix: str) -> list[DurableRow]:
        """Take every start-up row whose key starts with ``prefix``."""
        found = [row for key, row in self.pending.items() if key.startswith(prefix)]
        for row in found:
            del self.pending[row.key]
        return found

    def forget_unclaimed(self, keep: set[str] | None = None) -> int:
        """Delete start-up rows nobody resumed (except those of automations in ``keep``)."""
        dropped = 0
        for key, row in list(self.pending.items()):
            if keep is not None and row.automation in keep:
                continue
            _LOGGER.info(
                "Dropping pending %s of automation %s: nothing to resume it", row.kind, row.automation
            )
            del self.pending[key]
            self.delete_key(key)
            dropped += 1
        return dropped

    def delete_key(self, key: str) -> None:
        """Delete a row by key even if this run never saved it."""
        if self.frozen or not self._storage.is_open:
            return
        self._live.pop(key, None)
        self._holds.pop(key, None)
        self._storage.enqueue(_DELETE, (key,))

    def holds_of(self, automation: str) -> list[DurableRow]:
        """Return the pending trigger ``for:`` rows of an automation (as last saved)."""
        return [row for row in self._holds.values() if row.automation == automation]

    def hand_over(self, rows: list[DurableRow]) -> None:
        """Offer rows of a replaced definition to the new one, as if found at start-up.

        The new definition's triggers claim them while arming (``restore``: same trigger
        fingerprint, state still holding); :meth:`drop_unclaimed` deletes the rest.
        """
        for row in rows:
            self.pending[row.key] = row
            self.save(row.key, row.automation, row.kind, row.deadline, row.data)

    def drop_unclaimed(self, rows: list[DurableRow]) -> None:
        """Delete the handed-over rows nothing claimed."""
        for row in rows:
            if self.pending.pop(row.key, None) is not None:
                self.delete_key(row.key)

    def forget_pending(self, automation: str) -> None:
        """Delete the start-up rows of an automation nothing will resume.

        Rows saved since start-up are left alone: they belong to runs in progress,
        which a reload lets finish (even when it changes or removes their automation).
        """
        if self.frozen or not self._storage.is_open:
            return
        for key in [k for k, r in self.pending.items() if r.automation == automation]:
            del self.pending[key]
            self._storage.enqueue(_DELETE, (key,))
