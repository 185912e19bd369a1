"""The programme's monthly evaluation figures, computed from what the station stored.

* SOS → acknowledgement: p50 and p90 of (acknowledged_at − opened_at) over the
  month's SOS incidents, with how many were never acknowledged;
* incidents by kind and by zone (the hub's zone);
* hubs online: the share of hub-time online during the month, from the link
  states the console records (``ccoc_hub_status``), weighted by time;
* cameras linked to the station, by the owner's share policy.  The registry
  only says how things are *now*, so the console keeps the latest count of
  each month (``ccoc_kpi_samples``) and past months show what was recorded;
* slots from plugins (``kpi_slots``: patrol coverage, People Poll, Big 6).

Months are calendar months in the station's time zone.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from integrations.ccoc.board import hub_zone

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.ccoc.board import HubDirectory
    from integrations.station.runtime import Station

__all__ = ("month_bounds", "percentile", "compute", "record_status", "hubs_online_share", "MONTH_RE")

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
#: Slots shown even before their plugin reports, so the evaluation page has its shape.
EXPECTED_SLOTS = (
    ("patrol_coverage", "ความครอบคลุมการตรวจตู้แดง", "Patrol coverage", "%"),
    ("poll_responses", "ผู้ตอบแบบสำรวจ People Poll", "People Poll responses", ""),
)


def month_bounds(month: str, tz: tzinfo) -> tuple[float, float]:
    """Return [start, end) of ``YYYY-MM`` in ``tz`` as UNIX seconds."""
    match = MONTH_RE.match(month)
    if match is None:
        raise ValueError(f"{month!r}: a month is YYYY-MM")
    year, mon = int(match.group(1)), int(match.group(2))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=tz)
    return start.timestamp(), end.timestamp()


def shift_month(month: str, delta: int) -> str:
    """Return the month ``delta`` months after ``month``."""
    year, mon = (int(p) for p in month.split("-"))
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def percentile(values: list[float], p: float) -> float | None:
    """Return the ``p``-th percentile (0–100) by linear interpolation between ranks, or None if empty."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    rank = (len(data) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


async def record_status(hub: Hub, hub_id: str, status: str, at: float) -> None:
    """Remember a hub's link state change (only a real change is stored)."""
    last = await hub.storage.fetchone(
        "SELECT status FROM ccoc_hub_status WHERE hub_id = ? ORDER BY ts DESC LIMIT 1", (hub_id,)
    )
    if last is None or last["status"] != status:
        await hub.storage.execute(
            "INSERT OR REPLACE INTO ccoc_hub_status (hub_id, ts, status) VALUES (?, ?, ?)",
            (hub_id, at, status),
        )


async def sync_statuses(hub: Hub, directory: dict[str, dict[str, Any]]) -> None:
    """Record hubs the history lacks (registered since start) from their registration, and any missed change."""
    now = hub.clock.time()
    for hub_id, item in directory.items():
        known = await hub.storage.fetchone(
            "SELECT 1 FROM ccoc_hub_status WHERE hub_id = ? LIMIT 1", (hub_id,)
        )
        since = now if known else float(item.get("registered_at") or now)
        await record_status(hub, hub_id, str(item.get("status") or "unknown"), min(since, now))


async def hubs_online_share(hub: Hub, hub_ids: list[str], start: float, end: float) -> float | None:
    """Return the share (0–1) of hub-time online in [start, end), or None if nothing is known."""
    end = min(end, hub.clock.time())
    if end <= start or not hub_ids:
        return None
    online_total = 0.0
    known_total = 0.0
    for hub_id in hub_ids:
        before = await hub.storage.fetchone(
            "SELECT status FROM ccoc_hub_status WHERE hub_id = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
            (hub_id, start),
        )
        changes = await hub.storage.fetchall(
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
    await hub.storage.execute(
        "INSERT OR REPLACE INTO ccoc_kpi_samples (month, key, value, data, ts) VALUES (?, ?, ?, ?, ?)",
        (
            month,
            key,
            value,
            json.dumps(data, ensure_ascii=False) if data is not None else None,
            hub.clock.time(),
        ),
    )


async def _samples(hub: Hub, month: str) -> dict[str, dict[str, Any]]:
    rows = await hub.storage.fetchall(
        "SELECT key, value, data FROM ccoc_kpi_samples WHERE month = ?", (month,)
    )
    return {
        r["key"]: {"value": r["value"], "data": json.loads(r["data"]) if r["data"] else None} for r in rows
    }


async def _plugin_slots(hub: Hub, month: str) -> list[dict[str, Any]]:
    slots: list[dict[str, Any]] = []
    for info, result in await hub.plugins.async_call_each("kpi_slots", hub=hub, month=month):
        for item in result or ():
            if isinstance(item, dict) and item.get("key"):
                slots.append({**item, "source": info.domain})
    keys = {s["key"] for s in slots}
    for key, th, en, unit in EXPECTED_SLOTS:
        if key not in keys:
            slots.append(
                {"key": key, "label_th": th, "label_en": en, "value": None, "unit": unit, "source": None}
            )
    return slots


async def compute(hub: Hub, station: Station, hubs: HubDirectory, month: str) -> dict[str, Any]:
    """Return every figure for ``month``."""
    tz = hub.clock.tz
    start, end = month_bounds(month, tz)
    current = datetime.fromtimestamp(hub.clock.time(), tz).strftime("%Y-%m") == month
    directory = await hubs.all()
    facts = await station.store.incident_facts(start, end)
    # Drills are counted on their own: a test press must not improve (or spoil) the real figures.
    drills = [f for f in facts if f.get("drill")]
    facts = [f for f in facts if not f.get("drill")]
    drill_acks = [
        float(f["acknowledged_at"]) - float(f["opened_at"])
        for f in drills
        if f["acknowledged_at"] is not None and f["acknowledged_at"] >= f["opened_at"]
    ]
    ack_times = [
        float(f["acknowledged_at"]) - float(f["opened_at"])
        for f in facts
        if f["kind"] == "sos" and f["acknowledged_at"] is not None and f["acknowledged_at"] >= f["opened_at"]
    ]
    sos_total = sum(1 for f in facts if f["kind"] == "sos")
    by_kind: dict[str, int] = {}
    by_zone: dict[str, int] = {}
    for f in facts:
        by_kind[f["kind"] or "?"] = by_kind.get(f["kind"] or "?", 0) + 1
        zone = hub_zone(directory.get(f["hub_id"])) or "?"
        by_zone[zone] = by_zone.get(zone, 0) + 1

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
            "count": sos_total,
            "acknowledged": len(ack_times),
            "unacknowledged": sos_total - len(ack_times),
            "p50": percentile(ack_times, 50),
            "p90": percentile(ack_times, 90),
            "times": sorted(ack_times),
        },
        "incidents": {"total": len(facts), "by_kind": by_kind, "by_zone": by_zone},
        "drills": {
            "count": len(drills),
            "acknowledged": len(drill_acks),
            "p50": percentile(drill_acks, 50),
        },
        "hubs": {
            "registered": int((samples.get("hubs_registered") or {}).get("value") or len(directory)),
            "online_share": online,
            "online_now": sum(1 for h in directory.values() if h.get("status") == "online")
            if current
            else None,
        },
        "cameras": {"by_policy": cameras, "linked": sum(v for k, v in cameras.items() if k != "never")},
        "slots": await _plugin_slots(hub, month),
    }
