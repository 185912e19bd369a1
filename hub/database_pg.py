"""The PostgreSQL engine: the same contract as :class:`hub.database.Database`, on psycopg 3.

A station that outgrows one machine keeps its store code and swaps the engine
(``station.database: postgresql://…``).  What stays the same:

* ``write(fn, urgent=)`` runs ``fn(conn, *args)`` on the writer's own thread
  in one transaction, urgent jobs first; ``read(fn)`` on a reader connection
  of its own; ``run(fn)`` without a transaction; ``migrate`` is the same
  runner (:func:`hub.database.migrate_sync`) with PostgreSQL's scripts.
* ``conn`` answers what the stores ask of a sqlite3 connection: ``execute``
  and ``executemany`` with ``?`` placeholders, rows readable by index and by
  column name (and ``dict(row)``), ``rowcount``, ``executescript``,
  ``in_transaction``.  ``conn.dialect`` says which engine it is, for the few
  statements that must differ.

What PostgreSQL adds:

* urgent jobs (incidents) run on a writer thread and connection of their
  own: PostgreSQL takes concurrent writers, so an SOS never waits for a
  telemetry transaction (SQLite's one writer can only put it first in line);
* several processes (station workers) write one database; two of them
  storing the same message is settled by the unique key, never by a lock of
  ours;
* a connection that breaks (the server restarted, a failover) is replaced
  before the next job: the job that met the break fails (so nothing it did is
  acknowledged), the ones after it run on the new connection;
* migrations are serialised between workers on an advisory lock, so two
  workers starting together apply each script once.

Why psycopg 3 and not asyncpg: the engine's contract is a function run on a
database thread with a DB-API connection, one transaction per batch.  psycopg
is DB-API, thread-safe per connection, pipelines ``executemany``, takes a
batch as one parameter (the station's ``INSERT … SELECT`` from a ``jsonb``
array), and has
``LISTEN``/``NOTIFY``; asyncpg would need every store function rewritten as a
coroutine on the event loop, where a big batch would then be parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from hub.database import _LAST, _URGENT, Database, _Job, check_component, migrate_sync

if TYPE_CHECKING:
    import psycopg

__all__ = (
    "PgDatabase",
    "PgConnection",
    "Row",
    "Listener",
    "translate",
    "redact_url",
    "url_password",
    "is_postgres_url",
)

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

#: Advisory lock key for migrations ("SSZ" in ASCII): one worker migrates at a time.
_MIGRATION_LOCK = 0x53535A


def is_postgres_url(value: str) -> bool:
    """Return whether ``value`` names a PostgreSQL database."""
    return value.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """Return ``url`` without its password (for logs and error messages)."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:  # pragma: no cover - psycopg missing: nothing to show either way
        return "postgresql://…"
    try:
        params = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a malformed URL is named without its content
        return "postgresql://(malformed URL)"
    host = params.get("host") or "localhost"
    return f"postgresql://{params.get('user') or ''}@{host}:{params.get('port') or 5432}/{params.get('dbname') or ''}"


def url_password(url: str) -> str | None:
    """Return the password in ``url``, if it has one."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        value = conninfo_to_dict(url).get("password")
    except Exception:  # noqa: BLE001 - psycopg missing or a malformed URL: nothing to hide from it
        return None
    return str(value) if value else None


# -- SQL -------------------------------------------------------------------------------------------


_translations: dict[tuple[str, bool], str] = {}


def translate(sql: str, *, has_params: bool = True) -> str:
    """Turn the stores' ``?`` placeholders into psycopg's ``%s`` (and ``%`` into ``%%``).

    Quoted strings and identifiers are copied as they are (apart from ``%``,
    which psycopg reads everywhere when there are parameters).  Results are
    cached: the stores use a few hundred distinct statements.
    """
    key = (sql, has_params)
    done = _translations.get(key)
    if done is not None:
        return done
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if ch == "%" and has_params:
            out.append("%%")
        elif quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?" and has_params:
            out.append("%s")
        else:
            out.append(ch)
    done = "".join(out)
    if len(_translations) < 4096:
        _translations[key] = done
    return done


class Row(tuple[Any, ...]):
    """A result row read like ``sqlite3.Row``: by index, by column name, and ``dict(row)``."""

    __slots__ = ()
    _index: dict[str, int] = {}
    _names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """Return the column names."""
        return list(self._names)


_row_classes: dict[tuple[str, ...], type[Row]] = {}


def _row_class(names: tuple[str, ...]) -> type[Row]:
    cls = _row_classes.get(names)
    if cls is None:
        cls = type(
            "Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}, "_names": names}
        )
        _row_classes[names] = cls
    return cls


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Any]:
    description = cursor.description
    if description is None:
        return tuple
    cls = _row_class(tuple(col.name for col in description))
    return cls


def _clean(params: Sequence[Any]) -> tuple[Any, ...]:
    """Return the parameters with NUL replaced in text: PostgreSQL's text cannot hold it.

    SQLite stores a NUL a hub sent (JSON's ``\u0000`` in a title); PostgreSQL would refuse the
    whole transaction, and a refused SOS is retried for ever.  U+FFFD shows where it was.
    """
    return tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) and "\x00" in v else v for v in params)


class PgConnection:
    """A psycopg connection that reads the stores' SQL (see the module's docstring)."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        import psycopg

        self.raw = raw
        #: What the migration runner catches as "the script failed".
        self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        """Run one statement; ``?`` placeholders."""
        if params:
            return self.raw.execute(translate(sql), _clean(params))
        return self.raw.execute(translate(sql, has_params=False))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        """Run one statement for each row (pipelined by psycopg); ``rowcount`` is the total."""
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), [_clean(r) for r in rows])
        return cursor

    def executescript(self, script: str) -> None:
        """Run several statements at once (migrations; no parameters)."""
        self.raw.execute(script.encode("utf-8"))

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on this connection."""
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    @property
    def broken(self) -> bool:
        """Whether the connection is gone (closed, or the server went away)."""
        return bool(self.raw.closed or self.raw.broken)

    def close(self) -> None:
        """Close the connection."""
        self.raw.close()


# -- the engine ----------------------------------------------------------------------------------


class PgDatabase(Database):
    """PostgreSQL behind :class:`hub.database.Database`'s contract."""

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        name: str = "db",
        connect_timeout: float = 5.0,
        connect_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(":memory:", name=name)
        self.url = url
        self.connect_timeout = connect_timeout
        #: More libpq connection parameters (``tcp_user_timeout``...), beside those in the URL.
        self.connect_options = dict(connect_options or {})
        #: The reader connection lives on the reader thread (PgConnection, not sqlite3).
        self._pg_reader: PgConnection | None = None
        self._pg_writer: PgConnection | None = None
        #: Urgent jobs (incidents) have a thread and connection of their own: PostgreSQL takes
        #: concurrent writers, so an SOS never waits for a telemetry transaction at all.
        self._urgent_jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._urgent_writer: threading.Thread | None = None
        self._pg_urgent: PgConnection | None = None
        #: Every connection opened and not yet closed: close() closes what a cancelled open()
        #: or a reconnect racing with close() left behind, and refuses new ones after it.
        self._opened: weakref.WeakSet[PgConnection] = weakref.WeakSet()
        self._closed = False
        self._registry = threading.Lock()

    @property
    def where(self) -> str:
        """Return the database's address without its password (for logs)."""
        return redact_url(self.url)

    @property
    def memory(self) -> bool:
        """Never in memory: reads go to the reader connection."""
        return False

    def connect(self, *, autocommit: bool = True) -> PgConnection:
        """Open a new connection (on the calling thread)."""
        import psycopg

        raw = psycopg.connect(
            self.url,
            autocommit=autocommit,
            connect_timeout=max(1, int(self.connect_timeout)),
            row_factory=_row_factory,
            application_name=f"safetyhub-{self.name}",
            **self.connect_options,
        )
        conn = PgConnection(raw)
        with self._registry:
            if self._closed:
                conn.close()
                raise RuntimeError(f"{self.name} is closed")
            self._opened.add(conn)
        return conn

    async def open(self) -> str:
        """Connect the writer and the reader and start their threads; return ``"postgresql"``."""
        if self._writer is not None:
            raise RuntimeError(f"{self.name} is already open")
        self._closed = False
        writer = await asyncio.to_thread(self.connect)
        self._pg_writer = writer
        self._conn = writer.raw  # type: ignore[assignment]  # only tested for None by the base
        self._writer = threading.Thread(target=self._work, name=f"{self.name}-writer", daemon=True)
        self._writer.start()
        try:
            self._pg_urgent = await asyncio.to_thread(self.connect)
        except BaseException:
            await self.close()
            raise
        self._urgent_writer = threading.Thread(
            target=self._work, args=(self._urgent_jobs,), name=f"{self.name}-urgent", daemon=True
        )
        self._urgent_writer.start()
        self._read_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-reader")
        try:
            self._pg_reader = await asyncio.get_running_loop().run_in_executor(self._read_pool, self.connect)
        except BaseException:
            await self.close()
            raise
        self._reader = self._pg_reader.raw  # type: ignore[assignment]
        return self.dialect

    async def close(self) -> None:
        """Finish every queued job, then close both connections and threads."""
        writer = self._writer
        if writer is None:
            return
        self._jobs.put(_Job(_LAST, next(self._seq), lambda: None))
        await asyncio.to_thread(writer.join)
        self._writer = None
        urgent, self._urgent_writer = self._urgent_writer, None
        if urgent is not None:
            self._urgent_jobs.put(_Job(_LAST, next(self._seq), lambda: None))
            await asyncio.to_thread(urgent.join)
        if self._pg_urgent is not None:
            self._pg_urgent.close()
            self._pg_urgent = None
        if self._read_pool is not None:
            pool, reader = self._read_pool, self._pg_reader
            if reader is not None:
                await asyncio.get_running_loop().run_in_executor(pool, reader.close)
            pool.shutdown(wait=True)
            self._read_pool, self._reader, self._pg_reader = None, None, None
        conn, self._pg_writer, self._conn = self._pg_writer, None, None
        if conn is not None:
            conn.close()
        with self._registry:
            self._closed = True
            left = list(self._opened)
        for other in left:
            with contextlib.suppress(Exception):
                other.close()

    def _writer_conn(self) -> PgConnection:
        conn = self._pg_writer
        if conn is None:
            raise RuntimeError(f"{self.name} is not open")
        if conn.broken:
            # Replaced here, as the next job starts: the job that met the break has
            # failed already, so nothing it wrote was acknowledged.
            _LOGGER.warning("%s: connection to %s lost; reconnecting", self.name, self.where)
            with contextlib.suppress(Exception):
                conn.close()
            conn = self._pg_writer = self.connect()
            self._conn = conn.raw  # type: ignore[assignment]
        return conn

    def _urgent_conn(self) -> PgConnection:
        conn = self._pg_urgent
        if conn is None:
            raise RuntimeError(f"{self.name} is not open")
        if conn.broken:
            with contextlib.suppress(Exception):
                conn.close()
            conn = self._pg_urgent = self.connect()
        return conn

    async def run(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        """Run ``fn(conn, *args)`` on the writer thread, or an urgent job on the urgent writer's."""
        if not urgent:
            return await super().run(fn, *args)
        self._db()
        if self._urgent_writer is None or not self._urgent_writer.is_alive():
            raise RuntimeError(f"{self.name} is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self.queued += 1
        try:
            job = _Job(_URGENT, next(self._seq), lambda: fn(self._urgent_conn(), *args), loop, future)
            self._urgent_jobs.put(job)
            return await future
        finally:
            self.queued -= 1

    def _reader_conn(self) -> PgConnection:
        conn = self._pg_reader
        if conn is None:
            raise RuntimeError(f"{self.name} is not open")
        if conn.broken:
            with contextlib.suppress(Exception):
                conn.close()
            conn = self._pg_reader = self.connect()
        return conn

    async def write(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        """Run ``fn(conn, *args)`` in one transaction on the writer thread; all of it or nothing."""
        return await self.run(_in_pg_transaction, fn, args, urgent=urgent)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the reader connection; once more on a new one if it had broken.

        A read changes nothing, so trying it again is safe; a page must not
        fail because the server restarted since the last one.
        """
        import psycopg

        try:
            return await super().read(fn, *args)
        except psycopg.OperationalError:
            if self._pg_reader is None or not self._pg_reader.broken:
                raise
            return await super().read(fn, *args)

    async def migrate(self, component: str, scripts: Sequence[str]) -> list[int]:
        """Apply ``component``'s unapplied scripts; workers starting together take turns."""
        check_component(component)

        def run(conn: PgConnection) -> list[int]:
            conn.execute("SELECT pg_advisory_lock(?)", (_MIGRATION_LOCK,))
            try:
                return migrate_sync(conn, component, scripts, where=self.where)  # type: ignore[arg-type]
            finally:
                with contextlib.suppress(Exception):
                    conn.execute("SELECT pg_advisory_unlock(?)", (_MIGRATION_LOCK,))

        return await self.run(run)

    def listen(self, channel: str) -> Listener:
        """Return a :class:`Listener` for ``channel`` (started by its ``start``)."""
        return Listener(self, channel)


#: Times a transaction is tried again after PostgreSQL chose it as a deadlock's victim.
_DEADLOCK_RETRIES = 3


def _in_pg_transaction(conn: PgConnection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    from psycopg import errors

    for attempt in itertools.count():
        try:
            with conn.raw.transaction():
                return fn(conn, *args)
        except (errors.DeadlockDetected, errors.SerializationFailure):
            # Two workers storing overlapping batches: the server rolled one back whole,
            # so running it again is safe (the stores' functions only touch ``conn``).
            if attempt >= _DEADLOCK_RETRIES:
                raise
            _LOGGER.info("database: transaction retried after a deadlock (attempt %d)", attempt + 1)
    raise AssertionError("unreachable")


class Listener:
    """``LISTEN channel`` on a connection and thread of its own; yields each payload.

    For live updates between processes (station workers): a ``NOTIFY`` sent
    in a transaction is delivered only when that transaction commits, so a
    listener never hears of a row that is not there.  The connection is
    re-opened if it breaks; what was notified meanwhile is lost, so a user of
    this re-reads what it shows after :attr:`reconnected` fires.
    """

    def __init__(self, db: PgDatabase, channel: str) -> None:
        self.db = db
        self.channel = channel
        self._stop = threading.Event()
        self._conn: PgConnection | None = None
        self._thread: threading.Thread | None = None

    def payloads(self, timeout: float = 0.5) -> Iterator[str | None]:
        """Yield payloads as they come, and None every ``timeout`` seconds (runs on a thread).

        None also follows a reconnect, so the caller can catch up.
        """
        while not self._stop.is_set():
            try:
                if self._conn is None or self._conn.broken:
                    self._conn = self.db.connect()
                    self._conn.execute(f'LISTEN "{self.channel}"')
                    yield None
                for note in self._conn.raw.notifies(timeout=timeout):
                    yield note.payload
                    if self._stop.is_set():
                        break
                yield None
            except Exception as err:  # noqa: BLE001 - the server went away: retried
                if self._stop.is_set():
                    break
                _LOGGER.warning("%s: LISTEN %s failed (%s); retrying", self.db.name, self.channel, err)
                if self._conn is not None:
                    with contextlib.suppress(Exception):
                        self._conn.close()
                    self._conn = None
                self._stop.wait(1.0)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def stop(self) -> None:
        """Ask :meth:`payloads` to end (within its timeout)."""
        self._stop.set()

    async def start(self, deliver: Callable[[str], None], *, name: str) -> None:
        """Listen on a thread of its own, calling ``deliver(payload)`` on this event loop for each notice.

        Returns once ``LISTEN`` is in place (or after 10 s if the server cannot
        be reached: the thread keeps trying), so nothing sent after it is missed.
        """
        loop = asyncio.get_running_loop()
        ready = threading.Event()

        def listen() -> None:
            for payload in self.payloads():
                ready.set()
                if payload is not None:
                    with contextlib.suppress(RuntimeError):  # the loop closed while stopping
                        loop.call_soon_threadsafe(deliver, payload)

        self._thread = threading.Thread(target=listen, name=name, daemon=True)
        self._thread.start()
        await asyncio.to_thread(ready.wait, 10)

    async def close(self) -> None:
        """Stop listening and wait for the thread (within :meth:`payloads`' timeout)."""
        self.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join)
