"""The one database engine of hubs and stations: a writer thread, a reader, one migration runner.

Both the hub's :class:`hub.storage.Storage` and the station's store run on
:class:`Database`.  Its public contract is small on purpose, so the PostgreSQL
engine (:class:`hub.database_pg.PgDatabase`, issue 17) implements the same one:

* ``await db.write(fn, *args, urgent=False)`` runs ``fn(conn, *args)`` on the
  writer's own thread inside one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``,
  rolled back if ``fn`` raises) and returns its result: a whole batch costs one
  thread hop and one commit.
* ``await db.run(fn, *args)`` runs ``fn(conn, *args)`` on the writer thread
  without a transaction of ours (single autocommit statements, scripts).
* ``await db.read(fn, *args)`` runs ``fn(conn, *args)`` on a connection of its
  own: in WAL mode readers never wait for the writer, so a console page that
  scans a month of incidents never holds up the commit of an SOS.
* ``await db.migrate(component, scripts)``: the one migration runner
  (``schema_migrations`` rows per component and version).

Writes are taken in priority order: a job marked ``urgent`` (an incident)
goes before every queued ordinary one (telemetry), so an SOS waits at most
for the one job already running, never for the queue behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

__all__ = ("Database", "MigrationError", "migrate_sync")

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

#: Component names are written as literals into the migration script: no quoting needed.
_COMPONENT_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_URGENT, _NORMAL, _LAST = 0, 1, 2


class MigrationError(RuntimeError):
    """A migration script failed; nothing of it was applied."""


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    fn: Callable[[], Any] = field(compare=False)
    loop: asyncio.AbstractEventLoop | None = field(compare=False, default=None)
    future: asyncio.Future[Any] | None = field(compare=False, default=None)


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return  # the caller was cancelled; the job ran anyway
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Database:
    """One SQLite file: a writer thread with a priority queue, and a reader connection."""

    dialect = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout: float = 5.0,
        name: str = "db",
        pragmas: Sequence[str] = (),
    ) -> None:
        self.path = path if str(path) == ":memory:" else Path(path)
        self.busy_timeout = busy_timeout
        self.name = name
        self._pragmas = tuple(pragmas)
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._writer: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_pool: ThreadPoolExecutor | None = None
        #: Jobs handed to the writer and not finished yet (urgent ones counted apart).
        self.queued = 0

    @property
    def is_open(self) -> bool:
        """Return True between open() and close()."""
        return self._writer is not None

    @property
    def memory(self) -> bool:
        """Return True for an in-memory database (one connection: reads go to the writer)."""
        return str(self.path) == ":memory:"

    # -- lifecycle ------------------------------------------------------------------------

    def _connect(self, *, reader: bool) -> sqlite3.Connection:
        # isolation_level=None: the module must not open transactions behind our back.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
        # The same settings on both connections: what a reader reports is what the writer uses.
        for pragma in ("PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", *self._pragmas):
            conn.execute(pragma)
        if reader:
            conn.execute("PRAGMA query_only=ON")
        return conn

    async def open(self) -> str:
        """Connect (WAL, synchronous=NORMAL) and start the writer thread; return the journal mode."""
        if self._writer is not None:
            raise RuntimeError(f"{self.name} is already open")
        if not self.memory:
            assert isinstance(self.path, Path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await asyncio.to_thread(self._connect, reader=False)
        try:
            mode_row = await asyncio.to_thread(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
            mode = str(mode_row[0]).lower() if mode_row is not None else ""
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._writer = threading.Thread(target=self._work, name=f"{self.name}-writer", daemon=True)
        self._writer.start()
        if not self.memory:
            self._read_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-reader")
            loop = asyncio.get_running_loop()
            self._reader = await loop.run_in_executor(self._read_pool, lambda: self._connect(reader=True))
        return mode

    async def close(self) -> None:
        """Finish every queued job, then close both connections and threads."""
        writer = self._writer
        if writer is None:
            return
        # Last in the queue: every job queued before close() still runs.
        self._jobs.put(_Job(_LAST, next(self._seq), lambda: None))
        await asyncio.to_thread(writer.join)
        self._writer = None
        if self._read_pool is not None:
            pool, reader = self._read_pool, self._reader
            if reader is not None:
                await asyncio.get_running_loop().run_in_executor(pool, reader.close)
            pool.shutdown(wait=True)
            self._read_pool, self._reader = None, None
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _work(self, jobs: queue.PriorityQueue[_Job] | None = None) -> None:
        jobs = self._jobs if jobs is None else jobs
        while True:
            job = jobs.get()
            if job.priority == _LAST:
                self._refuse_late_jobs(jobs)
                return
            try:
                value, ok = job.fn(), True
            except BaseException as err:  # noqa: BLE001 - handed to the awaiting caller
                value, ok = err, False
            if job.loop is not None and job.future is not None:
                with contextlib.suppress(RuntimeError):  # the loop closed under a late job
                    job.loop.call_soon_threadsafe(_resolve, job.future, ok, value)

    def _refuse_late_jobs(self, jobs: queue.PriorityQueue[_Job]) -> None:
        # Whatever was queued after close() began gets an error instead of waiting forever.
        while True:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                return
            if job.loop is not None and job.future is not None:
                err = RuntimeError(f"{self.name} is closed")
                with contextlib.suppress(RuntimeError):
                    job.loop.call_soon_threadsafe(_resolve, job.future, False, err)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"{self.name} is not open")
        return self._conn

    def _writer_conn(self) -> Any:
        """Return the writer's connection (called on the writer thread, as each job starts)."""
        return self._db()

    def _reader_conn(self) -> Any:
        """Return the reader's connection (called on the reader thread)."""
        return self._reader

    # -- running ----------------------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        """Run ``fn(conn, *args)`` on the writer thread (no transaction of ours) and return its result."""
        self._db()
        if self._writer is None or not self._writer.is_alive():
            raise RuntimeError(f"{self.name} is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        priority = _URGENT if urgent else _NORMAL
        self.queued += 1
        try:
            # The connection is taken when the job runs, on the writer's thread: an engine
            # whose connection can break (PostgreSQL) reconnects there.
            job = _Job(priority, next(self._seq), lambda: fn(self._writer_conn(), *args), loop, future)
            self._jobs.put(job)
            return await future
        finally:
            self.queued -= 1

    async def write(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        """Run ``fn(conn, *args)`` in one transaction on the writer thread; all of it or nothing."""
        return await self.run(_in_transaction, fn, args, urgent=urgent)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the reader connection (never behind the writer's queue)."""
        if self._read_pool is None or self._reader is None:
            if self._writer is None:
                raise RuntimeError(f"{self.name} is not open")
            return await self.run(fn, *args)  # :memory:: one connection only
        return await asyncio.get_running_loop().run_in_executor(
            self._read_pool, lambda: fn(self._reader_conn(), *args)
        )

    async def migrate(self, component: str, scripts: Sequence[str]) -> list[int]:
        """Apply ``component``'s unapplied scripts, each in its own transaction; return the versions run."""
        return await self.run(lambda conn: migrate_sync(conn, component, scripts, where=str(self.path)))


def _in_transaction(conn: sqlite3.Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return result


# -- migrations -------------------------------------------------------------------------------------

_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL, version INTEGER NOT NULL, applied_at DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (component, version))"
)


def check_component(component: str) -> None:
    """Refuse a component name that could not be written into a script as a literal."""
    if not _COMPONENT_RE.match(component):
        raise ValueError(f"invalid component name {component!r}: use letters, digits, '_', '.', '-'")


def applied_versions(conn: sqlite3.Connection, component: str) -> set[int]:
    """Return the versions of ``component`` already applied."""
    conn.execute(_MIGRATIONS_TABLE)
    rows = conn.execute("SELECT version FROM schema_migrations WHERE component = ?", (component,))
    return {int(row[0]) for row in rows}


def mark_applied(conn: sqlite3.Connection, component: str, versions: Sequence[int]) -> None:
    """Record versions as applied without running them (adopting a database migrated another way)."""
    conn.execute(_MIGRATIONS_TABLE)
    conn.executemany(
        "INSERT INTO schema_migrations (component, version, applied_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
        [(component, v, time.time()) for v in versions],
    )


def migrate_sync(
    conn: sqlite3.Connection, component: str, scripts: Sequence[str], *, where: str = ""
) -> list[int]:
    """Apply ``component``'s unapplied scripts in order (runs on the database thread).

    The one runner of both engines: ``conn`` is a sqlite3 connection or
    :class:`hub.database_pg.PgConnection`, which has the same ``executescript``
    and ``in_transaction``; only the scripts themselves are per dialect.
    """
    check_component(component)
    dialect = getattr(conn, "dialect", "sqlite")
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, *getattr(conn, "errors", ()))
    applied = applied_versions(conn, component)
    if applied and max(applied) > len(scripts):
        _LOGGER.warning(
            "%s: database has %s migration %d but this code knows only %d (downgraded?)",
            where,
            component,
            max(applied),
            len(scripts),
        )
    done: list[int] = []
    for index, script in enumerate(scripts):
        version = index + 1
        if version in applied:
            continue
        try:
            conn.executescript(migration_script(component, version, script, dialect=dialect))
        except errors as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(f"migration {component} v{version} failed: {exc}") from exc
        _LOGGER.info("%s: applied migration %s v%d", where, component, version)
        done.append(version)
    return done


def migration_script(component: str, version: int, script: str, *, dialect: str = "sqlite") -> str:
    """Wrap one migration and its bookkeeping row in one transaction.

    executescript() is the only way to run a multi-statement script (triggers
    contain ';'), and it commits any open transaction first, so BEGIN/COMMIT
    must be inside the script itself.  The component name was checked against
    _COMPONENT_RE, so it is safe as a literal.
    """
    # IMMEDIATE takes SQLite's write lock up front; PostgreSQL has no such word (its
    # workers serialise migrations on an advisory lock instead, see hub.database_pg).
    begin = "BEGIN IMMEDIATE" if dialect == "sqlite" else "BEGIN"
    return (
        f"{begin};\n"
        # The script may end in a comment or lack a final ';': a terminator on a
        # line of its own is right either way (an empty statement is a no-op).
        f"{script}\n;\n"
        "INSERT INTO schema_migrations (component, version, applied_at) "
        f"VALUES ('{component}', {int(version)}, {time.time()!r});\n"
        "COMMIT;\n"
    )
