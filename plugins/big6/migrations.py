"""The big6 plugin's SQL migrations, oldest first (kept apart so start-up loads only this)."""

from __future__ import annotations

__all__ = ("MIGRATIONS",)

#: Never edit a released migration: installed hubs have run it. Append a new one.
#: The sector list is written out, not taken from const.SECTORS, for that reason.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE big6_members (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        sector TEXT NOT NULL CHECK (sector IN ('police', 'citizens', 'local_government', 'business',
                                         'government_agencies', 'media')),
        organisation TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        line_user_id TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        removed_at REAL
    );
    CREATE TABLE big6_meetings (
        id TEXT PRIMARY KEY,
        date TEXT NOT NULL,              -- YYYY-MM-DD, local
        title TEXT NOT NULL DEFAULT '',
        agenda TEXT NOT NULL DEFAULT '',
        attendance TEXT NOT NULL,        -- JSON {sector: people present}
        notes TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX ix_big6_meetings_date ON big6_meetings (date);
    CREATE TABLE big6_resolutions (
        id TEXT PRIMARY KEY,
        meeting_id TEXT NOT NULL REFERENCES big6_meetings (id),
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        owner TEXT NOT NULL,
        owner_member_id TEXT,
        due_date TEXT NOT NULL,          -- YYYY-MM-DD
        status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'dropped')),
        status_note TEXT NOT NULL DEFAULT '',
        updated_at REAL NOT NULL,
        last_reminded TEXT               -- YYYY-MM-DD of the last overdue event
    );
    CREATE INDEX ix_big6_resolutions_meeting ON big6_resolutions (meeting_id);
    CREATE INDEX ix_big6_resolutions_due ON big6_resolutions (status, due_date);
    """,
)
