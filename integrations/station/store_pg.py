"""The station store on PostgreSQL: the SQLite store's code on :class:`hub.database_pg.PgDatabase`.

``station.database: postgresql://…`` selects it.  Every query, the ingest
and its idempotency by (hub, message id) are the SQLite store's own
(``INSERT … ON CONFLICT DO NOTHING`` reads the same on both); what differs is
the schema's types (PostgreSQL's ``REAL`` is 4 bytes, too short for a
timestamp) and how a batch is inserted and learns which of its messages are
new (one ``INSERT … SELECT`` from the batch as a ``jsonb`` array, ``RETURNING``
the new keys; see ``_insert_messages``).

Several station workers may share one database: everything they write is
keyed, rows are locked in key order, and a transaction PostgreSQL picks as a
deadlock's victim is run again by the engine.

**Migrations.**  The same runner and ``schema_migrations`` table as SQLite;
the scripts are PostgreSQL's own.  Version 1 is the SQLite schema at its
version 4 (PostgreSQL stations start there); a change to the station schema
appends one script to *both* lists (``tests/integrations/station/test_store_pg.py``
checks that both engines end with the same tables and columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.config.secrets import register_secret
from hub.core.ids import ulid
from hub.database_pg import PgConnection, PgDatabase, redact_url, url_password
from integrations.federation.protocol import IncidentEnvelope
from integrations.station.cluster import CHANNEL, notices
from integrations.station.store import Inbound, IngestResult
from integrations.station.store_sqlite import SqliteStationStore

__all__ = ("PgStationStore", "PG_MIGRATIONS")

#: Append a script to change the schema (and its twin to store_sqlite.MIGRATIONS).
#: Keys are ``COLLATE "C"``: the same byte order as SQLite, whatever the server's locale.
PG_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE hubs (
        hub_id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        registered INTEGER NOT NULL DEFAULT 1,
        registered_at DOUBLE PRECISION,
        status TEXT NOT NULL DEFAULT 'unknown',
        status_since DOUBLE PRECISION,
        last_seen DOUBLE PRECISION,
        last_sent DOUBLE PRECISION,
        health TEXT,
        health_at DOUBLE PRECISION,
        registry TEXT,
        registry_at DOUBLE PRECISION,
        received BIGINT NOT NULL DEFAULT 0,
        rejected BIGINT NOT NULL DEFAULT 0,
        last_reject TEXT
    );
    CREATE TABLE messages (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT COLLATE "C" NOT NULL,
        hub_id TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL,
        type TEXT,
        incident_id TEXT COLLATE "C",
        sent_at DOUBLE PRECISION,
        received_at DOUBLE PRECISION NOT NULL,
        body BYTEA,
        UNIQUE (hub_id, id)
    );
    CREATE INDEX ix_messages_hub ON messages (hub_id, seq);
    CREATE TABLE incidents (
        hub_id TEXT COLLATE "C" NOT NULL,
        incident_id TEXT COLLATE "C" NOT NULL,
        kind TEXT, severity TEXT, status TEXT, title TEXT, place TEXT,
        lat DOUBLE PRECISION, lon DOUBLE PRECISION,
        entities TEXT, data TEXT,
        opened_at DOUBLE PRECISION, updated_at DOUBLE PRECISION, closed_at DOUBLE PRECISION,
        acknowledged_at DOUBLE PRECISION, acknowledged_by TEXT,
        sent_at DOUBLE PRECISION, received_at DOUBLE PRECISION, last_msg_id TEXT,
        drill INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (hub_id, incident_id)
    );
    CREATE INDEX ix_incidents_opened ON incidents (opened_at);
    CREATE INDEX ix_incidents_id ON incidents (incident_id);
    CREATE TABLE timeline (
        msg_id TEXT COLLATE "C" NOT NULL,
        hub_id TEXT COLLATE "C" NOT NULL,
        incident_id TEXT COLLATE "C" NOT NULL,
        ts DOUBLE PRECISION, actor TEXT, kind TEXT, text TEXT, attachments TEXT, data TEXT,
        received_at DOUBLE PRECISION,
        PRIMARY KEY (hub_id, msg_id)
    );
    CREATE INDEX ix_timeline_incident ON timeline (hub_id, incident_id, ts);
    CREATE TABLE snapshots (
        msg_id TEXT COLLATE "C" NOT NULL,
        hub_id TEXT COLLATE "C" NOT NULL,
        incident_id TEXT COLLATE "C",
        entity_id TEXT,
        snapshot_id TEXT,
        ts DOUBLE PRECISION,
        received_at DOUBLE PRECISION,
        size BIGINT,
        sha256 TEXT,
        path TEXT,
        PRIMARY KEY (hub_id, msg_id)
    );
    CREATE INDEX ix_snapshots_incident ON snapshots (hub_id, incident_id);
    CREATE TABLE commands (
        id TEXT COLLATE "C" PRIMARY KEY,
        hub_id TEXT COLLATE "C" NOT NULL,
        command TEXT NOT NULL,
        data TEXT,
        actor TEXT,
        actor_role TEXT,
        created_at DOUBLE PRECISION,
        status TEXT,
        result TEXT,
        error TEXT,
        result_at DOUBLE PRECISION,
        incident_id TEXT COLLATE "C",
        actor_name TEXT NOT NULL DEFAULT '',
        unit TEXT NOT NULL DEFAULT '',
        durable INTEGER NOT NULL DEFAULT 0,
        sent_at DOUBLE PRECISION,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX ix_commands_hub ON commands (hub_id, created_at);
    CREATE INDEX ix_commands_incident ON commands (hub_id, incident_id, created_at);
    CREATE INDEX ix_commands_status ON commands (status, hub_id);
    """,
    # 2: SQLite's 5, the monthly figures (kpi_month reports kept per hub and month; the
    # programme's events by type and time, a partial index so telemetry pays nothing for it).
    """
    CREATE TABLE kpi_reports (
        hub_id TEXT COLLATE "C" NOT NULL,
        month TEXT NOT NULL,
        msg_id TEXT,
        sent_at DOUBLE PRECISION,
        data TEXT,
        rejected_id TEXT,
        rejected_at DOUBLE PRECISION,
        rejected_reason TEXT,
        PRIMARY KEY (hub_id, month)
    );
    CREATE INDEX ix_messages_programme ON messages (type, sent_at)
        WHERE kind = 'event' AND type IN ('kpi_month', 'patrol_checkin', 'patrol_checkin_accepted',
                                          'patrol_gap', 'people_poll_results', 'big6_resolution_overdue');
    """,
    # 3: SQLite's 6, several workers (integrations.station.workers).  Heartbeats are the server's
    # clock (clock_timestamp()), so workers on machines whose clocks disagree judge each other alike.
    """
    CREATE TABLE station_workers (
        worker_id TEXT COLLATE "C" PRIMARY KEY,
        url TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        heartbeat DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE worker_claims (
        kind TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        worker_id TEXT COLLATE "C" NOT NULL,
        hub_id TEXT COLLATE "C" NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE TABLE station_secrets (
        name TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
)


class PgStationStore(SqliteStationStore):
    """:class:`~integrations.station.store.StationStore` on PostgreSQL (shared by station workers)."""

    migrations = PG_MIGRATIONS
    #: Several station workers may write this database (see integrations.station.cluster).
    shared = True

    def __init__(self, url: str) -> None:  # noqa: D107 - the SQLite store's file setup does not apply
        self.url = url
        #: Names this worker in its notices, so it does not replay its own.
        self.worker = ulid()
        password = url_password(url)
        if password:
            register_secret(password)  # redacted from every log line, even written inline
        self._db = PgDatabase(url, name="station-db")
        self._checkpointer = None

    @property
    def where(self) -> str:
        """Return the database's address without its password."""
        return redact_url(self.url)

    @property
    def database(self) -> PgDatabase:
        """Return the engine (for tests and tools that need a transaction of their own)."""
        assert isinstance(self._db, PgDatabase)
        return self._db

    # -- news for the other workers, sent in the transaction that stored it ------------------

    def _ingest(
        self,
        db: Any,
        batch: Sequence[Inbound],
        hub_counts: dict[str, tuple[int, float, float]],
        rejects: dict[str, tuple[int, str]],
    ) -> IngestResult:
        result = super()._ingest(db, batch, hub_counts, rejects)
        notes: list[dict[str, Any]] = []
        told: set[tuple[str, str]] = set()
        for m in batch:
            if m.snapshot is None and type(m.env) is not IncidentEnvelope:
                continue  # telemetry, nearly every row: not announced to the other workers
            key = (m.hub_id, m.id)
            if key not in result.new_keys or key in told:
                continue  # a repeat, or the second copy in this batch (it came on both links)
            told.add(key)
            if isinstance(m.env, IncidentEnvelope):
                body = m.env.body
                notes.append(
                    {"k": "incident", "hub": m.hub_id, "incident": body.incident.id, "change": body.action}
                )
            elif m.snapshot is not None and m.snapshot.incident:
                notes.append({"k": "snapshot", "hub": m.hub_id, "incident": m.snapshot.incident})
        self._notify(db, notes)
        return result

    def _notify(self, db: PgConnection, notes: list[dict[str, Any]]) -> None:
        # NOTIFY inside the transaction: delivered at its commit, never for rows rolled back.
        for payload in notices(self.worker, notes):
            db.execute("SELECT pg_notify(?, ?)", (CHANNEL, payload))

    async def tell_others(self, notes: list[dict[str, Any]]) -> None:
        """Send the other workers ``notes`` about rows committed elsewhere (the footage desk's)."""
        await self._db.write(lambda db: self._notify(db, notes))

    def _command_result(
        self, db: Any, command_id: str, hub_id: str, status: str, result: Any, error: str | None, at: float
    ) -> bool:
        # The answer may land on another worker than the one whose officer is waiting for it.
        done = super()._command_result(db, command_id, hub_id, status, result, error, at)
        if done:
            self._notify(db, [{"k": "command", "id": command_id}])
        return done

    async def set_status(self, hub_id: str, status: str, at: float) -> None:
        """Record a hub's new link state, and tell the other workers."""

        def run(db: PgConnection) -> None:
            db.execute("UPDATE hubs SET status = ?, status_since = ? WHERE hub_id = ?", (status, at, hub_id))
            self._notify(db, [{"k": "hub", "hub": hub_id, "status": status, "at": at}])

        await self._db.write(run)
