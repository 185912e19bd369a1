"""A station's monthly evaluation figures, per hub, per zone and station-wide, from what its hubs sent.

One call, :func:`station_kpis`, reads the station store and returns a typed
:class:`StationKpis`.  The CCOC console's KPI page shows it and the region tier
sends it upward: both take the figures from here, so they cannot disagree.

Where each figure comes from (all federated, nothing from the station's own plugins):

* SOS → acknowledgement, incidents by kind: the incidents the hubs sent, by
  ``opened_at`` in the month (drills counted apart, DESIGN §13);
* the programme (patrols, People Poll, Big 6): each hub's newest ``kpi_month``
  report for the month (:mod:`integrations.federation.kpi_report`).  The hub's
  own plugins computed them; a report that fails the schema is left out and
  named in :attr:`StationKpis.rejected`, never shown as a zero;
* patrol gap alerts and overdue Big 6 resolutions: the ``patrol_gap`` and
  ``big6_resolution_overdue`` events sent in the month;
* cameras by share policy and ตู้แดง checkpoints: the hubs' registries as they
  are now (a registry has no history).

Combining hubs into a zone or the station: a count is added up; a share or a
mean (a slot that carries ``n``, or whose unit is ``%`` or ``/…``) is weighted
by its ``n`` (finished checkpoint × shift slots, poll answers, resolutions).  A
hub that did not report is not counted as zero: :attr:`Scope.reported` says how
many hubs' figures are in.

Months are calendar months in the station's time zone (``YYYY-MM``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from hub.i18n import register_pairs
from integrations.federation.kpi_report import KpiReportDoc, read_report

if TYPE_CHECKING:
    from integrations.station.store import StationStore

__all__ = (
    "MONTH_RE",
    "month_bounds",
    "shift_month",
    "percentile",
    "hub_zone",
    "Figure",
    "SosFigures",
    "Scope",
    "Rejected",
    "StationKpis",
    "combine",
    "station_kpis",
)

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_GAP = "patrol_gap"
_OVERDUE = "big6_resolution_overdue"
#: Figures shown even before any hub reports them, so the page keeps its shape.
EXPECTED = (
    ("patrol_coverage", "patrol_qr", "ความครอบคลุมการตรวจตู้แดง", "Patrol coverage", "%"),
    ("patrols", "patrol_qr", "จำนวนรอบตรวจ", "Patrols", ""),
    ("poll_responses", "people_poll", "ผู้ตอบแบบสำรวจ", "Poll responses", ""),
    ("big6_meeting_held", "big6", "มีการประชุม Big 6", "Big 6 meeting held", ""),
    ("big6_resolutions", "big6", "มติที่ประชุม", "Resolutions", ""),
)
register_pairs(
    "station.kpi_slots", {fid: (th, en) for fid, _source, th, en, _unit in EXPECTED}, prefix="station.kpi."
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


def percentile(values: Sequence[float], p: float) -> float | None:
    """Return the ``p``-th percentile (0–100) by linear interpolation between ranks, or None if empty."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    rank = (len(data) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def hub_zone(hub: Mapping[str, Any] | None) -> str:
    """Return a hub's zone id from its registry (the zone plugin's, else the hub's own), or ''."""
    if not hub:
        return ""
    registry = hub.get("registry") or {}
    zone = ((registry.get("plugins") or {}).get("zone") or {}).get("id")
    return str(zone or hub.get("zone") or "")


@dataclass(frozen=True, slots=True)
class Figure:
    """One programme figure (a ``kpi_slots`` item) for a hub, or combined over hubs."""

    id: str
    #: The plugin that computed it at the hubs (``patrol_qr``, ``people_poll``, ``big6``).
    source: str
    label_th: str
    label_en: str
    unit: str
    #: None: reported but nothing to measure yet (no finished shift, no answer).
    value: float | None
    #: What a share or mean is over (its weight); None for a count.
    n: int | None = None
    #: ``value × n`` before rounding, when the hub sent it (combining is then exact).
    total: float | None = None
    lower_is_better: bool | None = None
    #: Hubs whose reports went into it.
    hubs: int = 1

    @property
    def is_rate(self) -> bool:
        """Whether hubs combine by weighted mean (a share or a mean), not by sum."""
        return self.n is not None or self.unit.startswith(("%", "/"))


@dataclass(slots=True)
class SosFigures:
    """SOS → acknowledgement over the month's real (not drill) SOS incidents."""

    count: int = 0
    acknowledged: int = 0
    #: Seconds from opened to acknowledged, sorted.
    times: list[float] = field(default_factory=list)
    drills: int = 0
    drills_acknowledged: int = 0
    #: Drills' seconds to acknowledgement (kept apart from ``times``).
    drill_times: list[float] = field(default_factory=list)

    @property
    def unacknowledged(self) -> int:
        """SOS incidents nobody acknowledged."""
        return self.count - self.acknowledged

    @property
    def p50(self) -> float | None:
        """Median seconds to acknowledgement."""
        return percentile(self.times, 50)

    @property
    def p90(self) -> float | None:
        """90th percentile seconds to acknowledgement."""
        return percentile(self.times, 90)


@dataclass(slots=True)
class Scope:
    """The figures of one hub, one zone or the whole station for the month."""

    kind: Literal["hub", "zone", "station"]
    id: str
    name: str
    #: The zone id ('' if the hub reported none); a zone's own id; '' for the station.
    zone: str
    hub_ids: list[str]
    sos: SosFigures = field(default_factory=SosFigures)
    #: Incidents by kind (drills apart, in ``sos.drills``).
    incidents_by_kind: dict[str, int] = field(default_factory=dict)
    #: Cameras linked to the station by the owner's share policy (registries as they are now).
    cameras_by_policy: dict[str, int] = field(default_factory=dict)
    #: ตู้แดง checkpoints in the hubs' registries.
    checkpoints: int = 0
    #: The programme figures, by id, in a stable order.
    figures: dict[str, Figure] = field(default_factory=dict)
    #: How many of ``hub_ids`` reported the month's programme figures.
    reported: int = 0
    #: The newest report's time (the hub's clock), None if none came.
    reported_at: float | None = None
    #: Every report in is the hub's final one for a closed month.
    final: bool = False
    #: ``patrol_gap`` alerts sent during the month.
    gap_alerts: int = 0
    #: Distinct Big 6 resolutions reported overdue during the month.
    overdue_resolutions: int = 0

    @property
    def incidents(self) -> int:
        """Real incidents opened in the month."""
        return sum(self.incidents_by_kind.values())

    @property
    def cameras_linked(self) -> int:
        """Cameras whose owner shares at least their location with the station."""
        return sum(v for k, v in self.cameras_by_policy.items() if k != "never")

    def value(self, figure_id: str) -> float | None:
        """Return a figure's value, or None if not reported."""
        fig = self.figures.get(figure_id)
        return fig.value if fig is not None else None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form (the API's and the region's)."""
        out = asdict(self)
        out["sos"].update(unacknowledged=self.sos.unacknowledged, p50=self.sos.p50, p90=self.sos.p90)
        out["incidents"] = self.incidents
        out["cameras_linked"] = self.cameras_linked
        out["figures"] = [asdict(f) for f in self.figures.values()]
        return out


@dataclass(frozen=True, slots=True)
class Rejected:
    """A hub's report that failed the schema: left out of every figure, and named."""

    hub_id: str
    message_id: str
    #: ``<where>: <what>`` as the schema check said it (English, for logs and the API).
    reason: str

    @property
    def field(self) -> str:
        """Where in the report it failed (``slots.0.value``): a code, shown as is in any language."""
        return self.reason.split(":", 1)[0]


@dataclass(slots=True)
class StationKpis:
    """Everything :func:`station_kpis` computes for one month."""

    month: str
    #: [start, end) of the month, UNIX seconds.
    start: float
    end: float
    station: Scope
    #: Ordered by zone id; hubs without a zone form the zone ''.
    zones: list[Scope]
    #: Ordered by zone, then hub id.
    hubs: list[Scope]
    rejected: list[Rejected] = field(default_factory=list)

    def hub(self, hub_id: str) -> Scope | None:
        """Return one hub's scope."""
        return next((h for h in self.hubs if h.id == hub_id), None)

    def zone(self, zone_id: str) -> Scope | None:
        """Return one zone's scope."""
        return next((z for z in self.zones if z.id == zone_id), None)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {
            "month": self.month,
            "start": self.start,
            "end": self.end,
            "station": self.station.as_dict(),
            "zones": [z.as_dict() for z in self.zones],
            "hubs": [h.as_dict() for h in self.hubs],
            "rejected": [{**asdict(r), "field": r.field} for r in self.rejected],
        }


def combine(figures: Sequence[Figure]) -> Figure:
    """Combine one figure over several hubs: a count adds up, a share or mean is weighted by ``n``."""
    first = figures[0]
    values = [f for f in figures if f.value is not None]
    rate = any(f.is_rate for f in figures)
    value: float | None
    n: int | None
    if rate:
        # A hub without ``n`` (an older plugin) counts as one measurement.
        parts = [
            (f.total if f.total is not None and f.n else f.value * (1 if f.n is None else f.n), f.n or 1)
            for f in values
            if f.value is not None and (f.n is None or f.n > 0)
        ]
        weight = sum(w for _, w in parts)
        value = round(sum(t for t, _ in parts) / weight, 2) if weight else None
        n = sum(f.n or 0 for f in figures)
        total = sum(t for t, _ in parts) if weight else None
    else:
        value = sum(f.value for f in values if f.value is not None) if values else None
        n = total = None
    return Figure(
        id=first.id,
        source=first.source,
        label_th=first.label_th,
        label_en=first.label_en,
        unit=first.unit,
        value=value,
        n=n,
        total=total,
        lower_is_better=first.lower_is_better,
        hubs=len(figures),
    )


def _figures(report: KpiReportDoc) -> dict[str, Figure]:
    return {
        s.id: Figure(
            id=s.id,
            source=s.source,
            label_th=s.label_th,
            label_en=s.label_en,
            unit=s.unit,
            value=s.value,
            n=s.n,
            total=s.sum,
            lower_is_better=s.lower_is_better,
        )
        for s in report.slots
    }


def _merge(kind: Literal["zone", "station"], id_: str, name: str, parts: Sequence[Scope]) -> Scope:
    """Return the scope over ``parts`` (hub scopes)."""
    scope = Scope(kind=kind, id=id_, name=name, zone=id_ if kind == "zone" else "", hub_ids=[])
    order: list[str] = []
    by_id: dict[str, list[Figure]] = {}
    for part in parts:
        scope.hub_ids += part.hub_ids
        scope.sos.count += part.sos.count
        scope.sos.acknowledged += part.sos.acknowledged
        scope.sos.times += part.sos.times
        scope.sos.drills += part.sos.drills
        scope.sos.drills_acknowledged += part.sos.drills_acknowledged
        scope.sos.drill_times += part.sos.drill_times
        _add(scope.incidents_by_kind, part.incidents_by_kind)
        _add(scope.cameras_by_policy, part.cameras_by_policy)
        scope.checkpoints += part.checkpoints
        scope.reported += part.reported
        scope.gap_alerts += part.gap_alerts
        scope.overdue_resolutions += part.overdue_resolutions
        if part.reported_at is not None:
            scope.reported_at = max(scope.reported_at or part.reported_at, part.reported_at)
        for fid, fig in part.figures.items():
            if fid not in by_id:
                order.append(fid)
                by_id[fid] = []
            by_id[fid].append(fig)
    scope.sos.times.sort()
    scope.sos.drill_times.sort()
    scope.final = scope.reported > 0 and all(p.final for p in parts if p.reported)
    scope.figures = {fid: combine(by_id[fid]) for fid in order}
    return scope


def _add(into: dict[str, int], more: Mapping[str, int]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0) + value


def _registry_counts(registry: Mapping[str, Any]) -> tuple[dict[str, int], int]:
    policies: dict[str, int] = {}
    for cam in registry.get("cameras") or []:
        if isinstance(cam, dict):
            share = str(cam.get("share") or "?")
            policies[share] = policies.get(share, 0) + 1
    patrol = (registry.get("plugins") or {}).get("patrol_qr") or {}
    checkpoints = patrol.get("checkpoints") if isinstance(patrol, dict) else None
    return policies, len(checkpoints) if isinstance(checkpoints, list) else 0


def _zone_name(directory: Iterable[Mapping[str, Any]], zone: str) -> str:
    for item in directory:
        info = ((item.get("registry") or {}).get("plugins") or {}).get("zone") or {}
        if isinstance(info, dict) and info.get("id") == zone and info.get("name_th"):
            return str(info["name_th"])
    return zone


async def station_kpis(store: StationStore, month: str, *, tz: tzinfo, name: str = "") -> StationKpis:
    """Return the month's figures per hub, per zone and station-wide, from what the hubs sent.

    ``tz`` is the station's time zone (months are its calendar months); ``name``
    labels the station scope.  Reads only ``store``: any worker, and the
    region's uplink, get the same answer.  Raises ValueError for a bad month.
    """
    start, end = month_bounds(month, tz)
    directory = {item["id"]: item for item in await store.hubs(full=True)}
    facts = await store.incident_facts(start, end)
    reports = await store.kpi_reports(month)
    alerts = await store.hub_events([_GAP, _OVERDUE], start, end)

    hubs: dict[str, Scope] = {}

    def scope_of(hub_id: str) -> Scope:
        if hub_id not in hubs:
            item = directory.get(hub_id) or {}
            # A hub registered without a name shows the one it reports itself (as the console does).
            own = ((item.get("registry") or {}).get("hub") or {}).get("name")
            hub_name = item.get("name") if item.get("name") not in (None, "", hub_id) else own
            hubs[hub_id] = Scope(
                kind="hub",
                id=hub_id,
                name=str(hub_name or hub_id),
                zone=hub_zone(item),
                hub_ids=[hub_id],
            )
        return hubs[hub_id]

    for hub_id, item in directory.items():
        scope = scope_of(hub_id)
        scope.cameras_by_policy, scope.checkpoints = _registry_counts(item.get("registry") or {})
    for f in facts:
        scope = scope_of(str(f["hub_id"]))
        acked = f["acknowledged_at"] is not None and f["acknowledged_at"] >= f["opened_at"]
        if f.get("drill"):
            scope.sos.drills += 1
            scope.sos.drills_acknowledged += int(acked)
            if acked:
                scope.sos.drill_times.append(float(f["acknowledged_at"]) - float(f["opened_at"]))
            continue
        kind = str(f["kind"] or "?")
        scope.incidents_by_kind[kind] = scope.incidents_by_kind.get(kind, 0) + 1
        if kind == "sos":
            scope.sos.count += 1
            if acked:
                scope.sos.acknowledged += 1
                scope.sos.times.append(float(f["acknowledged_at"]) - float(f["opened_at"]))
    rejected: list[Rejected] = []
    for row in reports:
        hub_id = str(row["hub_id"])
        sent_at = float(row["sent_at"] or 0)
        report, reason = read_report(row["data"]) if row["data"] is not None else (None, None)
        if report is not None:
            scope = scope_of(hub_id)
            scope.figures = _figures(report)
            scope.reported, scope.reported_at, scope.final = 1, sent_at, report.final
        elif reason is not None:  # stored before a schema change, and fails it now
            rejected.append(Rejected(hub_id, str(row["id"]), reason))
        # A refused report newer than the one standing is named (the older good one still counts).
        if row["rejected_id"] and (report is None or float(row["rejected_at"] or 0) >= sent_at):
            rejected.append(
                Rejected(hub_id, str(row["rejected_id"]), str(row["rejected_reason"] or "invalid"))
            )
    overdue: dict[str, set[str]] = {}
    for event in alerts:
        scope = scope_of(str(event["hub_id"]))
        if event["type"] == _GAP:
            scope.gap_alerts += 1
        else:
            overdue.setdefault(scope.id, set()).add(str((event.get("data") or {}).get("resolution_id")))
    for hub_id, ids in overdue.items():
        hubs[hub_id].overdue_resolutions = len(ids)

    for scope in hubs.values():
        scope.sos.times.sort()
        scope.sos.drill_times.sort()
    ordered = sorted(hubs.values(), key=lambda s: (s.zone, s.id))
    zones = [
        _merge("zone", zone, _zone_name(directory.values(), zone) if zone else "", parts)
        for zone in sorted({s.zone for s in ordered})
        for parts in [[s for s in ordered if s.zone == zone]]
    ]
    station = _merge("station", "", name, ordered)
    _expect(station)
    return StationKpis(month, start, end, station, zones, ordered, rejected)


def _expect(scope: Scope) -> None:
    """Give the station scope every expected figure (not reported: value None, ``hubs`` 0)."""
    for fid, source, th, en, unit in EXPECTED:
        if fid not in scope.figures:
            scope.figures[fid] = Figure(fid, source, th, en, unit, None, hubs=0)
