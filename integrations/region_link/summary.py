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
    KpiLabel,
    MonthlyReport,
    PatrolMonth,
    PollAggregate,
)
from integrations.station.kpis import StationKpis

__all__ = ("incident_summary", "monthly_report")

_KIND_RE = re.compile(r"^[a-z0-9_.?-]{1,32}$")
_POLICIES = frozenset({"always", "on_alarm", "registry", "never"})


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


def monthly_report(kpis: StationKpis, *, hubs_online_share: float | None = None) -> dict[str, Any]:
    """Return the region's monthly report from the station's figures (``station_kpis``)."""
    st = kpis.station
    flat: dict[str, float | None] = {
        "sos_count": st.sos.count,
        "sos_acknowledged": st.sos.acknowledged,
        "sos_unacknowledged": st.sos.unacknowledged,
        "sos_ack_p50": _number(st.sos.p50),
        "sos_ack_p90": _number(st.sos.p90),
        "incidents_total": st.incidents,
        "drills": st.sos.drills,
        "hubs_registered": len(st.hub_ids),
        "hubs_reported": st.reported,
        "hub_reports_rejected": len(kpis.rejected),
        "cameras_linked": st.cameras_linked,
        "checkpoints": st.checkpoints,
        "patrol_gap_alerts": st.gap_alerts,
        "big6_overdue_resolutions": st.overdue_resolutions,
        "hubs_online_share": None if hubs_online_share is None else round(hubs_online_share * 100, 2),
    }
    figures = {fid: _number(fig.value) for fid, fig in st.figures.items() if KPI_KEY_RE.match(fid)}
    flat.update(figures)
    cameras: dict[str, int] = {}
    for policy, count in st.cameras_by_policy.items():
        key = policy if policy in _POLICIES else "?"
        cameras[key] = cameras.get(key, 0) + int(count or 0)
    questions = {
        fid.removeprefix("poll_"): value
        for fid, value in figures.items()
        if fid.startswith("poll_") and fid != "poll_responses" and (value is None or 0 <= value <= 100)
    }
    resolutions = int(figures.get("big6_resolutions") or 0)
    done_share = figures.get("big6_resolutions_done")
    coverage = figures.get("patrol_coverage")
    report = MonthlyReport(
        month=kpis.month,
        kpis=flat,
        hubs=len(st.hub_ids),
        hubs_online_share=hubs_online_share,
        cameras_by_policy=cameras,  # type: ignore[arg-type]  # keys checked above
        incidents_by_kind=_kinds(st.incidents_by_kind),
        incidents_by_zone={(z.id or "?")[:64]: z.incidents for z in kpis.zones[:100] if z.incidents},
        patrols=PatrolMonth(
            coverage=coverage if coverage is None or 0 <= coverage <= 100 else None,
            patrols=int(figures.get("patrols") or 0),
            checkins=int(figures.get("patrol_checkins") or 0),
        ),
        poll=PollAggregate(responses=int(figures.get("poll_responses") or 0), questions=questions),
        labels={
            fid: KpiLabel(th=fig.label_th[:300], en=fig.label_en[:300])
            for fid, fig in st.figures.items()
            if KPI_KEY_RE.match(fid) and (fig.label_th or fig.label_en)
        },
        big6=Big6Month(
            meetings=int(figures.get("big6_meeting_held") or 0),
            sectors_present=min(6, round(figures.get("big6_sectors_present") or 0)),
            resolutions=resolutions,
            resolutions_done=round((done_share or 0) * resolutions / 100),
        ),
    )
    return report.model_dump(mode="json")
