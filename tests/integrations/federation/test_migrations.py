"""The uplink outbox DDL is one definition shared by the hub and the station tiers."""

from __future__ import annotations

import sqlite3

import pytest

from hub.database import migrate_sync
from integrations.federation.migrations import MIGRATIONS as FEDERATION
from integrations.federation.migrations import outbox_ddl
from integrations.region_link.migrations import MIGRATIONS as REGION_LINK


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    return [tuple(row)[1:] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_both_outboxes_have_one_shape() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        assert migrate_sync(conn, "federation", FEDERATION)
        assert migrate_sync(conn, "region_link", REGION_LINK) == [1]
        assert _columns(conn, "federation_outbox") == _columns(conn, "region_outbox")
        assert len(_columns(conn, "region_outbox")) == 10
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"ix_federation_outbox_state", "ix_region_outbox_state"} <= indexes
        # Applied versions are never run again (the runner tracks versions, not text).
        assert migrate_sync(conn, "region_link", REGION_LINK) == []
    finally:
        conn.close()


@pytest.mark.parametrize("name", ["", "Outbox", "x; DROP TABLE y", "1outbox"])
def test_outbox_ddl_refuses_a_bad_table_name(name: str) -> None:
    with pytest.raises(ValueError, match="invalid outbox table name"):
        outbox_ddl(name)
