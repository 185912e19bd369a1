"""The PostgreSQL engine keeps the SQLite engine's contract (hub.database), on a real server."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import psycopg
import pytest

from hub.database import Database, MigrationError
from hub.database_pg import PgDatabase, redact_url, translate, url_password

SCRIPTS = (
    "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL);",
    "ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT '';",
)


def test_placeholders_are_translated_outside_quotes_and_percent_escaped() -> None:
    assert translate("SELECT '?', \"a?\" FROM t WHERE k = ? AND c LIKE 'x.%'") == (
        "SELECT '?', \"a?\" FROM t WHERE k = %s AND c LIKE 'x.%%'"
    )
    # Without parameters psycopg reads the text as it is.
    assert translate("SELECT 'x.%'", has_params=False) == "SELECT 'x.%'"


def test_a_url_is_shown_without_its_password() -> None:
    url = "postgresql://ccoc:s3cret-pw@db.example:5433/station"
    assert redact_url(url) == "postgresql://ccoc@db.example:5433/station"
    assert "s3cret" not in redact_url(url)
    assert url_password(url) == "s3cret-pw"


async def test_the_same_functions_run_on_both_engines(tmp_path: Any, postgres_url: str) -> None:
    """write/read/run/migrate: one store function, two engines, the same answers."""
    results = []
    for db in (Database(tmp_path / "x.db", name="x"), PgDatabase(postgres_url, name="x")):
        await db.open()
        try:
            assert await db.migrate("demo", SCRIPTS) == [1, 2]
            assert await db.migrate("demo", SCRIPTS) == []  # applied once

            def put(conn: Any, rows: list[tuple[str, int]]) -> int:
                changed = 0
                for row in rows:
                    changed += conn.execute(
                        "INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT DO NOTHING", row
                    ).rowcount
                return changed

            assert await db.write(put, [("a", 1), ("b", 2), ("a", 9)]) == 2

            def fail(conn: Any) -> None:
                conn.execute("INSERT INTO t (k, n) VALUES (?, ?)", ("c", 3))
                raise ValueError("all or nothing")

            with pytest.raises(ValueError):
                await db.write(fail)
            rows = await db.read(
                lambda conn: [
                    dict(r) | {"first": r[0], "n2": r["n"]}
                    for r in conn.execute("SELECT k, n FROM t ORDER BY k")
                ]
            )
            results.append(rows)
        finally:
            await db.close()
    assert (
        results[0]
        == results[1]
        == [
            {"k": "a", "n": 1, "first": "a", "n2": 1},
            {"k": "b", "n": 2, "first": "b", "n2": 2},
        ]
    )


async def test_a_failing_migration_applies_nothing(postgres_url: str) -> None:
    db = PgDatabase(postgres_url, name="x")
    await db.open()
    try:
        with pytest.raises(MigrationError, match="demo v2"):
            await db.migrate("demo", (SCRIPTS[0], "ALTER TABLE t ADD COLUMN n TEXT;"))
        # v1 stays; v2's half is rolled back and can be fixed and run again.
        assert await db.read(
            lambda c: [tuple(r) for r in c.execute("SELECT version FROM schema_migrations")]
        ) == [(1,)]
        assert await db.migrate("demo", SCRIPTS) == [2]
    finally:
        await db.close()


async def test_two_workers_starting_together_migrate_once(postgres_url: str) -> None:
    first, second = PgDatabase(postgres_url, name="w1"), PgDatabase(postgres_url, name="w2")
    await asyncio.gather(first.open(), second.open())
    try:
        done = await asyncio.gather(first.migrate("demo", SCRIPTS), second.migrate("demo", SCRIPTS))
        assert sorted(done) == [[], [1, 2]]
    finally:
        await asyncio.gather(first.close(), second.close())


async def test_a_lost_connection_fails_the_job_that_met_it_and_the_next_one_reconnects(
    postgres_url: str,
) -> None:
    db = PgDatabase(postgres_url, name="x")
    await db.open()
    try:
        await db.migrate("demo", SCRIPTS[:1])
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'safetyhub-x'"
            )
        with pytest.raises(psycopg.OperationalError):
            await db.write(lambda c: c.execute("INSERT INTO t (k, n) VALUES (?, ?)", ("lost", 1)))
        await db.write(lambda c: c.execute("INSERT INTO t (k, n) VALUES (?, ?)", ("after", 2)))
        rows = await db.read(lambda c: [r[0] for r in c.execute("SELECT k FROM t ORDER BY k")])
        assert rows == ["after"]  # the failed job wrote nothing
    finally:
        await db.close()


def test_sqlite_still_needs_nothing_installed(tmp_path: Any) -> None:
    """The default engine is the standard library's: the PostgreSQL driver is imported only when used."""
    import subprocess
    import sys

    code = (
        "import sys; import hub.database, integrations.station.store_sqlite, integrations.station.runtime; "
        "print('psycopg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert sqlite3.sqlite_version_info >= (3, 24)  # ON CONFLICT DO NOTHING, used by both engines
