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
    # v2 (dropped by v3): which incident entries and snapshots ever reached the outbox,
    # for a start-up repair of the gap between an incident's commit and its outbox row.
    """
    CREATE TABLE federation_sent (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX ix_federation_sent_created ON federation_sent (created);
    CREATE TRIGGER federation_outbox_sent AFTER INSERT ON federation_outbox
    WHEN NEW.kind IN ('incident', 'snapshot')
    BEGIN
        INSERT OR IGNORE INTO federation_sent (id, created) VALUES (NEW.id, NEW.created);
    END;
    """,
    # v3: an incident's outbox rows are written in the incident's own transaction (the
    # incident_written hook), so there is no gap left to repair.
    """
    DROP TRIGGER federation_outbox_sent;
    DROP TABLE federation_sent;
    """,
)
