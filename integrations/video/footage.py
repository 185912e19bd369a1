"""Footage requests on the hub: the owner's policy decides, the owner may be asked, the owner gets a receipt.

The station's ``footage.request`` command (window, cameras, reason, case
number, the officer's name) arrives through federation.  This module decides
by each camera's ``share`` policy (DESIGN §9, §12):

* ``always``: served;
* ``on_alarm``: served when the window overlaps an incident at this hub
  (open, or closed within the camera's ``on_alarm_minutes``), otherwise the
  owner is asked;
* ``registry``: the owner is asked;
* ``never``: refused, and the station is not even told the camera exists.

The owner answers on LINE (a card with signed, expiring approve / deny
buttons, bound to the chat it was sent to) or on the hub's page
``/video/footage`` (admins).  An approved request is cut from the recordings
(keyframe-aligned, no transcode), each clip hashed with SHA-256, the hub's
manifest signed with its Ed25519 key, and everything uploaded to the station
resumably (:mod:`.footage_serve`, :mod:`.footage_upload`).  When the station has it all, the owner
gets a receipt on LINE and in the audit log: who, which window, which case,
which hashes.

Everything is in the database before it is acted on, so a hub killed at any
point picks the request up again at start: cut clips are kept (and their
hashes), the station says how much of each it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlencode

from pydantic import ValidationError

from hub.keys import HubKey
from integrations.federation.commands import CommandRefused, register_station_command
from integrations.federation.const import EVENT_FOOTAGE_STATUS, FOOTAGE_REQUEST_COMMAND, PRIO_INCIDENT
from integrations.video.evidence import EvidenceKey
from integrations.video.footage_protocol import FootageRequestData

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.federation.protocol import CommandDoc
    from integrations.video.footage_config import FootageConfig

__all__ = (
    "FOOTAGE_DESK",
    "FootageDesk",
    "Recordings",
    "MIGRATIONS",
    "POSTBACK_FOOTAGE",
    "AUDIT_REQUEST",
    "AUDIT_APPROVAL",
    "AUDIT_RECEIPT",
)

_LOGGER = logging.getLogger(__name__)

FOOTAGE_DESK: HubKey[FootageDesk] = HubKey("video_footage")
COMPONENT = "video_footage"
#: Postback data of the LINE card's buttons: ``a=fr&p=/footage/<id>/<y|n>&exp=…&sig=…``.
POSTBACK_FOOTAGE = "fr"
AUDIT_REQUEST = "video.footage.request"
AUDIT_APPROVAL = "video.footage.approval"
AUDIT_RECEIPT = "video.footage.receipt"
AUDIT_FAILED = "video.footage.failed"
#: States of a request on the hub (the station shows the same names).
PENDING, APPROVED, DENIED, DELIVERED, FAILED = "pending", "approved", "denied", "delivered", "failed"

MIGRATIONS: tuple[str, ...] = (
    """
    -- Footage requests from the station, and what the owner and the hub made of them.
    CREATE TABLE video_footage_requests (
        id TEXT PRIMARY KEY,
        station TEXT NOT NULL,
        command_id TEXT NOT NULL,
        officer TEXT NOT NULL,
        cameras TEXT NOT NULL,
        start_ts REAL NOT NULL,
        end_ts REAL NOT NULL,
        reason TEXT NOT NULL,
        case_number TEXT NOT NULL,
        upload_url TEXT NOT NULL,
        requested_at REAL NOT NULL,
        received_at REAL NOT NULL,
        state TEXT NOT NULL,
        decision TEXT NOT NULL,
        decided_by TEXT,
        decided_via TEXT,
        decided_at REAL,
        error TEXT,
        manifest BLOB,
        signature TEXT,
        delivered_at REAL,
        updated_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX ix_video_footage_state ON video_footage_requests (state, received_at);

    -- The clips cut for a request: kept until the station holds them.
    CREATE TABLE video_footage_items (
        request_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        camera TEXT NOT NULL,
        start_ts REAL NOT NULL,
        end_ts REAL NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        segments INTEGER NOT NULL,
        uploaded INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (request_id, item_id)
    ) WITHOUT ROWID;
    """,
)


class Recordings(Protocol):
    """What the desk needs from the recordings index (:class:`integrations.video.index.RecordingIndex`)."""

    async def segments(self, camera_entity_id: str, start: float, end: float) -> list[Any]:
        """Return the camera's segments overlapping the window."""

    async def clip(self, camera_entity_id: str, start: float, end: float, dest: Path) -> Path:
        """Cut the window to ``dest`` without re-encoding; raise LookupError when nothing overlaps."""

    async def lock(self, incident_id: str, start: float) -> None:
        """Keep recordings from ``start`` on out of retention."""

    async def close_lock(self, incident_id: str, closed_at: float, end: float) -> None:
        """End the lock at ``end`` (it holds until released)."""

    async def release(self, incident_id: str, by: str) -> Any:
        """Let retention have the recordings again."""


def _iso(ts: float, tz: Any) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


class FootageDesk:
    """Decides, cuts, signs, uploads and receipts footage requests on one hub."""

    def __init__(self, hub: Hub, cfg: FootageConfig, recordings: Recordings, key: EvidenceKey) -> None:
        self.hub = hub
        self.cfg = cfg
        self.recordings = recordings
        self.key = key
        self.folder = hub.data_dir / "footage"
        self.workers: dict[str, asyncio.Task[None]] = {}
        self._unsubs: list[Any] = []
        self._decide_lock = asyncio.Lock()
        from integrations.video.footage_serve import FootageServer

        self.server = FootageServer(self)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the tables, answer the station's command, follow LINE, resume unfinished requests."""
        await self.hub.storage.apply_migrations(COMPONENT, MIGRATIONS)
        self._unsubs.append(register_station_command(self.hub, FOOTAGE_REQUEST_COMMAND, self.on_command))
        from integrations.video.footage_line import listen_postbacks

        self._unsubs.append(listen_postbacks(self))
        rows = await self.hub.storage.fetchall(
            "SELECT id FROM video_footage_requests WHERE state = ? ORDER BY received_at", (APPROVED,)
        )
        for row in rows:
            _LOGGER.info("Footage: resuming request %s (cut, upload)", row["id"])
            self._spawn(row["id"])

    async def stop(self) -> None:
        """Stop the workers; what they did is in the database and resumes at the next start."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        workers = list(self.workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- the station's request -------------------------------------------------------------------

    async def on_command(self, cmd: CommandDoc) -> dict[str, Any]:
        """Check and decide a ``footage.request``; return the first answer (pending / approved)."""
        try:
            data = FootageRequestData.model_validate(cmd.data)
        except ValidationError as err:
            first = err.errors()[0]
            raise CommandRefused(
                f"footage.request: {'.'.join(str(p) for p in first['loc']) or 'data'}: {first['msg']}"
            ) from err
        known = await self.get(data.request_id)
        if known is not None:
            # The station sent it again (re-sent until answered): same answer, nothing twice.
            return {"request_id": data.request_id, "state": known["state"], "decision": known["decision"]}
        longest = self.cfg.max_window_minutes * 60
        if data.end - data.start > longest:
            raise CommandRefused(
                f"the window is {(data.end - data.start) / 60:.0f} minutes; this hub serves at most "
                f"{self.cfg.max_window_minutes} minutes per request"
            )
        decision = await self._policy(data)
        state = APPROVED if decision["auto"] else PENDING
        now = self.hub.clock.time()
        officer = cmd.by.model_dump()
        upload_url = self._station_url() or data.upload_url
        await self.hub.storage.execute(
            "INSERT OR IGNORE INTO video_footage_requests (id, station, command_id, officer, cameras, start_ts, end_ts, "
            "reason, case_number, upload_url, requested_at, received_at, state, decision, decided_by, decided_via, "
            "decided_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                data.request_id,
                cmd.station,
                cmd.id,
                json.dumps(officer, ensure_ascii=False),
                json.dumps(data.cameras),
                data.start,
                data.end,
                data.reason,
                data.case_number,
                upload_url,
                data.requested_at,
                now,
                state,
                json.dumps(decision, ensure_ascii=False),
                "policy" if decision["auto"] else None,
                "policy" if decision["auto"] else None,
                now if decision["auto"] else None,
                now,
            ),
        )
        await self.hub.audit.log(
            f"station:{cmd.station}/{cmd.by.user}",
            AUDIT_REQUEST,
            f"footage/{data.request_id}",
            role="station",
            source="station",
            detail={
                "request_id": data.request_id,
                "officer": officer,
                "cameras": data.cameras,
                "start": data.start,
                "end": data.end,
                "reason": data.reason,
                "case_number": data.case_number,
                "decision": decision,
                "state": state,
            },
        )
        await self._hold(data.request_id, data.start, data.end, now)
        if state == APPROVED:
            self._spawn(data.request_id)
        else:
            from integrations.video.footage_line import send_cards

            self.hub.create_task(send_cards(self, data.request_id), "footage approval cards")
        self.hub.bus.fire("video_footage_request", {"request_id": data.request_id, "state": state})
        return {"request_id": data.request_id, "state": state, "decision": decision}

    def _station_url(self) -> str | None:
        """Return ``federation.station_url`` (the station's web address as this hub knows it), if set.

        The hub's own setting wins over the address in the request: a site behind a proxy
        reaches the station by another name than the station calls itself.
        """
        fed = self.hub.loaded.blocks.get("federation") if self.hub.loaded is not None else None
        url = getattr(fed, "station_url", None)
        return str(url).rstrip("/") if url else None

    async def _policy(self, data: FootageRequestData) -> dict[str, Any]:
        """Return the decision: each camera's policy, whether the request is served without asking, and why."""
        from integrations.camera.entity import CameraEntity

        cameras: dict[str, dict[str, Any]] = {}
        auto = True
        incidents: set[str] = set()
        for entity_id in data.cameras:
            try:
                camera = self.hub.entities.get(entity_id, CameraEntity)
            except LookupError as err:
                raise CommandRefused(f"no camera {entity_id} at this hub") from err
            share = camera.share
            if share == "never":
                # The station is not told such a camera exists (DESIGN §9).
                raise CommandRefused(f"no camera {entity_id} at this hub")
            if share == "always":
                cameras[entity_id] = {"policy": share, "served": "policy_always"}
            elif share == "on_alarm":
                found = await self._incidents_overlapping(
                    data.start, data.end, camera.on_alarm_minutes, camera.on_alarm_max_hours
                )
                if found:
                    incidents.update(found)
                    cameras[entity_id] = {"policy": share, "served": "alarm_window", "incidents": found}
                else:
                    auto = False
                    cameras[entity_id] = {"policy": share, "served": "owner_approval"}
            else:
                auto = False
                cameras[entity_id] = {"policy": share, "served": "owner_approval"}
        return {"auto": auto, "cameras": cameras, "incidents": sorted(incidents)}

    async def _incidents_overlapping(
        self, start: float, end: float, minutes: float, max_hours: float
    ) -> list[str]:
        """Return incidents at this hub whose sharing window overlaps ``[start, end]`` (policy.AlarmWindow's rule)."""
        rows = await self.hub.storage.fetchall(
            "SELECT id, opened_at, closed_at FROM incidents WHERE opened_at < ? ORDER BY opened_at", (end,)
        )
        now = self.hub.clock.time()
        found = []
        for row in rows:
            opened = float(row["opened_at"] or 0)
            cap = opened + max_hours * 3600
            closed = row["closed_at"]
            until = min(cap, (float(closed) + minutes * 60) if closed is not None else max(now, opened))
            if opened < end and until > start:
                found.append(str(row["id"]))
        return found

    # -- evidence locks ----------------------------------------------------------------------------

    @staticmethod
    def _lock_id(request_id: str) -> str:
        return f"footage:{request_id}"

    async def _hold(self, request_id: str, start: float, end: float, now: float) -> None:
        """Keep the window's recordings out of retention until they are cut (the owner may take days)."""
        await self.recordings.lock(self._lock_id(request_id), start)
        await self.recordings.close_lock(self._lock_id(request_id), now, end)

    async def let_go(self, request_id: str) -> None:
        """The clips are cut (or will never be): retention may have the recordings again."""
        with contextlib.suppress(KeyError, ValueError):
            await self.recordings.release(self._lock_id(request_id), "footage")

    # -- the owner's answer ---------------------------------------------------------------------

    async def decide(
        self, request_id: str, approve: bool, *, by: str, via: str, role: str = "", ip: str = ""
    ) -> str:
        """Record the owner's approval or refusal of a pending request; return the new state.

        Raises LookupError for an unknown request and ValueError when it is no
        longer pending (a replayed or late answer changes nothing).
        """
        async with self._decide_lock:
            req = await self.get(request_id)
            if req is None:
                raise LookupError(f"no footage request {request_id}")
            if req["state"] != PENDING:
                await self.hub.audit.log(
                    by,
                    AUDIT_APPROVAL,
                    f"footage/{request_id}",
                    role=role,
                    source=via,
                    ip=ip,
                    result="refused",
                    detail={"decision": "approve" if approve else "deny", "error": f"already {req['state']}"},
                )
                raise ValueError(f"this request is already {req['state']}")
            state = APPROVED if approve else DENIED
            now = self.hub.clock.time()
            await self.hub.storage.execute(
                "UPDATE video_footage_requests SET state = ?, decided_by = ?, decided_via = ?, decided_at = ?, "
                "updated_at = ? WHERE id = ? AND state = ?",
                (state, by, via, now, now, request_id, PENDING),
            )
            await self.hub.audit.log(
                by,
                AUDIT_APPROVAL,
                f"footage/{request_id}",
                role=role,
                source=via,
                ip=ip,
                detail={
                    "decision": "approve" if approve else "deny",
                    "case_number": req["case_number"],
                    "cameras": req["cameras"],
                    "start": req["start"],
                    "end": req["end"],
                },
            )
        if not approve:
            await self.let_go(request_id)
        await self.report(request_id, state, None if approve else "the owner declined", by=by, via=via)
        self.hub.bus.fire("video_footage_request", {"request_id": request_id, "state": state})
        if approve:
            self._spawn(request_id)
        return state

    # -- reading ------------------------------------------------------------------------------------

    async def get(self, request_id: str) -> dict[str, Any] | None:
        """Return one request with its clips."""
        row = await self.hub.storage.fetchone(
            "SELECT * FROM video_footage_requests WHERE id = ?", (request_id,)
        )
        if row is None:
            return None
        items = await self.hub.storage.fetchall(
            "SELECT * FROM video_footage_items WHERE request_id = ? ORDER BY camera", (request_id,)
        )
        tz = self.hub.clock.tz
        return {
            "id": row["id"],
            "station": row["station"],
            "command_id": row["command_id"],
            "officer": json.loads(row["officer"]),
            "cameras": json.loads(row["cameras"]),
            "start": row["start_ts"],
            "end": row["end_ts"],
            "start_iso": _iso(row["start_ts"], tz),
            "end_iso": _iso(row["end_ts"], tz),
            "reason": row["reason"],
            "case_number": row["case_number"],
            "requested_at": row["requested_at"],
            "received_at": row["received_at"],
            "state": row["state"],
            "decision": json.loads(row["decision"]),
            "decided_by": row["decided_by"],
            "decided_via": row["decided_via"],
            "decided_at": row["decided_at"],
            "error": row["error"],
            "delivered_at": row["delivered_at"],
            "upload_url": row["upload_url"],
            "items": [
                {
                    "id": i["item_id"],
                    "camera": i["camera"],
                    "start": i["start_ts"],
                    "end": i["end_ts"],
                    "size": i["size"],
                    "sha256": i["sha256"],
                    "segments": i["segments"],
                    "uploaded": bool(i["uploaded"]),
                }
                for i in items
            ],
        }

    async def requests(self, limit: int = 100) -> list[dict[str, Any]]:
        """Return requests: pending first, then newest first."""
        rows = await self.hub.storage.fetchall(
            "SELECT id FROM video_footage_requests ORDER BY state = 'pending' DESC, received_at DESC LIMIT ?",
            (max(1, min(limit, 500)),),
        )
        out = []
        for row in rows:
            found = await self.get(row["id"])
            if found is not None:
                out.append(found)
        return out

    # -- serving an approved request ---------------------------------------------------------------

    def _spawn(self, request_id: str) -> None:
        task = self.workers.get(request_id)
        if task is not None and not task.done():
            return
        self.workers[request_id] = self.hub.create_background_task(
            self.server.work(request_id), f"footage {request_id}"
        )

    async def report(
        self, request_id: str, state: str, reason: str | None, *, by: str = "", via: str = ""
    ) -> None:
        """Tell the station (through the outbox: it survives an outage)."""
        from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME

        fed = self.hub.data.get(FEDERATION_RUNTIME)
        if fed is None:
            return
        data: dict[str, Any] = {"request_id": request_id, "state": state, "reason": reason}
        if by:
            data["by"] = f"hub:{self.hub.id}/{by}"
            data["via"] = via
        await fed.send_event(EVENT_FOOTAGE_STATUS, data, priority=PRIO_INCIDENT)


def postback_data(hub: Hub, request_id: str, approve: bool, to_id: str, ttl: float) -> str:
    """Return a card button's postback data: signed for ``to_id`` (the chat it is sent to), expiring."""
    path = f"/footage/{request_id}/{'y' if approve else 'n'}"
    signed = hub.signer.sign(path, ttl, extra=to_id)
    query = parse_qs(signed.split("?", 1)[1])
    return urlencode({"a": POSTBACK_FOOTAGE, "p": path, "exp": query["exp"][0], "sig": query["sig"][0]})


async def start_footage(hub: Hub, cfg: FootageConfig, recordings: Recordings) -> FootageDesk:
    """Start answering footage requests (called by the video integration's setup)."""
    from integrations.video.evidence import load_evidence_key

    desk = FootageDesk(hub, cfg, recordings, await load_evidence_key(hub))
    await desk.start()
    hub.data[FOOTAGE_DESK] = desk
    return desk


async def stop_footage(hub: Hub) -> None:
    """Stop the footage workers (they resume at the next start)."""
    desk = hub.data.pop(FOOTAGE_DESK)
    if desk is not None:
        await desk.stop()


def registry_part(hub: Hub) -> dict[str, Any] | None:
    """Return the registry's ``evidence`` entry: the hub's public key, so the station can check uploads."""
    desk = hub.data.get(FOOTAGE_DESK)
    if desk is None:
        return None
    # Named ``ed25519_public``: federation drops keys named like credentials (``key``, ``*_key``).
    return {"evidence": {"ed25519_public": desk.key.public.b64, "fingerprint": desk.key.public.fingerprint}}
