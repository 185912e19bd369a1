"""Contributor kit: a real PostgreSQL for tests, from Debian's ``postgresql`` package.

``postgres_server`` is one server per test session: ``initdb`` in a temporary
folder, listening on a unix socket in that folder and on 127.0.0.1 only,
with fsync off (a test database never needs to survive a power cut).
``postgres_url`` gives each test a fresh, empty database of its own
(``CREATE DATABASE``, dropped with its connections when the test ends)::

    from hub.testing_postgres import postgres_server, postgres_url  # noqa: F401

    async def test_store(postgres_url): ...

``initdb`` refuses to run as root, so when the tests run as root (CI, a
container) the server runs as the ``postgres`` account that Debian's package
creates (made here if it is missing).  Nothing is skipped silently: without
PostgreSQL the tests that need it *fail*, naming the package, unless
``SAFETYHUB_TEST_POSTGRES=skip`` says to skip them.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = (
    "PostgresServer",
    "postgres_available",
    "postgres_server",
    "postgres_url",
    "fresh_database",
    "require",
    "find_postgres_bin",
    "table_columns",
    "OPT_OUT",
)

#: ``SAFETYHUB_TEST_POSTGRES=skip`` skips the PostgreSQL tests instead of failing them.
OPT_OUT = "SAFETYHUB_TEST_POSTGRES"
#: The account the server runs as when the tests run as root.
SERVICE_USER = "postgres"
_unique = itertools.count(1)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_postgres_bin() -> Path | None:
    """Return the folder holding ``initdb`` and ``postgres`` (the newest Debian version), or None."""
    override = os.environ.get("SAFETYHUB_PG_BIN")
    if override:
        return Path(override)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _service_account() -> tuple[int, int] | None:
    """Return (uid, gid) to run the server as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        # Debian's package creates it; a stripped image may not have it.
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVICE_USER)
    return entry.pw_uid, entry.pw_gid


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, on a unix socket and 127.0.0.1."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        #: Benchmarks keep PostgreSQL's defaults (fsync, synchronous commit, autovacuum): their
        #: figures must be what a station gets, not what a throw-away test database does.
        self.durable = durable
        self.account = _service_account()
        # Not under pytest's tmp folder: that is private to root, and the server may run
        # as another account.
        self.folder = Path(tempfile.mkdtemp(prefix="safetyhub-pg-"))
        self.data = self.folder / "data"
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = "safetyhub"
        self.log = self.folder / "postgres.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._retired: list[str] = []
        if self.account is not None:
            os.chown(self.folder, *self.account)

    def _run_as(self) -> dict[str, Any]:
        if self.account is None:
            return {}
        uid, gid = self.account
        return {"user": uid, "group": gid, "extra_groups": []}

    def start(self) -> None:
        """initdb, start the server and wait until it takes connections."""
        subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **self._run_as(),
        )
        log = self.log.open("ab")
        self._proc = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-k",
                str(self.folder),
                "-h",
                self.host,
                "-p",
                str(self.port),
                *self._settings(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            **self._run_as(),
        )
        log.close()
        self._wait_ready()

    def _settings(self) -> list[str]:
        settings = ["max_connections=200"]
        if not self.durable:
            # Speed over durability: a test database is thrown away.  No processes that come
            # and go by themselves either (the suite checks that a test leaves none behind).
            settings += [
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
                "autovacuum=off",
                "max_parallel_workers_per_gather=0",
            ]
        return [arg for setting in settings for arg in ("-c", setting)]

    @property
    def pid(self) -> int | None:
        """Return the postmaster's process id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _wait_ready(self, within: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + within
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def url(self, dbname: str) -> str:
        """Return a URL for ``dbname`` over the unix socket."""
        return f"postgresql://{self.user}@/{dbname}?host={self.folder}&port={self.port}"

    def tcp_url(self, dbname: str) -> str:
        """Return a URL for ``dbname`` over 127.0.0.1."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def admin(self, sql: str) -> None:
        """Run one statement on the maintenance database (CREATE/DROP DATABASE ...)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """Create a fresh, empty database; return its name."""
        self._drop_retired()
        name = f"t{os.getpid()}_{next(_unique)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, ending whatever connections it still has."""
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def retire(self, name: str) -> None:
        """Drop a test's database once nothing uses it any more.

        A test's fixtures may be torn down in any order: a station still
        closing must not have its database pulled away (that would be a
        failure of the test kit, not of the code), so a database in use is
        dropped later.
        """
        self._retired.append(name)
        self._drop_retired()

    def _drop_retired(self) -> None:
        import psycopg

        if not self._retired:
            return
        still: list[str] = []
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            for name in self._retired:
                # DROP DATABASE waits up to 5 s for its sessions to end: asked first instead.
                busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,))
                row = busy.fetchone()
                if row is not None and row[0]:
                    still.append(name)
                    continue
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                except psycopg.errors.ObjectInUse:
                    still.append(name)
        self._retired = still

    def stop(self) -> None:
        """Fast shutdown, then remove the folder."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # "fast" shutdown: ends sessions, no waiting for clients
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _missing() -> str | None:
    """Return why PostgreSQL cannot be used here, or None."""
    bindir = find_postgres_bin()
    if bindir is None or not (bindir / "initdb").exists():
        return "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install 'safetyhub[postgresql]'"
    return None


def require(available: PostgresServer | str) -> PostgresServer:
    """Return the server, or fail the test naming what is missing (skip with the opt-out)."""
    if isinstance(available, PostgresServer):
        return available
    if os.environ.get(OPT_OUT) == "skip":
        pytest.skip(f"{available} ({OPT_OUT}=skip)")
    pytest.fail(f"{available}; or set {OPT_OUT}=skip to skip the PostgreSQL tests", pytrace=False)


@pytest.fixture(scope="session")
def postgres_available() -> Iterator[PostgresServer | str]:
    """The session's server, or why there is none (never raises: see :func:`require`).

    Depend on this (rather than start the server inside a test) from a fixture
    that only sometimes needs PostgreSQL: a session fixture is set up before
    the suite's per-test leak check looks, so the server is the session's, not
    a test's leftover.
    """
    reason = _missing()
    if reason is not None:
        yield reason
        return
    bindir = find_postgres_bin()
    assert bindir is not None
    server = PostgresServer(bindir)
    try:
        try:
            server.start()
        except Exception as err:  # noqa: BLE001 - reported by every test that needs it
            yield f"PostgreSQL did not start: {err}"
            return
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server(postgres_available: PostgresServer | str) -> PostgresServer:
    """One PostgreSQL server for the test session (see the module's docstring)."""
    return require(postgres_available)


def fresh_database(server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """Create a database for the requesting test (dropped after it); return its URL."""
    name = server.create_database()
    request.addfinalizer(lambda: server.retire(name))
    return server.url(name)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test; its URL (unix socket)."""
    return fresh_database(postgres_server, request)


async def table_columns(storage: Any, table: str) -> list[str]:
    """Return ``table``'s column names in order, on a SQLite or a PostgreSQL ``Storage``.

    For the parity tests: a table kept on both engines must end with the same
    columns, so a script without its twin fails there.
    """
    if storage.dialect == "sqlite":
        rows = await storage.fetchall("SELECT name FROM pragma_table_info(?)", (table,))
    else:
        rows = await storage.fetchall(
            "SELECT column_name AS name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    return [str(r["name"]) for r in rows]
