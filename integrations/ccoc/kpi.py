"""The programme's monthly evaluation figures, computed from what the station stored.

The figures themselves (SOS → acknowledgement, incidents by kind and zone, the
programme's patrols, People Poll and Big 6 per hub and zone) are
:func:`integrations.station.kpis.station_kpis`: the one computation the
console, the API and the region uplink share.  This module adds what only the
console knows:

* hubs online: the share of hub-time online during the month, from the link
  states the console records (``ccoc_hub_status``), weighted by time;
* cameras linked to the station, by the owner's share policy.  The registry
  only says how things are *now*, so the console keeps the latest count of
  each month (``ccoc_kpi_samples``) and past months show what was recorded.

Months are calendar months in the station's time zone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from integrations.ccoc.migrations import SHARED_COMPONENT, SHARED_PG_MIGRATIONS
from integrations.station.kpis import (
    MONTH_RE,
    StationKpis,
    month_bounds,
    percentile,
    shift_month,
    station_kpis,
)

if TYPE_CHECKING:
    from hub.hub import Hub
    from hub.storage import Storage
    from integrations.ccoc.board import HubDirectory
    from integrations.station.runtime import Station

__all__ = (
    "month_bounds",
    "shift_month",
    "percentile",
    "compute",
    "compute_with",
    "links",
    "record_status",
    "hubs_online_share",
    "MONTH_RE",
)


#: The console's tables kept on the workers' shared PostgreSQL, with the columns copied in on upgrade.
_SHARED_TABLES: dict[str, tuple[str, ...]] = {
    "ccoc_hub_status": ("hub_id", "ts", "status"),
    "ccoc_views": (
        "id",
        "ts",
        "username",
        "role",
        "hub_id",
        "entity_id",
        "incident_id",
        "reason",
        "what",
        "snapshots",
        "expires",
        "mirror_id",
    ),
    "ccoc_kpi_samples": ("month", "key", "value", "data", "ts"),
}


async def links(hub: Hub) -> Storage:
    """Return where the console's shared tables are: the workers' shared PostgreSQL, or the hub's own file.

    Station workers each hear every link change (their own and, through PostgreSQL, the
    others'), but one that was down missed some: one shared history gives every worker the
    same "hubs online" figure.  The officers' camera views live there too, so an incident's
    views, and a view's grant, are the same whichever worker the proxy picks; and the monthly
    samples, so a past month's camera figures are the same too.  On PostgreSQL
    the tables are made on first use, and what this worker recorded in its own file before
    (an upgrade) is copied in, at each start (a no-op after the first: the rows' keys are
    there, and the file gets no new ones).
    """
    storage = hub.shared_storage
    if storage is hub.storage or storage.has_migrations(SHARED_COMPONENT):
        return storage
    await storage.apply_migrations(SHARED_COMPONENT, SHARED_PG_MIGRATIONS)
    for table, columns in _SHARED_TABLES.items():
        names = ", ".join(columns)
        own = [tuple(r) for r in await hub.storage.fetchall(f"SELECT {names} FROM {table}")]
        if own:
            marks = ", ".join("?" for _ in columns)
            await storage.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING", own
            )
    return storage


async def record_status(hub: Hub, hub_id: str, status: str, at: float) -> None:
    """Remember a hub's link state change (only a real change is stored)."""
    storage = await links(hub)
    last = await storage.fetchone(
        "SELECT status FROM ccoc_hub_status WHERE hub_id = ? ORDER BY ts DESC LIMIT 1", (hub_id,)
    )
    if last is None or last["status"] != status:
        await storage.execute(
            "INSERT INTO ccoc_hub_status (hub_id, ts, status) VALUES (?, ?, ?) "
            "ON CONFLICT (hub_id, ts) DO UPDATE SET status = excluded.status",
            (hub_id, at, status),
        )


async def sync_statuses(hub: Hub, directory: dict[str, dict[str, Any]]) -> None:
    """Record hubs the history lacks (registered since start) from their registration, and any missed change."""
    now = hub.clock.time()
    storage = await links(hub)
    for hub_id, item in directory.items():
        known = await storage.fetchone("SELECT 1 FROM ccoc_hub_status WHERE hub_id = ? LIMIT 1", (hub_id,))
        since = now if known else float(item.get("registered_at") or now)
        await record_status(hub, hub_id, str(item.get("status") or "unknown"), min(since, now))


async def hubs_online_share(hub: Hub, hub_ids: list[str], start: float, end: float) -> float | None:
    """Return the share (0–1) of hub-time online in [start, end), or None if nothing is known."""
    end = min(end, hub.clock.time())
    if end <= start or not hub_ids:
        return None
    online_total = 0.0
    known_total = 0.0
    storage = await links(hub)
    for hub_id in hub_ids:
        before = await storage.fetchone(
            "SELECT status FROM ccoc_hub_status WHERE hub_id = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
            (hub_id, start),
        )
        changes = await storage.fetchall(
            "SELECT ts, status FROM ccoc_hub_status WHERE hub_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
            (hub_id, start, end),
        )
        state, since = (before["status"] if before else None), start
        for row in changes:
            if state is not None:
                known_total += row["ts"] - since
                online_total += (row["ts"] - since) if state == "online" else 0.0
            state, since = row["status"], row["ts"]
        if state is not None:
            known_total += end - since
            online_total += (end - since) if state == "online" else 0.0
    return online_total / known_total if known_total > 0 else None


async def _sample(hub: Hub, month: str, key: str, value: float | None, data: Any = None) -> None:
    storage = await links(hub)
    await storage.execute(
        "INSERT INTO ccoc_kpi_samples (month, key, value, data, ts) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (month, key) DO UPDATE SET value = excluded.value, data = excluded.data, ts = excluded.ts",
        (
            month,
            key,
            value,
            json.dumps(data, ensure_ascii=False) if data is not None else None,
            hub.clock.time(),
        ),
    )


async def _samples(hub: Hub, month: str) -> dict[str, dict[str, Any]]:
    storage = await links(hub)
    rows = await storage.fetchall("SELECT key, value, data FROM ccoc_kpi_samples WHERE month = ?", (month,))
    return {
        r["key"]: {"value": r["value"], "data": json.loads(r["data"]) if r["data"] else None} for r in rows
    }


def _slots(k: StationKpis) -> list[dict[str, Any]]:
    """Return the station-wide programme figures in the page's and the API's slot form."""
    return [
        {
            "key": f.id,
            "label_th": f.label_th,
            "label_en": f.label_en,
            "value": f.value,
            "unit": f.unit,
            "n": f.n,
            "hubs": f.hubs,
            "lower_is_better": f.lower_is_better,
            "source": f.source if f.hubs else None,
        }
        for f in k.station.figures.values()
    ]


async def compute(hub: Hub, station: Station, hubs: HubDirectory, month: str) -> dict[str, Any]:
    """Return every figure for ``month``."""
    return (await compute_with(hub, station, hubs, month))[0]


async def compute_with(
    hub: Hub, station: Station, hubs: HubDirectory, month: str
) -> tuple[dict[str, Any], StationKpis]:
    """Return every figure for ``month``, and the :class:`StationKpis` they came from."""
    tz = hub.clock.tz
    start, end = month_bounds(month, tz)
    current = datetime.fromtimestamp(hub.clock.time(), tz).strftime("%Y-%m") == month
    directory = await hubs.all()
    k = await station_kpis(station.store, month, tz=tz, name=hub.name)
    sos = k.station.sos
    by_zone = {(z.id or "?"): z.incidents for z in k.zones if z.incidents}

    if current:
        await sync_statuses(hub, directory)
        policies: dict[str, int] = {}
        for item in directory.values():
            for cam in (item.get("registry") or {}).get("cameras") or []:
                share = str(cam.get("share") or "?")
                policies[share] = policies.get(share, 0) + 1
        await _sample(hub, month, "cameras_by_policy", sum(policies.values()), policies)
        await _sample(hub, month, "hubs_registered", len(directory))
    samples = await _samples(hub, month)
    cameras = (samples.get("cameras_by_policy") or {}).get("data") or {}
    online = await hubs_online_share(hub, sorted(directory), start, end)
    return {
        "month": month,
        "current": current,
        "sos": {
            "count": sos.count,
            "acknowledged": sos.acknowledged,
            "unacknowledged": sos.unacknowledged,
            "p50": sos.p50,
            "p90": sos.p90,
            "times": sos.times,
        },
        "incidents": {
            "total": k.station.incidents,
            "by_kind": k.station.incidents_by_kind,
            "by_zone": by_zone,
        },
        "drills": {
            "count": sos.drills,
            "acknowledged": sos.drills_acknowledged,
            "p50": percentile(sos.drill_times, 50),
        },
        "hubs": {
            "registered": int((samples.get("hubs_registered") or {}).get("value") or len(directory)),
            "online_share": online,
            "online_now": sum(1 for h in directory.values() if h.get("status") == "online")
            if current
            else None,
        },
        "cameras": {"by_policy": cameras, "linked": sum(v for k, v in cameras.items() if k != "never")},
        "slots": _slots(k),
        # Per hub and per zone, with what each reported (issue 17: shown per hub and zone).
        "programme": k.as_dict(),
    }, k
