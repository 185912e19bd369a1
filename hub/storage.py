"""The hub's one SQLite database: versioned migrations and a batching writer.

Every part of the core (recorder, incidents, audit, users, outbox, timers, traces)
and every plugin shares one file in WAL mode, on the engine the station uses too
(:class:`hub.database.Database`): one writer thread, so there is never a
"database is locked" fight between our own components (the only contention is
with outside processes, backups or an operator's ``sqlite3`` shell, handled by
``busy_timeout`` and by retrying batches).  Reads run on that thread too, in
order with the writes issued before them, as they always did here.

Two ways to write:

* ``execute``/``executemany``: awaited, committed before they return.  For data
  whose loss would break a promise (audit entries, SOS presses, incidents).
* ``enqueue``: not async and costs one ``deque.append``; a background task
  writes queued rows in batches inside one transaction.  For high-volume,
  loss-tolerant-but-not-lossy data such as the recorder's event history.  A
  batch that fails for a passing reason (locked, disk full) stays queued and is
  retried with backoff; a batch that fails because of one bad row is replayed
  row by row so only that row is dropped (and logged).

Each write is one job on the writer thread (a batch is one function in one
transaction), so nothing can land inside another's transaction.  ``urgent``
writes (an incident) go before queued ordinary ones (the recorder's history).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence, Set
from itertools import groupby, islice
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

from hub.core.retry import REAL_TIME, Backoff
from hub.database import Database, MigrationError, check_component

__all__ = (
    "CORE_MIGRATIONS",
    "Params",
    "Storage",
    "StorageUnavailable",
    "from_json",
    "is_passing",
    "register_passing",
    "to_json",
)

_LOGGER = logging.getLogger(__name__)

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]
T = TypeVar("T")

# Primary SQLite result codes (the low byte of the extended code) meaning "this
# statement or these values are wrong", which retrying cannot fix.  Any other
# failure (BUSY, LOCKED, FULL, IOERR, READONLY, ...) may pass, so the rows are
# kept and retried instead of dropped.
_SQLITE_ERROR = 1
_SQLITE_TOOBIG = 18
_SQLITE_CONSTRAINT = 19
_SQLITE_MISMATCH = 20
_SQLITE_RANGE = 25
_PERMANENT_CODES = frozenset(
    {_SQLITE_ERROR, _SQLITE_TOOBIG, _SQLITE_CONSTRAINT, _SQLITE_MISMATCH, _SQLITE_RANGE}
)

# Upper bound of the retry backoff: long enough not to spin on a full disk,
# short enough that a released lock is noticed quickly.
_MAX_BACKOFF = 10.0

# Tables used by the core.  Version 1 is the initial schema; append new scripts,
# never edit a released one (installed hubs have already run it).
CORE_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        event_type TEXT NOT NULL,
        data TEXT,
        time_fired REAL NOT NULL,
        context_id TEXT,
        context_parent TEXT,
        user_id TEXT,
        origin TEXT
    );
    CREATE INDEX ix_events_type_time ON events (event_type, time_fired);
    CREATE INDEX ix_events_time ON events (time_fired);

    CREATE TABLE states (
        id INTEGER PRIMARY KEY,
        entity_id TEXT NOT NULL,
        state TEXT,
        attributes TEXT,
        last_changed REAL,
        last_updated REAL NOT NULL,
        context_id TEXT
    );
    CREATE INDEX ix_states_entity_updated ON states (entity_id, last_updated);
    CREATE INDEX ix_states_updated ON states (last_updated);

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        actor TEXT NOT NULL,
        role TEXT,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT,
        source TEXT,
        ip TEXT,
        result TEXT
    );
    CREATE INDEX ix_audit_ts ON audit_log (ts);
    CREATE INDEX ix_audit_actor_ts ON audit_log (actor, ts);
    CREATE INDEX ix_audit_target_ts ON audit_log (target, ts);
    -- The camera-sharing promise is that every view is on record; the database
    -- itself refuses to rewrite or erase that record, whatever the code does.
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit log is append-only');
    END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'audit log is append-only');
    END;
    -- INSERT OR REPLACE deletes the old row without firing DELETE triggers
    -- (unless recursive_triggers is on, which an outside connection won't set).
    CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
    WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
    BEGIN
        SELECT RAISE(ABORT, 'audit log is append-only');
    END;

    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        kind TEXT,
        severity TEXT,
        status TEXT,
        title TEXT,
        place TEXT,
        lat REAL,
        lon REAL,
        entities TEXT,
        data TEXT,
        opened_at REAL,
        updated_at REAL,
        closed_at REAL,
        acknowledged_at REAL,
        acknowledged_by TEXT
    );
    CREATE INDEX ix_incidents_status ON incidents (status);
    CREATE INDEX ix_incidents_opened ON incidents (opened_at);

    CREATE TABLE incident_timeline (
        id INTEGER PRIMARY KEY,
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        ts REAL NOT NULL,
        actor TEXT,
        kind TEXT,
        text TEXT,
        attachments TEXT,
        data TEXT
    );
    CREATE INDEX ix_incident_timeline_incident_ts ON incident_timeline (incident_id, ts);

    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        password_hash TEXT,
        created_at REAL,
        disabled INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name TEXT,
        token_hash TEXT NOT NULL UNIQUE,
        created_at REAL,
        last_used REAL
    );
    CREATE INDEX ix_tokens_user ON tokens (user_id);

    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        csrf TEXT,
        created_at REAL,
        expires_at REAL
    );
    CREATE INDEX ix_sessions_expires ON sessions (expires_at);

    CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT
    );
    """,
    # 2: the idempotency key of the call that opened an incident, so a run re-run after a
    # crash (or an API client retrying) gets the incident it already opened, not a second one.
    """
    ALTER TABLE incidents ADD COLUMN open_key TEXT;
    CREATE UNIQUE INDEX ix_incidents_open_key ON incidents (open_key) WHERE open_key IS NOT NULL;
    """,
)


def _json_default(obj: Any) -> Any:
    """Encode what the json module cannot; never raise (history beats fidelity)."""
    if isinstance(obj, dt.datetime | dt.date | dt.time):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        # MappingProxyType: state attributes are read-only views of a dict.
        return dict(obj)
    if isinstance(obj, Set):
        items = list(obj)
        # Sorted when possible so equal sets encode equally (diffs, tests).
        with contextlib.suppress(TypeError):
            items.sort()
        return items
    as_dict = getattr(obj, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    if isinstance(obj, enum.Enum):
        return obj.value
    return str(obj)


def _sanitize(value: Any, depth: int = 0) -> Any:
    """Turn a value json refused (non-string keys, cycles) into one it accepts."""
    if depth > 32:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _sanitize(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | Set):
        return [_sanitize(v, depth + 1) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    converted = _json_default(value)
    if converted is value or isinstance(converted, str):
        return converted
    return _sanitize(converted, depth + 1)


def to_json(value: Any) -> str:
    """Encode a value for a JSON column: UTF-8 text as is (Thai stays readable)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError):
        # Tuple keys or a reference cycle: store a best-effort copy rather than
        # lose the row.
        return json.dumps(_sanitize(value), ensure_ascii=False, separators=(",", ":"), default=str)


def from_json(text: str | bytes | None) -> Any:
    """Decode a JSON column; NULL and unreadable text become None."""
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        _LOGGER.warning("unreadable JSON in the database: %s", _short(text))
        return None


class StorageUnavailable(RuntimeError):
    """The database cannot be reached now (a shared database's server is down or restarting).

    Passing, like a locked SQLite file: a write is kept and retried, a page says "try
    again in a moment" instead of showing a traceback.
    """


#: Errors of other engines that mean "cannot reach the database now" (hub.storage_pg adds
#: the driver's connection errors), besides SQLite's passing codes.
_PASSING_TYPES: tuple[type[BaseException], ...] = (StorageUnavailable,)


def register_passing(*types: type[BaseException]) -> None:
    """Count ``types`` (another engine's connection errors) as passing failures."""
    global _PASSING_TYPES  # noqa: PLW0603 - a registry filled once, as engines are imported
    _PASSING_TYPES = tuple(dict.fromkeys((*_PASSING_TYPES, *types)))


def _is_permanent(exc: BaseException) -> bool:
    """Tell a row/statement fault (drop the row) from a passing one (retry)."""
    if isinstance(exc, _PASSING_TYPES):
        return False
    if not isinstance(exc, sqlite3.Error):
        # Raised while binding values (OverflowError for a huge int, ValueError
        # for a NUL in SQL text...): the row is at fault, not the database.
        return True
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.DataError):
        return True
    if isinstance(exc, sqlite3.InterfaceError):
        # Raised by the module itself for values it cannot bind.
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _PERMANENT_CODES


def is_passing(exc: BaseException) -> bool:
    """Tell a database that cannot write *now* (full disk, lock, I/O error) from a bad statement.

    Callers that must not lose a write (an incident, an SOS press) hold it in memory and retry
    on a passing failure; a permanent one is a bug or bad data and is raised.
    """
    return isinstance(exc, (sqlite3.Error, OSError, *_PASSING_TYPES)) and not _is_permanent(exc)


def _short(value: object, limit: int = 200) -> str:
    """Return a bounded repr for logs, so one huge row cannot flood them."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Storage:
    """One database per hub: migrations, direct writes and a batch queue."""

    #: The engine's SQL dialect (``conn.dialect`` of its connections).
    dialect = "sqlite"
    #: The component whose migrations are built in and run first.
    core_component = "core"
    core_migrations: tuple[str, ...] = CORE_MIGRATIONS

    def __init__(
        self,
        path: Path,
        *,
        flush_interval: float = 0.25,
        max_batch: int = 1000,
        busy_timeout: float = 5.0,
        max_pending: int = 1_000_000,
        close_timeout: float = 30.0,
    ) -> None:
        if flush_interval <= 0 or max_batch < 1 or busy_timeout < 0 or max_pending < 1:
            raise ValueError("flush_interval and max_batch must be positive, busy_timeout >= 0")
        self.path = Path(path)
        #: How logs name this database (never with a password in it), and a short name.
        self.where = str(self.path)
        self.name = self.path.name
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.busy_timeout = busy_timeout
        # A bound on memory while the disk is unavailable: an hour-long outage at
        # a busy hub must degrade (dropping, loudly) rather than kill the hub.
        self.max_pending = max_pending
        # How long close() keeps retrying a failing final flush before giving up.
        self.close_timeout = close_timeout

        self._db: Database | None = None
        # Serialises flushes (the writer task and flush()/close()): each peeks, writes, then pops.
        self._lock = asyncio.Lock()
        self._migrations: dict[str, tuple[str, ...]] = {self.core_component: self.core_migrations}

        self._queue: deque[tuple[str, Params]] = deque()
        # Monotonic counters of rows ever queued / ever taken off the queue
        # (written or dropped): flush() waits for "done" to reach the "queued"
        # count it saw, so rows enqueued meanwhile don't make it run forever.
        self._seq_in = 0
        self._seq_done = 0
        self._dropped_overflow = 0
        self._closed = False
        self._failing = False
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._close_lock = asyncio.Lock()
        # Components whose migrations failed during open(), with the error. The
        # hub keeps running without them (a broken plugin must not stop the SOS
        # path) and reports them like any other plugin set-up failure.
        self.migration_errors: dict[str, Exception] = {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def is_open(self) -> bool:
        """Return True between open() and close()."""
        return self._db is not None

    @property
    def pending(self) -> int:
        """Return the number of queued rows not yet on disk."""
        return len(self._queue)

    async def open(self) -> None:
        """Connect, configure the connection, migrate and start the batch writer."""
        if self._db is not None:
            raise RuntimeError("storage is already open")
        # Fresh primitives: asyncio objects bind to the loop that first waits on
        # them, and a Storage may be reopened under another loop (tests, CLI).
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._close_lock = asyncio.Lock()
        self.migration_errors = {}
        db = await self._open_engine()
        try:
            self._db = db
            core = self.core_component
            await self._migrate(core, self._migrations[core])  # without it nothing works: raise
            for component, migrations in self._migrations.items():
                if component == core:
                    continue
                try:
                    await self._migrate(component, migrations)
                except RuntimeError as exc:
                    _LOGGER.error("%s: %s; component %r left without its tables", self.where, exc, component)
                    self.migration_errors[component] = exc
        except BaseException:
            self._db = None
            await db.close()
            raise
        self._closed = False
        self._failing = False
        if len(self._queue) >= self.max_batch:
            self._wake.set()  # rows queued before open
        self._writer = asyncio.create_task(self._run_writer(), name=f"storage-writer:{self.name}")

    async def _open_engine(self) -> Database:
        """Open this storage's engine: the hub's SQLite file in WAL mode."""
        db = Database(self.path, busy_timeout=self.busy_timeout, name="hub-db")
        mode = await db.open()
        if mode != "wal" and str(self.path) != ":memory:":
            _LOGGER.warning("%s: journal_mode is %r, not WAL", self.path, mode)
        return db

    @property
    def unreachable(self) -> bool:
        """Whether the database could not be reached at the last try (a file is always there)."""
        return False

    async def notify(self, channel: str, payload: str = "") -> None:
        """Tell the other processes on this database (none share a SQLite file: nothing to do)."""

    async def close(self) -> None:
        """Write everything queued, stop the writer and close the connection."""
        self._closed = True
        # A second close() (shutdown paths overlap) waits for the first to finish.
        async with self._close_lock:
            await self._close()

    async def _close(self) -> None:
        db = self._db
        if db is None:
            return
        self._stop.set()
        self._wake.set()
        if self._writer is not None:
            # The writer finishes the batch it is in and exits; cancelling it
            # instead could abandon a transaction half-way through a call.
            await self._writer
            self._writer = None

        deadline = time.monotonic() + self.close_timeout
        # Short retries regardless of flush_interval: the process is stopping.
        backoff = Backoff(0.05, 1.0)
        while self._queue:
            try:
                await self._flush_until(self._seq_in)
            except Exception as err:
                if not is_passing(err):
                    raise
                if time.monotonic() >= deadline:
                    _LOGGER.error(
                        "%s: closing with %d rows that could not be written", self.where, len(self._queue)
                    )
                    break
                await backoff.sleep(REAL_TIME)
        try:
            # Cheap, and keeps query plans good on long-running hubs (SQLite's advice).
            if self.dialect == "sqlite":
                with contextlib.suppress(sqlite3.Error):
                    await db.run(lambda conn: conn.execute("PRAGMA optimize"))
        finally:
            self._db = None
            await db.close()

    # ------------------------------------------------------------------ migrations

    def add_migrations(self, component: str, migrations: Sequence[str]) -> None:
        """Register a component's migrations, to be run by open()."""
        if self._db is not None:
            raise RuntimeError("storage is open: use 'await apply_migrations(...)' instead")
        self._register(component, migrations)

    async def apply_migrations(self, component: str, migrations: Sequence[str]) -> None:
        """Run a component's unapplied migrations now (or at open() if not open yet)."""
        self._register(component, migrations)
        if self._db is not None:
            await self._migrate(component, self._migrations[component])

    def _register(self, component: str, migrations: Sequence[str]) -> None:
        check_component(component)
        if isinstance(migrations, str):
            # A bare string is a sequence of characters: each would be a "migration".
            raise TypeError("migrations must be a sequence of SQL scripts, not one string")
        scripts = tuple(migrations)
        known = self._migrations.get(component)
        if component == self.core_component and scripts != self.core_migrations:
            raise ValueError(f"the {component!r} component's migrations are built in")
        # A later registration may extend the list (a plugin upgraded in place),
        # never rewrite what was registered, which may already be applied.
        if known is not None and scripts[: len(known)] != known:
            raise ValueError(f"migrations for {component!r} conflict with ones already registered")
        self._migrations[component] = scripts

    def has_migrations(self, component: str) -> bool:
        """Return whether ``component``'s migrations were registered (and so applied once open)."""
        return component in self._migrations

    async def _migrate(self, component: str, migrations: Sequence[str]) -> None:
        db = self._require_db()
        try:
            # The engine's runner: PostgreSQL's takes an advisory lock, so processes sharing
            # the database (station workers) apply each script once.
            await db.migrate(component, migrations)
        except MigrationError as exc:
            raise RuntimeError(str(exc)) from exc

    # ------------------------------------------------------------------ direct access

    async def execute(self, sql: str, params: Params = (), *, urgent: bool = False) -> int:
        """Run one statement, committed on return; return the last row id."""
        # Autocommit mode: a single statement is its own transaction.
        return await self._require_db().run(_lastrowid, sql, params, urgent=urgent)

    async def execute_rowcount(self, sql: str, params: Params = (), *, urgent: bool = False) -> int:
        """Run one statement, committed on return; return the number of rows changed."""
        return await self._require_db().run(_rowcount, sql, params, urgent=urgent)

    async def executemany(self, sql: str, seq: Sequence[Params], *, urgent: bool = False) -> None:
        """Run one statement for each parameter set, all in one transaction."""
        await self._require_db().write(lambda conn: conn.executemany(sql, seq) and None, urgent=urgent)

    async def transaction(self, rows: Sequence[tuple[str, Params]], *, urgent: bool = False) -> None:
        """Run several statements in one transaction, committed on return: all of them or none.

        ``urgent`` (an incident and what follows it) goes before any queued ordinary
        write, such as a batch of the recorder's history.
        """
        await self._require_db().write(_write_rows, list(rows), urgent=urgent)

    async def run_in_transaction(self, fn: Callable[[sqlite3.Connection], T], *, urgent: bool = False) -> T:
        """Run ``fn(conn)`` on the database thread in one transaction and return its result.

        For a write that must read what it writes (an id, a row count) in the same
        transaction.  ``fn`` runs on another thread: it must not touch the event loop.
        """
        return await self._require_db().write(fn, urgent=urgent)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Return all rows of a query.

        In order with the writes issued before it (the writer's thread, not the reader
        connection): code reads right after starting a write and must see it.
        """
        return await self._require_db().run(_fetchall, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Return the first row of a query, or None (in order with earlier writes)."""
        return await self._require_db().run(_fetchone, sql, params)

    # ------------------------------------------------------------------ batch queue

    def enqueue(self, sql: str, params: Params) -> None:
        """Queue one row for the batch writer.

        Not async, so bus listeners and callbacks can call it; call it from the
        event loop's thread only (the wake-up event is not thread-safe).
        """
        if self._closed:
            raise RuntimeError("storage is closed")
        if len(self._queue) >= self.max_pending:
            self._dropped_overflow += 1
            if self._dropped_overflow == 1:
                _LOGGER.error(
                    "%s: write queue full (%d rows): dropping new rows until the database recovers",
                    self.where,
                    self.max_pending,
                )
            return
        # Copy: a caller reusing its list or dict must not change a queued row.
        frozen: Params = dict(params) if isinstance(params, Mapping) else tuple(params)
        self._queue.append((sql, frozen))
        self._seq_in += 1
        if len(self._queue) >= self.max_batch and not self._wake.is_set():
            self._wake.set()

    async def flush(self) -> None:
        """Write every row queued so far; raise if the database refuses (rows stay queued)."""
        self._require_db()
        await self._flush_until(self._seq_in)

    async def _flush_until(self, target: int) -> None:
        # The lock is taken per batch, so reads and direct writes interleave
        # with a long flush instead of waiting for all of it.
        while self._seq_done < target and self._queue:
            async with self._lock:
                count = min(self.max_batch, target - self._seq_done, len(self._queue))
                if count <= 0:
                    return
                # Peek, write, then pop: on failure the rows are still queued.
                rows = list(islice(self._queue, count))
                await self._write_batch(rows)
                for _ in range(count):
                    self._queue.popleft()
                self._seq_done += count

    async def _write_batch(self, rows: list[tuple[str, Params]]) -> None:
        db = self._require_db()
        try:
            # One hop to the database thread and one transaction for the whole batch.
            await db.write(_write_rows, rows)
        except Exception as exc:
            if not _is_permanent(exc):
                self._note_failure(exc)
                raise
            # One row is bad; find it (them) without losing the rest.
            try:
                await db.run(_write_rows_isolated, rows, self.where)
            except Exception as retry_exc:
                if is_passing(retry_exc):
                    self._note_failure(retry_exc)
                raise
        self._note_success()

    def _note_failure(self, exc: BaseException) -> None:
        # Log once per outage: a locked database retried every second for an
        # hour must not write 3,600 identical warnings.
        if not self._failing:
            self._failing = True
            _LOGGER.warning(
                "%s: batch write failed (%s); %d rows kept in the queue, retrying",
                self.where,
                exc,
                len(self._queue),
            )

    def _note_success(self) -> None:
        if self._failing:
            self._failing = False
            _LOGGER.info("%s: batch writes resumed", self.where)
        if self._dropped_overflow:
            _LOGGER.error(
                "%s: %d rows were dropped while the queue was full", self.where, self._dropped_overflow
            )
            self._dropped_overflow = 0

    async def _run_writer(self) -> None:
        failures = 0
        while not self._stop.is_set():
            if failures:
                # Back off; only close() may cut the wait short, a full queue may not.
                delay = min(self.flush_interval * (2 ** min(failures, 16)), _MAX_BACKOFF)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.flush_interval):
                        await self._wake.wait()
                self._wake.clear()
            if self._stop.is_set():
                return
            try:
                await self._flush_until(self._seq_in)
                failures = 0
            except Exception as err:
                if not is_passing(err):
                    # The writer must outlive any surprise, or queued rows would pile
                    # up forever with nobody writing them.
                    _LOGGER.exception("%s: unexpected error in the batch writer", self.where)
                failures += 1  # a passing failure is logged once by _note_failure

    # ------------------------------------------------------------------ helpers

    def _require_db(self) -> Database:
        if self._db is None:
            raise RuntimeError("storage is not open")
        return self._db


# -- on the database thread ------------------------------------------------------------------------


def _lastrowid(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    # PostgreSQL's cursors have no lastrowid: an id is read with RETURNING there.
    return getattr(conn.execute(sql, params), "lastrowid", None) or 0


def _rowcount(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    return max(conn.execute(sql, params).rowcount, 0)


def _fetchall(conn: sqlite3.Connection, sql: str, params: Params) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def _fetchone(conn: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
    return row


def _write_rows(conn: sqlite3.Connection, rows: list[tuple[str, Params]]) -> None:
    """Write a batch (the caller's transaction): rows of one statement in a row share an executemany."""
    for sql, group in groupby(rows, key=lambda row: row[0]):
        conn.executemany(sql, [params for _, params in group])


def _write_rows_isolated(conn: sqlite3.Connection, rows: list[tuple[str, Params]], where: str) -> None:
    """Write a batch row by row, dropping (and logging) only the rows that cannot be written."""
    # IMMEDIATE takes SQLite's write lock up front; PostgreSQL has no such word.
    conn.execute("BEGIN IMMEDIATE" if getattr(conn, "dialect", "sqlite") == "sqlite" else "BEGIN")
    try:
        for sql, params in rows:
            # A savepoint per row: undoes exactly that row's effects (including
            # trigger side effects) and keeps the rest of the transaction.
            conn.execute("SAVEPOINT storage_row")
            try:
                conn.execute(sql, params)
            except Exception as exc:
                if not _is_permanent(exc):
                    raise
                conn.execute("ROLLBACK TO storage_row")
                _LOGGER.error(
                    "%s: dropping a queued row that cannot be written (%s): %s %s",
                    where,
                    exc,
                    sql,
                    _short(params),
                )
            conn.execute("RELEASE storage_row")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(Exception):  # a broken connection has rolled back already
                conn.execute("ROLLBACK")
        raise
