"""The SQLite station store: one file on the shared engine, incidents in their own lane.

A station ingests tens of thousands of messages a second.  A whole batch
(duplicate check, message rows, incident upserts, timeline, snapshots, hub
counters) runs as *one* function on the engine's writer thread, in one
transaction, so a batch costs one hop and one commit.  Telemetry batches are
cut into short transactions and incidents are written as *urgent* jobs, which
the engine runs before any queued telemetry: an SOS waits at most for one
short telemetry transaction, never for the backlog behind it.  Reads (the
console, the API) use the engine's reader connection and never wait for a
write.  WAL with ``synchronous=NORMAL`` survives a killed process; the hub's
outbox covers the rest (a row lost to a power cut was never acknowledged, so
the hub sends it again).

Message ids are unique *per hub*: one hub cannot claim another's ids.  A
repeat of a stored (hub, id) with the same body is a harmless re-send; with a
different body it is a conflict, reported to the ingest so it is refused,
never acknowledged as stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hub.database import Database, applied_versions, mark_applied
from integrations.federation.const import KIND_SNAPSHOT
from integrations.federation.kpi_report import EVENT_KPI_MONTH, MONTH_RE, read_report
from integrations.federation.protocol import EventEnvelope, HealthEnvelope, IncidentEnvelope, RegistryEnvelope
from integrations.station.bodies import read_health, read_registry
from integrations.station.const import STATUS_UNKNOWN
from integrations.station.store import PROGRAMME_EVENTS, CommandRecord, HubStatus, Inbound, IngestResult

__all__ = ("SqliteStationStore", "SCHEMA_VERSION", "MIGRATIONS", "COMPONENT")

_LOGGER = logging.getLogger(__name__)

#: The station's schema in the engine's ``schema_migrations`` table.
COMPONENT = "station"
#: Most telemetry rows per transaction: what an urgent (incident) write may have to wait for.
TELEMETRY_CHUNK = 200

#: Append a script to MIGRATIONS to change the schema; never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE hubs (
        hub_id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        registered INTEGER NOT NULL DEFAULT 1,
        registered_at REAL,
        status TEXT NOT NULL DEFAULT 'unknown',
        status_since REAL,
        last_seen REAL,
        last_sent REAL,
        health TEXT,
        health_at REAL,
        registry TEXT,
        registry_at REAL,
        received INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        last_reject TEXT
    );
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        hub_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        type TEXT,
        incident_id TEXT,
        sent_at REAL,
        received_at REAL NOT NULL,
        body BLOB
    );
    CREATE INDEX ix_messages_hub ON messages (hub_id, seq);
    CREATE TABLE incidents (
        hub_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        kind TEXT, severity TEXT, status TEXT, title TEXT, place TEXT, lat REAL, lon REAL,
        entities TEXT, data TEXT,
        opened_at REAL, updated_at REAL, closed_at REAL, acknowledged_at REAL, acknowledged_by TEXT,
        sent_at REAL, received_at REAL, last_msg_id TEXT,
        PRIMARY KEY (hub_id, incident_id)
    ) WITHOUT ROWID;
    CREATE INDEX ix_incidents_opened ON incidents (opened_at);
    CREATE INDEX ix_incidents_id ON incidents (incident_id);
    CREATE TABLE timeline (
        msg_id TEXT PRIMARY KEY,
        hub_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        ts REAL, actor TEXT, kind TEXT, text TEXT, attachments TEXT, data TEXT,
        received_at REAL
    ) WITHOUT ROWID;
    CREATE INDEX ix_timeline_incident ON timeline (hub_id, incident_id, ts);
    CREATE TABLE snapshots (
        msg_id TEXT PRIMARY KEY,
        hub_id TEXT NOT NULL,
        incident_id TEXT,
        entity_id TEXT,
        snapshot_id TEXT,
        ts REAL,
        received_at REAL,
        size INTEGER,
        sha256 TEXT,
        path TEXT
    ) WITHOUT ROWID;
    CREATE INDEX ix_snapshots_incident ON snapshots (hub_id, incident_id);
    CREATE TABLE commands (
        id TEXT PRIMARY KEY,
        hub_id TEXT NOT NULL,
        command TEXT NOT NULL,
        data TEXT,
        actor TEXT,
        actor_role TEXT,
        created_at REAL,
        status TEXT,
        result TEXT,
        error TEXT,
        result_at REAL
    ) WITHOUT ROWID;
    CREATE INDEX ix_commands_hub ON commands (hub_id, created_at);
    """,
    # 2: message ids are unique per hub (issue 15.10: a hub could squat another's ids).
    """
    CREATE TABLE messages_new (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        hub_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        type TEXT,
        incident_id TEXT,
        sent_at REAL,
        received_at REAL NOT NULL,
        body BLOB,
        UNIQUE (hub_id, id)
    );
    INSERT INTO messages_new SELECT seq, id, hub_id, kind, type, incident_id, sent_at, received_at, body
        FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_new RENAME TO messages;
    CREATE INDEX ix_messages_hub ON messages (hub_id, seq);
    CREATE TABLE timeline_new (
        msg_id TEXT NOT NULL,
        hub_id TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        ts REAL, actor TEXT, kind TEXT, text TEXT, attachments TEXT, data TEXT,
        received_at REAL,
        PRIMARY KEY (hub_id, msg_id)
    ) WITHOUT ROWID;
    INSERT INTO timeline_new SELECT msg_id, hub_id, incident_id, ts, actor, kind, text, attachments, data,
        received_at FROM timeline;
    DROP TABLE timeline;
    ALTER TABLE timeline_new RENAME TO timeline;
    CREATE INDEX ix_timeline_incident ON timeline (hub_id, incident_id, ts);
    CREATE TABLE snapshots_new (
        msg_id TEXT NOT NULL,
        hub_id TEXT NOT NULL,
        incident_id TEXT,
        entity_id TEXT,
        snapshot_id TEXT,
        ts REAL,
        received_at REAL,
        size INTEGER,
        sha256 TEXT,
        path TEXT,
        PRIMARY KEY (hub_id, msg_id)
    ) WITHOUT ROWID;
    INSERT INTO snapshots_new SELECT msg_id, hub_id, incident_id, entity_id, snapshot_id, ts, received_at,
        size, sha256, path FROM snapshots;
    DROP TABLE snapshots;
    ALTER TABLE snapshots_new RENAME TO snapshots;
    CREATE INDEX ix_snapshots_incident ON snapshots (hub_id, incident_id);
    """,
    # 3: one command table for the REST API and the console (the console kept its own
    # copy of each command in the hub database: two tables in two databases).
    """
    ALTER TABLE commands ADD COLUMN incident_id TEXT;
    ALTER TABLE commands ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';
    ALTER TABLE commands ADD COLUMN unit TEXT NOT NULL DEFAULT '';
    ALTER TABLE commands ADD COLUMN durable INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE commands ADD COLUMN sent_at REAL;
    ALTER TABLE commands ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX ix_commands_incident ON commands (hub_id, incident_id, created_at);
    CREATE INDEX ix_commands_status ON commands (status, hub_id);
    """,
    # 4: drills (DESIGN §13): marked on the board, kept apart in the KPIs, Exercise in CAP.
    """
    ALTER TABLE incidents ADD COLUMN drill INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: the monthly figures (issue 17 item 0).  Each hub's newest valid kpi_month report per
    # month, kept at ingest (a busy hub sends hundreds a month; the page reads one per hub),
    # with its newest refused one beside it.  And the programme's events by type and time;
    # partial, so motion and other telemetry events pay nothing for it at ingest.
    """
    CREATE TABLE kpi_reports (
        hub_id TEXT NOT NULL,
        month TEXT NOT NULL,
        msg_id TEXT,
        sent_at REAL,
        data TEXT,
        rejected_id TEXT,
        rejected_at REAL,
        rejected_reason TEXT,
        PRIMARY KEY (hub_id, month)
    ) WITHOUT ROWID;
    CREATE INDEX ix_messages_programme ON messages (type, sent_at)
        WHERE kind = 'event' AND type IN ('kpi_month', 'patrol_checkin', 'patrol_checkin_accepted',
                                          'patrol_gap', 'people_poll_results', 'big6_resolution_overdue');
    """,
    # 6: several workers (integrations.station.workers): who is running and where the others reach
    # it, what each one owns (a live stream it asked a hub for, a footage request), and the secret
    # they sign their calls to each other with.  Used on PostgreSQL only; here for the same schema.
    """
    CREATE TABLE station_workers (
        worker_id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        started_at REAL NOT NULL,
        heartbeat REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE worker_claims (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        worker_id TEXT NOT NULL,
        hub_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;
    CREATE TABLE station_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
)
#: The partial index's condition, repeated word for word so SQLite's planner can use the index.
_PROGRAMME_WHERE = (
    "kind = 'event' AND type IN ('kpi_month', 'patrol_checkin', 'patrol_checkin_accepted', "
    "'patrol_gap', 'people_poll_results', 'big6_resolution_overdue')"
)
SCHEMA_VERSION = len(MIGRATIONS)

# The statements below read the same on SQLite and PostgreSQL (``ON CONFLICT``, ``CASE``,
# no SQLite-only functions): the one exception, how a batch learns which messages are new,
# is in :meth:`SqliteStationStore._insert_messages`.
_INSERT_MESSAGE = (
    "INSERT INTO messages (id, hub_id, kind, type, incident_id, sent_at, received_at, body) "
    "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
)
#: PostgreSQL: the whole batch in one statement, handed over as one JSON text (json.dumps is C;
#: adapting thousands of Python values one by one is not).  It answers how many rows were new
#: and, only when some were repeats, which.  ``jsonb``, not ``json``: the text is parsed once,
#: where ``json`` parsed each element again for every one of its eight fields (PostgreSQL's
#: CPU per event fell from 15 to 9 µs).  The body travels as a JSON *string*, so it is stored
#: byte for byte as the hub sent it (jsonb would reorder an object's keys).
_INSERT_MESSAGES_PG = (
    "WITH ins AS (INSERT INTO messages (id, hub_id, kind, type, incident_id, sent_at, received_at, body) "
    "SELECT e->>0, e->>1, e->>2, e->>3, e->>4, (e->>5)::float8, (e->>6)::float8, convert_to(e->>7, 'UTF8') "
    "FROM jsonb_array_elements(?::jsonb) AS e "
    "ON CONFLICT DO NOTHING RETURNING hub_id, id) "
    "SELECT count(*), CASE WHEN count(*) < ? THEN json_agg(json_build_array(hub_id, id))::text END FROM ins"
)
#: PostgreSQL: every hub's counters in one statement.
_COUNT_RECEIVED_PG = (
    "UPDATE hubs SET received = received + r.n, "
    "last_seen = GREATEST(COALESCE(last_seen, 0), r.seen), last_sent = GREATEST(COALESCE(last_sent, 0), r.sent) "
    "FROM json_to_recordset(?::json) AS r(hub_id text, n bigint, seen float8, sent float8) "
    "WHERE hubs.hub_id = r.hub_id"
)
_UPSERT_INCIDENT = """
    INSERT INTO incidents (hub_id, incident_id, kind, severity, status, title, place, lat, lon, entities, data,
                           opened_at, updated_at, closed_at, acknowledged_at, acknowledged_by, sent_at,
                           received_at, last_msg_id, drill)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
    ON CONFLICT (hub_id, incident_id) DO UPDATE SET
        kind = excluded.kind, severity = excluded.severity, status = excluded.status, title = excluded.title,
        place = excluded.place, lat = excluded.lat, lon = excluded.lon, entities = excluded.entities,
        data = excluded.data, updated_at = excluded.updated_at, closed_at = excluded.closed_at,
        acknowledged_at = excluded.acknowledged_at, acknowledged_by = excluded.acknowledged_by,
        sent_at = excluded.sent_at, received_at = excluded.received_at, last_msg_id = excluded.last_msg_id,
        drill = excluded.drill
    WHERE excluded.updated_at >= incidents.updated_at
"""
_INSERT_TIMELINE = (
    "INSERT INTO timeline (msg_id, hub_id, incident_id, ts, actor, kind, text, attachments, data, "
    "received_at) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
)
# Newest wins, by the hub's clock: a late re-send of an older report changes nothing.
_UPSERT_KPI_REPORT = """
    INSERT INTO kpi_reports (hub_id, month, msg_id, sent_at, data) VALUES (?,?,?,?,?)
    ON CONFLICT (hub_id, month) DO UPDATE SET
        msg_id = excluded.msg_id, sent_at = excluded.sent_at, data = excluded.data
    WHERE kpi_reports.sent_at IS NULL OR excluded.sent_at >= kpi_reports.sent_at
"""
_UPSERT_KPI_REJECT = """
    INSERT INTO kpi_reports (hub_id, month, rejected_id, rejected_at, rejected_reason) VALUES (?,?,?,?,?)
    ON CONFLICT (hub_id, month) DO UPDATE SET
        rejected_id = excluded.rejected_id, rejected_at = excluded.rejected_at,
        rejected_reason = excluded.rejected_reason
    WHERE kpi_reports.rejected_at IS NULL OR excluded.rejected_at >= kpi_reports.rejected_at
"""
_INSERT_SNAPSHOT = (
    "INSERT INTO snapshots (msg_id, hub_id, incident_id, entity_id, snapshot_id, ts, received_at, "
    "size, sha256, path) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
)
_COUNT_RECEIVED = (
    "UPDATE hubs SET received = received + ?, "
    "last_seen = CASE WHEN ? > COALESCE(last_seen, 0) THEN ? ELSE last_seen END, "
    "last_sent = CASE WHEN ? > COALESCE(last_sent, 0) THEN ? ELSE last_sent END WHERE hub_id = ?"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _loads(text: str | bytes | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


class SqliteStationStore:
    """:class:`~integrations.station.store.StationStore` on one SQLite file."""

    #: The engine's schema scripts (PostgreSQL's store has its own: integrations.station.store_pg).
    migrations: tuple[str, ...] = MIGRATIONS

    def __init__(self, path: Path, *, checkpoint_every: float = 1.0) -> None:
        self.path = Path(path)
        # wal_autocheckpoint=0: see _checkpoints.
        self._db: Database = Database(self.path, name="station-db", pragmas=("PRAGMA wal_autocheckpoint=0",))
        # Checkpoints (the only step that fsyncs in WAL mode with synchronous=NORMAL) run
        # on a connection and thread of their own, so a commit never waits for the disk:
        # an SOS must not queue behind a checkpoint of the telemetry before it.
        self._checkpoint_every = checkpoint_every
        self._checkpointer: asyncio.Task[None] | None = None

    @property
    def database(self) -> Database:
        """Return the engine (for tests and tools that need a transaction of their own)."""
        return self._db

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file, set WAL and apply migrations."""
        await self._db.open()
        try:
            if self._db.dialect == "sqlite":
                await self._db.run(_adopt_user_version)
            await self._db.migrate(COMPONENT, self.migrations)
        except BaseException:
            await self._db.close()
            raise
        if self._db.dialect == "sqlite":
            self._checkpointer = asyncio.create_task(self._checkpoints(), name="station-db checkpoints")

    async def _checkpoints(self) -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="station-db-checkpoint") as pool:
            conn = await loop.run_in_executor(
                pool, lambda: sqlite3.connect(self.path, check_same_thread=False)
            )
            try:
                while True:
                    await asyncio.sleep(self._checkpoint_every)
                    try:
                        # PASSIVE: copies what it can without blocking the writer or readers.
                        await loop.run_in_executor(pool, conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
                    except sqlite3.Error as err:
                        _LOGGER.warning("%s: checkpoint failed: %s", self.path, err)
            finally:
                await loop.run_in_executor(pool, conn.close)

    async def close(self) -> None:
        """Finish queued writes, checkpoint and close."""
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._db.is_open:
            if self._db.dialect == "sqlite":
                with contextlib.suppress(sqlite3.Error):
                    await self._db.run(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
            await self._db.close()

    # -- ingest --------------------------------------------------------------------------

    async def ingest(
        self,
        batch: Sequence[Inbound],
        hub_counts: dict[str, tuple[int, float, float]],
        rejects: dict[str, tuple[int, str]],
        *,
        urgent: bool = False,
    ) -> IngestResult:
        """Store a batch (see the protocol's docstring).

        ``urgent`` (incidents): one transaction that jumps the writer's queue.
        Otherwise the batch is written in transactions of at most
        TELEMETRY_CHUNK rows, each queued on its own, so an urgent write that
        arrives meanwhile goes between two of them.
        """
        # PostgreSQL writes urgent jobs on a connection of their own (concurrent writers), so
        # a telemetry batch need not be cut up for an SOS to go between its pieces.
        if urgent or len(batch) <= TELEMETRY_CHUNK or self._db.dialect == "postgresql":
            return await self._db.write(self._ingest, batch, hub_counts, rejects, urgent=urgent)
        result = IngestResult()
        chunks = [batch[i : i + TELEMETRY_CHUNK] for i in range(0, len(batch), TELEMETRY_CHUNK)]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            part = await self._db.write(
                self._ingest, chunk, hub_counts if last else {}, rejects if last else {}
            )
            result.new_keys |= part.new_keys
            result.conflicts.update(part.conflicts)
        return result

    def _ingest(
        self,
        db: sqlite3.Connection,
        batch: Sequence[Inbound],
        hub_counts: dict[str, tuple[int, float, float]],
        rejects: dict[str, tuple[int, str]],
    ) -> IngestResult:
        result = IngestResult()
        new_keys = self._insert_messages(db, batch)
        if new_keys is None:
            fresh = list(batch)
        else:
            fresh, repeats = [], []
            for m in batch:
                if (m.hub_id, m.id) in new_keys:
                    new_keys.discard((m.hub_id, m.id))  # the first copy within the batch is the new one
                    fresh.append(m)
                else:
                    repeats.append(m)
            result.conflicts = _conflicts(db, repeats, fresh)
        self._apply(db, fresh)
        # Rows are locked in one order (by key) in every transaction, so two workers
        # storing overlapping batches on PostgreSQL wait for each other, never deadlock.
        if hub_counts and self._db.dialect == "postgresql":
            records = [
                {"hub_id": hub, "n": n, "seen": seen_at, "sent": sent_at}
                for hub, (n, seen_at, sent_at) in sorted(hub_counts.items())
            ]
            db.execute(_COUNT_RECEIVED_PG, (json.dumps(records),))
        elif hub_counts:
            db.executemany(
                _COUNT_RECEIVED,
                [
                    (n, seen_at, seen_at, sent_at, sent_at, hub)
                    for hub, (n, seen_at, sent_at) in sorted(hub_counts.items())
                ],
            )
        if rejects:
            db.executemany(
                "UPDATE hubs SET rejected = rejected + ?, last_reject = ? WHERE hub_id = ?",
                [(n, reason, hub) for hub, (n, reason) in sorted(rejects.items())],
            )
        result.new_keys = {(m.hub_id, m.id) for m in fresh}
        return result

    def _insert_messages(
        self, db: sqlite3.Connection, batch: Sequence[Inbound]
    ) -> set[tuple[str, str]] | None:
        """Insert the batch's message rows; return the (hub, id) keys that were new, or None if all were."""
        if self._db.dialect == "postgresql":
            # One statement for the batch, in key order (two workers never deadlock on it);
            # RETURNING names the new rows: other workers commit meanwhile, so a range of
            # seq would not.
            doc = json.dumps(
                [_pg_message_row(m) for m in sorted(batch, key=_HUB_AND_ID)],
                ensure_ascii=False,
                separators=(",", ":"),
            )
            count, listed = db.execute(_INSERT_MESSAGES_PG, (doc, len(batch))).fetchone()
            if count == len(batch):
                return None
            return {(h, i) for h, i in json.loads(listed)} if listed else set()
        # SQLite: one writer. ON CONFLICT DO NOTHING skips repeats (also within the batch);
        # new rows get seq above the current maximum, so only when some were skipped is a
        # second look needed, and then it is one range scan.
        top = db.execute("SELECT COALESCE(MAX(seq), 0) FROM messages").fetchone()[0]
        before = db.total_changes
        db.executemany(_INSERT_MESSAGE, [self._message_row(m) for m in batch])
        if db.total_changes - before == len(batch):
            return None
        return {(r[0], r[1]) for r in db.execute("SELECT hub_id, id FROM messages WHERE seq > ?", (top,))}

    @staticmethod
    def _message_row(m: Inbound) -> tuple[Any, ...]:
        env = m.env
        if type(env) is EventEnvelope:  # nearly every row: the exact type is the cheapest test
            return (m.id, m.hub_id, m.kind, env.body.type, None, m.sent_at, m.received_at, m.raw or None)
        type_: str | None = None
        incident_id: str | None = None
        if isinstance(env, IncidentEnvelope):
            type_, incident_id = env.body.action, env.body.incident.id
        elif isinstance(env, EventEnvelope):
            type_ = env.body.type
        elif isinstance(env, HealthEnvelope):
            type_ = env.body.status
        elif m.snapshot is not None:
            type_, incident_id = "jpeg", m.snapshot.incident or None
        return (m.id, m.hub_id, m.kind, type_, incident_id, m.sent_at, m.received_at, m.raw or None)

    def _apply(self, db: sqlite3.Connection, fresh: Sequence[Inbound]) -> None:
        incidents: list[tuple[Any, ...]] = []
        timeline: list[tuple[Any, ...]] = []
        snapshots: list[tuple[Any, ...]] = []
        for m in fresh:
            env = m.env
            if type(env) is EventEnvelope:  # telemetry, nearly every row: nothing more to write
                if env.body.type == EVENT_KPI_MONTH:
                    self._kpi_report(db, m, env.body.data)
                continue
            if isinstance(env, IncidentEnvelope):
                inc, entry = env.body.incident, env.body.entry
                loc = inc.location
                incidents.append(
                    (
                        m.hub_id,
                        inc.id,
                        inc.kind,
                        inc.severity,
                        inc.status,
                        inc.title,
                        inc.place,
                        loc.lat if loc else None,
                        loc.lon if loc else None,
                        _dumps(inc.entities),
                        _dumps(inc.data),
                        inc.opened_at,
                        inc.updated_at,
                        inc.closed_at,
                        inc.acknowledged_at,
                        inc.acknowledged_by,
                        m.sent_at,
                        m.received_at,
                        m.id,
                        int(inc.drill),
                    )
                )
                timeline.append(
                    (
                        m.id,
                        m.hub_id,
                        inc.id,
                        entry.ts,
                        entry.actor,
                        entry.kind,
                        entry.text,
                        _dumps(entry.attachments),
                        _dumps(entry.data),
                        m.received_at,
                    )
                )
            elif isinstance(env, HealthEnvelope):
                # The offline will only changes the link state (tracked elsewhere); the
                # last full report stays readable.
                if env.body.status == "online":
                    db.execute(
                        "UPDATE hubs SET health = ?, health_at = ? WHERE hub_id = ? "
                        "AND (health_at IS NULL OR health_at <= ?)",
                        (_body_text(m.raw), m.sent_at, m.hub_id, m.sent_at),
                    )
            elif isinstance(env, RegistryEnvelope):
                db.execute(
                    "UPDATE hubs SET registry = ?, registry_at = ? WHERE hub_id = ? "
                    "AND (registry_at IS NULL OR registry_at <= ?)",
                    (_body_text(m.raw), m.sent_at, m.hub_id, m.sent_at),
                )
            elif m.snapshot is not None:
                s = m.snapshot
                snapshots.append(
                    (
                        m.id,
                        m.hub_id,
                        s.incident or None,
                        s.entity,
                        s.snapshot,
                        float(s.ts),
                        m.received_at,
                        m.snapshot_size,
                        m.snapshot_sha256,
                        m.snapshot_path,
                    )
                )
        if incidents:
            # In key order (stable: a batch's updates of one incident keep their order).
            db.executemany(_UPSERT_INCIDENT, _by_key(incidents, 0, 1))
            db.executemany(_INSERT_TIMELINE, _by_key(timeline, 1, 0))
        if snapshots:
            db.executemany(_INSERT_SNAPSHOT, _by_key(snapshots, 1, 0))

    @staticmethod
    def _kpi_report(db: sqlite3.Connection, m: Inbound, data: dict[str, Any]) -> None:
        """Keep a hub's newest valid report per month, and its newest refused one (named, not shown)."""
        month = data.get("month")
        if not isinstance(month, str) or not MONTH_RE.match(month):
            month = "?"  # no month to file it under: still named, under "?"
        report, reason = read_report(data)
        if report is not None:
            db.execute(_UPSERT_KPI_REPORT, (m.hub_id, month, m.id, m.sent_at, _dumps(report.model_dump())))
        else:
            db.execute(_UPSERT_KPI_REJECT, (m.hub_id, month, m.id, m.sent_at, reason or "invalid"))

    async def kpi_reports(self, month: str) -> list[dict[str, Any]]:
        """Return each hub's newest valid ``kpi_month`` report for ``month`` and its newest refused one."""

        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                "SELECT * FROM kpi_reports WHERE month = ? ORDER BY hub_id", (month,)
            ).fetchall()
            return [
                {
                    "hub_id": r["hub_id"],
                    "month": r["month"],
                    "id": r["msg_id"],
                    "sent_at": r["sent_at"],
                    "data": _loads(r["data"]),
                    "rejected_id": r["rejected_id"],
                    "rejected_at": r["rejected_at"],
                    "rejected_reason": r["rejected_reason"],
                }
                for r in rows
            ]

        return await self._db.read(run)

    async def sos_latencies(self, since: float, until: float) -> dict[str, list[float]]:
        """Return hub id → SOS opening-to-arrival seconds (see the protocol)."""

        def run(db: sqlite3.Connection) -> dict[str, list[float]]:
            out: dict[str, list[float]] = {}
            # The month's incidents by their index, then each one's "opened" entry (its own index).
            rows = db.execute(
                "SELECT i.hub_id, t.received_at - i.opened_at FROM incidents i "
                "JOIN timeline t ON t.hub_id = i.hub_id AND t.incident_id = i.incident_id AND t.kind = 'opened' "
                "WHERE i.opened_at >= ? AND i.opened_at < ? AND i.kind = 'sos' AND t.received_at IS NOT NULL",
                (since, until),
            )
            for hub_id, seconds in rows:
                out.setdefault(hub_id, []).append(float(seconds))
            return out

        return await self._db.read(run)

    async def record_incident(self, hub_id: str, incident: dict[str, Any], entry: dict[str, Any]) -> None:
        """Write a station-made incident and its timeline entry (see the protocol)."""
        loc = incident.get("location") or {}
        row = (
            hub_id,
            incident["id"],
            incident["kind"],
            incident["severity"],
            incident["status"],
            incident["title"],
            incident.get("place") or "",
            loc.get("lat"),
            loc.get("lon"),
            _dumps(incident.get("entities") or []),
            _dumps(incident.get("data") or {}),
            incident["opened_at"],
            incident["updated_at"],
            incident.get("closed_at"),
            incident.get("acknowledged_at"),
            incident.get("acknowledged_by"),
            incident["updated_at"],
            incident["updated_at"],
            entry["id"],
            0,
        )
        line = (
            entry["id"],
            hub_id,
            incident["id"],
            entry["ts"],
            entry["actor"],
            entry["kind"],
            entry["text"],
            "[]",
            _dumps(entry.get("data") or {}),
            entry["ts"],
        )

        def run(db: sqlite3.Connection) -> None:
            db.execute(_UPSERT_INCIDENT, row)
            db.execute(_INSERT_TIMELINE, line)

        await self._db.write(run, urgent=True)

    # -- hubs ------------------------------------------------------------------------------

    async def register_hub(self, hub_id: str, name: str = "", at: float = 0.0) -> bool:
        """Register a hub (True if it was new)."""
        return await self._db.write(self._register, hub_id, name, at)

    @staticmethod
    def _register(db: sqlite3.Connection, hub_id: str, name: str, at: float) -> bool:
        row = db.execute("SELECT registered FROM hubs WHERE hub_id = ?", (hub_id,)).fetchone()
        if row is not None:
            db.execute(
                "UPDATE hubs SET registered = 1, name = CASE WHEN ? != '' THEN ? ELSE name END "
                "WHERE hub_id = ?",
                (name, name, hub_id),
            )
            return not bool(row["registered"])
        db.execute("INSERT INTO hubs (hub_id, name, registered_at) VALUES (?, ?, ?)", (hub_id, name, at))
        return True

    async def unregister_hub(self, hub_id: str) -> bool:
        """Forget a hub's registration (its history stays)."""
        return await self._db.write(
            lambda db: (
                db.execute(
                    "UPDATE hubs SET registered = 0 WHERE hub_id = ? AND registered = 1", (hub_id,)
                ).rowcount
                > 0
            )
        )

    async def registered_hubs(self) -> set[str]:
        """Return the ids of registered hubs."""
        return await self._db.read(
            lambda db: {r[0] for r in db.execute("SELECT hub_id FROM hubs WHERE registered = 1")}
        )

    async def set_status(self, hub_id: str, status: str, at: float) -> None:
        """Record a hub's new link state."""
        await self._db.write(
            lambda db: db.execute(
                "UPDATE hubs SET status = ?, status_since = ? WHERE hub_id = ?", (status, at, hub_id)
            )
        )

    async def hub_statuses(self) -> list[HubStatus]:
        """Return every registered hub's link state."""

        def run(db: sqlite3.Connection) -> list[HubStatus]:
            rows = db.execute(
                "SELECT hub_id, status, status_since, last_seen, last_sent FROM hubs WHERE registered = 1"
            )
            return [
                HubStatus(
                    r["hub_id"],
                    r["status"] or STATUS_UNKNOWN,
                    r["status_since"],
                    r["last_seen"],
                    r["last_sent"],
                )
                for r in rows
            ]

        return await self._db.read(run)

    def _hub_dict(self, row: sqlite3.Row, *, full: bool) -> dict[str, Any]:
        # Read through the same checks as ingest: a report stored before them that
        # fails is left out (and named), never handed to a page.
        registry_doc, registry_error = read_registry(_loads(row["registry"]))
        health_doc, health_error = read_health(_loads(row["health"]))
        registry: dict[str, Any] = registry_doc or {}
        health: dict[str, Any] = health_doc or {}
        info = registry.get("hub")
        out: dict[str, Any] = {
            "id": row["hub_id"],
            "name": row["name"] or (info or {}).get("name") or row["hub_id"],
            "zone": (info or {}).get("zone"),
            "location": (info or {}).get("location"),
            "status": row["status"],
            "status_since": row["status_since"],
            "last_seen": row["last_seen"],
            "last_sent": row["last_sent"],
            "received": row["received"],
            "rejected": row["rejected"],
            "last_reject": row["last_reject"],
            "version": health.get("version"),
            "battery_alarms": len(health.get("battery_alarms") or []),
            "cameras": len(registry.get("cameras") or []),
            "registered_at": row["registered_at"],
            "bad_data": registry_error or health_error,
        }
        if full:
            out.update(
                registry=registry or None,
                registry_at=row["registry_at"],
                health=health or None,
                health_at=row["health_at"],
            )
        return out

    async def hubs(self, *, full: bool = False) -> list[dict[str, Any]]:
        """Return every registered hub with a summary (``full``: with registry and health, in one read)."""

        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            open_counts = {
                r[0]: r[1]
                for r in db.execute(
                    "SELECT hub_id, COUNT(*) FROM incidents WHERE status != 'closed' GROUP BY hub_id"
                )
            }
            rows = db.execute("SELECT * FROM hubs WHERE registered = 1 ORDER BY hub_id").fetchall()
            out = []
            for row in rows:
                item = self._hub_dict(row, full=full)
                item["open_incidents"] = open_counts.get(row["hub_id"], 0)
                out.append(item)
            return out

        return await self._db.read(run)

    async def hub(self, hub_id: str) -> dict[str, Any] | None:
        """Return one hub with its registry, health and counters."""

        def run(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT * FROM hubs WHERE hub_id = ? AND registered = 1", (hub_id,)).fetchone()
            if row is None:
                return None
            item = self._hub_dict(row, full=True)
            item["open_incidents"] = db.execute(
                "SELECT COUNT(*) FROM incidents WHERE hub_id = ? AND status != 'closed'", (hub_id,)
            ).fetchone()[0]
            return item

        return await self._db.read(run)

    # -- data ------------------------------------------------------------------------------

    @staticmethod
    def _incident_dict(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["incident_id"],
            "hub_id": row["hub_id"],
            "kind": row["kind"],
            "severity": row["severity"],
            "status": row["status"],
            "title": row["title"],
            "place": row["place"],
            "location": {"lat": row["lat"], "lon": row["lon"]} if row["lat"] is not None else None,
            "entities": _loads(row["entities"]) or [],
            "data": _loads(row["data"]) or {},
            "opened_at": row["opened_at"],
            "updated_at": row["updated_at"],
            "closed_at": row["closed_at"],
            "acknowledged_at": row["acknowledged_at"],
            "acknowledged_by": row["acknowledged_by"],
            "sent_at": row["sent_at"],
            "received_at": row["received_at"],
            "federated": True,
            "drill": bool(row["drill"]),
            # Its page at the station (the home and Incidents pages link there).
            "url": f"/ccoc/incidents/{quote(row['hub_id'], safe='')}/{quote(row['incident_id'], safe='')}",
        }

    async def incidents(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        hub_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Return federated incidents, newest first."""
        where: list[str] = []
        params: list[Any] = []
        if status == "active":
            where.append("status != 'closed'")
        elif status:
            where.append("status = ?")
            params.append(status)
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if hub_id:
            where.append("hub_id = ?")
            params.append(hub_id)
        sql = "SELECT * FROM incidents" + (" WHERE " + " AND ".join(where) if where else "")
        # Ties (incidents opened in the same instant) in key order, the same on every engine.
        sql += " ORDER BY opened_at DESC, hub_id DESC, incident_id DESC LIMIT ?"
        params.append(max(1, min(limit, 1000)))
        return await self._db.read(lambda db: [self._incident_dict(r) for r in db.execute(sql, params)])

    async def incident(self, incident_id: str, hub_id: str | None = None) -> dict[str, Any] | None:
        """Return one federated incident with its timeline and snapshots."""

        def run(db: sqlite3.Connection) -> dict[str, Any] | None:
            if hub_id is None:
                row = db.execute(
                    "SELECT * FROM incidents WHERE incident_id = ? ORDER BY opened_at DESC, hub_id DESC LIMIT 1",
                    (incident_id,),
                ).fetchone()
            else:
                row = db.execute(
                    "SELECT * FROM incidents WHERE incident_id = ? AND hub_id = ?", (incident_id, hub_id)
                ).fetchone()
            if row is None:
                return None
            item = self._incident_dict(row)
            key = (row["hub_id"], incident_id)
            item["timeline"] = [
                {
                    "ts": t["ts"],
                    "actor": t["actor"],
                    "kind": t["kind"],
                    "text": t["text"],
                    "attachments": _loads(t["attachments"]) or [],
                    "data": _loads(t["data"]) or {},
                    "received_at": t["received_at"],
                }
                for t in db.execute(
                    "SELECT * FROM timeline WHERE hub_id = ? AND incident_id = ? ORDER BY ts, msg_id", key
                )
            ]
            item["snapshots"] = [
                {
                    "id": s["msg_id"],
                    "entity_id": s["entity_id"],
                    "snapshot_id": s["snapshot_id"],
                    "ts": s["ts"],
                    "size": s["size"],
                    "url": f"/api/hubs/{row['hub_id']}/snapshots/{s['msg_id']}.jpg",
                }
                for s in db.execute(
                    "SELECT * FROM snapshots WHERE hub_id = ? AND incident_id = ? ORDER BY ts, msg_id", key
                )
            ]
            return item

        return await self._db.read(run)

    async def events(self, hub_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Return a hub's latest events."""

        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                "SELECT * FROM messages WHERE hub_id = ? AND kind = 'event' ORDER BY seq DESC LIMIT ?",
                (hub_id, max(1, min(limit, 1000))),
            )
            out = []
            for r in rows:
                body = (_loads(r["body"]) or {}).get("body") or {}
                out.append(
                    {
                        "id": r["id"],
                        "type": r["type"],
                        "data": body.get("data"),
                        "time": body.get("time"),
                        "sent_at": r["sent_at"],
                        "received_at": r["received_at"],
                    }
                )
            return out

        return await self._db.read(run)

    async def messages(
        self, *, hub_id: str | None = None, kind: str | None = None, after_seq: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Return stored messages in arrival order."""
        where = ["seq > ?"]
        params: list[Any] = [after_seq]
        if hub_id:
            where.append("hub_id = ?")
            params.append(hub_id)
        if kind:
            where.append("kind = ?")
            params.append(kind)
        sql = f"SELECT * FROM messages WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        params.append(max(1, min(limit, 100_000)))
        return await self._db.read(
            lambda db: [
                {
                    "seq": r["seq"],
                    "id": r["id"],
                    "hub_id": r["hub_id"],
                    "kind": r["kind"],
                    "type": r["type"],
                    "incident_id": r["incident_id"],
                    "sent_at": r["sent_at"],
                    "received_at": r["received_at"],
                    "body": r["body"].decode("utf-8") if r["body"] is not None else None,
                }
                for r in db.execute(sql, params)
            ]
        )

    async def count_messages(
        self, *, hub_id: str | None = None, kind: str | None = None, type_: str | None = None
    ) -> int:
        """Return how many messages are stored (per hub, kind and event type)."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("hub_id", hub_id), ("kind", kind), ("type", type_)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT COUNT(*) FROM messages" + (" WHERE " + " AND ".join(where) if where else "")
        return await self._db.read(lambda db: int(db.execute(sql, params).fetchone()[0]))

    async def hub_events(
        self, types: Sequence[str], since: float, until: float, *, hub_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return events of ``types`` sent in [since, until) by the hubs' clocks, oldest first."""
        if not types:
            return []
        marks = ",".join("?" for _ in types)
        # Programme types go through the partial index; any other type is still answered (by a scan).
        where = _PROGRAMME_WHERE if set(types) <= PROGRAMME_EVENTS else "kind = 'event'"
        sql = (
            f"SELECT id, hub_id, type, sent_at, received_at, body FROM messages WHERE {where} "
            f"AND type IN ({marks}) AND sent_at >= ? AND sent_at < ?"
        )
        params: list[Any] = [*types, since, until]
        if hub_id is not None:
            sql += " AND hub_id = ?"
            params.append(hub_id)
        sql += " ORDER BY sent_at, seq"

        def run(db: sqlite3.Connection) -> list[dict[str, Any]]:
            out = []
            for r in db.execute(sql, params):
                body = (_loads(r["body"]) or {}).get("body") or {}
                out.append(
                    {
                        "id": r["id"],
                        "hub_id": r["hub_id"],
                        "type": r["type"],
                        "data": body.get("data") if isinstance(body.get("data"), dict) else {},
                        "time": body.get("time"),
                        "sent_at": r["sent_at"],
                        "received_at": r["received_at"],
                    }
                )
            return out

        return await self._db.read(run)

    async def snapshot(self, hub_id: str, msg_id: str) -> dict[str, Any] | None:
        """Return a stored snapshot's row."""

        def run(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute(
                "SELECT * FROM snapshots WHERE hub_id = ? AND msg_id = ?", (hub_id, msg_id)
            ).fetchone()
            return dict(row) if row is not None else None

        return await self._db.read(run)

    async def incident_facts(self, since: float, until: float) -> list[dict[str, Any]]:
        """Return every incident opened in [since, until) (the console's monthly figures)."""
        return await self._db.read(
            lambda db: [
                dict(r)
                for r in db.execute(
                    "SELECT hub_id, incident_id AS id, kind, status, opened_at, acknowledged_at, drill FROM incidents "
                    "WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at, hub_id, incident_id",
                    (since, until),
                )
            ]
        )

    # -- commands -----------------------------------------------------------------------------

    async def add_command(self, record: CommandRecord) -> None:
        """Record a command about to be sent (or queued for an offline hub)."""
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO commands (id, hub_id, command, data, actor, actor_role, created_at, status, "
                "incident_id, actor_name, unit, durable, sent_at, attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.hub_id,
                    record.command,
                    _dumps(record.data),
                    record.actor,
                    record.actor_role,
                    record.created_at,
                    record.status,
                    record.incident_id,
                    record.actor_name,
                    record.unit,
                    int(record.durable),
                    record.sent_at,
                    record.attempts,
                ),
            )
        )

    async def command_result(
        self, command_id: str, hub_id: str, status: str, result: Any, error: str | None, at: float
    ) -> bool:
        """Record a command's end (the hub's answer, or expired/failed); False if unknown or another hub's."""
        return await self._db.write(self._command_result, command_id, hub_id, status, result, error, at)

    def _command_result(
        self,
        db: sqlite3.Connection,
        command_id: str,
        hub_id: str,
        status: str,
        result: Any,
        error: str | None,
        at: float,
    ) -> bool:
        return bool(
            db.execute(
                "UPDATE commands SET status = ?, result = ?, error = ?, result_at = ? WHERE id = ? AND hub_id = ?",
                (status, _dumps(result) if result is not None else None, error, at, command_id, hub_id),
            ).rowcount
            > 0
        )

    async def mark_sent(self, command_id: str, at: float) -> bool:
        """Record that a queued or sent command went out (again); False if it is already finished."""
        return await self._db.write(
            lambda db: (
                db.execute(
                    "UPDATE commands SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ? "
                    "AND status IN ('queued', 'sent')",
                    (at, command_id),
                ).rowcount
                > 0
            )
        )

    @staticmethod
    def _command(row: sqlite3.Row) -> CommandRecord:
        return CommandRecord(
            row["id"],
            row["hub_id"],
            row["command"],
            _loads(row["data"]) or {},
            row["actor"],
            row["actor_role"],
            row["created_at"],
            row["status"],
            _loads(row["result"]),
            row["error"],
            row["result_at"],
            row["incident_id"],
            row["actor_name"] or "",
            row["unit"] or "",
            bool(row["durable"]),
            row["sent_at"],
            int(row["attempts"] or 0),
        )

    async def command(self, command_id: str) -> CommandRecord | None:
        """Return one command."""

        def run(db: sqlite3.Connection) -> CommandRecord | None:
            row = db.execute("SELECT * FROM commands WHERE id = ?", (command_id,)).fetchone()
            return self._command(row) if row is not None else None

        return await self._db.read(run)

    async def commands(
        self,
        hub_id: str | None = None,
        *,
        incident_id: str | None = None,
        statuses: Sequence[str] = (),
        incident_actions: bool = False,
        limit: int = 50,
        oldest_first: bool = False,
    ) -> list[CommandRecord]:
        """Return commands, newest first: per hub, incident and status; ``incident_actions``: incident.* only."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("hub_id", hub_id), ("incident_id", incident_id)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params += list(statuses)
        if incident_actions:
            where.append("incident_id IS NOT NULL AND command LIKE 'incident.%'")
        order = "ASC" if oldest_first else "DESC"
        sql = "SELECT * FROM commands" + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY created_at {order}, id {order} LIMIT ?"
        params.append(max(1, min(limit, 10_000)))
        return await self._db.read(lambda db: [self._command(r) for r in db.execute(sql, params)])

    async def import_commands(self, records: Sequence[CommandRecord]) -> int:
        """Adopt commands kept elsewhere before the tables were merged (console ones); return how many."""

        def run(db: sqlite3.Connection) -> int:
            changed = 0
            for r in records:
                changed += db.execute(
                    "INSERT INTO commands (id, hub_id, command, data, actor, actor_role, created_at, status, result, "
                    "error, result_at, incident_id, actor_name, unit, durable, sent_at, attempts) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
                    "incident_id = excluded.incident_id, actor_name = excluded.actor_name, unit = excluded.unit, "
                    "durable = excluded.durable, sent_at = excluded.sent_at, attempts = excluded.attempts, "
                    "status = excluded.status, result = COALESCE(commands.result, excluded.result), "
                    "error = COALESCE(commands.error, excluded.error), "
                    "result_at = COALESCE(commands.result_at, excluded.result_at)",
                    (
                        r.id,
                        r.hub_id,
                        r.command,
                        _dumps(r.data),
                        r.actor,
                        r.actor_role,
                        r.created_at,
                        r.status,
                        _dumps(r.result) if r.result is not None else None,
                        r.error,
                        r.result_at,
                        r.incident_id,
                        r.actor_name,
                        r.unit,
                        int(r.durable),
                        r.sent_at,
                        r.attempts,
                    ),
                ).rowcount
            return changed

        return await self._db.write(run)


#: A batch's messages in key order (hub, id): the order every writer locks their rows in.
_HUB_AND_ID = attrgetter("hub_id", "id")


def _pg_message_row(m: Inbound) -> tuple[Any, ...]:
    """Return ``m``'s messages row for PostgreSQL's JSON batch (see _INSERT_MESSAGES_PG).

    The body as text (a JSON string in the batch, so stored byte for byte), and NUL out of
    the one free-form key: ``jsonb`` refuses ``\\u0000``, which would refuse the whole batch
    (and an SOS in it) for ever.
    """
    env = m.env
    if type(env) is EventEnvelope:  # nearly every row: built here, in one step
        return (m.id, m.hub_id, m.kind, env.body.type, None, m.sent_at, m.received_at, m.raw.decode("utf-8"))
    row = SqliteStationStore._message_row(m)
    incident_id = row[4]
    if incident_id is not None and "\x00" in incident_id:
        incident_id = incident_id.replace("\x00", "\ufffd")
    return (*row[:4], incident_id, row[5], row[6], row[7].decode("utf-8") if row[7] is not None else None)


def _by_key(rows: list[tuple[Any, ...]], first: int, second: int) -> list[tuple[Any, ...]]:
    """Return ``rows`` sorted by two key columns (stable), the order every writer locks them in."""
    return sorted(rows, key=lambda r: (r[first], r[second]))


def _body_text(raw: bytes) -> str:
    """Return the ``body`` of a stored envelope as JSON text."""
    value = _loads(raw)
    return _dumps(value.get("body") if isinstance(value, dict) else None)


def _adopt_user_version(db: sqlite3.Connection) -> None:
    """Adopt a station database from before the shared engine (schema version in ``user_version``)."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version and not applied_versions(db, COMPONENT):
        mark_applied(db, COMPONENT, range(1, version + 1))


def _conflicts(
    db: sqlite3.Connection, repeats: Sequence[Inbound], fresh: Sequence[Inbound]
) -> dict[tuple[str, str], str]:
    """Return the repeats whose content differs from the copy already stored (or first in the batch)."""
    firsts = {(m.hub_id, m.id): m for m in fresh}
    out: dict[tuple[str, str], str] = {}
    for m in repeats:
        key = (m.hub_id, m.id)
        first = firsts.get(key)
        if first is not None:
            same = _same_content(m, first.kind, first.raw, first.snapshot_sha256)
        else:
            row = db.execute("SELECT kind, body FROM messages WHERE hub_id = ? AND id = ?", key).fetchone()
            if row is None:
                continue
            digest = None
            if row["kind"] == KIND_SNAPSHOT:
                found = db.execute(
                    "SELECT sha256 FROM snapshots WHERE hub_id = ? AND msg_id = ?", key
                ).fetchone()
                digest = found[0] if found is not None else None
            same = _same_content(m, row["kind"], row["body"], digest)
        if not same:
            out[key] = f"message id {m.id} was already used by this hub for a different {m.kind} message"
    return out


def _same_content(m: Inbound, kind: str, raw: bytes | None, sha256: str | None) -> bool:
    """Whether ``m`` repeats what was stored: the same kind and content (see _identity)."""
    if m.kind != kind:
        return False
    if m.snapshot is not None:
        return sha256 == m.snapshot_sha256
    if raw == m.raw:
        return True
    old, new = _loads(raw), _loads(m.raw)
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return False
    return bool(_identity(kind, old.get("body")) == _identity(kind, new.get("body")))


def _identity(kind: str, body: Any) -> Any:
    """Return what makes a message *the same message* when a hub builds it again.

    A call repeated with its idempotency key after a crash gets a new ``time``
    (events); an incident entry re-queued after a restart carries the incident
    as it is now.  What it says must match: the event's type and data, the
    incident and the entry.
    """
    if not isinstance(body, dict):
        return body
    if kind == "event":
        return (body.get("type"), body.get("data"))
    if kind == "incident":
        incident = body.get("incident")
        return (incident.get("id") if isinstance(incident, dict) else incident, body.get("entry"))
    return body
