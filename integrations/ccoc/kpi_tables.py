"""The KPI page's tables of programme figures per zone and per hub.

Which figures get a column: the programme's headline ones (patrols, coverage,
poll answers and each poll question, Big 6), in that order, as the station-wide
figures list them; the rest are on the station-wide card.  Cells are text
ready to print: a figure a hub did not report is "–", never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from hub.http.charts import bar_chart
from integrations.ccoc.labels import labels
from integrations.station.kpis import Figure, Scope, StationKpis

__all__ = ("Column", "Row", "ZoneChart", "columns", "rows", "fmt", "zone_charts", "context")

#: Headline figures by id prefix, in column order (``poll_`` takes every poll question).
_HEADLINE = (
    "patrols",
    "patrol_coverage",
    "patrol_officer_volunteer",
    "poll_responses",
    "poll_",
    "big6_meeting_held",
    "big6_sectors_present",
    "big6_resolutions",
    "big6_resolutions_done",
)


@dataclass(frozen=True, slots=True)
class Column:
    """One programme figure's column."""

    id: str
    label_th: str
    label_en: str
    unit: str


@dataclass(frozen=True, slots=True)
class Row:
    """One zone's or hub's line."""

    id: str
    name: str
    zone: str
    hubs: int
    reported: int
    cells: list[str]
    sos: str
    sos_p50: str
    gap_alerts: int
    overdue_resolutions: int


def fmt(value: float | None, unit: str = "") -> str:
    """Return a figure as printed: whole numbers without decimals, others with one or two."""
    if value is None:
        return "–"
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")
    return text + unit


def columns(k: StationKpis) -> list[Column]:
    """Return the headline figures that any hub reported, in headline order."""
    figures = [f for f in k.station.figures.values() if f.hubs]
    out: list[Column] = []
    for prefix in _HEADLINE:
        for fig in figures:
            if prefix.endswith("_"):
                wanted = fig.id.startswith(prefix) and fig.id not in _HEADLINE
            else:
                wanted = fig.id == prefix
            if wanted and all(c.id != fig.id for c in out):
                out.append(Column(fig.id, fig.label_th, fig.label_en, fig.unit))
    return out


def _cell(fig: Figure | None, reported: int) -> str:
    if fig is None or not reported:
        return "–"
    return fmt(fig.value, fig.unit)


def rows(scopes: list[Scope], cols: list[Column]) -> list[Row]:
    """Return one row per scope."""
    return [
        Row(
            id=s.id,
            name=s.name or s.id,
            zone=s.zone,
            hubs=len(s.hub_ids),
            reported=s.reported,
            cells=[_cell(s.figures.get(c.id), s.reported) for c in cols],
            sos=f"{s.sos.acknowledged}/{s.sos.count}",
            sos_p50=fmt(round(s.sos.p50) if s.sos.p50 is not None else None, " s"),
            gap_alerts=s.gap_alerts,
            overdue_resolutions=s.overdue_resolutions,
        )
        for s in scopes
    ]


#: Figures drawn zone by zone, as bars.
_CHARTED = ("patrols", "patrol_coverage", "poll_responses", "big6_resolutions")


@dataclass(frozen=True, slots=True)
class ZoneChart:
    """One figure's bars, one per zone that reported it."""

    id: str
    title: str
    svg: Markup


def zone_charts(k: StationKpis, lang: str) -> list[ZoneChart]:
    """Return bar charts of the headline figures by zone (only figures some zone reported)."""
    words = labels(lang)
    out = []
    for fid in _CHARTED:
        fig = k.station.figures.get(fid)
        if fig is None or not fig.hubs:
            continue
        items = [
            (z.name or z.id or "–", float(v))
            for z in k.zones
            if z.reported and (v := z.value(fid)) is not None
        ]
        if not items:
            continue
        label = (fig.label_th if lang == "th" else fig.label_en) or fig.label_en or fid
        title = f"{label} · {words['by_zone_short']}"
        unit = "%" if fig.unit == "%" else ""
        out.append(ZoneChart(fid, title, bar_chart(items, title=title, unit=unit)))
    return out


def context(k: StationKpis, lang: str = "th") -> dict[str, Any]:
    """Return the template's ``programme`` context: columns, zone rows, hub rows and zone charts."""
    cols = columns(k)
    return {
        "columns": cols,
        "zones": rows(k.zones, cols),
        "hubs": rows(k.hubs, cols),
        "rejected": k.rejected,
        "charts": zone_charts(k, lang),
    }
