"""What the board and the incident page show: federated incidents joined with hubs and console state.

The federation store keeps incidents as the hubs sent them; this module adds
what an officer needs at a glance: the hub's name and zone, thumbnails
(grouped *before* / *after* the alarm when the hub's pre-buffer says so), the
console commands still on their way, and, for the incident page, one
timeline merged from the hub's entries and the station's own (commands,
answers, camera views).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from integrations.ccoc.delivery import Delivery
    from integrations.station.runtime import Station

__all__ = ("HubDirectory", "board_item", "merged_timeline", "snapshot_phases", "line_entries", "matches")

#: Seconds the hub directory (names, zones, registries) is reused before it is read again.
_DIRECTORY_TTL = 5.0


class HubDirectory:
    """The registered hubs with their registries, cached briefly (the board asks often)."""

    def __init__(self, station: Station) -> None:
        self.station = station
        self._hubs: dict[str, dict[str, Any]] = {}
        self._read_at = 0.0

    def invalidate(self) -> None:
        """Read again next time (a registry or link state changed)."""
        self._read_at = 0.0

    async def all(self) -> dict[str, dict[str, Any]]:
        """Return hub id → summary with ``registry`` and ``health``."""
        now = time.monotonic()
        if now - self._read_at > _DIRECTORY_TTL:
            hubs: dict[str, dict[str, Any]] = {}
            # One read for every hub (it was one per hub, each a trip to the database thread).
            for full in await self.station.store.hubs(full=True):
                # A hub registered without a name shows the one it reports itself.
                own = ((full.get("registry") or {}).get("hub") or {}).get("name")
                if own and full.get("name") in (None, "", full["id"]):
                    full["name"] = own
                hubs[full["id"]] = full
            self._hubs, self._read_at = hubs, now
        # The link state as the station tracks it now: its database copy is written in the
        # background and a read may overtake that write (reads have their own connection).
        for hub_id, item in self._hubs.items():
            live = self.station.ingest.statuses.get(hub_id)
            if live is not None:
                item.update(status=live.status, status_since=live.status_since, last_seen=live.last_seen)
        return self._hubs

    async def get(self, hub_id: str) -> dict[str, Any] | None:
        """Return one hub, or None if it is not registered."""
        return (await self.all()).get(hub_id)


def hub_zone(hub: dict[str, Any] | None) -> str:
    """Return the hub's zone id (from its registry), or ''."""
    if not hub:
        return ""
    registry = hub.get("registry") or {}
    zone = ((registry.get("plugins") or {}).get("zone") or {}).get("id")
    return str(zone or hub.get("zone") or "")


def snapshot_phases(timeline: list[dict[str, Any]]) -> dict[str, str]:
    """Return hub snapshot id → ``before`` / ``after`` / ``during`` from the timeline's snapshot entries."""
    phases: dict[str, str] = {}
    for entry in timeline:
        if entry.get("kind") != "snapshot":
            continue
        phase = str((entry.get("data") or {}).get("phase") or "during")
        for snapshot_id in entry.get("attachments") or ():
            phases[str(snapshot_id)] = phase if phase in ("before", "after") else "during"
    return phases


def line_entries(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the timeline entries that are LINE: deliveries, and acknowledgements from LINE groups."""
    return [
        e
        for e in timeline
        if str(e.get("actor") or "").startswith("line:") or e.get("kind") in ("line", "push", "reply")
    ]


def board_item(
    inc: dict[str, Any],
    hub: dict[str, Any] | None,
    pending: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return the board's view of one federated incident (``inc`` as the store returns it)."""
    phases = snapshot_phases(inc.get("timeline") or [])
    snapshots = [
        {
            "id": s["id"],
            "entity_id": s["entity_id"],
            "ts": s["ts"],
            "phase": phases.get(str(s.get("snapshot_id")), "during"),
            "thumb": f"/ccoc/thumbs/{inc['hub_id']}/{s['id']}.jpg",
        }
        for s in inc.get("snapshots") or []
    ]
    return {
        "id": inc["id"],
        "hub_id": inc["hub_id"],
        "hub_name": (hub or {}).get("name") or inc["hub_id"],
        "hub_status": (hub or {}).get("status") or "unknown",
        "zone": hub_zone(hub),
        "kind": inc.get("kind") or "",
        "severity": inc.get("severity") or "",
        "status": inc.get("status") or "",
        "title": inc.get("title") or "",
        "place": inc.get("place") or "",
        "location": inc.get("location"),
        "opened_at": inc.get("opened_at"),
        "updated_at": inc.get("updated_at"),
        "acknowledged_at": inc.get("acknowledged_at"),
        "acknowledged_by": inc.get("acknowledged_by"),
        "closed_at": inc.get("closed_at"),
        "drill": bool(inc.get("drill")),
        "snapshots": snapshots,
        "pending": [
            {
                "id": p["id"],
                "command": p["command"],
                "state": p["state"],
                "actor": p["actor_name"] or p["actor"],
            }
            for p in pending or []
        ],
        "url": f"/ccoc/incidents/{inc['hub_id']}/{inc['id']}",
    }


def matches(item: dict[str, Any], *, zone: str = "", hub_id: str = "", kind: str = "") -> bool:
    """Return whether a board item passes the board's filters ('' = any)."""
    return (
        (not zone or item["zone"] == zone)
        and (not hub_id or item["hub_id"] == hub_id)
        and (not kind or item["kind"] == kind)
    )


async def merged_timeline(
    inc: dict[str, Any], delivery: Delivery, views: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return the hub's timeline and the station's own entries for the incident, in time order."""
    out: list[dict[str, Any]] = []
    for entry in inc.get("timeline") or []:
        actor = str(entry.get("actor") or "")
        out.append(
            {
                "ts": entry.get("ts"),
                "source": "hub",
                "actor": actor,
                "kind": entry.get("kind") or "",
                "text": entry.get("text") or "",
                "line": actor.startswith("line:") or entry.get("kind") in ("line", "push", "reply"),
            }
        )
    for cmd in await delivery.commands(hub_id=inc["hub_id"], incident_id=inc["id"], limit=500):
        data = cmd["data"]
        detail = data.get("unit") or data.get("text") or data.get("reason") or ""
        out.append(
            {
                "ts": cmd["created_at"],
                "source": "station",
                "actor": cmd["actor_name"] or cmd["actor"],
                "kind": cmd["command"],
                "text": f"{detail}".strip(),
                "state": cmd["state"],
                "error": cmd["error"],
                "line": False,
            }
        )
    for view in views:
        out.append(
            {
                "ts": view["ts"],
                "source": "station",
                "actor": view["username"],
                "kind": "camera.view",
                "text": f"{view['entity_id']}: {view['reason']}",
                "line": False,
            }
        )
    out.sort(key=lambda e: float(e["ts"] or 0.0))
    return out
