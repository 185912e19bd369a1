"""The station's evidence pack of a delivered footage request (format: :mod:`integrations.video.evidence_pack`).

The clips as received (hash-checked), the station's snapshots of the same
cameras in the window, the hub's signed manifest as the hub sent it, and the
station's manifest (request, approvals, history, audit, every file's SHA-256)
signed with the station's key.  The export is audited *before* the pack is
written, so the pack's audit trail includes it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from integrations.station.footage import AUDIT_EXPORT, FootageError, iso_time
from integrations.station.footage_uploads import remove_file
from integrations.video.evidence import parse_public_key
from integrations.video.evidence_pack import HUB_MANIFEST, HUB_MANIFEST_SIG, PackFile, clip_path, write_pack

if TYPE_CHECKING:
    from integrations.station.footage import FootageDesk

__all__ = ("export",)


async def _snapshots(desk: FootageDesk, req: dict[str, Any]) -> list[PackFile]:
    """Return the station's stored snapshots of the request's cameras within its window."""
    out: list[PackFile] = []
    hub_id = req["hub_id"]
    seen: set[str] = set()
    for summary in await desk.station.store.incidents(hub_id=hub_id, limit=500):
        inc = await desk.station.store.incident(summary["id"], hub_id)
        for snap in (inc or {}).get("snapshots") or []:
            ts = float(snap.get("ts") or 0)
            if snap.get("entity_id") not in req["cameras"] or not req["start"] <= ts <= req["end"]:
                continue
            if snap["id"] in seen:
                continue
            row = await desk.station.store.snapshot(hub_id, snap["id"])
            if row is None:
                continue
            path = desk.station.ingest.snapshot_dir / row["path"]
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


async def export(desk: FootageDesk, request_id: str, *, user: str, role: str, ip: str = "") -> Path:
    """Audit the export, then write the signed pack to a temporary file and return it."""
    req = await desk.get(request_id)
    if req is None:
        raise FootageError("no such footage request", 404)
    if req["state"] != "delivered":
        raise FootageError(
            f"the request is {req['state']}: a pack exists once it is delivered", 409, state=req["state"]
        )
    row = await desk.storage.fetchone("SELECT * FROM footage_requests WHERE id = ?", (request_id,))
    assert row is not None and desk.key is not None
    hub_manifest = bytes(row["hub_manifest"])
    hub_key = parse_public_key(row["hub_key"])
    # The export is audited first, so the pack's own audit trail includes it.
    await desk.hub.audit.log(
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
        PackFile("keys/station.pem", "key", data=desk.key.public.pem.encode()),
        PackFile("keys/hub.pem", "key", data=hub_key.pem.encode()),
    ]
    for item in req["items"]:
        rel = f"{req['hub_id']}/{request_id}/{item['id']}.mp4"
        files.append(
            PackFile(
                clip_path(item["camera"], item["id"]),
                "clip",
                source=desk.folder / rel,
                meta={"camera": item["camera"], "start": item["start"], "end": item["end"]},
            )
        )
    files += await _snapshots(desk, req)
    entries = await desk.hub.audit.query(target=f"footage/{request_id}", limit=1000)
    hub_info = await desk.station.store.hub(req["hub_id"]) or {}
    tz = desk.hub.clock.tz
    manifest = {
        "station": {"id": desk.station.id, "name": desk.hub.name, "key": desk.key.public.as_dict()},
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
        "exported": {"at": desk.hub.clock.time(), "at_iso": iso_time(desk.hub.clock.time(), tz), "by": user},
    }
    fd, name = tempfile.mkstemp(prefix="pack-", suffix=".zip", dir=desk.folder)
    os.close(fd)
    dest = Path(name)
    key = desk.key
    try:
        await desk.hub.loop.run_in_executor(
            None, lambda: write_pack(dest, manifest=manifest, files=files, station_key=key)
        )
    except BaseException:
        await desk.hub.loop.run_in_executor(None, remove_file, dest)
        raise
    return dest
