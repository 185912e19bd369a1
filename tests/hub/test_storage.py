"""Storage: migrations, WAL, the batch queue and its failure handling (real SQLite files)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from pathlib import Path

import pytest

from hub.storage import CORE_MIGRATIONS, Storage, from_json, to_json

CORE_TABLES = {
    "events",
    "states",
    "audit_log",
    "incidents",
    "incident_timeline",
    "users",
    "tokens",
    "sessions",
    "kv",
}


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    db = Storage(tmp_path / "hub.db", flush_interval=0.02)
    await db.open()
    yield db
    await db.close()


async def _count(path: Path, table: str) -> int:
    # A separate plain connection: proves rows are in the file, not just in our connection.
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def _wait_for(predicate: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_core_tables_and_pragmas(storage: Storage) -> None:
    rows = await storage.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    assert {row["name"] for row in rows} >= CORE_TABLES
    assert (await storage.fetchone("PRAGMA journal_mode"))[0] == "wal"
    assert (await storage.fetchone("PRAGMA foreign_keys"))[0] == 1
    assert (await storage.fetchone("PRAGMA busy_timeout"))[0] == 5000
    assert (await storage.fetchone("PRAGMA synchronous"))[0] == 1  # NORMAL
    row = await storage.fetchone("SELECT component, version FROM schema_migrations")
    assert row is not None and tuple(row) == ("core", 1)
    assert isinstance(row, sqlite3.Row)


async def test_wal_mode_persists_in_file(tmp_path: Path) -> None:
    db = Storage(tmp_path / "hub.db")
    await db.open()
    await db.close()
    with closing(sqlite3.connect(tmp_path / "hub.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    plugin = [
        "CREATE TABLE patrol (id INTEGER PRIMARY KEY, box TEXT);",
        # A data migration: running it twice would show as two rows.
        "INSERT INTO patrol (box) VALUES ('box-1');",
    ]
    db = Storage(path)
    db.add_migrations("patrol_qr", plugin)
    await db.open()
    first = [
        tuple(r) for r in await db.fetchall("SELECT * FROM schema_migrations ORDER BY component, version")
    ]
    await db.close()

    db = Storage(path)
    db.add_migrations("patrol_qr", plugin)
    await db.open()
    again = [
        tuple(r) for r in await db.fetchall("SELECT * FROM schema_migrations ORDER BY component, version")
    ]
    assert again == first  # same applied_at: nothing re-ran
    assert [r[:2] for r in again] == [("core", 1), ("core", 2), ("patrol_qr", 1), ("patrol_qr", 2)]
    assert (await db.fetchone("SELECT COUNT(*) FROM patrol"))[0] == 1
    await db.close()


async def test_plugin_migrations_applied_later_and_extended(storage: Storage) -> None:
    v1 = ["CREATE TABLE poll (id INTEGER PRIMARY KEY, answer TEXT)"]
    await storage.apply_migrations("people_poll", v1)
    await storage.execute("INSERT INTO poll (answer) VALUES (?)", ("ปลอดภัย",))
    # The plugin is upgraded: only the new script runs, the data survives.
    await storage.apply_migrations(
        "people_poll",
        [
            *v1,
            "ALTER TABLE poll ADD COLUMN month TEXT;\nCREATE INDEX ix_poll_month ON poll (month) -- no final ';'",
        ],
    )
    rows = await storage.fetchall("SELECT version FROM schema_migrations WHERE component = 'people_poll'")
    assert [r[0] for r in rows] == [1, 2]
    row = await storage.fetchone("SELECT answer, month FROM poll")
    assert row is not None and tuple(row) == ("ปลอดภัย", None)

    with pytest.raises(ValueError, match="conflict"):
        await storage.apply_migrations("people_poll", ["CREATE TABLE other (x)"])
    with pytest.raises(RuntimeError, match="apply_migrations"):
        storage.add_migrations("late", ["CREATE TABLE late (x)"])
    with pytest.raises(ValueError):
        await storage.apply_migrations("bad'name", ["SELECT 1"])
    with pytest.raises(ValueError):
        await storage.apply_migrations("core", ["DROP TABLE events"])


async def test_broken_plugin_migration_does_not_stop_open(tmp_path: Path) -> None:
    db = Storage(tmp_path / "hub.db")
    db.add_migrations("broken_plugin", ["CREATE TABLE oops (x"])
    db.add_migrations("good_plugin", ["CREATE TABLE fine (x)"])
    await db.open()
    assert set(db.migration_errors) == {"broken_plugin"}
    assert await db.fetchone("SELECT 1 FROM sqlite_master WHERE name = 'fine'") is not None
    # Closing twice (overlapping shutdown paths) is harmless.
    await asyncio.gather(db.close(), db.close())
    assert not db.is_open


async def test_failed_migration_rolls_back(storage: Storage) -> None:
    broken = ["CREATE TABLE half (x); CREATE TABLE half (y);"]
    with pytest.raises(RuntimeError, match="broken v1"):
        await storage.apply_migrations("broken", broken)
    assert await storage.fetchone("SELECT 1 FROM sqlite_master WHERE name = 'half'") is None
    assert await storage.fetchone("SELECT 1 FROM schema_migrations WHERE component = 'broken'") is None
    # The connection is usable (no transaction left open).
    assert await storage.execute("INSERT INTO kv (key, value) VALUES ('a', 'b')") == 1


async def test_trigger_migration_with_semicolons(storage: Storage) -> None:
    await storage.apply_migrations(
        "trig",
        [
            """
        CREATE TABLE t (x INTEGER);
        CREATE TABLE t_log (x INTEGER);
        CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO t_log VALUES (NEW.x); END;
        """
        ],
    )
    await storage.execute("INSERT INTO t VALUES (7)")
    assert [tuple(r) for r in await storage.fetchall("SELECT x FROM t_log")] == [(7,)]


async def test_execute_fetch_and_executemany(storage: Storage) -> None:
    rowid = await storage.execute(
        "INSERT INTO kv (key, value) VALUES (:k, :v)", {"k": "zone", "v": "satun-langu"}
    )
    assert rowid == 1
    await storage.executemany("INSERT INTO kv (key, value) VALUES (?, ?)", [("a", "1"), ("b", "2")])
    rows = await storage.fetchall("SELECT key, value FROM kv ORDER BY key")
    assert [(r["key"], r["value"]) for r in rows] == [("a", "1"), ("b", "2"), ("zone", "satun-langu")]
    assert await storage.fetchone("SELECT * FROM kv WHERE key = 'missing'") is None
    assert await storage.execute_rowcount("DELETE FROM kv WHERE key IN ('a', 'b')") == 2

    # executemany is all-or-nothing.
    with pytest.raises(sqlite3.IntegrityError):
        await storage.executemany("INSERT INTO kv (key, value) VALUES (?, ?)", [("c", "1"), ("zone", "dup")])
    assert await storage.fetchone("SELECT 1 FROM kv WHERE key = 'c'") is None


async def test_foreign_keys_enforced(storage: Storage) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await storage.execute(
            "INSERT INTO tokens (id, user_id, name, token_hash) VALUES ('t1', 'nobody', 'x', 'h')"
        )


async def test_enqueue_10000_rows_then_close_keeps_all(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    # A long interval: the rows must be written by close(), not by the timer.
    db = Storage(path, flush_interval=60)
    await db.open()
    sql = "INSERT INTO events (event_type, data, time_fired, origin) VALUES (?, ?, ?, ?)"
    for i in range(10_000):
        db.enqueue(sql, ("test_event", to_json({"n": i}), float(i), "local"))
    assert db.pending > 0
    await db.close()
    assert db.pending == 0
    assert await _count(path, "events") == 10_000

    reopened = Storage(path)
    await reopened.open()
    row = await reopened.fetchone("SELECT COUNT(*), MIN(time_fired), MAX(time_fired) FROM events")
    assert row is not None and tuple(row) == (10_000, 0.0, 9999.0)
    await reopened.close()


async def test_background_writer_flushes_on_interval_and_on_batch_size(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    db = Storage(path, flush_interval=0.05, max_batch=100)
    await db.open()
    db.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", ["timer", "1"])

    async def one_row() -> bool:
        return await _count(path, "kv") == 1

    await _wait_for(one_row)
    await db.close()

    db = Storage(path, flush_interval=60, max_batch=100)
    await db.open()
    for i in range(100):
        db.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", [f"k{i}", "v"])

    async def full_batch() -> bool:
        return await _count(path, "kv") == 101

    await _wait_for(full_batch)  # well before the 60 s timer
    await db.close()


async def test_enqueue_copies_params_and_groups_mixed_sql(storage: Storage) -> None:
    params = ["a", "1"]
    storage.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", params)
    params[1] = "changed"
    storage.enqueue(
        "INSERT INTO states (entity_id, state, last_updated) VALUES (?, ?, ?)", ("sos.x", "idle", 1.0)
    )
    storage.enqueue("INSERT INTO kv (key, value) VALUES (:k, :v)", {"k": "b", "v": "2"})
    await storage.flush()
    assert storage.pending == 0
    rows = await storage.fetchall("SELECT key, value FROM kv ORDER BY key")
    assert [tuple(r) for r in rows] == [("a", "1"), ("b", "2")]
    assert (await storage.fetchone("SELECT COUNT(*) FROM states"))[0] == 1


async def test_enqueue_after_close_raises(tmp_path: Path) -> None:
    db = Storage(tmp_path / "hub.db")
    await db.open()
    await db.close()
    with pytest.raises(RuntimeError):
        db.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", ("a", "b"))
    with pytest.raises(RuntimeError):
        await db.execute("SELECT 1")


async def test_locked_database_waits_within_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    db = Storage(path, flush_interval=0.02)  # default busy_timeout = 5 s
    await db.open()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        for i in range(50):
            db.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", (f"k{i}", "v"))
        await asyncio.sleep(0.3)
        assert other.execute("SELECT COUNT(*) FROM kv").fetchone()[0] == 0
        other.execute("COMMIT")
    finally:
        other.close()

    async def arrived() -> bool:
        return await _count(path, "kv") == 50

    await _wait_for(arrived)
    await db.close()


async def test_locked_database_keeps_rows_and_retries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hub.db"
    # A tiny busy_timeout so the lock outlasts it: the batch fails and must be retried.
    db = Storage(path, flush_interval=0.02, busy_timeout=0.01)
    await db.open()
    other = sqlite3.connect(path, isolation_level=None)
    caplog.set_level(logging.INFO, logger="hub.storage")
    try:
        other.execute("BEGIN EXCLUSIVE")
        for i in range(200):
            db.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", (f"k{i}", "ข้อมูล"))
        await asyncio.sleep(0.5)  # several failed attempts
        assert db.pending == 200
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await db.flush()
        assert db.pending == 200
        # Reads still work in WAL mode while another connection writes.
        assert (await db.fetchone("SELECT COUNT(*) FROM kv"))[0] == 0
        other.execute("COMMIT")
    finally:
        other.close()

    async def arrived() -> bool:
        return await _count(path, "kv") == 200

    await _wait_for(arrived)
    assert db.pending == 0
    failures = [r for r in caplog.records if "batch write failed" in r.getMessage()]
    assert len(failures) == 1, "an outage is logged once, not once per retry"
    assert any("resumed" in r.getMessage() for r in caplog.records)
    await db.close()
    assert await _count(path, "kv") == 200


async def test_close_retries_until_lock_released(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    db = Storage(path, flush_interval=60, busy_timeout=0.01)
    await db.open()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    for i in range(10):
        db.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", (f"k{i}", "v"))

    async def release() -> None:
        await asyncio.sleep(0.3)
        other.execute("COMMIT")
        other.close()

    releaser = asyncio.create_task(release())
    await db.close()  # a clean stop loses nothing, even if the disk is briefly unavailable
    await releaser
    assert await _count(path, "kv") == 10


async def test_bad_row_is_dropped_and_others_kept(storage: Storage, caplog: pytest.LogCaptureFixture) -> None:
    await storage.apply_migrations(
        "tips", ["CREATE TABLE tips (id INTEGER PRIMARY KEY, ref TEXT UNIQUE NOT NULL)"]
    )
    sql = "INSERT INTO tips (ref) VALUES (?)"
    for ref in ("a", "b", "a", "c", None, "d"):  # a duplicate and a NOT NULL violation
        storage.enqueue(sql, (ref,))
    storage.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", ("after", "ok"))
    caplog.set_level(logging.ERROR, logger="hub.storage")
    await storage.flush()
    assert storage.pending == 0
    refs = [r[0] for r in await storage.fetchall("SELECT ref FROM tips ORDER BY id")]
    assert refs == ["a", "b", "c", "d"]
    assert await storage.fetchone("SELECT 1 FROM kv WHERE key = 'after'") is not None
    dropped = [r for r in caplog.records if "dropping" in r.getMessage()]
    assert len(dropped) == 2


async def test_bad_statement_and_unbindable_value_dropped(storage: Storage) -> None:
    storage.enqueue("INSERT INTO no_such_table VALUES (?)", (1,))
    storage.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", ("k", {"not": "bindable"}))
    storage.enqueue("INSERT INTO kv (key, value) VALUES (?, ?)", ("good", "row"))
    await storage.flush()
    assert storage.pending == 0
    assert [tuple(r) for r in await storage.fetchall("SELECT key, value FROM kv")] == [("good", "row")]


async def test_direct_write_not_lost_by_failed_batch(storage: Storage) -> None:
    # A direct execute racing a batch that rolls back must still be committed.
    await storage.apply_migrations("u", ["CREATE TABLE u (x TEXT UNIQUE)"])
    for x in ("1", "1", "2"):
        storage.enqueue("INSERT INTO u (x) VALUES (?)", (x,))
    await asyncio.gather(storage.flush(), storage.execute("INSERT INTO kv (key, value) VALUES ('d', 'x')"))
    assert await storage.fetchone("SELECT 1 FROM kv WHERE key = 'd'") is not None
    assert [r[0] for r in await storage.fetchall("SELECT x FROM u ORDER BY x")] == ["1", "2"]


async def test_json_helpers() -> None:
    import datetime as dt

    class Obj:
        def as_dict(self) -> dict[str, object]:
            return {"a": 1}

    text = to_json({"when": dt.datetime(2024, 1, 2, 3, 4, 5), "tags": {"b", "a"}, "o": Obj(), "th": "ตลาด"})
    assert "ตลาด" in text
    assert from_json(text) == {"when": "2024-01-02T03:04:05", "tags": ["a", "b"], "o": {"a": 1}, "th": "ตลาด"}
    assert from_json(to_json({(1, 2): "tuple key"})) == {"(1, 2)": "tuple key"}
    assert from_json(None) is None
    assert from_json("{broken") is None


def test_core_migration_is_valid_sql() -> None:
    conn = sqlite3.connect(":memory:")
    for script in CORE_MIGRATIONS:
        conn.executescript(script)
    conn.close()
