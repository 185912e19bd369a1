"""Event and state history with retention.

The bus fires far more events than anyone reads back, so recording goes through
the storage batch queue: ``record_event``/``record_state`` cost one JSON encode
and one ``deque.append`` on the event loop, and the disk sees one transaction
per batch.  ``record_now`` is the exception for events that must be on disk the
moment they happen (an SOS press), whatever happens to the hub a second later.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hub.config.secrets import redact as redact_secrets
from hub.storage import Storage, from_json, is_passing, to_json

__all__ = ("Recorder",)

_LOGGER = logging.getLogger(__name__)

_SECONDS_PER_DAY = 86_400.0

# Purge deletes in chunks so that a first purge over months of history does not
# hold the write lock for seconds while SOS events wait behind it.
_PURGE_CHUNK = 5_000


def _json(value: Any) -> str:
    # A `!secret` value that reached an event or a state (a service call's data, an
    # automation's variables) is masked before it is stored: history outlives configs.
    return redact_secrets(to_json(value))


_INSERT_EVENT = (
    "INSERT INTO events (event_type, data, time_fired, context_id, context_parent, user_id, origin)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_STATE = (
    "INSERT INTO states (entity_id, state, attributes, last_changed, last_updated, context_id)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


class Recorder:
    """Writes events and state changes to the ``events``/``states`` tables."""

    def __init__(
        self,
        storage: Storage,
        *,
        keep_days: int = 10,
        exclude_event_types: Iterable[str] = (),
        time_fn: Callable[[], float] = time.time,
    ) -> None:
        if keep_days < 0:
            raise ValueError("keep_days must be >= 0")
        self._storage = storage
        self.keep_days = keep_days
        self.exclude_event_types = frozenset(exclude_event_types)
        self._time = time_fn

    # ------------------------------------------------------------------ writing

    def record_event(
        self,
        event_type: str,
        data: Mapping[str, Any],
        time_fired: float,
        context_id: str | None,
        context_parent: str | None,
        user_id: str | None,
        origin: str,
    ) -> None:
        """Queue an event for the next batch."""
        if event_type in self.exclude_event_types:
            return
        self._storage.enqueue(
            _INSERT_EVENT,
            (event_type, _json(data), time_fired, context_id, context_parent, user_id, origin),
        )

    def record_state(
        self,
        entity_id: str,
        state: str,
        attributes: Mapping[str, Any],
        last_changed: float,
        last_updated: float,
        context_id: str | None,
    ) -> None:
        """Queue a state row for the next batch."""
        self._storage.enqueue(
            _INSERT_STATE,
            (entity_id, redact_secrets(state), _json(attributes), last_changed, last_updated, context_id),
        )

    async def record_now(
        self,
        event_type: str,
        data: Mapping[str, Any],
        time_fired: float,
        context_id: str | None,
        context_parent: str | None,
        user_id: str | None,
        origin: str,
    ) -> None:
        """Write an event and commit before returning (SOS presses), with what it started.

        The event was fired before this is awaited, so the automation runs it triggered
        have started and queued their in-flight rows; flushing the queue commits them
        too.  A caller told "recorded" can then count on those runs being re-run if the
        hub dies before they finish.

        A database that cannot write now (a full disk) does not fail the press: the row
        goes to the batch writer, which keeps it and retries, and the alert goes on.
        """
        if event_type in self.exclude_event_types:
            return
        row = (event_type, _json(data), time_fired, context_id, context_parent, user_id, origin)
        try:
            await self._storage.execute(_INSERT_EVENT, row)
        except Exception as err:
            if not is_passing(err):
                raise
            self._storage.enqueue(_INSERT_EVENT, row)
            _LOGGER.warning("%s queued for the database, which refused it (%s)", event_type, err)
            return
        try:
            await self._storage.flush()
        except Exception as err:
            if not is_passing(err):
                raise
            _LOGGER.warning("%s written; the rows it started stay queued (%s)", event_type, err)

    # ------------------------------------------------------------------ retention

    async def purge(self) -> int:
        """Delete events and states older than ``keep_days``; return rows deleted."""
        cutoff = self._time() - self.keep_days * _SECONDS_PER_DAY
        deleted = 0
        for table, column in (("events", "time_fired"), ("states", "last_updated")):
            while True:
                # Table/column names come from the literal tuple above, never from input.
                count = await self._storage.execute_rowcount(
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < ? LIMIT ?)",
                    (cutoff, _PURGE_CHUNK),
                )
                deleted += count
                if count < _PURGE_CHUNK:
                    break
        if deleted:
            _LOGGER.info("Recorder purged %d rows older than %d days", deleted, self.keep_days)
        return deleted

    # ------------------------------------------------------------------ reading

    async def events(
        self, event_type: str | None = None, since: float | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Return the latest ``limit`` events (at or after ``since``), newest first."""
        await self._catch_up()
        where: list[str] = []
        params: list[Any] = []
        if event_type is not None:
            where.append("event_type = ?")
            params.append(event_type)
        if since is not None:
            where.append("time_fired >= ?")
            params.append(since)
        sql = (
            "SELECT id, event_type, data, time_fired, context_id, context_parent, user_id, origin FROM events"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time_fired DESC, id DESC LIMIT ?"
        params.append(max(0, limit))
        rows = await self._storage.fetchall(sql, params)
        return [
            {
                "id": row["id"],
                "event_type": row["event_type"],
                "data": from_json(row["data"]),
                "time_fired": row["time_fired"],
                "context_id": row["context_id"],
                "context_parent": row["context_parent"],
                "user_id": row["user_id"],
                "origin": row["origin"],
            }
            for row in rows
        ]

    async def history(
        self, entity_id: str, since: float | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Return an entity's latest ``limit`` states (at or after ``since``), newest first."""
        await self._catch_up()
        sql = (
            "SELECT id, entity_id, state, attributes, last_changed, last_updated, context_id"
            " FROM states WHERE entity_id = ?"
        )
        params: list[Any] = [entity_id]
        if since is not None:
            sql += " AND last_updated >= ?"
            params.append(since)
        sql += " ORDER BY last_updated DESC, id DESC LIMIT ?"
        params.append(max(0, limit))
        rows = await self._storage.fetchall(sql, params)
        return [
            {
                "id": row["id"],
                "entity_id": row["entity_id"],
                "state": row["state"],
                "attributes": from_json(row["attributes"]) or {},
                "last_changed": row["last_changed"],
                "last_updated": row["last_updated"],
                "context_id": row["context_id"],
            }
            for row in rows
        ]

    async def _catch_up(self) -> None:
        # A query right after an event (the UI refreshing on a push) must see
        # it, so write the queue first.  If the database refuses, the rows stay
        # queued (storage logs it) and the query shows what is on disk.
        if self._storage.pending:
            try:
                await self._storage.flush()
            except sqlite3.Error as exc:
                _LOGGER.debug("Recorder query without the queued rows: %s", exc)
