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
tables are this module's own (component ``station_footage``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.core.bus import Event
from hub.core.ids import ulid
from hub.keys import HubKey
from integrations.federation.const import EVENT_FOOTAGE_STATUS, FOOTAGE_REQUEST_COMMAND
from integrations.federation.protocol import NAME_RE
from integrations.station.const import EVENT_COMMAND_RESULT, EVENT_EVENT
from integrations.video.evidence import EvidenceKey, PublicKey, load_evidence_key, parse_public_key
from integrations.video.evidence_pack import (
    HUB_MANIFEST,
    HUB_MANIFEST_SIG,
    PackFile,
    clip_path,
    file_sha256,
    write_pack,
)
from integrations.video.footage_protocol import STATES, ItemDeclaration

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.station.footage_config import StationFootageConfig
    from integrations.station.runtime import Station

__all__ = ("FOOTAGE", "FootageDesk", "FootageError", "MIGRATIONS", "AUDIT_REQUEST", "EVENT_CCOC_FOOTAGE")

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


class FootageError(Exception):
    """A request the station refuses, with the HTTP status to answer and extra JSON fields."""

    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def _parse_time(value: Any, name: str, tz: Any) -> float:
    """Return UNIX seconds from a number or an ISO 8601 string (local to the station without an offset)."""
    if isinstance(value, bool) or value is None:
        raise FootageError(
            f"{name} is required: an ISO 8601 time (2026-12-05T14:30:00+07:00) or UNIX seconds"
        )
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FootageError(
                f"{name}: {value!r} is not an ISO 8601 time such as 2026-12-05T14:30:00+07:00"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.timestamp()
    raise FootageError(f"{name}: expected an ISO 8601 time or UNIX seconds")


def _iso(ts: float, tz: Any) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


class FootageDesk:
    """The station's side of footage requests."""

    def __init__(self, hub: Hub, station: Station, cfg: StationFootageConfig) -> None:
        self.hub = hub
        self.station = station
        self.cfg = cfg
        self.folder = hub.data_dir / cfg.folder
        self.key: EvidenceKey | None = None
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._unsubs: list[Any] = []

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the tables and the station's key, and follow the hubs' answers."""
        await self.hub.storage.apply_migrations(COMPONENT, MIGRATIONS)
        self.key = await load_evidence_key(self.hub)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._unsubs += [
            self.hub.bus.listen(EVENT_COMMAND_RESULT, self._on_result),
            self.hub.bus.listen(EVENT_EVENT, self._on_event),
        ]

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
        now = self.hub.clock.time()
        request_id = ulid()
        await self.hub.storage.execute(
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
        from integrations.station.console.service import CONSOLE

        console = self.hub.data.get(CONSOLE)
        if console is None:
            raise FootageError("the CCOC console is not running", 503)
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
                "upload_url": self.upload_url(),
                "requested_at": now,
            },
            user=user,
            role=role,
            name=name,
            ip=ip,
        )
        await self.hub.storage.execute(
            "UPDATE footage_requests SET command_id = ? WHERE id = ?", (command["id"], request_id)
        )
        found = await self.get(request_id)
        assert found is not None
        self._announce(found)
        return found

    async def _checked(self, body: dict[str, Any]) -> dict[str, Any]:
        hub_id = body.get("hub_id")
        if not isinstance(hub_id, str) or not NAME_RE.match(hub_id):
            raise FootageError("hub_id is required: the id of a hub registered at this station")
        if hub_id not in self.station.ingest.registered:
            raise FootageError(f"no hub {hub_id!r} is registered at this station", 404)
        cameras = body.get("cameras")
        if isinstance(cameras, str):
            cameras = [cameras]
        if not isinstance(cameras, list) or not cameras or not all(isinstance(c, str) for c in cameras):
            raise FootageError("cameras is required: a list of the hub's camera entity ids")
        if len(cameras) > 16:
            raise FootageError("at most 16 cameras per request")
        cameras = list(dict.fromkeys(cameras))
        known = await self._registry_cameras(hub_id)
        missing = [c for c in cameras if c not in known]
        if missing:
            raise FootageError(
                f"hub {hub_id} has no camera {', '.join(missing)} (its cameras: {', '.join(sorted(known)) or 'none'})",
                missing=missing,
            )
        tz = self.hub.clock.tz
        start = _parse_time(body.get("start"), "start", tz)
        end = _parse_time(body.get("end"), "end", tz)
        if end <= start:
            raise FootageError(f"end ({_iso(end, tz)}) must be after start ({_iso(start, tz)})")
        longest = self.cfg.max_window_minutes * 60
        if end - start > longest:
            raise FootageError(
                f"the window is {(end - start) / 60:.0f} minutes; at most {self.cfg.max_window_minutes} minutes "
                "per request (ask for several windows)",
                max_window_minutes=self.cfg.max_window_minutes,
            )
        if end > self.hub.clock.time() + self.cfg.future_slack:
            raise FootageError(f"the window ends in the future ({_iso(end, tz)}): footage cannot exist yet")
        reason = " ".join(str(body.get("reason") or "").split())
        if not reason:
            raise FootageError("reason is required: why this footage is needed")
        if len(reason) > 500:
            raise FootageError("reason is too long (at most 500 characters)")
        case_number = " ".join(str(body.get("case_number") or "").split())
        if not case_number:
            raise FootageError("case_number is required: the case this footage is evidence for")
        if len(case_number) > 100:
            raise FootageError("case_number is too long (at most 100 characters)")
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
        row = await self.hub.storage.fetchone("SELECT * FROM footage_requests WHERE id = ?", (request_id,))
        if row is None:
            return None
        items = await self.hub.storage.fetchall(
            "SELECT * FROM footage_items WHERE request_id = ? ORDER BY camera, start_ts", (request_id,)
        )
        history = await self.hub.storage.fetchall(
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
            "start_iso": _iso(row["start_ts"], tz),
            "end_iso": _iso(row["end_ts"], tz),
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
        for row in await self.hub.storage.fetchall(sql, params):
            found = await self.get(row["id"])
            if found is not None:
                out.append(found)
        return out

    # -- what the hub says -----------------------------------------------------------------------

    async def _history(self, request_id: str, state: str, actor: str, detail: dict[str, Any]) -> None:
        await self.hub.storage.execute(
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
        row = await self.hub.storage.fetchone(
            "SELECT state FROM footage_requests WHERE id = ? AND hub_id = ?", (request_id, hub_id)
        )
        if row is None:
            return False
        old = row["state"]
        if old == state or (_RANK[state] <= _RANK[old] and not (old == "failed" and state == "delivered")):
            return False
        if old == "delivered":
            return False
        await self.hub.storage.execute(
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
            self._announce(found)
        return True

    async def _on_result(self, event: Event) -> None:
        data = event.data
        if data.get("command") != FOOTAGE_REQUEST_COMMAND:
            return
        try:
            await self._apply_result(
                str(data.get("hub_id")), str(data.get("command_id")), str(data.get("status"))
            )
        except Exception:
            _LOGGER.exception("Footage: could not record a hub's answer to %s", data.get("command_id"))

    async def _apply_result(self, hub_id: str, command_id: str, status: str) -> None:
        row = await self.hub.storage.fetchone(
            "SELECT id FROM footage_requests WHERE command_id = ? AND hub_id = ?", (command_id, hub_id)
        )
        if row is None:
            return
        record = await self.station.store.command(command_id)
        result = record.result if record is not None and isinstance(record.result, dict) else {}
        error = record.error if record is not None else None
        actor = f"hub:{hub_id}"
        if status == "ok":
            state = str(result.get("state") or "pending")
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
        try:
            await self.set_state(
                str(body.get("request_id")),
                hub_id,
                str(body.get("state")),
                body.get("reason"),
                str(body.get("by") or f"hub:{hub_id}"),
                {k: body.get(k) for k in ("via", "decision", "error") if body.get(k) is not None},
            )
        except Exception:
            _LOGGER.exception("Footage: could not record a status from hub %s", hub_id)

    # -- uploads (the hub dials out) ------------------------------------------------------------

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

    async def upload_request(self, request_id: str, hub_id: str) -> dict[str, Any]:
        """Return the request row an upload belongs to, or raise (404 unknown, 409 denied)."""
        row = await self.hub.storage.fetchone(
            "SELECT * FROM footage_requests WHERE id = ? AND hub_id = ?", (request_id, hub_id)
        )
        if row is None:
            raise FootageError("no such footage request from this hub", 404)
        if row["state"] == "denied":
            raise FootageError("this request was denied; nothing may be uploaded for it", 409)
        return dict(row)

    def _lock(self, request_id: str, item_id: str) -> asyncio.Lock:
        return self._locks.setdefault((request_id, item_id), asyncio.Lock())

    def _part(self, rel: str) -> Path:
        return self.folder / (rel + ".part")

    async def declare(
        self, request_id: str, hub_id: str, item_id: str, decl: ItemDeclaration
    ) -> dict[str, Any]:
        """Register a clip (idempotent); return how much of it the station holds."""
        await self.upload_request(request_id, hub_id)
        async with self._lock(request_id, item_id):
            row = await self.hub.storage.fetchone(
                "SELECT * FROM footage_items WHERE request_id = ? AND item_id = ?", (request_id, item_id)
            )
            rel = f"{hub_id}/{request_id}/{item_id}.mp4"
            if row is not None and (row["sha256"] != decl.sha256 or row["size"] != decl.size):
                if row["complete"]:
                    raise FootageError("this clip was delivered already with another hash", 409)
                # The hub cut the clip again (it died before it kept the first cut): start over.
                await self.hub.loop.run_in_executor(None, _remove, self._part(rel))
                await self.hub.storage.execute(
                    "DELETE FROM footage_items WHERE request_id = ? AND item_id = ?", (request_id, item_id)
                )
                row = None
            if row is None:
                await self.hub.storage.execute(
                    "INSERT INTO footage_items (request_id, item_id, camera, start_ts, end_ts, size, sha256, "
                    "received, complete, path, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?)",
                    (
                        request_id,
                        item_id,
                        decl.camera,
                        decl.start,
                        decl.end,
                        decl.size,
                        decl.sha256,
                        rel,
                        self.hub.clock.time(),
                    ),
                )
            return await self._status(request_id, item_id)

    async def _status(self, request_id: str, item_id: str) -> dict[str, Any]:
        row = await self.hub.storage.fetchone(
            "SELECT * FROM footage_items WHERE request_id = ? AND item_id = ?", (request_id, item_id)
        )
        if row is None:
            raise FootageError("declare the clip (PUT) before sending its bytes", 404)
        if row["complete"]:
            return {"offset": row["size"], "size": row["size"], "complete": True}
        # The partial file is the truth: after a crash it may hold more (or less) than the row says.
        held = await self.hub.loop.run_in_executor(None, _size, self._part(row["path"]))
        if held != row["received"]:
            await self.hub.storage.execute(
                "UPDATE footage_items SET received = ? WHERE request_id = ? AND item_id = ?",
                (held, request_id, item_id),
            )
        if held == row["size"]:
            return await self._finish(row)  # died between the last write and the check
        return {"offset": held, "size": row["size"], "complete": False}

    async def chunk(
        self, request_id: str, hub_id: str, item_id: str, offset: int, data: bytes
    ) -> dict[str, Any]:
        """Write bytes at ``offset`` if that is where the clip stands; finish it when whole."""
        await self.upload_request(request_id, hub_id)
        async with self._lock(request_id, item_id):
            status = await self._status(request_id, item_id)
            if status["complete"]:
                return status
            if offset != status["offset"]:
                raise FootageError(
                    f"the station holds {status['offset']} bytes of this clip, not {offset}",
                    409,
                    offset=status["offset"],
                )
            if offset + len(data) > status["size"]:
                raise FootageError(
                    f"the clip was declared as {status['size']} bytes; this chunk goes past it"
                )
            row = await self.hub.storage.fetchone(
                "SELECT * FROM footage_items WHERE request_id = ? AND item_id = ?", (request_id, item_id)
            )
            assert row is not None
            await self.hub.loop.run_in_executor(None, _append, self._part(row["path"]), offset, data)
            received = offset + len(data)
            await self.hub.storage.execute(
                "UPDATE footage_items SET received = ? WHERE request_id = ? AND item_id = ?",
                (received, request_id, item_id),
            )
            if received == row["size"]:
                return await self._finish(dict(row, received=received))
            return {"offset": received, "size": row["size"], "complete": False}

    async def _finish(self, row: Any) -> dict[str, Any]:
        """Check a whole clip's hash; keep it, or throw the bytes away and ask for them again."""
        part = self._part(row["path"])
        digest = await self.hub.loop.run_in_executor(None, file_sha256, part)
        if digest != row["sha256"]:
            await self.hub.loop.run_in_executor(None, _remove, part)
            await self.hub.storage.execute(
                "UPDATE footage_items SET received = 0 WHERE request_id = ? AND item_id = ?",
                (row["request_id"], row["item_id"]),
            )
            _LOGGER.warning(
                "Footage: clip %s of request %s arrived with SHA-256 %s, not the declared %s; asked again",
                row["item_id"],
                row["request_id"],
                digest,
                row["sha256"],
            )
            raise FootageError(
                "the clip's SHA-256 does not match its declaration; send it again from 0", 422, offset=0
            )
        await self.hub.loop.run_in_executor(None, part.replace, self.folder / row["path"])
        await self.hub.storage.execute(
            "UPDATE footage_items SET complete = 1, received = size, completed_at = ? WHERE request_id = ? "
            "AND item_id = ?",
            (self.hub.clock.time(), row["request_id"], row["item_id"]),
        )
        return {"offset": row["size"], "size": row["size"], "complete": True}

    async def deliver(
        self, request_id: str, hub_id: str, manifest: bytes, signature: str, key: PublicKey
    ) -> dict[str, Any]:
        """Accept the hub's signed manifest once every clip it lists is here; the request is delivered."""
        await self.upload_request(request_id, hub_id)
        if not key.verify_b64(signature, manifest):
            raise FootageError("the hub's signature of its manifest does not verify", 403)
        try:
            doc = json.loads(manifest)
        except ValueError:
            raise FootageError("the manifest is not JSON") from None
        if (doc.get("request") or {}).get("id") != request_id or doc.get("hub") != hub_id:
            raise FootageError("this manifest is for another request or hub")
        missing = []
        for item in doc.get("items") or []:
            row = await self.hub.storage.fetchone(
                "SELECT complete, sha256 FROM footage_items WHERE request_id = ? AND item_id = ?",
                (request_id, str(item.get("id"))),
            )
            if row is None or not row["complete"] or row["sha256"] != item.get("sha256"):
                missing.append(str(item.get("id")))
        if missing:
            raise FootageError(
                f"clips not (completely) received yet: {', '.join(missing)}", 409, missing=missing
            )
        row = await self.hub.storage.fetchone(
            "SELECT state FROM footage_requests WHERE id = ?", (request_id,)
        )
        if row is not None and row["state"] == "delivered":
            return {"state": "delivered"}
        no_footage = list(doc.get("no_footage") or [])
        await self.hub.storage.execute(
            "UPDATE footage_requests SET hub_manifest = ?, hub_signature = ?, hub_key = ?, delivered_at = ?, "
            "no_footage = ? WHERE id = ?",
            (manifest, signature, key.b64, self.hub.clock.time(), json.dumps(no_footage), request_id),
        )
        items = [
            {"id": i.get("id"), "camera": i.get("camera"), "sha256": i.get("sha256")}
            for i in doc.get("items") or []
        ]
        await self.hub.audit.log(
            f"hub:{hub_id}",
            AUDIT_DELIVERED,
            f"footage/{request_id}",
            role="hub",
            detail={"items": items, "no_footage": no_footage, "hub_key": key.fingerprint},
            source="federation",
        )
        reason = "no footage in this window" if not items else None
        await self.set_state(request_id, hub_id, "delivered", reason, f"hub:{hub_id}", {"items": items})
        return {"state": "delivered"}

    # -- the evidence pack ------------------------------------------------------------------------

    async def _snapshots(self, req: dict[str, Any]) -> list[PackFile]:
        """Return the station's stored snapshots of the request's cameras within its window."""
        out: list[PackFile] = []
        hub_id = req["hub_id"]
        seen: set[str] = set()
        for summary in await self.station.store.incidents(hub_id=hub_id, limit=500):
            inc = await self.station.store.incident(summary["id"], hub_id)
            for snap in (inc or {}).get("snapshots") or []:
                ts = float(snap.get("ts") or 0)
                if snap.get("entity_id") not in req["cameras"] or not req["start"] <= ts <= req["end"]:
                    continue
                if snap["id"] in seen:
                    continue
                row = await self.station.store.snapshot(hub_id, snap["id"])
                if row is None:
                    continue
                path = self.station.ingest.snapshot_dir / row["path"]
                if not path.is_file():
                    continue
                seen.add(snap["id"])
                out.append(
                    PackFile(
                        f"snapshots/{snap['entity_id']}/{snap['id']}.jpg",
                        "snapshot",
                        source=path,
                        meta={"camera": snap["entity_id"], "ts": ts, "incident_id": summary["id"]},
                    )
                )
        return out

    async def export(self, request_id: str, *, user: str, role: str, ip: str = "") -> Path:
        """Audit the export, then write the signed pack to a temporary file and return it."""
        req = await self.get(request_id)
        if req is None:
            raise FootageError("no such footage request", 404)
        if req["state"] != "delivered":
            raise FootageError(
                f"the request is {req['state']}: a pack exists once it is delivered", 409, state=req["state"]
            )
        row = await self.hub.storage.fetchone("SELECT * FROM footage_requests WHERE id = ?", (request_id,))
        assert row is not None and self.key is not None
        hub_manifest = bytes(row["hub_manifest"])
        hub_key = parse_public_key(row["hub_key"])
        # The export is audited first, so the pack's own audit trail includes it.
        await self.hub.audit.log(
            user,
            AUDIT_EXPORT,
            f"footage/{request_id}",
            role=role,
            source="api",
            ip=ip,
            detail={"request_id": request_id, "hub_id": req["hub_id"], "case_number": req["case_number"]},
        )
        files = [
            PackFile(HUB_MANIFEST, "hub_manifest", data=hub_manifest),
            PackFile(HUB_MANIFEST_SIG, "hub_signature", data=(row["hub_signature"] + "\n").encode()),
            PackFile("keys/station.pem", "key", data=self.key.public.pem.encode()),
            PackFile("keys/hub.pem", "key", data=hub_key.pem.encode()),
        ]
        for item in req["items"]:
            rel = f"{req['hub_id']}/{request_id}/{item['id']}.mp4"
            files.append(
                PackFile(
                    clip_path(item["camera"], item["id"]),
                    "clip",
                    source=self.folder / rel,
                    meta={"camera": item["camera"], "start": item["start"], "end": item["end"]},
                )
            )
        files += await self._snapshots(req)
        entries = await self.hub.audit.query(target=f"footage/{request_id}", limit=1000)
        hub_info = await self.station.store.hub(req["hub_id"]) or {}
        tz = self.hub.clock.tz
        manifest = {
            "station": {"id": self.station.id, "name": self.hub.name, "key": self.key.public.as_dict()},
            "hub": {
                "id": req["hub_id"],
                "name": hub_info.get("name") or req["hub_id"],
                "key": hub_key.as_dict(),
            },
            "request": {
                k: req[k]
                for k in (
                    "id",
                    "hub_id",
                    "cameras",
                    "start",
                    "end",
                    "start_iso",
                    "end_iso",
                    "reason",
                    "case_number",
                    "requested_by",
                    "requested_by_name",
                    "created_at",
                    "state",
                    "state_reason",
                    "delivered_at",
                    "no_footage",
                )
            },
            "windows": [
                {
                    "camera": c,
                    "start": req["start"],
                    "end": req["end"],
                    "start_iso": req["start_iso"],
                    "end_iso": req["end_iso"],
                }
                for c in req["cameras"]
            ],
            "approvals": [h for h in req["history"] if h["state"] in ("approved", "denied")],
            "history": req["history"],
            "audit": [e.as_dict() for e in sorted(entries, key=lambda e: e.id)],
            "exported": {"at": self.hub.clock.time(), "at_iso": _iso(self.hub.clock.time(), tz), "by": user},
        }
        fd, name = tempfile.mkstemp(prefix="pack-", suffix=".zip", dir=self.folder)
        os.close(fd)
        dest = Path(name)
        key = self.key
        try:
            await self.hub.loop.run_in_executor(
                None, lambda: write_pack(dest, manifest=manifest, files=files, station_key=key)
            )
        except BaseException:
            await self.hub.loop.run_in_executor(None, _remove, dest)
            raise
        return dest

    def _announce(self, req: dict[str, Any]) -> None:
        self.hub.bus.fire(
            EVENT_CCOC_FOOTAGE,
            {
                "id": req["id"],
                "hub_id": req["hub_id"],
                "state": req["state"],
                "case_number": req["case_number"],
            },
        )


def _safe_body(body: dict[str, Any]) -> dict[str, Any]:
    return {
        k: body.get(k) for k in ("hub_id", "cameras", "start", "end", "reason", "case_number") if k in body
    }


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _append(path: Path, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` and make it durable before the station says it holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("r+b" if path.exists() else "wb") as out:
        out.truncate(offset)
        out.seek(offset)
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def sha256_bytes(data: bytes) -> str:
    """Return the SHA-256 hex of bytes (the upload signature covers the body's hash)."""
    return hashlib.sha256(data).hexdigest()
