"""The hub's one SQLite database: versioned migrations and a batching writer.

Every part of the core (recorder, incidents, audit, users, outbox, timers, traces)
and every plugin shares one aiosqlite connection to one file in WAL mode.  One
connection means one writer, so there is never a "database is locked" fight
between our own components; the only contention is with outside processes
(backups, an operator's ``sqlite3`` shell), handled by ``busy_timeout`` and by
retrying batches.

Two ways to write:

* ``execute``/``executemany``: awaited, committed before they return.  For data
  whose loss would break a promise (audit entries, SOS presses, incidents).
* ``enqueue``: not async and costs one ``deque.append``; a background task
  writes queued rows in batches inside one transaction.  For high-volume,
  loss-tolerant-but-not-lossy data such as the recorder's event history.  A
  batch that fails for a passing reason (locked, disk full) stays queued and is
  retried with backoff; a batch that fails because of one bad row is replayed
  row by row so only that row is dropped (and logged).

Connection use is serialised by one ``asyncio.Lock``: the batch writer opens
an explicit transaction across several awaits, and without the lock a
concurrent ``execute`` would land inside it and vanish if the batch rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import json
import logging
import re
import sqlite3
import time
from collections import deque
from collections.abc import Mapping, Sequence, Set
from itertools import groupby, islice
from pathlib import Path
from typing import Any, TypeAlias

import aiosqlite

__all__ = ("CORE_MIGRATIONS", "Params", "Storage", "from_json", "is_passing", "to_json")

_LOGGER = logging.getLogger(__name__)

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]

# Component names are embedded as literals in the migration script (see
# _migration_script), so they are restricted to characters that need no quoting.
_COMPONENT_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")

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


def _is_permanent(exc: BaseException) -> bool:
    """Tell a row/statement fault (drop the row) from a passing one (retry)."""
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
    return isinstance(exc, sqlite3.Error | OSError) and not _is_permanent(exc)


def _short(value: object, limit: int = 200) -> str:
    """Return a bounded repr for logs, so one huge row cannot flood them."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Storage:
    """One aiosqlite database per hub: migrations, direct writes and a batch queue."""

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
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.busy_timeout = busy_timeout
        # A bound on memory while the disk is unavailable: an hour-long outage at
        # a busy hub must degrade (dropping, loudly) rather than kill the hub.
        self.max_pending = max_pending
        # How long close() keeps retrying a failing final flush before giving up.
        self.close_timeout = close_timeout

        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._migrations: dict[str, tuple[str, ...]] = {"core": CORE_MIGRATIONS}

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
        return self._conn is not None

    @property
    def pending(self) -> int:
        """Return the number of queued rows not yet on disk."""
        return len(self._queue)

    async def open(self) -> None:
        """Connect, configure the connection, migrate and start the batch writer."""
        if self._conn is not None:
            raise RuntimeError("storage is already open")
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the module must not open transactions behind our
        # back; every multi-statement write below says BEGIN/COMMIT explicitly.
        # Fresh primitives: asyncio objects bind to the loop that first waits on
        # them, and a Storage may be reopened under another loop (tests, CLI).
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._close_lock = asyncio.Lock()
        self.migration_errors = {}
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            async with conn.execute("PRAGMA journal_mode=WAL") as cur:
                row = await cur.fetchone()
            mode = str(row[0]).lower() if row is not None else ""
            if mode != "wal" and str(self.path) != ":memory:":
                _LOGGER.warning("%s: journal_mode is %r, not WAL", self.path, mode)
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " component TEXT NOT NULL, version INTEGER NOT NULL, applied_at REAL NOT NULL,"
                " PRIMARY KEY (component, version))"
            )
            self._conn = conn
            await self._migrate("core", self._migrations["core"])  # without it nothing works: raise
            for component, migrations in self._migrations.items():
                if component == "core":
                    continue
                try:
                    await self._migrate(component, migrations)
                except RuntimeError as exc:
                    _LOGGER.error("%s: %s; component %r left without its tables", self.path, exc, component)
                    self.migration_errors[component] = exc
        except BaseException:
            self._conn = None
            await conn.close()
            raise
        self._closed = False
        self._failing = False
        if len(self._queue) >= self.max_batch:
            self._wake.set()  # rows queued before open
        self._writer = asyncio.create_task(self._run_writer(), name=f"storage-writer:{self.path.name}")

    async def close(self) -> None:
        """Write everything queued, stop the writer and close the connection."""
        self._closed = True
        # A second close() (shutdown paths overlap) waits for the first to finish.
        async with self._close_lock:
            await self._close()

    async def _close(self) -> None:
        conn = self._conn
        if conn is None:
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
        delay = 0.05
        while self._queue:
            try:
                await self._flush_until(self._seq_in)
            except sqlite3.Error:
                if time.monotonic() >= deadline:
                    _LOGGER.error(
                        "%s: closing with %d rows that could not be written", self.path, len(self._queue)
                    )
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            async with self._lock:
                # Cheap, and keeps query plans good on long-running hubs (SQLite's advice).
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("PRAGMA optimize")
        finally:
            self._conn = None
            await conn.close()

    # ------------------------------------------------------------------ migrations

    def add_migrations(self, component: str, migrations: Sequence[str]) -> None:
        """Register a component's migrations, to be run by open()."""
        if self._conn is not None:
            raise RuntimeError("storage is open: use 'await apply_migrations(...)' instead")
        self._register(component, migrations)

    async def apply_migrations(self, component: str, migrations: Sequence[str]) -> None:
        """Run a component's unapplied migrations now (or at open() if not open yet)."""
        self._register(component, migrations)
        if self._conn is not None:
            await self._migrate(component, self._migrations[component])

    def _register(self, component: str, migrations: Sequence[str]) -> None:
        if not _COMPONENT_RE.match(component):
            raise ValueError(f"invalid component name {component!r}: use letters, digits, '_', '.', '-'")
        if isinstance(migrations, str):
            # A bare string is a sequence of characters: each would be a "migration".
            raise TypeError("migrations must be a sequence of SQL scripts, not one string")
        scripts = tuple(migrations)
        known = self._migrations.get(component)
        if component == "core" and scripts != CORE_MIGRATIONS:
            raise ValueError("the 'core' component's migrations are built in")
        # A later registration may extend the list (a plugin upgraded in place),
        # never rewrite what was registered, which may already be applied.
        if known is not None and scripts[: len(known)] != known:
            raise ValueError(f"migrations for {component!r} conflict with ones already registered")
        self._migrations[component] = scripts

    async def _migrate(self, component: str, migrations: Sequence[str]) -> None:
        conn = self._require_conn()
        async with self._lock:
            rows = await conn.execute_fetchall(
                "SELECT version FROM schema_migrations WHERE component = ?", (component,)
            )
            applied = {int(row[0]) for row in rows}
            if applied and max(applied) > len(migrations):
                _LOGGER.warning(
                    "%s: database has %s migration %d but this code knows only %d (downgraded?)",
                    self.path,
                    component,
                    max(applied),
                    len(migrations),
                )
            for index, script in enumerate(migrations):
                version = index + 1
                if version in applied:
                    continue
                try:
                    await conn.executescript(_migration_script(component, version, script))
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise RuntimeError(f"migration {component} v{version} failed: {exc}") from exc
                _LOGGER.info("%s: applied migration %s v%d", self.path, component, version)

    # ------------------------------------------------------------------ direct access

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement, committed on return; return the last row id."""
        conn = self._require_conn()
        async with self._lock, conn.execute(sql, params) as cur:
            # Autocommit mode: a single statement is its own transaction.
            return cur.lastrowid or 0

    async def execute_rowcount(self, sql: str, params: Params = ()) -> int:
        """Run one statement, committed on return; return the number of rows changed."""
        conn = self._require_conn()
        async with self._lock, conn.execute(sql, params) as cur:
            return max(cur.rowcount, 0)

    async def executemany(self, sql: str, seq: Sequence[Params]) -> None:
        """Run one statement for each parameter set, all in one transaction."""
        conn = self._require_conn()
        async with self._lock:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                await conn.executemany(sql, seq)
                await conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def transaction(self, rows: Sequence[tuple[str, Params]]) -> None:
        """Run several statements in one transaction, committed on return: all of them or none."""
        async with self._lock:
            try:
                await self._commit_rows(list(rows))
            except BaseException:
                await self._rollback()
                raise

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Return all rows of a query."""
        conn = self._require_conn()
        async with self._lock:
            return list(await conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Return the first row of a query, or None."""
        conn = self._require_conn()
        async with self._lock, conn.execute(sql, params) as cur:
            row: sqlite3.Row | None = await cur.fetchone()
            return row

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
                    self.path,
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
        self._require_conn()
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

    async def _commit_rows(self, rows: list[tuple[str, Params]]) -> None:
        """Write ``rows`` in one transaction; the caller holds the lock and rolls back on failure."""
        conn = self._require_conn()
        run_in_thread = getattr(conn, "_execute", None)
        if run_in_thread is not None:
            # One hop to the database thread for the whole batch.  Rows of
            # different statements interleave (state, event, trace...), and
            # one await per group cost a thread round trip each: most of an
            # automation run's price.  aiosqlite has no public API for this.
            await run_in_thread(_write_rows_sync, conn, rows)
            return
        await conn.execute("BEGIN IMMEDIATE")
        for sql, group in groupby(rows, key=lambda row: row[0]):
            await conn.executemany(sql, [params for _, params in group])
        await conn.execute("COMMIT")

    async def _write_batch(self, rows: list[tuple[str, Params]]) -> None:
        try:
            await self._commit_rows(rows)
        except Exception as exc:
            await self._rollback()
            if not _is_permanent(exc):
                self._note_failure(exc)
                raise
            # One row is bad; find it (them) without losing the rest.
            try:
                await self._write_rows_isolated(rows)
            except sqlite3.Error as retry_exc:
                await self._rollback()
                self._note_failure(retry_exc)
                raise
        self._note_success()

    async def _write_rows_isolated(self, rows: list[tuple[str, Params]]) -> None:
        conn = self._require_conn()
        await conn.execute("BEGIN IMMEDIATE")
        for sql, params in rows:
            # A savepoint per row: undoes exactly that row's effects (including
            # trigger side effects) and keeps the rest of the transaction.
            await conn.execute("SAVEPOINT storage_row")
            try:
                await conn.execute(sql, params)
            except Exception as exc:
                if not _is_permanent(exc):
                    raise
                await conn.execute("ROLLBACK TO storage_row")
                _LOGGER.error(
                    "%s: dropping a queued row that cannot be written (%s): %s %s",
                    self.path,
                    exc,
                    sql,
                    _short(params),
                )
            await conn.execute("RELEASE storage_row")
        await conn.execute("COMMIT")

    def _note_failure(self, exc: BaseException) -> None:
        # Log once per outage: a locked database retried every second for an
        # hour must not write 3,600 identical warnings.
        if not self._failing:
            self._failing = True
            _LOGGER.warning(
                "%s: batch write failed (%s); %d rows kept in the queue, retrying",
                self.path,
                exc,
                len(self._queue),
            )

    def _note_success(self) -> None:
        if self._failing:
            self._failing = False
            _LOGGER.info("%s: batch writes resumed", self.path)
        if self._dropped_overflow:
            _LOGGER.error(
                "%s: %d rows were dropped while the queue was full", self.path, self._dropped_overflow
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
            except sqlite3.Error:
                failures += 1  # already logged by _note_failure
            except Exception:
                # The writer must outlive any surprise, or queued rows would pile
                # up forever with nobody writing them.
                _LOGGER.exception("%s: unexpected error in the batch writer", self.path)
                failures += 1

    # ------------------------------------------------------------------ helpers

    async def _rollback(self) -> None:
        conn = self._conn
        if conn is not None and conn.in_transaction:
            try:
                await conn.execute("ROLLBACK")
            except sqlite3.Error:
                _LOGGER.exception("%s: rollback failed", self.path)

    def _require_conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("storage is not open")
        return self._conn


def _write_rows_sync(conn: aiosqlite.Connection, rows: list[tuple[str, Params]]) -> None:
    """Write a batch in one transaction; runs on the database thread."""
    raw: sqlite3.Connection = conn._conn
    raw.execute("BEGIN IMMEDIATE")
    try:
        for sql, group in groupby(rows, key=lambda row: row[0]):
            raw.executemany(sql, [params for _, params in group])
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise


def _migration_script(component: str, version: int, script: str) -> str:
    """Wrap one migration and its bookkeeping row in one transaction.

    executescript() is the only way to run a multi-statement script (triggers
    contain ';'), and in Python 3.11 it commits any open transaction first, so
    BEGIN/COMMIT must be inside the script itself.  The component name was
    validated against _COMPONENT_RE, so it is safe as a literal.
    """
    return (
        "BEGIN IMMEDIATE;\n"
        # The script's own text may end in a comment or lack a final ';': the
        # terminator on a line of its own is correct either way (an empty
        # statement is a no-op).
        f"{script}\n;\n"
        "INSERT INTO schema_migrations (component, version, applied_at) "
        f"VALUES ('{component}', {int(version)}, {time.time()!r});\n"
        "COMMIT;\n"
    )
