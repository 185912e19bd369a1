"""Serving an approved footage request on the hub: cut, hash, sign, upload, receipt.

Every step is recorded before the next starts, so a hub killed at any point
resumes the request at its next start (:meth:`FootageDesk.start`): cut clips
and their SHA-256 are kept (the same clip is declared again), the signed
manifest is made once, and the station says how much of each clip it holds
(:mod:`.footage_upload`).  Network trouble is retried with backoff on the
event loop's clock; what the station refuses for good, or a request still
undelivered after ``give_up_hours``, ends *failed* and the station is told.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.video.evidence_pack import file_sha256, hub_manifest_bytes
from integrations.video.footage import APPROVED, AUDIT_FAILED, AUDIT_RECEIPT, DELIVERED, FAILED
from integrations.video.footage_protocol import item_id_for

if TYPE_CHECKING:
    from integrations.video.footage import FootageDesk

__all__ = ("FootageServer",)

_LOGGER = logging.getLogger(__name__)


class _GiveUp(Exception):
    """The station refuses the upload for good (unknown or denied request)."""


class FootageServer:
    """Cuts, signs and uploads the clips of approved requests (one task per request)."""

    def __init__(self, desk: FootageDesk) -> None:
        self.desk = desk
        self.hub = desk.hub
        self.cfg = desk.cfg
        self.folder = desk.folder
        self.recordings = desk.recordings
        self.key = desk.key

    async def work(self, request_id: str) -> None:
        from integrations.video.footage_upload import Uploader, UploadRefused

        delay = self.cfg.retry_seconds
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            while True:
                req = await self.desk.get(request_id)
                if req is None or req["state"] != APPROVED:
                    return
                try:
                    await self._cut(req)
                    await self.desk.let_go(request_id)
                    manifest, signature = await self._manifest(request_id)
                    async with Uploader(self.hub, self.key, self.cfg, req["upload_url"]) as up:
                        for item in (await self.desk.get(request_id) or {}).get("items", []):
                            if item["uploaded"]:
                                continue
                            path = self.folder / request_id / f"{item['id']}.mp4"
                            await up.upload_item(request_id, item, path)
                            await self.hub.storage.execute(
                                "UPDATE video_footage_items SET uploaded = 1 WHERE request_id = ? AND item_id = ?",
                                (request_id, item["id"]),
                            )
                        await up.deliver(request_id, manifest, signature)
                except UploadRefused as err:
                    if err.final:
                        raise _GiveUp(str(err)) from err
                    _LOGGER.warning("Footage: upload of %s refused for now: %s", request_id, err)
                except (OSError, TimeoutError) as err:
                    _LOGGER.warning(
                        "Footage: request %s not delivered yet (%s); trying again", request_id, err
                    )
                else:
                    await self._delivered(request_id)
                    return
                if loop.time() - started > self.cfg.give_up_hours * 3600:
                    raise _GiveUp(f"not delivered within {self.cfg.give_up_hours:g} hours")
                await asyncio.sleep(delay)
                delay = min(600.0, delay * 2)
        except asyncio.CancelledError:
            raise
        except _GiveUp as err:
            await self._fail(request_id, str(err))
        except Exception as err:
            _LOGGER.exception("Footage: request %s failed", request_id)
            await self._fail(request_id, f"{type(err).__name__}: {err}")
        finally:
            self.desk.workers.pop(request_id, None)

    async def _cut(self, req: dict[str, Any]) -> None:
        """Cut each camera's clip once (kept with its hash), or note the camera as having no footage."""
        done = {i["camera"] for i in req["items"]}
        for camera in req["cameras"]:
            if camera in done:
                continue
            item_id = item_id_for(req["id"], camera, req["start"], req["end"])
            dest = self.folder / req["id"] / f"{item_id}.mp4"
            segments = await self.recordings.segments(camera, req["start"], req["end"])
            if not segments:
                continue
            try:
                await self.recordings.clip(camera, req["start"], req["end"], dest)
            except LookupError:
                continue  # segments vanished meanwhile (retention): no footage
            size = (await self.hub.loop.run_in_executor(None, dest.stat)).st_size
            digest = await self.hub.loop.run_in_executor(None, file_sha256, dest)
            first = min(float(s.start) for s in segments)
            last = max(float(s.end) for s in segments)
            await self.hub.storage.execute(
                "INSERT OR REPLACE INTO video_footage_items (request_id, item_id, camera, start_ts, end_ts, path, "
                "size, sha256, segments, uploaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (req["id"], item_id, camera, first, last, str(dest), size, digest, len(segments)),
            )

    async def _manifest(self, request_id: str) -> tuple[bytes, str]:
        """Return the hub's signed manifest, made once and kept (so a retry delivers the same bytes)."""
        row = await self.hub.storage.fetchone(
            "SELECT manifest, signature FROM video_footage_requests WHERE id = ?", (request_id,)
        )
        if row is not None and row["manifest"] is not None:
            return bytes(row["manifest"]), str(row["signature"])
        req = await self.desk.get(request_id)
        assert req is not None
        entries = await self.hub.audit.query(target=f"footage/{request_id}", limit=500)
        with_footage = {i["camera"] for i in req["items"]}
        doc = {
            "hub": self.hub.id,
            "hub_name": self.hub.name,
            "station": req["station"],
            "request": {
                "id": req["id"],
                "command_id": req["command_id"],
                "cameras": req["cameras"],
                "start": req["start"],
                "end": req["end"],
                "start_iso": req["start_iso"],
                "end_iso": req["end_iso"],
                "reason": req["reason"],
                "case_number": req["case_number"],
                "requested_by": req["officer"],
                "requested_at": req["requested_at"],
                "received_at": req["received_at"],
            },
            "decision": req["decision"],
            "approvals": [
                {
                    "by": req["decided_by"],
                    "via": req["decided_via"],
                    "at": req["decided_at"],
                    "state": APPROVED,
                }
            ],
            "items": [
                {k: i[k] for k in ("id", "camera", "start", "end", "size", "sha256", "segments")}
                for i in req["items"]
            ],
            "no_footage": [c for c in req["cameras"] if c not in with_footage],
            "audit": [e.as_dict() for e in sorted(entries, key=lambda e: e.id)],
            "produced_at": self.hub.clock.time(),
            "key": self.key.public.as_dict(),
        }
        body = hub_manifest_bytes(doc)
        signature = self.key.sign_b64(body)
        await self.hub.storage.execute(
            "UPDATE video_footage_requests SET manifest = ?, signature = ? WHERE id = ? AND manifest IS NULL",
            (body, signature, request_id),
        )
        return await self._manifest(request_id)

    async def _delivered(self, request_id: str) -> None:
        req = await self.desk.get(request_id)
        assert req is not None
        # The receipt first: a request shown as delivered on this hub has its receipt.  (A hub
        # killed in between delivers again at start; the station answers "delivered" and the
        # owner may get the receipt twice, never not at all.)
        try:
            await self._receipt(req)
        except Exception:
            # Delivered is delivered: a receipt that could not be written is logged, never a failure.
            _LOGGER.exception("Footage: request %s delivered, but the owner's receipt failed", request_id)
        now = self.hub.clock.time()
        await self.hub.storage.execute(
            "UPDATE video_footage_requests SET state = ?, delivered_at = ?, updated_at = ? WHERE id = ?",
            (DELIVERED, now, now, request_id),
        )
        self.hub.bus.fire("video_footage_request", {"request_id": request_id, "state": DELIVERED})
        # The station holds the clips now (hash-checked); the recordings themselves follow retention.
        await self.hub.loop.run_in_executor(None, _remove_tree, self.folder / request_id)

    async def _receipt(self, req: dict[str, Any]) -> None:
        """Tell the owner exactly what the station received: audit log, camera pages, LINE."""
        from integrations.camera.const import AUDIT_VIEW

        officer = req["officer"]
        who = f"station:{req['station']}/{officer.get('user')}"
        hashes = [{"camera": i["camera"], "sha256": i["sha256"], "size": i["size"]} for i in req["items"]]
        no_footage = [c for c in req["cameras"] if c not in {i["camera"] for i in req["items"]}]
        detail = {
            "request_id": req["id"],
            "officer": officer,
            "case_number": req["case_number"],
            "reason": req["reason"],
            "start": req["start"],
            "end": req["end"],
            "items": hashes,
            "no_footage": no_footage,
        }
        await self.hub.audit.log(
            who, AUDIT_RECEIPT, f"footage/{req['id']}", role="station", source="station", detail=detail
        )
        for camera in req["cameras"]:
            # On the camera's own page, beside every other look at it.
            await self.hub.audit.log(
                who,
                AUDIT_VIEW,
                camera,
                role="station",
                source="station",
                detail={
                    "what": "footage",
                    "reason": req["reason"],
                    "case_number": req["case_number"],
                    "request_id": req["id"],
                    "start": req["start"],
                    "end": req["end"],
                    "sha256": [h["sha256"] for h in hashes if h["camera"] == camera],
                },
            )
        from integrations.video.footage_line import send_receipt

        await send_receipt(self.desk, req, hashes, no_footage)

    async def _fail(self, request_id: str, error: str) -> None:
        await self.desk.let_go(request_id)
        now = self.hub.clock.time()
        await self.hub.storage.execute(
            "UPDATE video_footage_requests SET state = ?, error = ?, updated_at = ? WHERE id = ?",
            (FAILED, error, now, request_id),
        )
        await self.hub.audit.log(
            "hub",
            AUDIT_FAILED,
            f"footage/{request_id}",
            role="system",
            result="error",
            detail={"error": error},
        )
        await self.desk.report(request_id, FAILED, error)


def _remove_tree(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
