"""The station's tables for its region link (applied by the hub's storage at start)."""

from __future__ import annotations

from integrations.federation.migrations import outbox_ddl

__all__ = ("MIGRATIONS",)

#: Append a script to change the schema; never edit a released one.
MIGRATIONS = (
    # The outbox has the hub tier's shape (integrations.federation.outbox reads it);
    # region_link_sent remembers what each summary last said, so a restart re-sends nothing
    # that the region already has.
    outbox_ddl("region_outbox")
    + """
    CREATE TABLE region_link_sent (
        key TEXT PRIMARY KEY,
        digest TEXT NOT NULL,
        sent_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
)
