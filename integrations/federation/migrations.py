"""The hub-side federation tables (applied by the hub's storage at start)."""

from __future__ import annotations

__all__ = ("MIGRATIONS",)

#: Append a script to change the schema; never edit a released one.
MIGRATIONS = (
    """
    CREATE TABLE federation_outbox (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        priority INTEGER NOT NULL,
        created REAL NOT NULL,
        payload BLOB NOT NULL,
        retain INTEGER NOT NULL DEFAULT 0,
        props TEXT,
        coalesce_key TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        error TEXT
    ) WITHOUT ROWID;
    CREATE INDEX ix_federation_outbox_state ON federation_outbox (state, priority, id);

    CREATE TABLE federation_commands (
        id TEXT PRIMARY KEY,
        received_at REAL NOT NULL,
        command TEXT NOT NULL,
        actor TEXT,
        status TEXT NOT NULL,
        result TEXT
    ) WITHOUT ROWID;
    """,
)
