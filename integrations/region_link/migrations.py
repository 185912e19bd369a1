"""The station's tables for its region link (applied by the hub's storage at start)."""

from __future__ import annotations

__all__ = ("MIGRATIONS",)

#: Append a script to change the schema; never edit a released one.
MIGRATIONS = (
    # The outbox has the hub tier's shape (integrations.federation.outbox reads it);
    # region_link_sent remembers what each summary last said, so a restart re-sends nothing
    # that the region already has.
    """
    CREATE TABLE region_outbox (
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
    CREATE INDEX ix_region_outbox_state ON region_outbox (state, priority, id);

    CREATE TABLE region_link_sent (
        key TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        sent_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
)
