"""The people_poll plugin's SQL migrations, oldest first (kept apart so start-up loads only this)."""

from __future__ import annotations

__all__ = ("MIGRATIONS",)

#: Never edit a released migration: installed hubs have run it. Append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE poll_responses (
        id INTEGER PRIMARY KEY,
        month TEXT NOT NULL,           -- YYYY-MM; nothing finer, nothing about the sender
        answers TEXT NOT NULL          -- JSON {question id: answer}
    );
    CREATE INDEX ix_poll_responses_month ON poll_responses (month);
    CREATE TABLE poll_salts (
        month TEXT PRIMARY KEY,
        salt TEXT NOT NULL,
        expires_at REAL NOT NULL       -- when the month's link dies; salt and hashes go then
    );
    CREATE TABLE poll_throttle (
        month TEXT NOT NULL,
        client TEXT NOT NULL,          -- sha256(salt + address), never the address
        ts REAL NOT NULL
    );
    CREATE INDEX ix_poll_throttle ON poll_throttle (month, client, ts);
    """,
)
