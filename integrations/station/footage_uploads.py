"""Receiving a hub's clips at the station: declared, sent in chunks at confirmed offsets, hash-checked.

The hub dials out (it opens no port) and signs every request with its
Ed25519 key (checked in :mod:`.footage_api`).  Each step is idempotent: a
clip is declared with its size and SHA-256; bytes are accepted only at the
offset the station holds, and written and fsynced before the new offset is
confirmed; a whole clip is kept only when its hash matches.  The partial file
on disk *is* the offset, so a restart of either side mid-upload loses
nothing and stores nothing twice.  The hub's signed manifest, once every clip
it lists is here, makes the request *delivered*.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.station.footage import AUDIT_DELIVERED, FootageError
from integrations.video.evidence_pack import file_sha256

if TYPE_CHECKING:
    from integrations.station.footage import FootageDesk
    from integrations.video.evidence import PublicKey
    from integrations.video.footage_protocol import ItemDeclaration

__all__ = ("FootageUploads", "remove_file")

_LOGGER = logging.getLogger(__name__)


class FootageUploads:
    """Clips arriving from hubs, for one station."""

    def __init__(self, desk: FootageDesk) -> None:
        self.desk = desk
        self.hub = desk.hub
        self.folder = desk.folder
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def upload_request(self, request_id: str, hub_id: str) -> dict[str, Any]:
        """Return the request row an upload belongs to, or raise (404 unknown, 409 denied)."""
        row = await self.desk.storage.fetchone(
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
            row = await self.desk.storage.fetchone(
                "SELECT * FROM footage_items WHERE request_id = ? AND item_id = ?", (request_id, item_id)
            )
            rel = f"{hub_id}/{request_id}/{item_id}.mp4"
            if row is not None and (row["sha256"] != decl.sha256 or row["size"] != decl.size):
                if row["complete"]:
                    raise FootageError("this clip was delivered already with another hash", 409)
                # The hub cut the clip again (it died before it kept the first cut): start over.
                await self.hub.loop.run_in_executor(None, remove_file, self._part(rel))
                await self.desk.storage.execute(
                    "DELETE FROM footage_items WHERE request_id = ? AND item_id = ?", (request_id, item_id)
                )
                row = None
            if row is None:
                await self.desk.storage.execute(
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
        row = await self.desk.storage.fetchone(
            "SELECT * FROM footage_items WHERE request_id = ? AND item_id = ?", (request_id, item_id)
        )
        if row is None:
            raise FootageError("declare the clip (PUT) before sending its bytes", 404)
        if row["complete"]:
            return {"offset": row["size"], "size": row["size"], "complete": True}
        # The partial file is the truth: after a crash it may hold more (or less) than the row says.
        held = await self.hub.loop.run_in_executor(None, _size, self._part(row["path"]))
        if held > row["size"]:
            # More than the clip can hold: nothing in it can be trusted; start again.
            await self.hub.loop.run_in_executor(None, remove_file, self._part(row["path"]))
            held = 0
        if held != row["received"]:
            await self.desk.storage.execute(
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
            row = await self.desk.storage.fetchone(
                "SELECT * FROM footage_items WHERE request_id = ? AND item_id = ?", (request_id, item_id)
            )
            assert row is not None
            await self.hub.loop.run_in_executor(None, _append, self._part(row["path"]), offset, data)
            received = offset + len(data)
            await self.desk.storage.execute(
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
            await self.hub.loop.run_in_executor(None, remove_file, part)
            await self.desk.storage.execute(
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
        await self.desk.storage.execute(
            "UPDATE footage_items SET complete = 1, received = size, completed_at = ? WHERE request_id = ? "
            "AND item_id = ?",
            (self.hub.clock.time(), row["request_id"], row["item_id"]),
        )
        self._locks.pop((row["request_id"], row["item_id"]), None)
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
        except ValueError as err:
            raise FootageError("the manifest is not JSON") from err
        if (doc.get("request") or {}).get("id") != request_id or doc.get("hub") != hub_id:
            raise FootageError("this manifest is for another request or hub")
        missing = []
        for item in doc.get("items") or []:
            row = await self.desk.storage.fetchone(
                "SELECT complete, sha256 FROM footage_items WHERE request_id = ? AND item_id = ?",
                (request_id, str(item.get("id"))),
            )
            if row is None or not row["complete"] or row["sha256"] != item.get("sha256"):
                missing.append(str(item.get("id")))
        if missing:
            raise FootageError(
                f"clips not (completely) received yet: {', '.join(missing)}", 409, missing=missing
            )
        row = await self.desk.storage.fetchone(
            "SELECT state FROM footage_requests WHERE id = ?", (request_id,)
        )
        if row is not None and row["state"] == "delivered":
            return {"state": "delivered"}
        no_footage = list(doc.get("no_footage") or [])
        await self.desk.storage.execute(
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
        if row is not None and row["state"] == "pending":
            # The clips outran the hub's "approved" message (HTTP is quicker than the outbox):
            # the signed manifest says who approved, so the history stays whole and in order.
            for approval in doc.get("approvals") or []:
                by = approval.get("by") or ""
                actor = f"hub:{hub_id}/{by}" if approval.get("via") != "policy" else f"hub:{hub_id}"
                await self.desk.set_state(
                    request_id, hub_id, "approved", None, actor, {"via": approval.get("via")}
                )
        await self.desk.set_state(request_id, hub_id, "delivered", reason, f"hub:{hub_id}", {"items": items})
        return {"state": "delivered"}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def remove_file(path: Path) -> None:
    """Delete a file if it is there."""
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
