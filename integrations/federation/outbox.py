"""The hub's federation outbox: SQLite first, deleted only on the station's ack.

Every message for the station is committed to ``federation_outbox`` before it
is published, and its row is deleted only when the station's application-level
``ack`` names its id.  A crash, a broker restart or a day-long outage therefore
loses nothing: the rows are still there and are sent again, and the station
stores by id, so a repeat is harmless.

Order: rows go out by priority (SOS first, health last), then by id, which is
a ULID and so sorts by creation time.  At most ``window`` rows are in flight
(sent, not yet acknowledged); that bounds what a reconnect re-sends and what
the station must absorb when a hub that was offline for a day comes back.

Writes are group-committed: ``add`` callers that arrive within the same
moment share one transaction, so a burst costs one commit rather than one per
message, and each caller still returns only after *its* row is on disk.

Incident entries do not go through ``add``: federation hands the outbox row
to the incident's own transaction (the ``incident_written`` hook, see
:meth:`Outbox.row`), and :meth:`Outbox.committed` queues it once it is on disk.

Retained kinds (registry, health) carry a *coalesce* key: a newer unsent one
replaces an older unsent one, because the station only ever needs the latest
state, and a hub offline for a day should not replay 1,440 health reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.core.retry import REAL_TIME, Backoff
from hub.storage import is_passing

if TYPE_CHECKING:
    from hub.storage import Storage

__all__ = ("Outbox", "OutboxItem")

_LOGGER = logging.getLogger(__name__)

#: Rows per SELECT/DELETE ... IN (...) statement (SQLite's variable limit is far above).
_CHUNK = 500
#: Backoff while the database refuses a batch (a full disk): seconds, doubling.
_RETRY_FIRST = 0.5
_RETRY_MAX = 10.0
# OR IGNORE: a caller-chosen id given twice is one message (the station dedupes it too,
# once the first copy has been acknowledged and deleted).
_INSERT = (
    "INSERT OR IGNORE INTO {table} (id, kind, priority, created, payload, retain, props, "
    "coalesce_key) VALUES (?,?,?,?,?,?,?,?)"
)
#: The hub's outbox table; a station reporting to its region keeps one of its own, same shape.
DEFAULT_TABLE = "federation_outbox"


@dataclass(slots=True)
class OutboxItem:
    """One queued message."""

    id: str
    kind: str
    priority: int
    retain: bool
    #: None when not cached in memory: read from the database before sending.
    payload: bytes | None
    #: MQTT v5 user properties (snapshots), as (name, value) pairs.
    props: list[tuple[str, str]] | None = None
    coalesce: str | None = None
    sent_at: float = 0.0
    attempts: int = 0
    #: Whether ``payload`` counts against the in-memory cache budget.
    cached: bool = False


class Outbox:
    """Durable queue with priority order, an in-flight window and group commit."""

    def __init__(
        self,
        storage: Storage,
        *,
        time_fn: Callable[[], float],
        window: int = 200,
        urgent_reserve: int = 20,
        cache_bytes: int = 32 * 1024 * 1024,
        spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]] | None = None,
        table: str = DEFAULT_TABLE,
    ) -> None:
        if not table.isidentifier():
            raise ValueError(f"{table!r} is not a table name")
        self._storage = storage
        self.table = table
        self._insert = _INSERT.format(table=table)
        self._time = time_fn
        #: Starts the group-commit task; the hub's ``create_task``, so ``block_till_done``
        #: (and a stopping hub) see a commit in progress.
        self._spawn = spawn
        self.window = window
        #: Extra in-flight slots only SOS/incident rows may use, so a window full of
        #: telemetry never delays an alarm.
        self.urgent_reserve = urgent_reserve
        self._cache_limit = cache_bytes
        self._cached = 0
        self._live: dict[str, OutboxItem] = {}
        self._heap: list[tuple[int, str]] = []
        self.inflight: dict[str, OutboxItem] = {}
        self._coalesce: dict[str, str] = {}
        #: Superseded rows that were in flight when their successor arrived: deleted, not re-sent.
        self._stale: list[str] = []
        self._pending_rows: list[tuple[Any, ...]] = []
        self._pending_items: list[OutboxItem] = []
        self._pending_waiters: list[asyncio.Future[None]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self.rejected = 0
        self.acked = 0
        self.sent = 0
        #: Called whenever there is something new to send.
        self.on_ready: Callable[[], None] = lambda: None

    # -- state -------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Return rows not yet acknowledged (queued plus in flight)."""
        return len(self._live)

    def queued(self) -> int:
        """Return rows waiting to be sent (not in flight)."""
        return len(self._live) - len(self.inflight)

    def stats(self) -> dict[str, Any]:
        """Return counters for health and the status API."""
        return {
            "pending": self.pending,
            "inflight": len(self.inflight),
            "acked": self.acked,
            "sent": self.sent,
            "rejected": self.rejected,
            "window": self.window,
        }

    async def load(self) -> None:
        """Read every pending row's order keys (payloads are read when sent)."""
        rows = await self._storage.fetchall(
            f"SELECT id, kind, priority, retain, props, coalesce_key FROM {self.table} "
            "WHERE state = 'pending' ORDER BY priority, id"
        )
        for row in rows:
            item = OutboxItem(
                row["id"],
                row["kind"],
                row["priority"],
                bool(row["retain"]),
                None,
                _load_props(row["props"]),
                row["coalesce_key"],
            )
            self._live[item.id] = item
            self._heap.append((item.priority, item.id))
            if item.coalesce:
                self._coalesce[item.coalesce] = item.id
        heapq.heapify(self._heap)
        count = await self._storage.fetchone(
            f"SELECT COUNT(*) AS n FROM {self.table} WHERE state = 'rejected'"
        )
        self.rejected = int(count["n"]) if count else 0
        if rows:
            _LOGGER.info("Federation outbox: %d messages waiting from before the restart", len(rows))

    # -- adding -------------------------------------------------------------------------

    async def add(self, item: OutboxItem) -> None:
        """Commit ``item`` (``item.payload`` required) and queue it for sending."""
        if item.payload is None:
            raise ValueError("an outbox item needs its payload")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._pending_rows.append(self._params(item))
        self._pending_items.append(item)
        self._pending_waiters.append(waiter)
        if self._flush_task is None or self._flush_task.done():
            name = "federation outbox commit"
            coro = self._flush()
            self._flush_task = self._spawn(coro, name) if self._spawn else loop.create_task(coro, name=name)
        await waiter

    def _params(self, item: OutboxItem) -> tuple[Any, ...]:
        return (
            item.id,
            item.kind,
            item.priority,
            self._time(),
            item.payload,
            int(item.retain),
            json.dumps(item.props) if item.props else None,
            item.coalesce,
        )

    def row(self, item: OutboxItem) -> tuple[str, tuple[Any, ...]]:
        """Return the statement that stores ``item``, for a transaction someone else commits.

        Pair it with :meth:`committed` once that transaction is on disk.  Not for
        coalesced kinds (registry, health): those go through :meth:`add`.
        """
        if item.payload is None or item.coalesce:
            raise ValueError("an outbox row needs its payload and no coalesce key")
        return self._insert, self._params(item)

    def committed(self, items: Iterable[OutboxItem]) -> None:
        """Queue items whose :meth:`row` another transaction has committed."""
        for item in items:
            if item.id not in self._live:
                self._queue(item)
        self.on_ready()

    async def _flush(self) -> None:
        # Let every add() of this loop iteration join the batch.
        await asyncio.sleep(0)
        backoff = Backoff(_RETRY_FIRST, _RETRY_MAX)
        while self._pending_rows:
            rows, items, waiters = self._pending_rows, self._pending_items, self._pending_waiters
            self._pending_rows, self._pending_items, self._pending_waiters = [], [], []
            try:
                await self._storage.executemany(self._insert, rows)
            except (sqlite3.Error, OSError, RuntimeError) as err:
                if is_passing(err):
                    # A full disk or a held lock: keep the batch (ahead of anything added
                    # meanwhile) and try again, so the station gets the SOS once the disk
                    # has room, not only after the next restart.
                    if backoff.attempts == 0:
                        _LOGGER.error(
                            "Federation: %d message(s) wait for the database (%s); retrying", len(rows), err
                        )
                    self._pending_rows[:0], self._pending_items[:0] = rows, items
                    self._pending_waiters[:0] = waiters
                    # Real time: the database is a real file even under a test's FakeClock.
                    await backoff.sleep(REAL_TIME)
                    continue
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(err)
                continue
            backoff.reset()
            superseded: list[str] = []
            for item in items:
                if item.id in self._live:
                    continue  # the same id again, still queued: already there
                self._queue(item)
                if item.coalesce:
                    old = self._coalesce.get(item.coalesce)
                    self._coalesce[item.coalesce] = item.id
                    if old is not None and old not in self.inflight and old in self._live:
                        superseded.append(old)
            if superseded:
                await self._delete(superseded)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self.on_ready()

    async def close(self) -> None:
        """Stop retrying a batch the database refuses (at shutdown); its callers get an error."""
        task = self._flush_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for waiter in self._pending_waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError("the hub stopped before the database took this message"))
        if self._pending_rows:
            _LOGGER.error(
                "Federation: %d message(s) were never written to the outbox and are not sent",
                len(self._pending_rows),
            )
        self._pending_rows, self._pending_items, self._pending_waiters = [], [], []

    def _queue(self, item: OutboxItem) -> None:
        if item.payload is not None:
            if self._cached + len(item.payload) <= self._cache_limit:
                self._cached += len(item.payload)
                item.cached = True
            else:
                item.payload = None  # on disk; read back when it is its turn
        self._live[item.id] = item
        heapq.heappush(self._heap, (item.priority, item.id))

    # -- sending ------------------------------------------------------------------------

    def take(self, now: float) -> list[OutboxItem]:
        """Pop the next rows that fit the window and mark them in flight."""
        out: list[OutboxItem] = []
        heap, live, inflight = self._heap, self._live, self.inflight
        limit = self.window + self.urgent_reserve
        while heap and len(inflight) < limit:
            priority, msg_id = heap[0]
            item = live.get(msg_id)
            if item is None or msg_id in inflight:
                heapq.heappop(heap)  # acked, superseded or already out
                continue
            if len(inflight) >= self.window and priority > 1:
                break  # the reserve is for SOS and incidents only
            heapq.heappop(heap)
            item.sent_at = now
            item.attempts += 1
            inflight[msg_id] = item
            out.append(item)
        return out

    async def fill(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Read missing payloads from the database; return the items still pending."""
        if self._stale:
            stale, self._stale = self._stale, []
            await self._delete(stale)
        missing = [i.id for i in items if i.payload is None]
        found: dict[str, bytes] = {}
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            rows = await self._storage.fetchall(
                f"SELECT id, payload FROM {self.table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update({row["id"]: bytes(row["payload"]) for row in rows})
        ready: list[OutboxItem] = []
        for item in items:
            if item.payload is None:
                payload = found.get(item.id)
                if payload is None:
                    # Acked or superseded while we read: nothing to send.
                    self.inflight.pop(item.id, None)
                    continue
                item.payload = payload  # not counted in the cache: dropped after the ack
            ready.append(item)
        return ready

    def requeue(self, items: Iterable[OutboxItem]) -> int:
        """Put in-flight rows back in the queue (disconnect, ack timeout)."""
        count = 0
        for item in items:
            if self.inflight.pop(item.id, None) is not None and item.id in self._live:
                if item.coalesce and self._coalesce.get(item.coalesce) != item.id:
                    self._stale.append(item.id)  # a newer one of its kind is queued
                    continue
                heapq.heappush(self._heap, (item.priority, item.id))
                count += 1
        if count:
            self.on_ready()
        return count

    def requeue_all(self) -> int:
        """Put every in-flight row back (the connection dropped)."""
        return self.requeue(list(self.inflight.values()))

    def overdue(self, now: float, timeout: float) -> list[OutboxItem]:
        """Return in-flight rows sent more than ``timeout`` seconds ago."""
        return [i for i in self.inflight.values() if now - i.sent_at >= timeout]

    # -- acknowledgements -------------------------------------------------------------------

    async def ack(self, ids: Iterable[str]) -> int:
        """Delete acknowledged rows; return how many were ours."""
        known = [i for i in dict.fromkeys(ids) if i in self._live]
        if not known:
            return 0
        await self._delete(known)
        self.acked += len(known)
        self.on_ready()
        return len(known)

    async def reject(self, msg_id: str, reason: str) -> bool:
        """Keep a row the station refused, but stop sending it; return whether it was ours."""
        item = self._live.get(msg_id)
        if item is None:
            return False
        await self._storage.execute(
            f"UPDATE {self.table} SET state = 'rejected', error = ? WHERE id = ?", (reason[:2000], msg_id)
        )
        self._forget(item)
        self.rejected += 1
        _LOGGER.error("Federation: the station refused message %s (%s): %s", msg_id, item.kind, reason)
        self.on_ready()
        return True

    async def _delete(self, ids: Sequence[str]) -> None:
        await self._storage.executemany(f"DELETE FROM {self.table} WHERE id = ?", [(i,) for i in ids])
        for msg_id in ids:
            item = self._live.get(msg_id)
            if item is not None:
                self._forget(item)

    def _forget(self, item: OutboxItem) -> None:
        self._live.pop(item.id, None)
        self.inflight.pop(item.id, None)
        if item.coalesce and self._coalesce.get(item.coalesce) == item.id:
            del self._coalesce[item.coalesce]
        if item.payload is not None and item.cached:
            self._cached -= len(item.payload)
        item.payload = None
        item.cached = False

    async def wait_empty(self, within: float) -> bool:
        """Wait (real time) until nothing is pending; return False after ``within`` seconds."""
        deadline = time.monotonic() + within
        while self._live or self._pending_rows:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True


def _load_props(text: str | None) -> list[tuple[str, str]] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return [(str(k), str(v)) for k, v in value] if isinstance(value, list) else None
