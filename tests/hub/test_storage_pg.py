"""The hub's access tables and audit log on a shared PostgreSQL: the same schema, the same rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.audit import AuditLog
from hub.auth import Auth
from hub.bootstrap import load
from hub.storage import Storage
from hub.storage_pg import (
    ACCESS_PG_MIGRATIONS,
    PG_ONLY_TABLES,
    SharedStorage,
    adopt_local,
    shared_database_url,
)
from hub.testing import write_config

SHARED = ("users", "tokens", "sessions", "audit_log", "kv")


async def test_both_engines_end_with_the_same_access_tables_and_columns(
    tmp_path: Path, postgres_url: str
) -> None:
    """A change to these tables needs its PostgreSQL twin: a missing one fails here."""
    lite, pg = Storage(tmp_path / "hub.db"), SharedStorage(postgres_url)
    await lite.open()
    await pg.open()
    try:
        for storage in (lite, pg):
            await Auth(storage).tokens()  # the auth component's migrations, applied on first use
        lite_cols = {
            (table, row["name"])
            for table in SHARED
            for row in await lite.fetchall(f"SELECT name FROM pragma_table_info('{table}')")
        }
        pg_cols = {
            (row["table_name"], row["column_name"])
            for row in await pg.fetchall(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'"
            )
        }
        versions = {
            str(r["component"]): int(r["v"])
            for r in await pg.fetchall(
                "SELECT component, MAX(version) AS v FROM schema_migrations GROUP BY component"
            )
        }
    finally:
        await lite.close()
        await pg.close()
    assert lite_cols == {(t, c) for t, c in pg_cols if t not in PG_ONLY_TABLES}
    assert versions == {"hub_access": len(ACCESS_PG_MIGRATIONS), "auth": 1}


async def test_the_shared_audit_log_is_append_only_and_keeps_its_ids(postgres_url: str) -> None:
    storage = SharedStorage(postgres_url)
    await storage.open()
    try:
        audit = AuditLog(storage)
        first = await audit.log("somchai", "camera.view", "camera.gate", detail={"password": "hunter2"})
        second = await audit.log("lek", "camera.view", "camera.gate")
        assert second > first > 0
        [entry] = await audit.query(actor="somchai")
        assert entry.id == first and entry.detail == {"password": "***"}
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(Exception, match="append-only"):
                await storage.execute(statement)
        assert [e.id for e in await audit.query()] == [second, first]
    finally:
        await storage.close()


def test_hook_shared_database(config_dir: Path, postgres_url: str) -> None:
    """The station names its PostgreSQL; a SQLite station or a shop's hub names none; bad config is named."""
    station = "station:\n  id: st\n  broker: mqtt://127.0.0.1:1883\n"
    on_pg = load(write_config(config_dir, station + f"  database: {postgres_url}\n"))
    assert not on_pg.errors and shared_database_url(on_pg) == postgres_url
    assert [url for _, url in on_pg.host.hooks.shared_database(loaded=on_pg) if url] == [postgres_url]
    assert shared_database_url(load(write_config(config_dir, station))) is None
    assert shared_database_url(load(write_config(config_dir))) is None
    bad = load(write_config(config_dir, station + "  database: {backend: postgresql}\n"))
    with pytest.raises(ValueError, match=r"config\.yaml:\d+: station\.database.*needs url"):
        shared_database_url(bad)
    # Another mistake in the block fails the station plugin as before, nothing more.
    other = load(write_config(config_dir, station + f"  database: {postgres_url}\n  batch_max: 0\n"))
    assert other.errors and shared_database_url(other) is None


def test_the_cli_refuses_a_database_it_cannot_reach(config_dir: Path, caplog: Any) -> None:
    from click.testing import CliRunner

    from hub.cli import cli

    url = "postgresql://ccoc:S3cret-pw@127.0.0.1:1/ccoc?connect_timeout=1"
    path = write_config(
        config_dir, f"station:\n  id: st\n  broker: mqtt://127.0.0.1:1883\n  database: {url}\n"
    )
    result = CliRunner().invoke(cli, ["user", "list", "-c", str(path)])
    assert result.exit_code == 1
    assert "postgresql://ccoc@127.0.0.1:1/ccoc cannot be reached" in result.output
    assert "S3cret-pw" not in result.output + caplog.text
    assert not (config_dir / "data" / "safetyhub.db").exists(), "fell back to a local SQLite file"


async def test_an_upgraded_worker_brings_its_own_accounts_and_audit_history_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """Workers that kept accounts and audit entries in their own files before: nothing is lost, nothing doubled."""
    shared = SharedStorage(postgres_url)
    await shared.open()
    workers = [Storage(tmp_path / f"{name}.db") for name in ("a", "b")]
    try:
        for local, who in zip(workers, ("a", "b"), strict=True):
            await local.open()
            auth = Auth(local)
            admin = await auth.add_user("admin", "correct horse battery", "admin")  # one on each worker
            officer = await auth.add_user(f"officer-{who}", "correct horse battery", "operator")
            await auth.create_token(admin, "desk")
            await auth.create_token(officer, "phone")
            for n in range(3):
                await AuditLog(local).log(f"officer-{who}", "camera.view", f"gate-{n}")
        assert await adopt_local(workers[0], shared) == (2, 2, 3)
        assert await adopt_local(workers[1], shared) == (1, 1, 3)  # its admin's name was taken
        assert await adopt_local(workers[1], shared) == (0, 0, 0)
        auth = Auth(shared)
        assert sorted(u["username"] for u in await auth.all_users()) == ["admin", "officer-a", "officer-b"]
        assert await auth.check_password("officer-b", "correct horse battery") is not None
        assert sorted(t.username for t in await auth.tokens()) == ["admin", "officer-a", "officer-b"]
        views = await AuditLog(shared).query(action="camera.view")
        assert sorted((e.actor, e.target) for e in views) == sorted(
            (f"officer-{w}", f"gate-{n}") for w in ("a", "b") for n in range(3)
        )
    finally:
        for local in workers:
            await local.close()
        await shared.close()


async def test_a_connection_cut_while_idle_costs_no_login(postgres_server: Any, postgres_url: str) -> None:
    """After a server restart or a failover the first login works: the stale connection is replaced."""
    dbname = postgres_url.split("@/", 1)[1].split("?", 1)[0]
    storage = SharedStorage(postgres_server.tcp_url(dbname))  # TCP, as across machines (tcp_user_timeout)
    await storage.open()
    try:
        auth = Auth(storage)
        await auth.add_user("somchai", "correct horse battery", "operator")
        postgres_server.admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'"
        )
        assert await auth.check_password("somchai", "correct horse battery") is not None
        assert not storage.unreachable
    finally:
        await storage.close()


async def test_a_refused_station_database_stops_the_start_with_its_line(make_hub: Any) -> None:
    from hub.core.errors import StartupError

    with pytest.raises(StartupError, match=r"config\.yaml:\d+: station\.database.*needs url"):
        await make_hub(
            "station:\n  id: st\n  broker: mqtt://127.0.0.1:1883\n  database: {backend: postgresql}\n"
        )
