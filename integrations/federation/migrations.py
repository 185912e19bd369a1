"""The hub-side federation tables (applied by the hub's storage at start)."""

from __future__ import annotations

import re

__all__ = ("MIGRATIONS", "outbox_ddl")

_TABLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def outbox_ddl(table: str) -> str:
    """Return the DDL of an uplink outbox named ``table`` (integrations.federation.outbox reads it).

    Every tier that reports upward (hub to station, station to region) keeps the same
    outbox shape.  The text is exactly what the first scripts always said: the runner
    tracks versions, and an unchanged text keeps any comparison of released scripts quiet.
    """
    if not _TABLE_RE.match(table):
        raise ValueError(f"invalid outbox table name {table!r}")
    return f"""
    CREATE TABLE {table} (
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
    CREATE INDEX ix_{table}_state ON {table} (state, priority, id);
"""


#: Append a script to change the schema; never edit a released one.
MIGRATIONS = (
    outbox_ddl("federation_outbox")
    + """
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
