"""What each hub achieves, in alarm-centre terms: supervision interval, detection time, SOS latency, grade.

An alarm transmission system is graded by EN 50136-1 (the categories; EN 50136-2
is the premises transceiver that must meet them): a *reporting time* (how soon
a failed path is noticed: here, the hub's detection time) and a *transmission
time* (how soon an alarm arrives: here, an SOS from the hub's press to the
station storing and acknowledging it).  The table below is what the hubs page
labels against; docs/operations.md prints it with its source.

A hub has one path to the station (its MQTT link), so it can only ever meet a
single-path category (SP1–SP6); the dual-path ones (DP1–DP4) need a second,
independent path and are shown as not applicable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.i18n import register_pairs
from integrations.ccoc.kpi import percentile

if TYPE_CHECKING:
    from integrations.station.runtime import Station

__all__ = ("Category", "CATEGORIES", "grade", "hub_figures", "month_figures", "labels")


@dataclass(frozen=True)
class Category:
    """One single-path ATS category: its reporting-time and transmission-time limits (seconds)."""

    name: str
    #: The longest allowed time to notice that the path failed.
    reporting_time: float
    #: The longest allowed transmission time of 95 % of alarms.
    transmission_95: float


#: EN 50136-1:2012, single-path categories (Tables 2 and 4, as docs/operations.md quotes them), best last.
CATEGORIES: tuple[Category, ...] = (
    Category("SP1", 32 * 24 * 3600, 480),
    Category("SP2", 25 * 3600, 120),
    Category("SP3", 30 * 60, 60),
    Category("SP4", 180, 60),
    Category("SP5", 90, 30),
    Category("SP6", 20, 30),
)


def grade(detection_time: float, p99: float | None) -> str | None:
    """Return the best single-path category met, or None.

    The detection time must be within the reporting time.  The transmission limit is
    for 95 % of alarms and we hold the month's 99th percentile to it (stricter); a month
    without an SOS is graded on the reporting time alone.
    """
    met = None
    for cat in CATEGORIES:
        if detection_time <= cat.reporting_time and (p99 is None or p99 <= cat.transmission_95):
            met = cat.name
    return met


async def hub_figures(station: Station, since: float, until: float) -> dict[str, dict[str, Any]]:
    """Return hub id → its supervision figures for [since, until)."""
    latencies = await station.store.sos_latencies(since, until)
    out: dict[str, dict[str, Any]] = {}
    ingest = station.ingest
    for hub_id in sorted(ingest.registered):
        sup = ingest.supervision(hub_id)
        values = latencies.get(hub_id, [])
        p50, p99 = percentile(values, 50), percentile(values, 99)
        status = ingest.statuses.get(hub_id)
        skew = None
        if status is not None and status.last_seen is not None and status.last_sent is not None:
            skew = status.last_seen - status.last_sent
        out[hub_id] = {
            **sup,
            "sos_count": len(values),
            "sos_p50": p50,
            "sos_p99": p99,
            "grade": grade(sup["detection_time"], p99),
            "clock_skew": skew,
        }
    return out


async def month_figures(station: Station) -> dict[str, dict[str, Any]]:
    """Return :func:`hub_figures` for the current month in the station's time zone."""
    from datetime import datetime

    from integrations.ccoc.kpi import month_bounds

    tz = station.hub.clock.tz
    month = datetime.fromtimestamp(station.hub.clock.time(), tz).strftime("%Y-%m")
    since, until = month_bounds(month, tz)
    return await hub_figures(station, since, until)


_TEXT: dict[str, tuple[str, str]] = {
    "supervision": ("การเฝ้าระวัง", "Supervision"),
    "heartbeat": ("สัญญาณชีพทุก", "Heartbeat every"),
    "detection": ("ตรวจพบความขัดข้องภายใน", "Failure detected within"),
    "from_hub": ("ตามที่ฮับแจ้ง", "as the hub reports"),
    "from_station": ("ตามที่สถานีกำหนด", "set by the station"),
    "from_default": ("ค่าเริ่มต้น (ฮับไม่ได้แจ้ง)", "default (the hub does not say)"),
    "sos_latency": ("SOS ถึงสถานี (เดือนนี้)", "SOS to station (this month)"),
    "no_sos": ("ยังไม่มี SOS เดือนนี้", "no SOS this month"),
    "grade": ("ระดับ EN 50136", "EN 50136 grade"),
    "no_grade": ("ไม่ถึงระดับใด", "meets no grade"),
    "dual_na": ("DP: ไม่เข้าข่าย (เส้นทางเดียว)", "DP: not applicable (one path)"),
    "schema": ("รุ่นฐานข้อมูล", "Schema"),
    "skew": ("นาฬิกาฮับคลาดเคลื่อน", "Hub clock off by"),
    "sec": ("วินาที", "s"),
    "ms": ("มิลลิวินาที", "ms"),
}


register_pairs("station.supervision", _TEXT, prefix="station.supervision.")


def labels(lang: str) -> dict[str, str]:
    """Return the hubs page's supervision words in ``lang``."""
    index = 0 if lang == "th" else 1
    return {key: pair[index] for key, pair in _TEXT.items()}
