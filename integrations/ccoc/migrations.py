"""The console's tables, in the station's own database (beside its audit log)."""

from __future__ import annotations

__all__ = ("MIGRATIONS", "SHARED_COMPONENT", "SHARED_PG_MIGRATIONS")

MIGRATIONS: tuple[str, ...] = (
    """
    -- Every command the console sends to a hub, and what became of it.  ``state``:
    -- queued (hub offline, waiting), sent, ok, refused, error, expired.
    CREATE TABLE ccoc_commands (
        id TEXT PRIMARY KEY,
        hub_id TEXT NOT NULL,
        command TEXT NOT NULL,
        data TEXT NOT NULL,
        incident_id TEXT,
        actor TEXT NOT NULL,
        actor_name TEXT NOT NULL DEFAULT '',
        actor_role TEXT NOT NULL DEFAULT '',
        unit TEXT NOT NULL DEFAULT '',
        durable INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        state TEXT NOT NULL,
        sent_at REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        error TEXT,
        result_at REAL
    ) WITHOUT ROWID;
    CREATE INDEX ix_ccoc_commands_incident ON ccoc_commands (hub_id, incident_id, created_at);
    CREATE INDEX ix_ccoc_commands_state ON ccoc_commands (state, hub_id);

    -- Officers' camera views: the reason and the copy sent to the owner's hub.
    CREATE TABLE ccoc_views (
        id TEXT PRIMARY KEY,
        ts REAL NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL,
        hub_id TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        incident_id TEXT,
        reason TEXT NOT NULL,
        what TEXT NOT NULL,
        snapshots TEXT NOT NULL DEFAULT '[]',
        expires REAL NOT NULL,
        mirror_id TEXT
    ) WITHOUT ROWID;
    CREATE INDEX ix_ccoc_views_incident ON ccoc_views (hub_id, incident_id, ts);

    -- Each hub's link state over time (for the monthly "hubs online" figure).
    CREATE TABLE ccoc_hub_status (
        hub_id TEXT NOT NULL,
        ts REAL NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (hub_id, ts)
    ) WITHOUT ROWID;

    -- Figures that only exist "now" (cameras linked by policy), kept per month.
    CREATE TABLE ccoc_kpi_samples (
        month TEXT NOT NULL,
        key TEXT NOT NULL,
        value REAL,
        data TEXT,
        ts REAL NOT NULL,
        PRIMARY KEY (month, key)
    ) WITHOUT ROWID;

    -- CAP alerts waiting to be pushed to the configured agency URL.
    CREATE TABLE ccoc_cap_outbox (
        identifier TEXT PRIMARY KEY,
        hub_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        xml BLOB NOT NULL,
        created REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL,
        last_error TEXT,
        sent_at REAL
    ) WITHOUT ROWID;
    CREATE INDEX ix_ccoc_cap_pending ON ccoc_cap_outbox (sent_at, next_at);
    """,
    # 2: commands live in one table, the station store's; the rows of this one are moved
    # there at the console's start (delivery.adopt_old_commands), then it is dropped.
    """
    ALTER TABLE ccoc_commands RENAME TO ccoc_commands_moved;
    DROP INDEX IF EXISTS ix_ccoc_commands_incident;
    DROP INDEX IF EXISTS ix_ccoc_commands_state;
    """,
)


#: Station workers on one PostgreSQL keep the hub link history there, shared (the monthly "hubs
#: online" figure is then the same on every worker): the twin of ``ccoc_hub_status`` above; the
#: officers' camera views (an incident's list of views, and a view's grant, are the same on every
#: worker): the twin of ``ccoc_views``; and the monthly samples, the twin of ``ccoc_kpi_samples``.
#: Append, never edit.
SHARED_COMPONENT = "ccoc_shared"
SHARED_PG_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE ccoc_hub_status (
        hub_id TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (hub_id, ts)
    );
    """,
    """
    CREATE TABLE ccoc_views (
        id TEXT PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL,
        hub_id TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        incident_id TEXT,
        reason TEXT NOT NULL,
        what TEXT NOT NULL,
        snapshots TEXT NOT NULL DEFAULT '[]',
        expires DOUBLE PRECISION NOT NULL,
        mirror_id TEXT
    );
    CREATE INDEX ix_ccoc_views_incident ON ccoc_views (hub_id, incident_id, ts);
    """,
    # 3: the month's "now" figures (cameras linked by policy, hubs registered), so a past month
    # shows what was recorded whichever worker recorded it.
    """
    CREATE TABLE ccoc_kpi_samples (
        month TEXT NOT NULL,
        key TEXT NOT NULL,
        value DOUBLE PRECISION,
        data TEXT,
        ts DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (month, key)
    );
    """,
)
