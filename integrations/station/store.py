"""The station database behind a small interface.

Ingest, the REST API and the CLI talk to :class:`StationStore` only, so a
province-level station can swap SQLite for PostgreSQL by adding one class
(asyncpg, ``INSERT ... ON CONFLICT`` reads the same) without touching the
rest.  Every write is idempotent by (hub, message id): storing a batch twice changes
nothing the second time, which is what makes the hub's re-sends harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from integrations.federation.protocol import Envelope, SnapshotMeta

__all__ = ("Inbound", "IngestResult", "StationStore", "HubStatus", "CommandRecord", "PROGRAMME_EVENTS")

#: Event types the monthly figures read (:meth:`StationStore.hub_events`): a backend should
#: index (type, sent_at) for these at least.
PROGRAMME_EVENTS = frozenset(
    {
        "kpi_month",
        "patrol_checkin",
        "patrol_checkin_accepted",
        "patrol_gap",
        "people_poll_results",
        "big6_resolution_overdue",
    }
)


@dataclass(slots=True)
class Inbound:
    """One validated message from a hub, ready to store."""

    id: str
    hub_id: str
    kind: str
    #: The hub's timestamp (its clock) and ours: both kept, so skew shows.
    sent_at: float
    received_at: float
    #: The JSON exactly as sent (empty for snapshots).
    raw: bytes
    env: Envelope | None = None
    snapshot: SnapshotMeta | None = None
    #: Where the JPEG was written (relative to the station's data folder) and its digest.
    snapshot_path: str = ""
    snapshot_size: int = 0
    snapshot_sha256: str = ""
    #: When it was taken off the socket (event-loop clock): how long an incident waited.
    arrived: float = 0.0


@dataclass(slots=True)
class IngestResult:
    """What a batch changed."""

    #: (hub, id) pairs stored for the first time (the rest were repeats).
    new_keys: set[tuple[str, str]] = field(default_factory=set)
    #: Repeats of a stored (hub, id) with a different body: refused, never acknowledged.
    conflicts: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(slots=True)
class HubStatus:
    """A hub's link state as the station tracks it."""

    hub_id: str
    status: str
    status_since: float | None
    last_seen: float | None
    last_sent: float | None


@dataclass(slots=True)
class CommandRecord:
    """A command sent to a hub and what became of it: one table for the REST API and the console.

    ``status``: queued (the hub is offline; the console sends it when it is
    back), sent, then the hub's answer (ok, refused, error), or expired/failed.
    """

    id: str
    hub_id: str
    command: str
    data: dict[str, Any]
    actor: str
    actor_role: str
    created_at: float
    status: str
    result: Any = None
    error: str | None = None
    result_at: float | None = None
    #: The console's facts: the incident it acts on, who (by name and unit), whether it
    #: keeps its meaning when delivered late, and its sending history.
    incident_id: str | None = None
    actor_name: str = ""
    unit: str = ""
    durable: bool = False
    sent_at: float | None = None
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {
            "id": self.id,
            "hub_id": self.hub_id,
            "command": self.command,
            "data": self.data,
            "actor": self.actor,
            "actor_role": self.actor_role,
            "created_at": self.created_at,
            "status": self.status,
            "result": self.result,
            "error": self.error,
            "result_at": self.result_at,
            "incident_id": self.incident_id,
            "actor_name": self.actor_name,
            "unit": self.unit,
            "durable": self.durable,
            "sent_at": self.sent_at,
            "attempts": self.attempts,
        }


class StationStore(Protocol):
    """What the station needs from its database."""

    async def open(self) -> None:
        """Connect and create or migrate the schema."""

    async def close(self) -> None:
        """Finish writes and disconnect."""

    # -- ingest
    async def ingest(
        self,
        batch: Sequence[Inbound],
        hub_counts: dict[str, tuple[int, float, float]],
        rejects: dict[str, tuple[int, str]],
        *,
        urgent: bool = False,
    ) -> IngestResult:
        """Store a batch, idempotently by (hub, message id).

        ``urgent`` (incidents) is written before any queued ordinary batch, in
        one transaction; an ordinary batch may be split into several.
        ``hub_counts`` is per hub (messages, last received, last sent) and
        ``rejects`` per hub (count, last reason): both are added to the hub rows.
        """

    # -- hubs
    async def register_hub(self, hub_id: str, name: str = "", at: float = 0.0) -> bool:
        """Register a hub (True if it was new)."""

    async def unregister_hub(self, hub_id: str) -> bool:
        """Forget a hub's registration (its history stays)."""

    async def registered_hubs(self) -> set[str]:
        """Return the ids of registered hubs."""

    async def set_status(self, hub_id: str, status: str, at: float) -> None:
        """Record a hub's new link state."""

    async def hub_statuses(self) -> list[HubStatus]:
        """Return every registered hub's link state."""

    async def hubs(self, *, full: bool = False) -> list[dict[str, Any]]:
        """Return every registered hub with a summary (``full``: with registry and health, in one read)."""

    async def hub(self, hub_id: str) -> dict[str, Any] | None:
        """Return one hub with its registry, health and counters."""

    # -- data
    async def incidents(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        hub_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Return federated incidents, newest first."""

    async def incident(self, incident_id: str, hub_id: str | None = None) -> dict[str, Any] | None:
        """Return one federated incident with its timeline and snapshots."""

    async def events(self, hub_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Return a hub's latest events."""

    async def messages(
        self, *, hub_id: str | None = None, kind: str | None = None, after_seq: int = 0, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Return stored messages in arrival order (for audits, exports and tests)."""

    async def count_messages(
        self, *, hub_id: str | None = None, kind: str | None = None, type_: str | None = None
    ) -> int:
        """Return how many messages are stored (per hub, kind and event type)."""

    async def kpi_reports(self, month: str) -> list[dict[str, Any]]:
        """Return, per hub, its newest valid ``kpi_month`` report for ``month`` and its newest refused one.

        Kept at ingest (newest by the hub's ``sent_at`` wins): ``{hub_id, month, id, sent_at,
        data, rejected_id, rejected_at, rejected_reason}``; ``data`` is None when only a refused
        report came.  For :mod:`integrations.station.kpis`.
        """

    async def hub_events(
        self, types: Sequence[str], since: float, until: float, *, hub_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return events of ``types`` that hubs sent in [since, until) (``sent_at``, the hub's clock).

        Oldest first, each ``{id, hub_id, type, data, time, sent_at, received_at}``: for the
        monthly figures (:mod:`integrations.station.kpis`), which read the programme's events.
        """

    async def snapshot(self, hub_id: str, msg_id: str) -> dict[str, Any] | None:
        """Return a stored snapshot's row."""

    async def incident_facts(self, since: float, until: float) -> list[dict[str, Any]]:
        """Return every incident opened in [since, until): hub_id, id, kind, status, opened_at, acknowledged_at.

        For the console's monthly figures (a month may hold more incidents than a page).
        """

    async def sos_latencies(self, since: float, until: float) -> dict[str, list[float]]:
        """Return hub id → seconds from each SOS incident's opening (hub clock) to its arrival here.

        For SOS incidents opened in [since, until), drills included (they take the same path).
        """

    async def record_incident(self, hub_id: str, incident: dict[str, Any], entry: dict[str, Any]) -> None:
        """Write an incident the station itself opened about a hub (supervision), with one timeline entry.

        ``incident`` has the stored columns (id, kind, severity, status, title, place,
        location, entities, data, opened_at, updated_at, closed_at, acknowledged_at,
        acknowledged_by); ``entry`` has id, ts, actor, kind, text, data.  Upserted by
        ``updated_at`` like a hub's incident, in the incidents' own (urgent) lane.
        """

    # -- commands
    async def add_command(self, record: CommandRecord) -> None:
        """Record a command about to be sent."""

    async def command_result(
        self, command_id: str, hub_id: str, status: str, result: Any, error: str | None, at: float
    ) -> bool:
        """Record a command's end (the hub's answer, or expired/failed); False if unknown or another hub's."""

    async def command(self, command_id: str) -> CommandRecord | None:
        """Return one command."""

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

    async def mark_sent(self, command_id: str, at: float) -> bool:
        """Record that a queued or sent command went out (again); False if it is already finished."""

    async def import_commands(self, records: Sequence[CommandRecord]) -> int:
        """Adopt commands kept elsewhere before the tables were merged (console ones); return how many."""
