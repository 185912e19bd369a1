"""Footage requests at the station: ask a hub for recorded video, receive it, pack it as evidence.

An operator asks for a window of one hub's cameras, with a reason and a case
number.  The request is checked here (window, cameras in the hub's registry),
stored, audited, and sent to the hub as the durable ``footage.request``
command (queued while the hub is offline).  The hub's owner policy decides;
the hub answers, and reports each later change as a ``footage_status`` event.
Approved clips arrive over HTTP from the hub (it dials out): each is declared
(size, SHA-256), sent in chunks at the offset this side confirms, and kept
only when its hash matches.  The hub's signed manifest then makes the request
*delivered*.  A restart of either side mid-upload loses nothing and stores
nothing twice: the partial file on disk *is* the offset.

Clips are kept under ``<data_dir>/station_footage/<hub>/<request>/``.  The
tables are this module's own (component ``station_footage``); station workers
on one PostgreSQL keep them there, shared (:data:`SHARED_PG_MIGRATIONS`), so
the desk's list and each request are the same on every worker, while a
request's clips stay in the folder of the worker that asked (its claim).  Receiving the
clips is :mod:`.footage_uploads`, the evidence pack :mod:`.footage_pack`, the
HTTP routes :mod:`.footage_api`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from hub.core.bus import Event
from hub.core.ids import ulid
from hub.keys import HubKey
from integrations.federation.const import EVENT_FOOTAGE_STATUS, FOOTAGE_REQUEST_COMMAND
from integrations.federation.protocol import ID_RE, NAME_RE
from integrations.station.const import EVENT_COMMAND_RESULT, EVENT_EVENT, EVENT_PEER_COMMAND
from integrations.station.store_pg import PgStationStore
from integrations.video.evidence import EvidenceKey, PublicKey, load_evidence_key, parse_public_key
from integrations.video.footage_protocol import STATES

if TYPE_CHECKING:
    from hub.hub import Hub
    from hub.storage import Storage
    from integrations.station.footage_config import StationFootageConfig
    from integrations.station.runtime import Station
    from integrations.station.workers import Claim

__all__ = (
    "FOOTAGE",
    "FootageDesk",
    "FootageError",
    "MIGRATIONS",
    "SHARED_PG_MIGRATIONS",
    "AUDIT_REQUEST",
    "EVENT_CCOC_FOOTAGE",
)

_LOGGER = logging.getLogger(__name__)

FOOTAGE: HubKey[FootageDesk] = HubKey("station_footage")
#: Streamed to consoles when a request changes.
EVENT_CCOC_FOOTAGE = "ccoc_footage"
AUDIT_REQUEST = "station.footage.request"
AUDIT_STATE = "station.footage.state"
AUDIT_DELIVERED = "station.footage.delivered"
AUDIT_EXPORT = "station.footage.export"
AUDIT_UPLOAD_REFUSED = "station.footage.upload_refused"
COMPONENT = "station_footage"
#: The same tables on the station workers' shared PostgreSQL.
SHARED_COMPONENT = "station_footage_shared"
#: Where a worker hands a hub's ``footage_status`` to the worker whose request it is.
PEER_STATUS_PATH = "/api/station/workers/footage/status"
#: Where an officer's worker asks the worker holding a request's clips for its pack (``/{id}/pack.zip``).
PEER_FOOTAGE_PATH = "/api/station/workers/footage/requests"
#: Later states win; the last three are final (a failed request may still be delivered on a retry).
_RANK = {"pending": 0, "approved": 1, "denied": 2, "failed": 2, "delivered": 3}

MIGRATIONS: tuple[str, ...] = (
    """
    -- One row per footage request the CCOC sent to a hub.
    CREATE TABLE footage_requests (
        id TEXT PRIMARY KEY,
        hub_id TEXT NOT NULL,
        cameras TEXT NOT NULL,
        start_ts REAL NOT NULL,
        end_ts REAL NOT NULL,
        reason TEXT NOT NULL,
        case_number TEXT NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL,
        officer_name TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        state TEXT NOT NULL,
        state_reason TEXT,
        command_id TEXT,
        delivered_at REAL,
        no_footage TEXT NOT NULL DEFAULT '[]',
        hub_manifest BLOB,
        hub_signature TEXT,
        hub_key TEXT
    ) WITHOUT ROWID;
    CREATE INDEX ix_footage_requests_hub ON footage_requests (hub_id, created_at);
    CREATE INDEX ix_footage_requests_command ON footage_requests (command_id);

    -- Each clip a hub declared, and how much of it has arrived.
    CREATE TABLE footage_items (
        request_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        camera TEXT NOT NULL,
        start_ts REAL NOT NULL,
        end_ts REAL NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        received INTEGER NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0,
        path TEXT NOT NULL,
        created_at REAL NOT NULL,
        completed_at REAL,
        PRIMARY KEY (request_id, item_id)
    ) WITHOUT ROWID;

    -- What happened to a request, in order (the approvals in the evidence pack).
    CREATE TABLE footage_history (
        id INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL,
        ts REAL NOT NULL,
        state TEXT NOT NULL,
        actor TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX ix_footage_history_request ON footage_history (request_id, id);
    """,
)


#: Station workers on one PostgreSQL keep the requests there (the twins of :data:`MIGRATIONS`;
#: ``tests/integrations/station/test_shared_footage.py`` compares them).  Append, never edit.
SHARED_PG_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE footage_requests (
        id TEXT PRIMARY KEY,
        hub_id TEXT NOT NULL,
        cameras TEXT NOT NULL,
        start_ts DOUBLE PRECISION NOT NULL,
        end_ts DOUBLE PRECISION NOT NULL,
        reason TEXT NOT NULL,
        case_number TEXT NOT NULL,
        username TEXT NOT NULL,
        role TEXT NOT NULL,
        officer_name TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        state TEXT NOT NULL,
        state_reason TEXT,
        command_id TEXT,
        delivered_at DOUBLE PRECISION,
        no_footage TEXT NOT NULL DEFAULT '[]',
        hub_manifest BYTEA,
        hub_signature TEXT,
        hub_key TEXT
    );
    CREATE INDEX ix_footage_requests_hub ON footage_requests (hub_id, created_at);
    CREATE INDEX ix_footage_requests_command ON footage_requests (command_id);

    CREATE TABLE footage_items (
        request_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        camera TEXT NOT NULL,
        start_ts DOUBLE PRECISION NOT NULL,
        end_ts DOUBLE PRECISION NOT NULL,
        size BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        received BIGINT NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0,
        path TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        completed_at DOUBLE PRECISION,
        PRIMARY KEY (request_id, item_id)
    );

    CREATE TABLE footage_history (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        request_id TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        state TEXT NOT NULL,
        actor TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX ix_footage_history_request ON footage_history (request_id, id);
    """,
)
_REQUEST_COLUMNS = (
    "id, hub_id, cameras, start_ts, end_ts, reason, case_number, username, role, officer_name, created_at, "
    "updated_at, state, state_reason, command_id, delivered_at, no_footage, hub_manifest, hub_signature, hub_key"
)
_ITEM_COLUMNS = (
    "request_id, item_id, camera, start_ts, end_ts, size, sha256, received, complete, path, created_at, "
    "completed_at"
)
_HISTORY_COLUMNS = "request_id, ts, state, actor, detail"


def _marks(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


#: 2100-01-01: later "times" are typos or attacks, and would overflow datetime.
_LATEST = 4_102_444_800


class FootageError(Exception):
    """A request the station refuses, with the HTTP status to answer and extra JSON fields.

    ``code`` (also in the JSON) names the problem for clients and for the
    console, which shows it in Thai or English.
    """

    def __init__(self, message: str, status: int = 400, *, code: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.extra = {"code": code, **extra} if code else extra


def _parse_time(value: Any, name: str, tz: Any) -> float:
    """Return UNIX seconds from a number or an ISO 8601 string (local to the station without an offset)."""
    if isinstance(value, bool) or value is None:
        raise FootageError(
            f"{name} is required: an ISO 8601 time (2026-12-05T14:30:00+07:00) or UNIX seconds",
            code="time_invalid",
            field=name,
        )
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 0 <= value <= _LATEST:
            raise FootageError(
                f"{name}: {value!r} is not a time between 1970 and 2100", code="time_invalid", field=name
            )
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as err:
            raise FootageError(
                f"{name}: {value!r} is not an ISO 8601 time such as 2026-12-05T14:30:00+07:00",
                code="time_invalid",
                field=name,
            ) from err
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return _parse_time(parsed.timestamp(), name, tz)
    raise FootageError(f"{name}: expected an ISO 8601 time or UNIX seconds", code="time_invalid", field=name)


def iso_time(ts: float, tz: Any) -> str:
    """Return a UNIX time as ISO 8601 in ``tz`` (to the second)."""
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


class FootageDesk:
    """The station's side of footage requests."""

    def __init__(self, hub: Hub, station: Station, cfg: StationFootageConfig) -> None:
        self.hub = hub
        self.station = station
        self.cfg = cfg
        self.folder = hub.data_dir / cfg.folder
        self.key: EvidenceKey | None = None
        #: Where the requests' rows are: the hub's file, or the station workers' shared PostgreSQL.
        self.storage: Storage = hub.storage
        self._unsubs: list[Any] = []
        from integrations.station.footage_uploads import FootageUploads

        self.uploads = FootageUploads(self)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the tables and the station's key, and follow the hubs' answers."""
        await self.hub.storage.apply_migrations(COMPONENT, MIGRATIONS)
        shared = self.hub.shared_storage
        if shared is not self.hub.storage:
            await shared.apply_migrations(SHARED_COMPONENT, SHARED_PG_MIGRATIONS)
            await self._adopt_own(shared)
            self.storage = shared
        self.key = await load_evidence_key(self.hub)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._unsubs += [
            self.hub.bus.listen(EVENT_COMMAND_RESULT, self._on_result),
            self.hub.bus.listen(EVENT_PEER_COMMAND, self._on_peer_result),
            self.hub.bus.listen(EVENT_EVENT, self._on_event),
        ]

    async def _adopt_own(self, shared: Storage) -> None:
        """Copy the requests this worker kept in its own file before they were shared (an upgrade).

        Each request goes with its clips' rows and its history in one transaction,
        unless the shared database has it already: so each is copied once, and a
        worker's later starts copy nothing (its file gets no new requests).
        """
        own = await self.hub.storage.fetchall(f"SELECT {_REQUEST_COLUMNS} FROM footage_requests")
        for row in own:
            request_id = row["id"]
            items = [
                tuple(r)
                for r in await self.hub.storage.fetchall(
                    f"SELECT {_ITEM_COLUMNS} FROM footage_items WHERE request_id = ?", (request_id,)
                )
            ]
            history = [
                tuple(r)
                for r in await self.hub.storage.fetchall(
                    f"SELECT {_HISTORY_COLUMNS} FROM footage_history WHERE request_id = ? ORDER BY id",
                    (request_id,),
                )
            ]

            def copy(
                conn: Any,
                request: tuple[Any, ...] = tuple(row),
                items: list[tuple[Any, ...]] = items,
                history: list[tuple[Any, ...]] = history,
            ) -> None:
                added = conn.execute(
                    f"INSERT INTO footage_requests ({_REQUEST_COLUMNS}) VALUES ({_marks(_REQUEST_COLUMNS)}) "
                    "ON CONFLICT DO NOTHING",
                    request,
                ).rowcount
                if not added:
                    return
                for item in items:
                    conn.execute(
                        f"INSERT INTO footage_items ({_ITEM_COLUMNS}) VALUES ({_marks(_ITEM_COLUMNS)}) "
                        "ON CONFLICT DO NOTHING",
                        item,
                    )
                for entry in history:
                    conn.execute(
                        f"INSERT INTO footage_history ({_HISTORY_COLUMNS}) VALUES ({_marks(_HISTORY_COLUMNS)})",
                        entry,
                    )

            await shared.run_in_transaction(copy)

    async def stop(self) -> None:
        """Stop following the bus (uploads in flight are resumed by the hub)."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    def upload_url(self) -> str:
        """Return the base URL hubs upload to."""
        if self.cfg.upload_url:
            return self.cfg.upload_url.rstrip("/")
        public = self.hub.core.web.public_url
        if public:
            return str(public).rstrip("/")
        http = self.hub.http
        if http is None:
            raise FootageError(
                "the station has no web address for hubs to upload to (set web.public_url)", 503
            )
        return str(http.url)

    # -- requests ---------------------------------------------------------------------------------

    async def _registry_cameras(self, hub_id: str) -> dict[str, dict[str, Any]]:
        item = await self.station.store.hub(hub_id)
        cameras = ((item or {}).get("registry") or {}).get("cameras") or []
        return {str(c.get("entity_id")): dict(c) for c in cameras if isinstance(c, dict)}

    async def create(
        self, body: dict[str, Any], *, user: str, role: str, name: str = "", ip: str = ""
    ) -> dict[str, Any]:
        """Check, store, audit and send a request; return it.  Raises FootageError (4xx) on bad input."""
        try:
            request = await self._checked(body)
        except FootageError as err:
            await self.hub.audit.log(
                user,
                AUDIT_REQUEST,
                f"footage/{body.get('hub_id') or '?'}",
                role=role,
                detail={"request": _safe_body(body), "error": str(err)},
                source="api",
                ip=ip,
                result="refused",
            )
            raise
        from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
        from integrations.ccoc.delivery import ConsoleError

        console = self.hub.data.get(CCOC_RUNTIME)
        if console is None:
            raise FootageError("the CCOC console is not running", 503)
        upload_url = self.upload_url()
        now = self.hub.clock.time()
        request_id = ulid()
        workers = self.station.workers
        if workers is not None:
            # Several workers: the hub's uploads may land on any of them; they find this one here.
            try:
                await workers.claim("footage", request_id, request["hub_id"])
            except Exception as err:
                raise FootageError("the station database is out of reach; try again shortly", 503) from err
        await self.storage.execute(
            "INSERT INTO footage_requests (id, hub_id, cameras, start_ts, end_ts, reason, case_number, username, "
            "role, officer_name, created_at, updated_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
            (
                request_id,
                request["hub_id"],
                json.dumps(request["cameras"]),
                request["start"],
                request["end"],
                request["reason"],
                request["case_number"],
                user,
                role,
                name,
                now,
                now,
            ),
        )
        await self._history(
            request_id, "pending", f"station:{self.station.id}/{user}", {"reason": request["reason"]}
        )
        # Written before the request leaves: no record, no request.
        await self.hub.audit.log(
            user,
            AUDIT_REQUEST,
            f"footage/{request_id}",
            role=role,
            detail={
                "request_id": request_id,
                "hub_id": request["hub_id"],
                "cameras": request["cameras"],
                "start": request["start"],
                "end": request["end"],
                "reason": request["reason"],
                "case_number": request["case_number"],
            },
            source="api",
            ip=ip,
        )
        try:
            command = await console.delivery.submit(
                request["hub_id"],
                FOOTAGE_REQUEST_COMMAND,
                {
                    "request_id": request_id,
                    "cameras": request["cameras"],
                    "start": request["start"],
                    "end": request["end"],
                    "reason": request["reason"],
                    "case_number": request["case_number"],
                    "upload_url": upload_url,
                    "requested_at": now,
                },
                user=user,
                role=role,
                name=name,
                ip=ip,
            )
        except ConsoleError as err:
            # Recorded and audited already: it ends here, saying why.
            await self.set_state(
                request_id, request["hub_id"], "failed", str(err), f"station:{self.station.id}", {}
            )
            raise FootageError(str(err), err.status) from err
        await self.storage.execute(
            "UPDATE footage_requests SET command_id = ? WHERE id = ?", (command["id"], request_id)
        )
        found = await self.get(request_id)
        assert found is not None
        await self._announce(found)
        return found

    async def _checked(self, body: dict[str, Any]) -> dict[str, Any]:
        hub_id = body.get("hub_id")
        if not isinstance(hub_id, str) or not NAME_RE.match(hub_id):
            raise FootageError(
                "hub_id is required: the id of a hub registered at this station", code="hub_required"
            )
        if hub_id not in self.station.ingest.registered:
            raise FootageError(f"no hub {hub_id!r} is registered at this station", 404, code="hub_unknown")
        cameras = body.get("cameras")
        if isinstance(cameras, str):
            cameras = [cameras]
        if not isinstance(cameras, list) or not cameras or not all(isinstance(c, str) for c in cameras):
            raise FootageError(
                "cameras is required: a list of the hub's camera entity ids", code="cameras_required"
            )
        if len(cameras) > 16:
            raise FootageError("at most 16 cameras per request", code="too_many_cameras")
        cameras = list(dict.fromkeys(cameras))
        known = await self._registry_cameras(hub_id)
        missing = [c for c in cameras if c not in known]
        if missing:
            raise FootageError(
                f"hub {hub_id} has no camera {', '.join(missing)} (its cameras: {', '.join(sorted(known)) or 'none'})",
                code="camera_unknown",
                missing=missing,
            )
        tz = self.hub.clock.tz
        start = _parse_time(body.get("start"), "start", tz)
        end = _parse_time(body.get("end"), "end", tz)
        if end <= start:
            raise FootageError(
                f"end ({iso_time(end, tz)}) must be after start ({iso_time(start, tz)})",
                code="end_before_start",
            )
        longest = self.cfg.max_window_minutes * 60
        if end - start > longest:
            raise FootageError(
                f"the window is {(end - start) / 60:.0f} minutes; at most {self.cfg.max_window_minutes} minutes "
                "per request (ask for several windows)",
                code="window_too_long",
                max_window_minutes=self.cfg.max_window_minutes,
            )
        if end > self.hub.clock.time() + self.cfg.future_slack:
            raise FootageError(
                f"the window ends in the future ({iso_time(end, tz)}): footage cannot exist yet",
                code="window_future",
            )
        reason = " ".join(str(body.get("reason") or "").split())
        if not reason:
            raise FootageError("reason is required: why this footage is needed", code="reason_required")
        if len(reason) > 500:
            raise FootageError("reason is too long (at most 500 characters)", code="reason_too_long")
        case_number = " ".join(str(body.get("case_number") or "").split())
        if not case_number:
            raise FootageError(
                "case_number is required: the case this footage is evidence for", code="case_required"
            )
        if len(case_number) > 100:
            raise FootageError("case_number is too long (at most 100 characters)", code="case_too_long")
        return {
            "hub_id": hub_id,
            "cameras": cameras,
            "start": start,
            "end": end,
            "reason": reason,
            "case_number": case_number,
        }

    async def get(self, request_id: str) -> dict[str, Any] | None:
        """Return one request with its items and history, as the API shows it."""
        row = await self.storage.fetchone("SELECT * FROM footage_requests WHERE id = ?", (request_id,))
        if row is None:
            return None
        items = await self.storage.fetchall(
            "SELECT * FROM footage_items WHERE request_id = ? ORDER BY camera, start_ts", (request_id,)
        )
        history = await self.storage.fetchall(
            "SELECT ts, state, actor, detail FROM footage_history WHERE request_id = ? ORDER BY id",
            (request_id,),
        )
        tz = self.hub.clock.tz
        no_footage = json.loads(row["no_footage"] or "[]")
        state = row["state"]
        return {
            "id": row["id"],
            "hub_id": row["hub_id"],
            "cameras": json.loads(row["cameras"]),
            "start": row["start_ts"],
            "end": row["end_ts"],
            "start_iso": iso_time(row["start_ts"], tz),
            "end_iso": iso_time(row["end_ts"], tz),
            "reason": row["reason"],
            "case_number": row["case_number"],
            "requested_by": row["username"],
            "requested_by_name": row["officer_name"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
            "state": state,
            "state_reason": row["state_reason"],
            "delivered_at": row["delivered_at"],
            "no_footage": no_footage,
            "items": [
                {
                    "id": i["item_id"],
                    "camera": i["camera"],
                    "start": i["start_ts"],
                    "end": i["end_ts"],
                    "size": i["size"],
                    "sha256": i["sha256"],
                    "received": i["received"],
                    "complete": bool(i["complete"]),
                }
                for i in items
            ],
            "history": [
                {"ts": h["ts"], "state": h["state"], "actor": h["actor"], "detail": json.loads(h["detail"])}
                for h in history
            ],
            "pack_url": f"/api/ccoc/footage_requests/{row['id']}/pack.zip" if state == "delivered" else None,
        }

    async def requests(self, *, hub_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return requests, newest first."""
        sql = "SELECT id FROM footage_requests"
        params: list[Any] = []
        if hub_id:
            sql += " WHERE hub_id = ?"
            params.append(hub_id)
        sql += " ORDER BY created_at DESC LIMIT ?"
        params.append(max(1, min(limit, 500)))
        out = []
        for row in await self.storage.fetchall(sql, params):
            found = await self.get(row["id"])
            if found is not None:
                out.append(found)
        return out

    # -- what the hub says -----------------------------------------------------------------------

    async def _history(self, request_id: str, state: str, actor: str, detail: dict[str, Any]) -> None:
        await self.storage.execute(
            "INSERT INTO footage_history (request_id, ts, state, actor, detail) VALUES (?, ?, ?, ?, ?)",
            (
                request_id,
                self.hub.clock.time(),
                state,
                actor,
                json.dumps(detail, ensure_ascii=False, default=str),
            ),
        )

    async def set_state(
        self, request_id: str, hub_id: str, state: str, reason: str | None, actor: str, detail: dict[str, Any]
    ) -> bool:
        """Move a request forward (never back); return whether it changed."""
        if state not in STATES:
            return False
        row = await self.storage.fetchone(
            "SELECT state FROM footage_requests WHERE id = ? AND hub_id = ?", (request_id, hub_id)
        )
        if row is None:
            return False
        old = row["state"]
        if old == state or (_RANK[state] <= _RANK[old] and not (old == "failed" and state == "delivered")):
            return False
        if old == "delivered":
            return False
        await self.storage.execute(
            "UPDATE footage_requests SET state = ?, state_reason = ?, updated_at = ? WHERE id = ?",
            (state, reason, self.hub.clock.time(), request_id),
        )
        await self._history(request_id, state, actor, detail)
        await self.hub.audit.log(
            actor,
            AUDIT_STATE,
            f"footage/{request_id}",
            role="hub",
            detail={"state": state, "from": old, "reason": reason, **detail},
            source="federation",
        )
        found = await self.get(request_id)
        if found is not None:
            await self._announce(found)
        return True

    async def _on_result(self, event: Event) -> None:
        data = event.data
        if data.get("command") != FOOTAGE_REQUEST_COMMAND:
            return
        try:
            await self._apply_result(
                str(data.get("hub_id")), str(data.get("command_id")), str(data.get("status")), peer=False
            )
        except Exception:
            _LOGGER.exception("Footage: could not record a hub's answer to %s", data.get("command_id"))

    async def _on_peer_result(self, event: Event) -> None:
        """Another worker stored the hub's answer to a command: the holder of its request records it."""
        command_id = str(event.data.get("command_id") or "")
        try:
            record = await self.station.store.command(command_id)
            if record is not None and record.command == FOOTAGE_REQUEST_COMMAND:
                await self._apply_result(record.hub_id, command_id, record.status, peer=True)
        except Exception:
            _LOGGER.exception("Footage: could not record a hub's answer to %s", command_id)

    async def _holder(self, request_id: str) -> Claim | None:
        """Several workers: the claim of another, running worker on ``request_id``; None if it is this one's.

        The rows are shared, but the worker whose officer asked records the hub's answers: it
        tells its consoles (the live board), and exactly one worker writes each change.  One
        that is away leaves it to whichever worker heard the hub.
        """
        workers = self.station.workers
        if workers is None:
            return None
        claim = await workers.owner("footage", request_id)
        if claim is None or claim.worker_id == workers.id or not claim.alive or claim.url is None:
            return None
        return claim

    async def _apply_result(self, hub_id: str, command_id: str, status: str, *, peer: bool) -> None:
        row = await self.storage.fetchone(
            "SELECT id FROM footage_requests WHERE command_id = ? AND hub_id = ?", (command_id, hub_id)
        )
        if row is None:
            return
        workers = self.station.workers
        if workers is not None:
            # Heard of from the store (``peer``): recorded by the request's holder only.  Heard here
            # (this worker stored the answer): recorded here unless the holder runs elsewhere.
            if peer:
                claim = await workers.owner("footage", row["id"])
                if claim is None or claim.worker_id != workers.id:
                    return
            elif await self._holder(row["id"]) is not None:
                return
        record = await self.station.store.command(command_id)
        result = record.result if record is not None and isinstance(record.result, dict) else {}
        error = record.error if record is not None else None
        actor = f"hub:{hub_id}"
        if status == "ok":
            state = str(result.get("state") or "pending")
            if state == "delivered":
                return  # only the hub's signed manifest, over HTTP, makes a request delivered
            await self.set_state(
                row["id"],
                hub_id,
                "approved" if state in ("cutting", "uploading") else state,
                result.get("reason"),
                actor,
                {"decision": result.get("decision")},
            )
        elif status == "refused":
            await self.set_state(row["id"], hub_id, "denied", error or "refused by the hub", actor, {})
        else:
            await self.set_state(
                row["id"], hub_id, "failed", error or "the hub could not carry it out", actor, {}
            )

    async def _on_event(self, event: Event) -> None:
        if event.data.get("type") != EVENT_FOOTAGE_STATUS:
            return
        hub_id = str(event.data.get("hub_id"))
        body = event.data.get("data") or {}
        if body.get("state") == "delivered":
            return  # only the hub's signed manifest, over HTTP, makes a request delivered
        try:
            if not await self._pass_on(hub_id, body):
                await self.hub_status(hub_id, body)
        except Exception:
            _LOGGER.exception("Footage: could not record a status from hub %s", hub_id)

    async def hub_status(self, hub_id: str, body: dict[str, Any]) -> bool:
        """Apply a hub's ``footage_status`` to one of its requests; return whether it is one."""
        request_id = str(body.get("request_id"))
        row = await self.storage.fetchone(
            "SELECT 1 FROM footage_requests WHERE id = ? AND hub_id = ?", (request_id, hub_id)
        )
        if row is None:
            return False
        await self.set_state(
            request_id,
            hub_id,
            str(body.get("state")),
            body.get("reason"),
            str(body.get("by") or f"hub:{hub_id}"),
            {k: body.get(k) for k in ("via", "decision", "error") if body.get(k) is not None},
        )
        return True

    async def _pass_on(self, hub_id: str, body: dict[str, Any]) -> bool:
        """Several workers: hand a hub's status to the running worker that asked for the footage.

        Return whether it took it; if not (this worker asked, or the holder is away or
        does not answer), the status is recorded here, on the shared row.
        """
        workers = self.station.workers
        request_id = str(body.get("request_id"))
        if workers is None or workers.session is None or not ID_RE.match(request_id):
            return False
        claim = await self._holder(request_id)
        if claim is None or claim.hub_id != hub_id or claim.url is None:
            return False
        payload = json.dumps({"hub_id": hub_id, "status": body}, default=str).encode()
        headers = {"Content-Type": "application/json", **workers.sign("POST", PEER_STATUS_PATH, payload)}
        try:
            async with workers.session.post(
                claim.url + PEER_STATUS_PATH, data=payload, headers=headers
            ) as resp:
                if resp.status == 200:
                    return True
                _LOGGER.warning(
                    "Footage: worker %s did not take request %s's status (HTTP %s); recorded here",
                    claim.worker_id,
                    request_id,
                    resp.status,
                )
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            _LOGGER.warning(
                "Footage: worker %s did not take request %s's status (%s); recorded here",
                claim.worker_id,
                request_id,
                err,
            )
        return False

    # -- the hub's key -----------------------------------------------------------------------------

    async def hub_key(self, hub_id: str) -> PublicKey | None:
        """Return the hub's evidence key as its federation registry announces it."""
        item = await self.station.store.hub(hub_id)
        plugins = ((item or {}).get("registry") or {}).get("plugins") or {}
        for part in plugins.values():
            evidence = part.get("evidence") if isinstance(part, dict) else None
            if isinstance(evidence, dict) and isinstance(evidence.get("ed25519_public"), str):
                with contextlib.suppress(ValueError):
                    return parse_public_key(evidence["ed25519_public"])
        return None

    def announce_here(self, req: dict[str, Any]) -> None:
        """Tell this worker's consoles (the live board) that a request changed."""
        self.hub.bus.fire(
            EVENT_CCOC_FOOTAGE,
            {
                "id": req["id"],
                "hub_id": req["hub_id"],
                "state": req["state"],
                "case_number": req["case_number"],
            },
        )

    async def _announce(self, req: dict[str, Any]) -> None:
        """Tell every worker's consoles that a request changed (the others through PostgreSQL)."""
        self.announce_here(req)
        store = self.station.store
        if self.station.peers is None or not isinstance(store, PgStationStore):
            return
        try:
            await store.tell_others([{"k": "footage", "id": req["id"]}])
        except Exception as err:  # noqa: BLE001 - the change is stored; the others' boards miss one update
            _LOGGER.warning("Footage: could not tell the other workers of request %s: %s", req["id"], err)


def _safe_body(body: dict[str, Any]) -> dict[str, Any]:
    return {
        k: body.get(k) for k in ("hub_id", "cameras", "start", "end", "reason", "case_number") if k in body
    }
