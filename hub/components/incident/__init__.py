"""Incidents: the product's central record.

An incident is opened by an SOS press, a motion alarm, a LINE tip, an alarm
panel or a person; it moves open → acknowledged → dispatched → closed, and
every step (who, when, what, attachments) goes on its timeline.  Rows are
written before events fire, so what listeners see is already on disk.

Each change (the incident row, its timeline entry, and every row plugins add
through the ``incident_written`` hook, such as federation's outbox row) is one
transaction: what follows an incident is on disk exactly when the incident is.
A timeline entry's row id is fixed before the write, so plugins can name it in
their own rows and the event can carry it.  When the database cannot take it
for a passing reason (a full disk, a lock held by a backup), the incident is *held*: kept in memory with the rows it still owes,
readable through :meth:`IncidentManager.get` and :meth:`~IncidentManager.find`,
and written by a retry loop once the database takes writes again.  An SOS must
still light the area and reach LINE on a full disk; refusing the incident would
stop the alert at its first step.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.components.incident.const import RUNTIME
from hub.core.context import Context
from hub.core.errors import Refused
from hub.core.ids import ulid
from hub.core.retry import Backoff
from hub.hookspecs import hookimpl
from hub.storage import Params, is_passing

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "Incident",
    "IncidentManager",
    "IncidentRows",
    "KINDS",
    "STATUSES",
    "IncidentNotFound",
    "TimelineEntry",
)

_LOGGER = logging.getLogger(__name__)

#: ``supervision``: a device or hub that stopped reporting (never an SOS, whatever it concerns).
KINDS = ("sos", "motion", "tip", "manual", "alarm", "supervision")
SEVERITIES = ("info", "low", "medium", "high", "critical")
STATUSES = ("open", "acknowledged", "dispatched", "closed")
EVENT_OPENED = "incident_opened"
EVENT_UPDATED = "incident_updated"

Kind = Literal["sos", "motion", "tip", "manual", "alarm", "supervision"]
Severity = Literal["info", "low", "medium", "high", "critical"]


class IncidentNotFound(Refused):
    """No incident has that id."""

    status = 404


@dataclass
class TimelineEntry:
    """One step in an incident's life."""

    ts: float
    actor: str
    kind: str
    text: str
    attachments: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    #: Its row id in ``incident_timeline``, fixed before the row is written (0: not known).
    id: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form (the row id is not part of it: the event carries it apart)."""
        return {
            "ts": self.ts,
            "actor": self.actor,
            "kind": self.kind,
            "text": self.text,
            "attachments": self.attachments,
            "data": self.data,
        }


@dataclass
class Incident:
    """An incident and its timeline."""

    id: str
    kind: str
    severity: str
    status: str
    title: str
    place: str
    lat: float | None
    lon: float | None
    entities: list[str]
    data: dict[str, Any]
    opened_at: float
    updated_at: float
    closed_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)
    #: A test press or exercise (DESIGN §13): shown as a drill everywhere, counted apart.
    drill: bool = False

    @property
    def entity_id(self) -> str:
        """Return the entity that mirrors this incident while it is open."""
        return f"incident.{self.id.lower()}"

    def as_dict(self, timeline: bool = True) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "status": self.status,
            "title": self.title,
            "place": self.place,
            "location": {"lat": self.lat, "lon": self.lon} if self.lat is not None else None,
            "entities": self.entities,
            "data": self.data,
            "opened_at": self.opened_at,
            "updated_at": self.updated_at,
            "closed_at": self.closed_at,
            "acknowledged_at": self.acknowledged_at,
            "acknowledged_by": self.acknowledged_by,
            "entity_id": self.entity_id,
            "drill": self.drill,
        }
        if timeline:
            out["timeline"] = [t.as_dict() for t in self.timeline]
        return out


@dataclass(frozen=True, slots=True)
class IncidentRows:
    """What a plugin adds to an incident change's own transaction (``incident_written``).

    ``rows`` are written with the incident row and its timeline entry, all or none.
    ``committed`` runs in the event loop once they are on disk (at once, or later when the
    incident was held while the database refused writes); never if they are not written.
    It must not raise or block: it is where a plugin tells its in-memory state ("queue
    this outbox row for sending") that the rows exist.
    """

    rows: Sequence[tuple[str, Params]] = ()
    committed: Callable[[], None] | None = None


# -- service schemas ---------------------------------------------------------


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenSchema(_Schema):
    kind: Kind = "manual"
    severity: Severity = "high"
    title: str = ""
    place: str = ""
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    entities: list[str] = []
    entity_id: str | list[str] | None = None
    text: str = ""
    data: dict[str, Any] = {}
    drill: bool = False

    @model_validator(mode="after")
    def _says_something(self) -> OpenSchema:
        # An SOS or an alarm says what happened by its kind; a manual incident with no
        # title, text, place or entity is an empty row on everyone's board.
        described = self.title.strip() or self.text.strip() or self.place.strip()
        if self.kind == "manual" and not (described or self.entities or self.entity_id):
            raise ValueError("a manual incident needs a title, a text, a place or an entity")
        return self


class IdSchema(_Schema):
    incident_id: str
    text: str = ""
    by: str = ""


class NoteSchema(_Schema):
    incident_id: str
    text: str
    by: str = ""
    attachments: list[str] = []


class DispatchSchema(_Schema):
    incident_id: str
    unit: str
    text: str = ""
    by: str = ""


_INSERT_INCIDENT = (
    "INSERT INTO incidents (id, kind, severity, status, title, place, lat, lon, entities, data, "
    "opened_at, updated_at, open_key, drill) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
#: The incident plugin's own migrations (after the core's): the drill flag (DESIGN §13).
MIGRATIONS: tuple[str, ...] = ("ALTER TABLE incidents ADD COLUMN drill INTEGER NOT NULL DEFAULT 0;",)
#: How long a drill press's context marks the incidents its automations open.
_DRILL_CONTEXT_TTL = 3600.0
_INSERT_ENTRY = (
    "INSERT INTO incident_timeline (id, incident_id, ts, actor, kind, text, attachments, data) "
    "VALUES (?,?,?,?,?,?,?,?)"
)
_UPDATE_INCIDENT = "UPDATE incidents SET status=?, updated_at=?, closed_at=?, acknowledged_at=?, acknowledged_by=? WHERE id=?"
# Retry backoff for held incidents: quick enough that a freed disk is noticed within
# seconds, slow enough not to spin on a disk that stays full for an hour.
_RETRY_FIRST = 0.5
_RETRY_MAX = 10.0
#: SQLite's message when a timeline row id is taken (see IncidentManager._renumber).
_TIMELINE_PK = "incident_timeline.id"
#: Incidents kept in memory after their last change, so the next step of an SOS
#: (its LINE card, its snapshot note) reads them without a database round trip.
_RECENT = 256


def _entry_row(incident_id: str, entry: TimelineEntry) -> tuple[str, Params]:
    return (
        _INSERT_ENTRY,
        (
            entry.id,
            incident_id,
            entry.ts,
            entry.actor,
            entry.kind,
            entry.text,
            json.dumps(entry.attachments),
            json.dumps(entry.data, ensure_ascii=False, default=str),
        ),
    )


def _without_timeline(inc: Incident) -> Incident:
    return copy.deepcopy(dataclasses.replace(inc, timeline=[]))


@dataclass
class _Held:
    """An incident the database has not taken yet, and the rows it still owes."""

    incident: Incident
    rows: list[tuple[str, Params]]
    key: str | None
    since: float
    #: ``IncidentRows.committed`` callbacks owed once ``rows`` are written, in order.
    after: list[Callable[[], None]] = field(default_factory=list)


def _run_all(callbacks: list[Callable[[], None]]) -> Callable[[], None]:
    """Return one callable running each of ``callbacks``; one that raises does not stop the rest."""

    def run() -> None:
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _LOGGER.exception("incident_written: a committed callback failed")

    return run


def _row_to_incident(row: Any) -> Incident:
    return Incident(
        id=row["id"],
        kind=row["kind"],
        severity=row["severity"],
        status=row["status"],
        title=row["title"],
        place=row["place"],
        lat=row["lat"],
        lon=row["lon"],
        entities=json.loads(row["entities"] or "[]"),
        data=json.loads(row["data"] or "{}"),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        closed_at=row["closed_at"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        drill=bool(row["drill"]),
    )


class IncidentManager:
    """Opens, updates and reads incidents."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        #: Incidents waiting for the database, by id (see the module docstring).
        self._held: dict[str, _Held] = {}
        self._retry: asyncio.Task[None] | None = None
        #: Context ids of drill presses → when marked (see :meth:`mark_drill`).
        self._drill_contexts: dict[str, float] = {}
        #: The latest state (without timeline) of recently changed incidents.  Only this
        #: manager writes incidents, so the copy is never stale.
        self._recent: OrderedDict[str, Incident] = OrderedDict()
        #: The last timeline row id handed out (see :meth:`load`).
        self._last_entry = 0

    async def load(self) -> None:
        """Read where timeline row ids continue, and mirror open incidents as entities."""
        row = await self.hub.storage.fetchone("SELECT MAX(id) AS last FROM incident_timeline")
        self._last_entry = int(row["last"] or 0) if row is not None else 0
        for inc in await self.find(status="active", limit=1000):
            self._mirror(inc, None)

    @property
    def held(self) -> int:
        """Return how many incidents are only in memory, waiting for the database."""
        return len(self._held)

    def mark_drill(self, context: Context) -> None:
        """Say that ``context`` (a test press) is a drill.

        An incident opened under it, or under a context it caused (the automation run
        a press starts), is a drill, whatever the automation passes: a blueprint that
        has never heard of drills must still not turn a test press into a real alarm.
        """
        now = self.hub.clock.time()
        self._drill_contexts = {k: t for k, t in self._drill_contexts.items() if now - t < _DRILL_CONTEXT_TTL}
        self._drill_contexts[context.id] = now

    def is_drill(self, context: Context | None) -> bool:
        """Return whether ``context`` or its parent was marked as a drill."""
        if context is None or not self._drill_contexts:
            return False
        return context.id in self._drill_contexts or (
            context.parent_id is not None and context.parent_id in self._drill_contexts
        )

    def _actor(self, context: Context | None, by: str = "") -> str:
        if by:
            return by
        if context is not None and context.user_id:
            return f"user:{context.user_id}"
        return "hub"

    def _entry(
        self,
        ts: float,
        actor: str,
        kind: str,
        text: str,
        attachments: list[str] | None = None,
        data: dict[str, Any] | None = None,
    ) -> TimelineEntry:
        return TimelineEntry(
            ts, actor, kind, text, list(attachments or []), dict(data or {}), self._next_entry_id()
        )

    def _next_entry_id(self) -> int:
        # Row ids are handed out here, not by SQLite, so the entry is named before it is
        # written: plugins put the id in their rows of the same transaction.  One writer
        # (this manager) makes MAX(id)+1 safe; _renumber steps over anyone else's rows.
        self._last_entry += 1
        return self._last_entry

    def _remember(self, inc: Incident) -> None:
        self._recent[inc.id] = _without_timeline(inc)
        self._recent.move_to_end(inc.id)
        while len(self._recent) > _RECENT:
            self._recent.popitem(last=False)

    async def open(
        self,
        kind: str = "manual",
        *,
        severity: str = "high",
        title: str = "",
        place: str = "",
        lat: float | None = None,
        lon: float | None = None,
        entities: list[str] | None = None,
        text: str = "",
        data: dict[str, Any] | None = None,
        context: Context | None = None,
        actor: str = "",
        key: str | None = None,
        drill: bool = False,
    ) -> Incident:
        """Open an incident, write it, mirror it as an entity, fire ``incident_opened``; return it.

        ``key`` makes the call idempotent: the same key again returns the incident it opened.
        ``drill`` (or a context marked by :meth:`mark_drill`) opens it as a drill.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if key:
            for held in self._held.values():
                if held.key == key:
                    return copy.deepcopy(held.incident)
        now = self.hub.clock.time()
        if lat is None and self.hub.core.location is not None:
            lat, lon = self.hub.core.location.lat, self.hub.core.location.lon
        inc = Incident(
            id=ulid(),
            kind=kind,
            severity=severity,
            status="open",
            title=title or f"{kind.upper()} {place}".strip(),
            place=place or self.hub.name,
            lat=lat,
            lon=lon,
            entities=list(entities or []),
            data=dict(data or {}),
            opened_at=now,
            updated_at=now,
            drill=drill or self.is_drill(context),
        )
        entry = self._entry(now, self._actor(context, actor), "opened", text or inc.title)
        inc.timeline.append(entry)
        row = (
            _INSERT_INCIDENT,
            (
                inc.id,
                inc.kind,
                inc.severity,
                inc.status,
                inc.title,
                inc.place,
                inc.lat,
                inc.lon,
                json.dumps(inc.entities),
                json.dumps(inc.data, ensure_ascii=False, default=str),
                now,
                now,
                key or None,
                int(inc.drill),
            ),
        )

        # The incident and its first entry in one transaction: never an incident without "opened".
        async def current() -> Incident:
            return copy.deepcopy(inc)

        try:
            await self._write(inc, entry, [row, _entry_row(inc.id, entry)], current, key=key)
        except sqlite3.IntegrityError:
            # The unique open_key: the same call again (a run re-run after a crash, a client
            # retrying).  Found on conflict rather than looked up first, so the SOS path pays
            # no extra read for a repeat that almost never happens.
            existing = await self._by_key(key) if key else None
            if existing is None:
                raise
            _LOGGER.info("incident.open repeated with key %s: incident %s is already open", key, existing.id)
            return existing
        self._remember(inc)
        self._mirror(inc, context)
        self.hub.bus.fire(
            EVENT_OPENED,
            {"incident_id": inc.id, "entry_id": entry.id, "incident": inc.as_dict()},
            context,
        )
        return inc

    async def _by_key(self, key: str) -> Incident | None:
        row = await self.hub.storage.fetchone("SELECT id FROM incidents WHERE open_key = ?", (key,))
        return await self.get(row["id"]) if row is not None else None

    # -- writing, and holding what the database refuses ------------------------------

    async def _followers(self, inc: Incident, entry: TimelineEntry) -> IncidentRows:
        """Collect the rows plugins add to this change (``incident_written``), isolated per plugin."""
        rows: list[tuple[str, Params]] = []
        after: list[Callable[[], None]] = []
        plugins = self.hub.plugins
        for info, result in await plugins.hooks.incident_written(hub=self.hub, incident=inc, entry=entry):
            if result is None:
                continue
            if not isinstance(result, IncidentRows):
                err = TypeError(f"incident_written returned {type(result).__name__}, not IncidentRows")
                plugins.record_hook_error(info, "incident_written", err)
                continue
            rows.extend(result.rows)
            if result.committed is not None:
                after.append(result.committed)
        return IncidentRows(rows, _run_all(after) if after else None)

    async def _write(
        self,
        inc: Incident,
        entry: TimelineEntry,
        rows: Sequence[tuple[str, Params]],
        current: Callable[[], Awaitable[Incident]],
        *,
        key: str | None = None,
        apply: Callable[[Incident], None] | None = None,
    ) -> None:
        """Commit ``rows`` and the plugins' rows for one change, or hold them if the database refuses.

        ``inc`` is the incident as it is after the change (plugins see it); ``current``
        returns it with its timeline (only awaited when holding; reads still work when
        writes do not); ``apply`` makes the same change to an incident already held.
        """
        follow = await self._followers(inc, entry)
        own = rows
        rows = [*rows, *follow.rows]
        held = self._held.get(inc.id)
        if held is not None:
            # Behind rows that are not written yet: queue after them, in order.
            held.rows.extend(rows)
            if follow.committed is not None:
                held.after.append(follow.committed)
            if apply is not None:
                apply(held.incident)
            return
        try:
            try:
                try:
                    await self.hub.storage.transaction(rows)
                except sqlite3.IntegrityError as err:
                    if _TIMELINE_PK not in str(err):
                        raise
                    # Someone else wrote timeline rows (a restored backup, a hand edit in the
                    # sqlite3 shell): continue after theirs rather than lose the change.
                    await self._renumber(entry, err)
                    own = [_entry_row(inc.id, entry) if r[0] == _INSERT_ENTRY else r for r in own]
                    follow = await self._followers(inc, entry)
                    rows = [*own, *follow.rows]
                    await self.hub.storage.transaction(rows)
            except Exception as err:
                if is_passing(err) or not follow.rows:
                    raise
                # A plugin's row the database will never take must not cost the incident:
                # write the change without the plugins' rows (the same error again means the
                # core's own rows are at fault, such as a repeated idempotency key).
                follow, rows = IncidentRows(), list(own)
                await self.hub.storage.transaction(rows)
                _LOGGER.error(
                    "Incident %s: the rows plugins added were refused (%s); written without them",
                    inc.id,
                    err,
                )
        except Exception as err:
            if not is_passing(err):
                raise
            incident = await current()
            after = [follow.committed] if follow.committed is not None else []
            self._held[inc.id] = _Held(incident, rows, key, self.hub.clock.time(), after)
            _LOGGER.error(
                "Incident %s (%s) is held in memory: the database refused it (%s). "
                "It is written as soon as the database takes writes again.",
                inc.id,
                incident.title,
                err,
            )
            if self._retry is None or self._retry.done():
                self._retry = self.hub.create_background_task(self._write_held(), "incident write retry")
            return
        if follow.committed is not None:
            follow.committed()

    async def _renumber(self, entry: TimelineEntry, err: Exception) -> None:
        row = await self.hub.storage.fetchone("SELECT MAX(id) AS last FROM incident_timeline")
        taken = int(row["last"] or 0) if row is not None else 0
        _LOGGER.warning(
            "Timeline row %d was already taken (%s): another writer added rows up to %d; continuing after them",
            entry.id,
            err,
            taken,
        )
        self._last_entry = max(self._last_entry, taken)
        entry.id = self._next_entry_id()

    async def _write_held(self) -> None:
        backoff = Backoff(_RETRY_FIRST, _RETRY_MAX)
        while self._held:
            await backoff.sleep(self.hub.clock)
            if not await self.write_held():
                backoff.reset()

    async def write_held(self, *, final: bool = False) -> bool:
        """Try once to write each held incident, in order; return whether the database still refuses.

        ``final`` (at shutdown): what cannot be written now is logged in full and dropped.
        """
        for incident_id, held in list(self._held.items()):
            rows, after = list(held.rows), list(held.after)
            try:
                await self.hub.storage.transaction(rows)
            except Exception as err:  # noqa: BLE001 - sorted below: passing (retry) or not (give up, loudly)
                passing = is_passing(err)
                if passing and not final:
                    return True
                # Logged with everything needed to re-enter it by hand: a row the database
                # will never take, or the last chance before the process ends.
                _LOGGER.error(
                    "Incident %s %s (%s): %s",
                    incident_id,
                    "is lost with this shutdown" if passing else "cannot be written; giving up on it",
                    err,
                    json.dumps(held.incident.as_dict(), ensure_ascii=False, default=str),
                )
                del self._held[incident_id]
                continue
            # Rows added while the transaction ran stay for the next round.
            del held.rows[: len(rows)]
            del held.after[: len(after)]
            for callback in after:
                callback()
            if not held.rows:
                del self._held[incident_id]
                _LOGGER.warning(
                    "Incident %s written to the database after %.0f s in memory",
                    incident_id,
                    self.hub.clock.time() - held.since,
                )
        return False

    def _mirror(self, inc: Incident, context: Context | None) -> None:
        if inc.status == "closed":
            self.hub.states.remove(inc.entity_id, context)
            return
        self.hub.states.set(
            inc.entity_id,
            inc.status,
            {
                "friendly_name": inc.title,
                "incident_id": inc.id,
                "kind": inc.kind,
                "severity": inc.severity,
                "place": inc.place,
                "opened_at": inc.opened_at,
                "acknowledged_by": inc.acknowledged_by,
                "drill": inc.drill,
            },
            context=context,
        )

    # -- reading ------------------------------------------------------------------------

    async def get(self, incident_id: str, timeline: bool = True) -> Incident:
        """Return the incident or raise IncidentNotFound.

        Without ``timeline``, an incident changed recently (the one an SOS just opened) is
        answered from memory: the LINE card and the snapshot note that follow an
        ``incident.open`` cost no database read.
        """
        held = self._held.get(incident_id)
        if held is not None:
            inc = copy.deepcopy(held.incident)
            if not timeline:
                inc.timeline = []
            return inc
        if not timeline:
            recent = self._recent.get(incident_id)
            if recent is not None:
                return copy.deepcopy(recent)
        row = await self.hub.storage.fetchone("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        if row is None:
            raise IncidentNotFound(f"incident {incident_id} not found")
        inc = _row_to_incident(row)
        if timeline:
            rows = await self.hub.storage.fetchall(
                "SELECT * FROM incident_timeline WHERE incident_id = ? ORDER BY ts, id", (incident_id,)
            )
            inc.timeline = [
                TimelineEntry(
                    r["ts"],
                    r["actor"],
                    r["kind"],
                    r["text"],
                    json.loads(r["attachments"] or "[]"),
                    json.loads(r["data"] or "{}"),
                    int(r["id"]),
                )
                for r in rows
            ]
        return inc

    async def find(
        self, status: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[Incident]:
        """Return incidents, newest first."""
        sql = "SELECT * FROM incidents"
        params: list[Any] = []
        where: list[str] = []
        if status == "active":
            where.append("status != 'closed'")
        elif status:
            where.append("status = ?")
            params.append(status)
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY opened_at DESC LIMIT ?"
        limit = max(1, min(limit, 1000))
        params.append(limit)
        found = [_row_to_incident(r) for r in await self.hub.storage.fetchall(sql, params)]
        return self._with_held(found, status, kind)[:limit]

    async def open_or_closed_since(self, since: float) -> list[Incident]:
        """Return every incident still open, and those closed at or after ``since`` (no timelines).

        What a plugin that follows incidents reads at start (a camera's ``on_alarm``
        window), instead of reading the core's tables itself.
        """
        rows = await self.hub.storage.fetchall(
            "SELECT * FROM incidents WHERE status != 'closed' OR closed_at >= ? ORDER BY opened_at",
            (since,),
        )
        found = [_row_to_incident(r) for r in rows]
        held = self._with_held(found, None, None)
        wanted = [
            i for i in held if i.status != "closed" or (i.closed_at is not None and i.closed_at >= since)
        ]
        return sorted(wanted, key=lambda i: i.opened_at)

    def _with_held(self, found: list[Incident], status: str | None, kind: str | None) -> list[Incident]:
        if not self._held:
            return found
        # Held incidents are newer than what the database says about them.
        by_id = {inc.id: inc for inc in found}
        for held in self._held.values():
            inc = held.incident
            by_id.pop(inc.id, None)
            wanted = (
                status is None or (inc.status != "closed" if status == "active" else inc.status == status)
            ) and (not kind or inc.kind == kind)
            if wanted:
                by_id[inc.id] = _without_timeline(inc)
        return sorted(by_id.values(), key=lambda i: i.opened_at, reverse=True)

    # -- changing -----------------------------------------------------------------------

    async def _update(
        self,
        incident_id: str,
        *,
        status: str | None,
        actor: str,
        kind: str,
        text: str,
        context: Context | None,
        attachments: list[str] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Incident:
        inc = await self.get(incident_id, timeline=False)
        now = self.hub.clock.time()
        if status is not None:
            if inc.status == "closed" and status != "closed":
                raise ValueError(f"incident {incident_id} is closed")
            if STATUSES.index(status) < STATUSES.index(inc.status) and status != "closed":
                # An ack arriving after dispatch is recorded but does not move it back.
                status = inc.status
            if status == "acknowledged" and inc.acknowledged_at is None:
                inc.acknowledged_at, inc.acknowledged_by = now, actor
            if status == "closed":
                inc.closed_at = now
            inc.status = status
        inc.updated_at = now
        entry = self._entry(now, actor, kind, text, attachments, data)
        changed = inc

        def apply(target: Incident) -> None:
            target.status, target.updated_at, target.closed_at = changed.status, now, changed.closed_at
            target.acknowledged_at, target.acknowledged_by = changed.acknowledged_at, changed.acknowledged_by
            target.timeline.append(entry)

        async def current() -> Incident:
            before = await self.get(incident_id)
            apply(before)
            return before

        rows = [
            (
                _UPDATE_INCIDENT,
                (inc.status, now, inc.closed_at, inc.acknowledged_at, inc.acknowledged_by, incident_id),
            ),
            _entry_row(incident_id, entry),
        ]
        try:
            await self._write(inc, entry, rows, current, apply=apply)
        except BaseException:
            self._recent.pop(incident_id, None)  # read it from the database next time
            raise
        self._remember(inc)
        self._mirror(inc, context)
        self.hub.bus.fire(
            EVENT_UPDATED,
            {
                "incident_id": incident_id,
                "change": kind,
                "entry_id": entry.id,
                "entry": entry.as_dict(),
                "incident": inc.as_dict(timeline=False),
            },
            context,
        )
        return inc

    async def ack(
        self,
        incident_id: str,
        *,
        by: str = "",
        text: str = "",
        context: Context | None = None,
        data: dict[str, Any] | None = None,
    ) -> Incident:
        """Acknowledge an incident."""
        actor = self._actor(context, by)
        return await self._update(
            incident_id,
            status="acknowledged",
            actor=actor,
            kind="acknowledged",
            # The entry's kind and actor say who acknowledged; the page says it in the reader's language.
            text=text,
            context=context,
            data=data,
        )

    async def dispatch(
        self, incident_id: str, unit: str, *, by: str = "", text: str = "", context: Context | None = None
    ) -> Incident:
        """Record that a unit was sent."""
        actor = self._actor(context, by)
        return await self._update(
            incident_id,
            status="dispatched",
            actor=actor,
            kind="dispatched",
            text=text or f"dispatched {unit}",
            context=context,
            data={"unit": unit},
        )

    async def close(
        self, incident_id: str, *, by: str = "", text: str = "", context: Context | None = None
    ) -> Incident:
        """Close an incident."""
        actor = self._actor(context, by)
        return await self._update(
            incident_id,
            status="closed",
            actor=actor,
            kind="closed",
            text=text or f"closed by {actor}",
            context=context,
        )

    async def note(
        self,
        incident_id: str,
        text: str,
        *,
        by: str = "",
        attachments: list[str] | None = None,
        kind: str = "note",
        data: dict[str, Any] | None = None,
        context: Context | None = None,
    ) -> Incident:
        """Add a timeline entry (a note, a snapshot, a LINE delivery result...)."""
        return await self._update(
            incident_id,
            status=None,
            actor=self._actor(context, by),
            kind=kind,
            text=text,
            context=context,
            attachments=attachments,
            data=data,
        )


# -- plugin hooks (incidents are a core plugin) ----------------------------------


@hookimpl
def storage_migrations() -> Sequence[str]:
    """Return the incident plugin's own migrations (the drill flag)."""
    return MIGRATIONS


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Give incidents still held in memory a last chance to reach the database."""
    mgr = hub.data.get(RUNTIME)
    if mgr is not None and mgr.held:
        await mgr.write_held(final=True)


@hookimpl
async def setup(hub: Hub) -> None:
    """Create the incident manager and its services."""
    mgr = IncidentManager(hub)
    hub.data[RUNTIME] = mgr
    await mgr.load()

    async def svc_open(call: Any) -> dict[str, Any]:
        m: OpenSchema = call.model
        entities = list(m.entities)
        if m.entity_id:
            entities += [m.entity_id] if isinstance(m.entity_id, str) else list(m.entity_id)
        inc = await mgr.open(
            m.kind,
            severity=m.severity,
            title=m.title,
            place=m.place,
            lat=m.lat,
            lon=m.lon,
            entities=entities,
            text=m.text,
            data=m.data,
            context=call.context,
            key=call.key,
            drill=m.drill,
        )
        # The incident itself, so a caller (the REST API, an automation's response_variable)
        # needs no second read; ``incident_id`` stays for the callers written against it.
        return {"incident_id": inc.id, "incident": inc.as_dict()}

    async def svc_ack(call: Any) -> dict[str, Any]:
        inc = await mgr.ack(
            call.model.incident_id, by=call.model.by, text=call.model.text, context=call.context
        )
        return {"incident_id": inc.id, "status": inc.status}

    async def svc_close(call: Any) -> dict[str, Any]:
        inc = await mgr.close(
            call.model.incident_id, by=call.model.by, text=call.model.text, context=call.context
        )
        return {"incident_id": inc.id, "status": inc.status}

    async def svc_note(call: Any) -> dict[str, Any]:
        m: NoteSchema = call.model
        inc = await mgr.note(m.incident_id, m.text, by=m.by, attachments=m.attachments, context=call.context)
        return {"incident_id": inc.id}

    async def svc_dispatch(call: Any) -> dict[str, Any]:
        m: DispatchSchema = call.model
        inc = await mgr.dispatch(m.incident_id, m.unit, by=m.by, text=m.text, context=call.context)
        return {"incident_id": inc.id, "status": inc.status}

    reg = hub.services.register
    reg("incident", "open", svc_open, OpenSchema, description="Open an incident", idempotent=True)
    reg("incident", "ack", svc_ack, IdSchema, description="Acknowledge an incident")
    reg("incident", "dispatch", svc_dispatch, DispatchSchema, description="Record a dispatched unit")
    reg("incident", "close", svc_close, IdSchema, description="Close an incident")
    reg("incident", "note", svc_note, NoteSchema, description="Add a note to an incident's timeline")


@hookimpl
def service_schemas() -> dict[str, Any]:
    """Return the incident services' schemas (for ``check``)."""
    return {
        "incident.open": OpenSchema,
        "incident.ack": IdSchema,
        "incident.dispatch": DispatchSchema,
        "incident.close": IdSchema,
        "incident.note": NoteSchema,
    }


@hookimpl
def streamed_events() -> list[str]:
    """Pages follow incidents live."""
    return [EVENT_OPENED, EVENT_UPDATED]


@hookimpl
def register_condition_platforms() -> dict[str, Any]:
    """Offer ``condition: incident`` (is an incident of some kind open here?)."""
    from hub.components.incident.condition import IncidentCondition

    return {"incident": IncidentCondition()}
