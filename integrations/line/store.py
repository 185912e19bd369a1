"""The LINE integration's tables: groups, the message log, webhook de-duplication, escalations.

Registration codes and linked members are in :mod:`integrations.line.registration`;
their tables are created here so all of LINE's schema is in one migration list.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("MIGRATIONS", "GroupRow", "LineStore", "MessageRow")

MIGRATIONS = (
    """
    CREATE TABLE line_groups (
        group_id TEXT PRIMARY KEY,
        alias TEXT UNIQUE,
        status TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        member_count INTEGER,
        joined_at REAL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE line_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        finished_at REAL,
        kind TEXT NOT NULL,
        purpose TEXT NOT NULL,
        to_id TEXT,
        alias TEXT,
        incident_id TEXT,
        retry_key TEXT UNIQUE,
        summary TEXT NOT NULL DEFAULT '',
        payload TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        request_id TEXT,
        http_status INTEGER,
        error TEXT,
        details TEXT
    );
    CREATE INDEX ix_line_messages_created ON line_messages (created_at);
    CREATE INDEX ix_line_messages_incident ON line_messages (incident_id);
    CREATE INDEX ix_line_messages_status ON line_messages (status);
    CREATE TABLE line_webhook_seen (
        event_id TEXT PRIMARY KEY,
        seen_at REAL NOT NULL
    );
    CREATE INDEX ix_line_webhook_seen_at ON line_webhook_seen (seen_at);
    CREATE TABLE line_escalations (
        incident_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        level INTEGER NOT NULL,
        deadline REAL,
        sent_to TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE line_codes (
        code_hash TEXT PRIMARY KEY,
        member_ref TEXT NOT NULL,
        name TEXT NOT NULL,
        sector TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        created_by TEXT NOT NULL DEFAULT '',
        used_at REAL,
        used_by TEXT
    );
    CREATE TABLE line_members (
        user_id TEXT PRIMARY KEY,
        member_ref TEXT NOT NULL,
        name TEXT NOT NULL,
        sector TEXT NOT NULL DEFAULT '',
        display_name TEXT NOT NULL DEFAULT '',
        linked_at REAL NOT NULL,
        status TEXT NOT NULL
    );
    CREATE INDEX ix_line_members_ref ON line_members (member_ref);
    """,
)


@dataclass
class GroupRow:
    """A LINE group the bot is (or was) in."""

    group_id: str
    alias: str | None
    status: str  # pending | active | left
    name: str
    member_count: int | None
    joined_at: float | None
    updated_at: float
    configured: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {
            "group_id": self.group_id,
            "alias": self.alias,
            "status": self.status,
            "name": self.name,
            "member_count": self.member_count,
            "joined_at": self.joined_at,
            "updated_at": self.updated_at,
            "configured": self.configured,
        }


@dataclass
class MessageRow:
    """One entry of the message log (a push or a reply)."""

    id: int
    created_at: float
    finished_at: float | None
    kind: str
    purpose: str
    to_id: str | None
    alias: str | None
    incident_id: str | None
    retry_key: str | None
    summary: str
    status: str
    attempts: int
    request_id: str | None
    http_status: int | None
    error: str | None
    details: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _message(row: Any) -> MessageRow:
    return MessageRow(
        id=row["id"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        kind=row["kind"],
        purpose=row["purpose"],
        to_id=row["to_id"],
        alias=row["alias"],
        incident_id=row["incident_id"],
        retry_key=row["retry_key"],
        summary=row["summary"],
        status=row["status"],
        attempts=row["attempts"],
        request_id=row["request_id"],
        http_status=row["http_status"],
        error=row["error"],
        details=json.loads(row["details"] or "[]"),
    )


class LineStore:
    """Reads and writes the LINE tables."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    # -- groups --------------------------------------------------------------------

    async def groups(self) -> list[GroupRow]:
        """Return every group the webhook has seen, newest first."""
        rows = await self.hub.storage.fetchall("SELECT * FROM line_groups ORDER BY updated_at DESC")
        return [
            GroupRow(
                r["group_id"],
                r["alias"],
                r["status"],
                r["name"],
                r["member_count"],
                r["joined_at"],
                r["updated_at"],
            )
            for r in rows
        ]

    async def group(self, group_id: str) -> GroupRow | None:
        """Return one group or None."""
        row = await self.hub.storage.fetchone("SELECT * FROM line_groups WHERE group_id = ?", (group_id,))
        if row is None:
            return None
        return GroupRow(
            row["group_id"],
            row["alias"],
            row["status"],
            row["name"],
            row["member_count"],
            row["joined_at"],
            row["updated_at"],
        )

    async def upsert_group(
        self,
        group_id: str,
        *,
        status: str | None = None,
        name: str | None = None,
        member_count: int | None = None,
        joined: bool = False,
    ) -> None:
        """Create or update a group row, changing only the fields given."""
        now = self.hub.clock.time()
        await self.hub.storage.execute(
            "INSERT INTO line_groups (group_id, status, name, member_count, joined_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(group_id) DO UPDATE SET "
            "status = COALESCE(?, status), name = COALESCE(?, name), "
            "member_count = COALESCE(?, member_count), joined_at = COALESCE(?, joined_at), updated_at = ?",
            (
                group_id,
                status or "pending",
                name or "",
                member_count,
                now if joined else None,
                now,
                status,
                name,
                member_count,
                now if joined else None,
                now,
            ),
        )

    async def set_alias(self, group_id: str, alias: str | None) -> None:
        """Give a group its alias (activating it), or take the alias away."""
        await self.hub.storage.execute(
            "UPDATE line_groups SET alias = ?, status = CASE WHEN status = 'left' THEN status "
            "WHEN ? IS NULL THEN 'pending' ELSE 'active' END, updated_at = ? WHERE group_id = ?",
            (alias, alias, self.hub.clock.time(), group_id),
        )

    # -- message log -----------------------------------------------------------------

    async def log_start(
        self,
        *,
        kind: str,
        purpose: str,
        to_id: str | None,
        alias: str | None,
        incident_id: str | None,
        retry_key: str | None,
        summary: str,
        payload: list[dict[str, Any]] | None,
    ) -> int:
        """Write a pending log row before the first attempt; return its id.

        A retry key already logged (the same keyed call repeated after a crash) returns
        that row: the repeat is the same send, finished into the same row.
        """
        try:
            return await self._insert_log(
                kind, purpose, to_id, alias, incident_id, retry_key, summary, payload
            )
        except sqlite3.IntegrityError:
            row = await self.hub.storage.fetchone(
                "SELECT id FROM line_messages WHERE retry_key = ?", (retry_key,)
            )
            if row is None:
                raise
            return int(row["id"])

    async def _insert_log(
        self,
        kind: str,
        purpose: str,
        to_id: str | None,
        alias: str | None,
        incident_id: str | None,
        retry_key: str | None,
        summary: str,
        payload: list[dict[str, Any]] | None,
    ) -> int:
        return await self.hub.storage.execute(
            "INSERT INTO line_messages (created_at, kind, purpose, to_id, alias, incident_id, retry_key, summary, "
            "payload, status) VALUES (?,?,?,?,?,?,?,?,?, 'pending')",
            (
                self.hub.clock.time(),
                kind,
                purpose,
                to_id,
                alias,
                incident_id,
                retry_key,
                summary[:500],
                json.dumps(payload, ensure_ascii=False) if payload is not None else None,
            ),
        )

    async def log_finish(
        self,
        row_id: int,
        *,
        status: str,
        attempts: int,
        request_id: str | None,
        http_status: int | None,
        error: str | None,
        details: list[dict[str, Any]],
    ) -> None:
        """Record how a logged send ended (through the batch writer: off the SOS path).

        If the hub stops before the batch is written, the row stays ``pending``
        and is re-sent at start with its retry key: LINE answers 409, which is
        recorded as ``accepted_earlier``.  Nothing is lost or sent twice.
        """
        self.hub.storage.enqueue(
            "UPDATE line_messages SET finished_at = ?, status = ?, attempts = ?, request_id = ?, http_status = ?, "
            "error = ?, details = ? WHERE id = ?",
            (
                self.hub.clock.time(),
                status,
                attempts,
                request_id,
                http_status,
                error,
                json.dumps(details, ensure_ascii=False) if details else None,
                row_id,
            ),
        )

    async def messages(self, limit: int = 100, incident_id: str | None = None) -> list[MessageRow]:
        """Return the newest log entries."""
        await self.hub.storage.flush()
        if incident_id:
            rows = await self.hub.storage.fetchall(
                "SELECT * FROM line_messages WHERE incident_id = ? ORDER BY id DESC LIMIT ?",
                (incident_id, limit),
            )
        else:
            rows = await self.hub.storage.fetchall(
                "SELECT * FROM line_messages ORDER BY id DESC LIMIT ?", (max(1, min(limit, 1000)),)
            )
        return [_message(r) for r in rows]

    async def pending(self) -> list[tuple[MessageRow, list[dict[str, Any]]]]:
        """Return pushes that never finished (the hub stopped mid-send), with their payloads."""
        await self.hub.storage.flush()
        rows = await self.hub.storage.fetchall(
            "SELECT * FROM line_messages WHERE status = 'pending' AND kind = 'push' ORDER BY id"
        )
        return [(_message(r), json.loads(r["payload"] or "[]")) for r in rows]

    async def card_recipients(self, incident_id: str) -> list[tuple[str, str | None]]:
        """Return (to_id, alias) of everyone who was sent this incident's card."""
        await self.hub.storage.flush()
        rows = await self.hub.storage.fetchall(
            "SELECT DISTINCT to_id, alias FROM line_messages WHERE incident_id = ? AND kind = 'push' "
            "AND purpose IN ('card', 'escalation') AND status IN ('sent', 'accepted_earlier', 'pending')",
            (incident_id,),
        )
        return [(r["to_id"], r["alias"]) for r in rows]

    # -- webhook de-duplication ------------------------------------------------------

    async def first_sighting(self, event_id: str) -> bool:
        """Record a webhook event id; return False if it was seen before (a redelivery)."""
        changed = await self.hub.storage.execute_rowcount(
            "INSERT OR IGNORE INTO line_webhook_seen (event_id, seen_at) VALUES (?, ?)",
            (event_id, self.hub.clock.time()),
        )
        return changed == 1

    async def prune_seen(self, older_than: float) -> int:
        """Forget webhook ids older than ``older_than`` (UNIX seconds)."""
        return await self.hub.storage.execute_rowcount(
            "DELETE FROM line_webhook_seen WHERE seen_at < ?", (older_than,)
        )
