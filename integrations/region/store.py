"""The region's database: its stations, their incident summaries and monthly figures.

On the shared engine (``hub.database.Database``: one writer thread, a reader
connection, the one migration runner), like the station's store.  Messages
are kept by **(station, message id)**: a repeat with the same content is a
harmless re-send (acknowledged again), a different message under a used id is
a conflict (refused, the stored one kept), so one station cannot overwrite
another's figures and a redelivery is stored once.  Statements are
``INSERT … ON CONFLICT``, which PostgreSQL reads the same way.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.database import Database
from integrations.federation.const import KIND_HEALTH
from integrations.region.const import KIND_INCIDENT, KIND_MONTHLY
from integrations.region.protocol import RegionEnvelope

__all__ = ("RegionStore", "Stored", "Reject", "COMPONENT", "MIGRATIONS")

COMPONENT = "region"

#: Append a script to change the schema; never edit a released one.
MIGRATIONS = (
    """
    CREATE TABLE stations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        registered_at REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'unknown',
        status_at REAL,
        last_seen REAL,
        rejected INTEGER NOT NULL DEFAULT 0,
        last_reject TEXT,
        last_reject_at REAL
    );
    CREATE TABLE messages (
        station_id TEXT NOT NULL,
        id TEXT NOT NULL,
        kind TEXT NOT NULL,
        digest TEXT NOT NULL,
        sent_at REAL NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (station_id, id)
    );
    CREATE TABLE incidents (
        station_id TEXT NOT NULL,
        hub_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        zone TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        opened_at REAL NOT NULL,
        acknowledged_at REAL,
        closed_at REAL,
        ack_seconds REAL,
        drill INTEGER NOT NULL DEFAULT 0,
        sent_at REAL NOT NULL,
        PRIMARY KEY (station_id, hub_id, incident_id)
    );
    CREATE INDEX ix_region_incidents_opened ON incidents (opened_at);
    CREATE TABLE monthly (
        station_id TEXT NOT NULL,
        month TEXT NOT NULL,
        kpis TEXT NOT NULL,
        body TEXT NOT NULL,
        sent_at REAL NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (station_id, month)
    );
    CREATE INDEX ix_region_monthly_month ON monthly (month);
    """,
    # v2: what the last refused message was, as a code and a field path (the pages say it in
    # Thai; ``last_reject`` keeps the English reason for the API and the logs).
    """
    ALTER TABLE stations ADD COLUMN last_reject_code TEXT;
    ALTER TABLE stations ADD COLUMN last_reject_field TEXT;
    """,
)


@dataclass(slots=True)
class Reject:
    """Refused messages of one station since the last write: how many, and the last one's why."""

    count: int
    reason: str
    #: ``schema``, ``size``, ``kind``, ``mismatch``, ``conflict``: what the pages name.
    code: str
    #: The wrong field's path for ``schema``, the kind for ``kind``.
    where: str = ""


@dataclass(slots=True)
class Stored:
    """What became of one message: ``stored``, ``duplicate`` or ``conflict``."""

    outcome: str
    reason: str = ""


def digest(doc: RegionEnvelope) -> str:
    """Return a hash of what a message says (its kind and body, not its send time)."""
    body = doc.body.model_dump(mode="json")
    text = json.dumps([doc.kind, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _store_one(conn: sqlite3.Connection, doc: RegionEnvelope, received_at: float) -> Stored:
    station = doc.hub
    if doc.kind == KIND_HEALTH:
        # A health report says "online" or "offline" now: a repeat is harmless and it needs no
        # row of its own (1,500 stations report every minute: 65 million rows a month).
        return Stored("stored")
    mark = digest(doc)
    cur = conn.execute(
        "INSERT INTO messages (station_id, id, kind, digest, sent_at, received_at) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT (station_id, id) DO NOTHING",
        (station, doc.id, doc.kind, mark, doc.ts, received_at),
    )
    if cur.rowcount == 0:
        row = conn.execute(
            "SELECT digest FROM messages WHERE station_id = ? AND id = ?", (station, doc.id)
        ).fetchone()
        if row is not None and row[0] == mark:
            return Stored("duplicate")
        return Stored("conflict", f"message id {doc.id} was already used for a different message")
    if doc.kind == KIND_INCIDENT:
        inc = doc.body
        conn.execute(
            "INSERT INTO incidents (station_id, hub_id, incident_id, kind, zone, status, opened_at, "
            "acknowledged_at, closed_at, ack_seconds, drill, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (station_id, hub_id, incident_id) DO UPDATE SET kind = excluded.kind, "
            "zone = excluded.zone, status = excluded.status, opened_at = excluded.opened_at, "
            "acknowledged_at = excluded.acknowledged_at, closed_at = excluded.closed_at, "
            "ack_seconds = excluded.ack_seconds, drill = excluded.drill, sent_at = excluded.sent_at "
            "WHERE excluded.sent_at >= incidents.sent_at",
            (
                station,
                inc.hub,
                inc.id,
                inc.kind,
                inc.zone,
                inc.status,
                inc.opened_at,
                inc.acknowledged_at,
                inc.closed_at,
                inc.ack_seconds,
                int(inc.drill),
                doc.ts,
            ),
        )
    elif doc.kind == KIND_MONTHLY:
        rep = doc.body
        conn.execute(
            "INSERT INTO monthly (station_id, month, kpis, body, sent_at, received_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (station_id, month) DO UPDATE SET kpis = excluded.kpis, body = excluded.body, "
            "sent_at = excluded.sent_at, received_at = excluded.received_at "
            "WHERE excluded.sent_at >= monthly.sent_at",
            (
                station,
                rep.month,
                json.dumps(rep.kpis, separators=(",", ":")),
                rep.model_dump_json(),
                doc.ts,
                received_at,
            ),
        )
    return Stored("stored")


def _store_batch(
    conn: sqlite3.Connection, docs: Sequence[RegionEnvelope], received_at: float
) -> list[Stored]:
    results = [_store_one(conn, doc, received_at) for doc in docs]
    seen = sorted({doc.hub for doc in docs})
    conn.executemany(
        "UPDATE stations SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen < ?)",
        [(received_at, s, received_at) for s in seen],
    )
    return results


class RegionStore:
    """The region's SQLite database (``region.db`` in the data folder)."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._db = Database(path, name="region-db")

    async def open(self) -> None:
        """Open the file and apply migrations."""
        await self._db.open()
        try:
            await self._db.migrate(COMPONENT, MIGRATIONS)
        except BaseException:
            await self._db.close()
            raise

    async def close(self) -> None:
        """Finish queued writes and close."""
        await self._db.close()

    # -- stations ---------------------------------------------------------------------------

    async def register_station(self, station_id: str, name: str, at: float) -> bool:
        """Register (or rename) a station; return True if it is new."""

        def run(conn: sqlite3.Connection) -> bool:
            new = conn.execute("SELECT 1 FROM stations WHERE id = ?", (station_id,)).fetchone() is None
            conn.execute(
                "INSERT INTO stations (id, name, registered_at) VALUES (?,?,?) "
                "ON CONFLICT (id) DO UPDATE SET name = CASE WHEN excluded.name = '' THEN stations.name "
                "ELSE excluded.name END",
                (station_id, name, at),
            )
            return new

        return await self._db.write(run)

    async def unregister_station(self, station_id: str) -> bool:
        """Forget a station's registration (its history stays); return whether it was registered."""

        def run(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM stations WHERE id = ?", (station_id,)).rowcount > 0

        return await self._db.write(run)

    async def registered(self) -> set[str]:
        """Return the registered station ids."""
        rows = await self._db.read(lambda c: c.execute("SELECT id FROM stations").fetchall())
        return {str(r[0]) for r in rows}

    async def set_status(self, station_id: str, status: str, at: float) -> None:
        """Record a station's link state."""
        await self._db.write(
            lambda c: c.execute(
                "UPDATE stations SET status = ?, status_at = ? WHERE id = ?", (status, at, station_id)
            )
        )

    async def note_reject(self, station_id: str, reject: Reject, at: float) -> None:
        """Count refused messages against a registered station, with the last one's reason."""
        await self._db.write(
            lambda c: c.execute(
                "UPDATE stations SET rejected = rejected + ?, last_reject = ?, last_reject_at = ?, "
                "last_reject_code = ?, last_reject_field = ? WHERE id = ?",
                (reject.count, reject.reason[:500], at, reject.code, reject.where[:120], station_id),
            )
        )

    async def stations(self) -> list[dict[str, Any]]:
        """Return every registered station with its link state and reject counters."""

        def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, name, registered_at, status, status_at, last_seen, rejected, last_reject, "
                "last_reject_at, last_reject_code, last_reject_field FROM stations ORDER BY id"
            ).fetchall()
            return [dict(r) for r in rows]

        return await self._db.read(run)

    # -- messages ---------------------------------------------------------------------------

    async def store(self, docs: Sequence[RegionEnvelope], received_at: float) -> list[Stored]:
        """Store a batch in one transaction; return each message's outcome, in order."""
        return await self._db.write(_store_batch, docs, received_at)

    async def purge(self, before: float) -> int:
        """Forget the message ids received before ``before``; return how many.

        The ids only guard against a repeat while a station may still re-send (its outbox
        keeps a message until our ack reaches it).  What they stood for stays: incidents
        and monthly reports are upserted by their send time, so a very late repeat of an
        old message changes nothing.
        """
        return await self._db.write(
            lambda c: c.execute("DELETE FROM messages WHERE received_at < ?", (before,)).rowcount
        )

    async def month(self, month: str) -> dict[str, dict[str, Any]]:
        """Return each station's report for ``month``: {station: {kpis, body, sent_at, received_at}}."""

        def run(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            rows = conn.execute(
                "SELECT station_id, kpis, body, sent_at, received_at FROM monthly WHERE month = ?", (month,)
            ).fetchall()
            return {
                str(r[0]): {"kpis": json.loads(r[1]), "body": r[2], "sent_at": r[3], "received_at": r[4]}
                for r in rows
            }

        return await self._db.read(run)

    async def kpis(self, months: Sequence[str]) -> dict[str, dict[str, dict[str, float | None]]]:
        """Return {month: {station: kpis}} for ``months`` (the trends)."""

        def run(conn: sqlite3.Connection) -> dict[str, dict[str, dict[str, float | None]]]:
            out: dict[str, dict[str, dict[str, float | None]]] = {m: {} for m in months}
            marks = ",".join("?" * len(months))
            for row in conn.execute(
                f"SELECT month, station_id, kpis FROM monthly WHERE month IN ({marks})",
                tuple(months),
            ):
                out[str(row[0])][str(row[1])] = json.loads(row[2])
            return out

        return await self._db.read(run)

    async def incident_counts(self, start: float, end: float) -> dict[str, dict[str, Any]]:
        """Return per station: incidents opened in [start, end), SOS among them, unacknowledged SOS."""

        def run(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            rows = conn.execute(
                "SELECT station_id, COUNT(*), SUM(kind = 'sos'), SUM(kind = 'sos' AND acknowledged_at IS NULL), "
                "SUM(status != 'closed') FROM incidents WHERE opened_at >= ? AND opened_at < ? AND drill = 0 "
                "GROUP BY station_id",
                (start, end),
            ).fetchall()
            return {
                str(r[0]): {
                    "total": r[1],
                    "sos": r[2] or 0,
                    "sos_unacknowledged": r[3] or 0,
                    "open": r[4] or 0,
                }
                for r in rows
            }

        return await self._db.read(run)

    async def incidents(
        self, station_id: str, start: float, end: float, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Return one station's incident summaries opened in [start, end), newest first."""

        def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT hub_id, incident_id, kind, zone, status, opened_at, acknowledged_at, closed_at, "
                "ack_seconds, drill FROM incidents WHERE station_id = ? AND opened_at >= ? AND opened_at < ? "
                "ORDER BY opened_at DESC LIMIT ?",
                (station_id, start, end, limit),
            ).fetchall()
            return [dict(r) for r in rows]

        return await self._db.read(run)
