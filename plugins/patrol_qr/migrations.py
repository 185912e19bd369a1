"""The patrol_qr plugin's SQL migrations, oldest first (kept apart so start-up loads only this)."""

from __future__ import annotations

__all__ = ("MIGRATIONS",)

#: Never edit a released migration: installed hubs have run it. Append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE patrol_checkpoints (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        lat REAL,
        lon REAL,
        risk TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,          -- config | ui
        sheet TEXT NOT NULL,           -- current sheet id; a new sheet voids old prints
        created_at REAL NOT NULL,
        removed_at REAL
    );
    CREATE TABLE patrol_volunteers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        phone TEXT NOT NULL DEFAULT '',
        token_hash TEXT NOT NULL UNIQUE,   -- SHA-256 of the personal link's token
        issued_at REAL NOT NULL,
        issued_by TEXT NOT NULL,
        revoked_at REAL,
        last_seen_at REAL
    );
    CREATE TABLE patrol_checkins (
        id TEXT PRIMARY KEY,
        checkpoint_id TEXT NOT NULL,
        sheet TEXT NOT NULL,
        ts REAL NOT NULL,
        person TEXT NOT NULL,              -- user:<id> | volunteer:<id>
        person_name TEXT NOT NULL,
        role TEXT NOT NULL,                -- police | volunteer
        lat REAL,
        lon REAL,
        accuracy_m REAL,
        distance_m REAL,
        note TEXT NOT NULL DEFAULT '',
        patrol_id TEXT NOT NULL
    );
    CREATE INDEX ix_patrol_checkins_cp_ts ON patrol_checkins (checkpoint_id, ts);
    CREATE INDEX ix_patrol_checkins_ts ON patrol_checkins (ts);
    CREATE INDEX ix_patrol_checkins_patrol ON patrol_checkins (patrol_id);
    """,
    # Flags: a check-in far from its box, after an impossible journey, or without a position is
    # kept but not a proven visit until an admin accepts it.  A volunteer's link binds to the
    # first phone that opens it (a hash of that phone's device id).
    """
    ALTER TABLE patrol_checkins ADD COLUMN flags TEXT NOT NULL DEFAULT '';
    ALTER TABLE patrol_checkins ADD COLUMN speed_kmh REAL;
    ALTER TABLE patrol_checkins ADD COLUMN accepted_at REAL;
    ALTER TABLE patrol_checkins ADD COLUMN accepted_by TEXT;
    CREATE INDEX ix_patrol_checkins_person_ts ON patrol_checkins (person, ts);
    ALTER TABLE patrol_volunteers ADD COLUMN device_hash TEXT;
    ALTER TABLE patrol_volunteers ADD COLUMN device_bound_at REAL;
    """,
)
