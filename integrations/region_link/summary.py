"""What a station tells its region, built from what the station stored (DESIGN §14).

Only figures and the few facts of each incident the committee reads leave the
station: kind, hub, zone, times, SOS → acknowledgement, status, drill.  No
title, place, timeline, officer or caller names, no registry contacts, no
pictures, no poll answers or comments: each report is checked against the
region's closed models (``integrations.region.protocol``) before it is queued,
so a field the region would refuse is caught here, by name.
"""

from __future__ import annotations

import math
import re
from typing import Any

from integrations.region.protocol import (
    KPI_KEY_RE,
    Big6Month,
    IncidentSummary,
    MonthlyReport,
    PatrolMonth,
    PollAggregate,
)

__all__ = ("incident_summary", "monthly_report")

_KIND_RE = re.compile(r"^[a-z0-9_.?-]{1,32}$")
_POLICIES = frozenset({"always", "on_alarm", "registry", "never"})
#: Figures of the station's KPI computation that become flat KPIs, by path.
_CORE_KPIS = (
    ("sos_count", ("sos", "count")),
    ("sos_acknowledged", ("sos", "acknowledged")),
    ("sos_unacknowledged", ("sos", "unacknowledged")),
    ("sos_ack_p50", ("sos", "p50")),
    ("sos_ack_p90", ("sos", "p90")),
    ("incidents_total", ("incidents", "total")),
    ("drills", ("drills", "count")),
    ("hubs_registered", ("hubs", "registered")),
    ("cameras_linked", ("cameras", "linked")),
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _get(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = doc
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def incident_summary(fact: dict[str, Any], zone: str) -> dict[str, Any]:
    """Return the region's summary of one incident from the station's ``incident_facts`` row."""
    opened = float(fact["opened_at"])
    acked = fact.get("acknowledged_at")
    ack_seconds = float(acked) - opened if acked is not None and float(acked) >= opened else None
    summary = IncidentSummary(
        id=str(fact["id"])[:64],
        hub=str(fact["hub_id"]),
        kind=str(fact.get("kind") or "other")[:32],
        zone=zone[:64],
        status=fact.get("status") or "open",
        opened_at=opened,
        acknowledged_at=float(acked) if acked is not None else None,
        closed_at=float(fact["closed_at"]) if fact.get("closed_at") is not None else None,
        ack_seconds=ack_seconds,
        drill=bool(fact.get("drill")),
    )
    return summary.model_dump(mode="json")


def _kinds(by_kind: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for kind, count in by_kind.items():
        key = str(kind).lower()[:32]
        key = key if _KIND_RE.match(key) else "?"
        if key in out or len(out) < 99:
            out[key] = out.get(key, 0) + int(count or 0)
        else:
            out["?"] = out.get("?", 0) + int(count or 0)
    return out


def monthly_report(figures: dict[str, Any]) -> dict[str, Any]:
    """Return the region's monthly report from the station's computed figures for the month."""
    kpis: dict[str, float | None] = {key: _number(_get(figures, path)) for key, path in _CORE_KPIS}
    share = _number(_get(figures, ("hubs", "online_share")))
    kpis["hubs_online_share"] = None if share is None else round(share * 100, 2)
    slots = {
        str(s["key"]): _number(s.get("value"))
        for s in figures.get("slots") or []
        if isinstance(s, dict) and KPI_KEY_RE.match(str(s.get("key") or ""))
    }
    kpis.update(slots)
    cameras: dict[str, int] = {}
    for policy, count in (_get(figures, ("cameras", "by_policy")) or {}).items():
        key = policy if policy in _POLICIES else "?"
        cameras[key] = cameras.get(key, 0) + int(count or 0)
    questions = {
        key.removeprefix("poll_"): value
        for key, value in slots.items()
        if key.startswith("poll_") and key != "poll_responses"
    }
    resolutions = int(slots.get("big6_resolutions") or 0)
    done_share = slots.get("big6_resolutions_done")
    report = MonthlyReport(
        month=str(figures["month"]),
        kpis=kpis,
        hubs=int(_number(_get(figures, ("hubs", "registered"))) or 0),
        hubs_online_share=share,
        cameras_by_policy=cameras,  # type: ignore[arg-type]  # keys checked above
        incidents_by_kind=_kinds(_get(figures, ("incidents", "by_kind")) or {}),
        incidents_by_zone={
            str(k)[:64]: v for k, v in list((_get(figures, ("incidents", "by_zone")) or {}).items())[:100]
        },
        patrols=PatrolMonth(
            coverage=slots.get("patrol_coverage"),
            patrols=int(slots.get("patrols") or 0),
            checkins=int(slots.get("patrol_checkins") or 0),
        ),
        poll=PollAggregate(responses=int(slots.get("poll_responses") or 0), questions=questions),
        big6=Big6Month(
            meetings=int(slots.get("big6_meeting_held") or 0),
            sectors_present=int(slots.get("big6_sectors_present") or 0),
            resolutions=resolutions,
            resolutions_done=round((done_share or 0) * resolutions / 100),
        ),
    )
    return report.model_dump(mode="json")
