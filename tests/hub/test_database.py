"""The shared database engine: transactions, urgent-first writes, a reader that never waits, migrations."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.database import Database, MigrationError

SCRIPTS = ("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);", "ALTER TABLE t ADD COLUMN w TEXT;")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "x.db")
    await database.open()
    await database.migrate("test", SCRIPTS)
    yield database
    await database.close()


async def test_write_is_one_transaction_all_or_nothing(db: Database) -> None:
    def two(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t (v) VALUES ('a')")
        return conn.execute("INSERT INTO t (v) VALUES ('b')").lastrowid or 0

    assert await db.write(two) == 2

    def half(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (v) VALUES ('c')")
        conn.execute("INSERT INTO t (v) VALUES (NULL)")  # NOT NULL: the whole job rolls back

    with pytest.raises(sqlite3.IntegrityError):
        await db.write(half)
    assert await db.read(lambda c: [r["v"] for r in c.execute("SELECT v FROM t ORDER BY id")]) == ["a", "b"]


async def test_urgent_jobs_go_before_queued_ordinary_ones(db: Database) -> None:
    gate = threading.Event()
    order: list[str] = []
    busy = asyncio.create_task(db.write(lambda c: gate.wait(10)))
    await asyncio.sleep(0.05)  # the writer is inside the first job
    ordinary = [asyncio.create_task(db.write(lambda c, n=n: order.append(f"bulk{n}"))) for n in range(3)]
    await asyncio.sleep(0)
    urgent = asyncio.create_task(db.write(lambda c: order.append("sos"), urgent=True))
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(busy, urgent, *ordinary)
    assert order == ["sos", "bulk0", "bulk1", "bulk2"]


async def test_reads_are_answered_while_the_writer_is_busy(db: Database) -> None:
    gate = threading.Event()
    busy = asyncio.create_task(db.write(lambda c: gate.wait(10)))
    await asyncio.sleep(0.05)
    assert (
        await asyncio.wait_for(db.read(lambda c: c.execute("SELECT COUNT(*) FROM t").fetchone()[0]), 5) == 0
    )
    with pytest.raises(sqlite3.OperationalError):
        await db.read(lambda c: c.execute("INSERT INTO t (v) VALUES ('x')"))  # the reader is read-only
    gate.set()
    await busy


async def test_migrations_run_once_in_order_and_a_failure_applies_nothing(db: Database) -> None:
    assert await db.migrate("test", SCRIPTS) == []  # already applied
    assert await db.migrate("test", (*SCRIPTS, "CREATE TABLE u (x);")) == [3]
    with pytest.raises(MigrationError, match="test v4"):
        await db.migrate("test", (*SCRIPTS, "CREATE TABLE u (x);", "CREATE TABLE v (x); CREATE TABLE u (x);"))
    names = await db.read(
        lambda c: {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    )
    assert "u" in names and "v" not in names
    versions = await db.read(
        lambda c: [r[0] for r in c.execute("SELECT version FROM schema_migrations WHERE component='test'")]
    )
    assert sorted(versions) == [1, 2, 3]
    with pytest.raises(ValueError, match="invalid component"):
        await db.migrate("bad name'", SCRIPTS)


async def test_close_finishes_queued_writes(tmp_path: Path) -> None:
    database = Database(tmp_path / "y.db")
    await database.open()
    await database.migrate("test", SCRIPTS[:1])
    pending = [
        asyncio.create_task(database.write(lambda c: c.execute("INSERT INTO t (v) VALUES ('q')")))
        for _ in range(5)
    ]
    await asyncio.sleep(0)
    await database.close()
    await asyncio.gather(*pending)
    with sqlite3.connect(tmp_path / "y.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 5
