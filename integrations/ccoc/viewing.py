"""Audited camera views at the station (DESIGN §9): a reason first, a record on both sides.

An officer who opens a camera's pictures must give a reason: an incident
(its id) or a few words.  The view is written to the station's audit log
*before* any picture is served, and a copy goes to the camera owner's hub
through federation (``audit.station_view``, queued if the hub is offline), so
the owner sees who looked, when, and why.  The view then works as a short
grant: for ``view_seconds`` the officer may load that camera's stored
pictures without asking again.

Thumbnails on the board are pictures the hub attached to an incident; their
reason is that incident.  Each officer's first look at a camera's pictures
for an incident is audited and mirrored (then once per ``view_coalesce``
seconds), like the hub's own live views.

The station only mirrors the owner's rule: the hub decided what left it.
Cameras shared as ``registry`` show their owner's contact, never a picture;
``on_alarm`` cameras need an open incident at their hub.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.core.ids import ulid
from integrations.camera.const import DEFAULT_ON_ALARM_MAX_HOURS, DEFAULT_ON_ALARM_MINUTES
from integrations.ccoc.delivery import ConsoleError
from integrations.ccoc.kpi import links
from integrations.ccoc.live_web import live_fields
from integrations.federation.const import STATION_VIEW_COMMAND

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.ccoc.board import HubDirectory
    from integrations.ccoc.config import ConsoleConfig
    from integrations.ccoc.delivery import Delivery
    from integrations.station.runtime import Station

__all__ = ("Viewing", "AUDIT_VIEW", "IMAGE_POLICIES", "camera_actions")

_LOGGER = logging.getLogger(__name__)

#: The station's audit action for an officer's view of a camera's pictures.
AUDIT_VIEW = "station.camera.view"
#: Policies under which pictures may reach the station at all.
IMAGE_POLICIES = ("always", "on_alarm")
_MAX_REASON = 500
_RECENT_INCIDENTS = 20


def camera_actions(camera: dict[str, Any], open_incident: bool) -> list[str]:
    """Return what the station may do with a registry camera: ``view``, ``snapshot``, ``ptz``, ``call``."""
    share = camera.get("share")
    actions = ["call"] if (camera.get("owner") or {}).get("phone") else []
    if share == "always" or (share == "on_alarm" and open_incident):
        actions = ["view", "snapshot", "ptz", *actions]
    return actions


@dataclass(frozen=True)
class _Grant:
    view_id: str
    username: str
    hub_id: str
    entity_id: str
    expires: float
    reason: str = ""
    incident_id: str | None = None


class Viewing:
    """Opens audited views and serves their pictures."""

    def __init__(
        self, hub: Hub, station: Station, cfg: ConsoleConfig, delivery: Delivery, hubs: HubDirectory
    ) -> None:
        self.hub = hub
        self.station = station
        self.cfg = cfg
        self.delivery = delivery
        self.hubs = hubs
        self._thumb_seen: dict[tuple[str, str, str, str], float] = {}

    async def camera(self, hub_id: str, entity_id: str) -> dict[str, Any]:
        """Return a camera from its hub's registry, or raise 404."""
        hub = await self.hubs.get(hub_id)
        cameras = ((hub or {}).get("registry") or {}).get("cameras") or []
        for cam in cameras:
            if cam.get("entity_id") == entity_id:
                return dict(cam)
        raise ConsoleError(f"hub {hub_id} shares no camera {entity_id}", 404)

    async def open(
        self,
        *,
        user: str,
        role: str,
        name: str,
        hub_id: str,
        entity_id: str,
        reason: str,
        incident_id: str | None,
        ip: str = "",
    ) -> dict[str, Any]:
        """Check, audit and mirror a view; return the grant and the pictures it covers."""
        reason = " ".join((reason or "").split())
        if incident_id and not reason:
            reason = f"incident {incident_id}"
        if not reason:
            await self.hub.audit.log(
                user,
                AUDIT_VIEW,
                f"{hub_id}/{entity_id}",
                role=role,
                source="console",
                ip=ip,
                result="refused",
                detail={"error": "no reason given"},
            )
            raise ConsoleError("a reason is required to view a camera: an incident id or a few words", 400)
        if len(reason) > _MAX_REASON:
            raise ConsoleError(f"the reason is too long (at most {_MAX_REASON} characters)", 400)
        camera = await self.camera(hub_id, entity_id)
        active = await self.station.store.incidents(hub_id=hub_id, status="active", limit=100)
        if incident_id and not await self.station.store.incident(incident_id, hub_id):
            raise ConsoleError(f"no incident {incident_id} from hub {hub_id}", 400)
        share = camera.get("share")
        refusal = None
        if share not in IMAGE_POLICIES:
            phone = (camera.get("owner") or {}).get("phone") or ""
            refusal = (
                f"the owner shares only this camera's location and contact; ask them for footage {phone}"
            )
        elif share == "on_alarm" and not active:
            refusal = "the owner shares this camera's pictures only while an incident at the hub is open"
        if refusal is not None:
            await self.hub.audit.log(
                user,
                AUDIT_VIEW,
                f"{hub_id}/{entity_id}",
                role=role,
                source="console",
                ip=ip,
                result="refused",
                detail={"reason": reason, "incident_id": incident_id, "error": refusal},
            )
            raise ConsoleError(refusal, 403)
        images = await self._images(hub_id, entity_id, incident_id, active)
        now = self.hub.clock.time()
        view_id = ulid()
        # Written (and committed) before any picture is served: no record, no picture.
        await self.hub.audit.log(
            user,
            AUDIT_VIEW,
            f"{hub_id}/{entity_id}",
            role=role,
            detail={
                "view_id": view_id,
                "hub_id": hub_id,
                "camera": entity_id,
                "reason": reason,
                "incident_id": incident_id,
                "snapshots": [i["id"] for i in images],
                "policy": share,
            },
            source="console",
            ip=ip,
        )
        mirror = await self._mirror(
            user,
            role,
            name,
            hub_id,
            entity_id,
            reason,
            incident_id,
            view_id,
        )
        # Station workers keep views on their shared database: the officer's next request (the
        # live player, the incident page) may reach another worker, which finds the same row.
        views = await links(self.hub)
        await views.execute(
            "INSERT INTO ccoc_views (id, ts, username, role, hub_id, entity_id, incident_id, reason, what, "
            "snapshots, expires, mirror_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                view_id,
                now,
                user,
                role,
                hub_id,
                entity_id,
                incident_id,
                reason,
                "snapshot",
                json.dumps([i["id"] for i in images]),
                now + self.cfg.view_seconds,
                mirror["id"],
            ),
        )
        return {
            "view_id": view_id,
            "hub_id": hub_id,
            "entity_id": entity_id,
            "camera": camera,
            "reason": reason,
            "incident_id": incident_id,
            "expires": now + self.cfg.view_seconds,
            "images": [{**i, "url": f"/ccoc/views/{view_id}/{i['id']}.jpg"} for i in images],
            "mirror": {"id": mirror["id"], "state": mirror["state"]},
            **live_fields(view_id),
        }

    async def _mirror(
        self,
        user: str,
        role: str,
        name: str,
        hub_id: str,
        entity_id: str,
        reason: str,
        incident_id: str | None,
        view_id: str,
    ) -> dict[str, Any]:
        return await self.delivery.submit(
            hub_id,
            STATION_VIEW_COMMAND,
            {
                "entity_id": entity_id,
                "reason": reason,
                "incident_id": incident_id,
                "what": "snapshot",
                "viewed_at": self.hub.clock.time(),
                "view_id": view_id,
            },
            user=user,
            role=role,
            name=name,
            incident_id=incident_id,
        )

    async def _images(
        self, hub_id: str, entity_id: str, incident_id: str | None, active: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Return the camera's stored pictures: the incident's, else those of the hub's recent incidents."""
        if incident_id:
            ids = [incident_id]
        else:
            recent = await self.station.store.incidents(hub_id=hub_id, limit=_RECENT_INCIDENTS)
            ids = list(dict.fromkeys([i["id"] for i in active] + [i["id"] for i in recent]))
        images: list[dict[str, Any]] = []
        for inc_id in ids:
            inc = await self.station.store.incident(inc_id, hub_id)
            for snap in (inc or {}).get("snapshots") or []:
                if snap.get("entity_id") == entity_id:
                    images.append({"id": snap["id"], "ts": snap["ts"], "incident_id": inc_id})
        images.sort(key=lambda i: float(i["ts"] or 0), reverse=True)
        return images[:24]

    async def grant(self, view_id: str, username: str) -> _Grant:
        """Return a live grant of ``username``, or raise 403/404.

        With several workers the view may have been opened on another one (a
        balancing proxy deals an officer's requests): its row is on the
        workers' shared database, judged here by the same rules.
        """
        found = await self.held_view(view_id, username)
        if found is None:
            raise ConsoleError("no such view of yours", 404)
        if float(found["expires"]) < self.hub.clock.time():
            raise ConsoleError("this view has ended: open the camera again with a reason", 403)
        return _Grant(
            str(found["id"]),
            str(found["username"]),
            str(found["hub_id"]),
            str(found["entity_id"]),
            float(found["expires"]),
            str(found.get("reason") or ""),
            found.get("incident_id"),
        )

    async def held_view(self, view_id: str, username: str) -> dict[str, Any] | None:
        """Return a view of ``username`` (its grant's fields), or None."""
        views = await links(self.hub)
        row = await views.fetchone(
            "SELECT id, username, hub_id, entity_id, expires, reason, incident_id FROM ccoc_views WHERE id = ?",
            (view_id,),
        )
        if row is None or row["username"] != username:
            return None
        return dict(row)

    async def view_images(self, view_id: str, username: str) -> list[dict[str, Any]]:
        """Return the pictures a grant covers now (new ones arrive while it lasts)."""
        grant = await self.grant(view_id, username)
        incident_id = grant.incident_id
        active = await self.station.store.incidents(hub_id=grant.hub_id, status="active", limit=100)
        images = await self._images(grant.hub_id, grant.entity_id, incident_id, active)
        return [{**i, "url": f"/ccoc/views/{view_id}/{i['id']}.jpg"} for i in images]

    async def image_path(self, view_id: str, msg_id: str, username: str) -> str:
        """Return the file of a picture covered by the grant (same hub and camera), or raise."""
        grant = await self.grant(view_id, username)
        row = await self.station.store.snapshot(grant.hub_id, msg_id)
        if row is None or row["entity_id"] != grant.entity_id:
            raise ConsoleError("this picture is not covered by your view", 404)
        return str(self.station.ingest.snapshot_dir / row["path"])

    async def picture_refusal(self, hub_id: str, row: dict[str, Any]) -> str | None:
        """Why a stored picture may not be shown now, or None: the owner's rule, as the hub applies it.

        The hub decided what left it, but an ``on_alarm`` picture was shared
        for a window: while its incident is open, and ``on_alarm_minutes``
        after it closes (never more than ``on_alarm_max_hours`` after it
        opened).  Once that has passed, the station keeps the file (evidence)
        but serves it no more.  A camera the hub no longer shares is refused.
        """
        try:
            camera = await self.camera(hub_id, str(row["entity_id"]))
        except ConsoleError:
            return "the hub no longer shares this camera"
        share = camera.get("share")
        if share == "always":
            return None
        if share != "on_alarm":
            return "the owner shares only this camera's location and contact"
        incident = (
            await self.station.store.incident(str(row["incident_id"]), hub_id) if row["incident_id"] else None
        )
        if incident is None:
            return "the owner shares this camera's pictures only with an incident at the hub"
        now = self.hub.clock.time()
        max_hours = float(camera.get("on_alarm_max_hours") or DEFAULT_ON_ALARM_MAX_HOURS)
        if incident.get("opened_at") and now > float(incident["opened_at"]) + max_hours * 3600:
            return "the owner's sharing window for this camera has closed"
        if incident.get("status") != "closed":
            return None
        minutes = float(camera.get("on_alarm_minutes") or DEFAULT_ON_ALARM_MINUTES)
        closed = float(incident.get("closed_at") or incident.get("updated_at") or 0)
        if now > closed + minutes * 60:
            return "the owner's sharing window for this camera has closed"
        return None

    async def mirror_picture(
        self, hub_id: str, row: dict[str, Any], *, user: str, role: str, name: str, reason: str
    ) -> None:
        """Send the owner's hub the record of a picture fetched outside the console (the REST route)."""
        incident_id = str(row["incident_id"]) if row["incident_id"] else None
        await self._mirror(user, role, name, hub_id, str(row["entity_id"]), reason, incident_id, "")

    async def thumbnail_path(
        self, hub_id: str, msg_id: str, *, user: str, role: str, name: str, ip: str
    ) -> str:
        """Audit (coalesced) and mirror an incident thumbnail view; return the file."""
        row = await self.station.store.snapshot(hub_id, msg_id)
        if row is None or not row["incident_id"]:
            raise ConsoleError("no such incident picture", 404)
        incident_id, entity_id = str(row["incident_id"]), str(row["entity_id"])
        refusal = await self.picture_refusal(hub_id, row)
        if refusal is not None:
            await self.hub.audit.log(
                user,
                AUDIT_VIEW,
                f"{hub_id}/{entity_id}",
                role=role,
                source="console",
                ip=ip,
                result="refused",
                detail={
                    "incident_id": incident_id,
                    "snapshots": [msg_id],
                    "thumbnail": True,
                    "error": refusal,
                },
            )
            raise ConsoleError(refusal, 403)
        key = (user, hub_id, entity_id, incident_id)
        now = self.hub.clock.time()
        seen = self._thumb_seen.get(key)
        if seen is None or now - seen >= self.cfg.view_coalesce:
            reason = f"incident {incident_id}"
            await self.hub.audit.log(
                user,
                AUDIT_VIEW,
                f"{hub_id}/{entity_id}",
                role=role,
                detail={
                    "hub_id": hub_id,
                    "camera": entity_id,
                    "reason": reason,
                    "incident_id": incident_id,
                    "snapshots": [msg_id],
                    "thumbnail": True,
                },
                source="console",
                ip=ip,
            )
            self._thumb_seen[key] = now
            if len(self._thumb_seen) > 10_000:
                for old in sorted(self._thumb_seen, key=self._thumb_seen.__getitem__)[:5_000]:
                    del self._thumb_seen[old]
            await self._mirror(user, role, name, hub_id, entity_id, reason, incident_id, "")
        return str(self.station.ingest.snapshot_dir / row["path"])

    async def views(self, hub_id: str, incident_id: str) -> list[dict[str, Any]]:
        """Return the reasoned views recorded for an incident."""
        views = await links(self.hub)
        rows = await views.fetchall(
            "SELECT * FROM ccoc_views WHERE hub_id = ? AND incident_id = ? ORDER BY ts", (hub_id, incident_id)
        )
        return [dict(r) for r in rows]
