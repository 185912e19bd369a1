"""The committee's ranking: stations scored on weighted criteria (docs/region.md).

For each criterion a station gets ``points`` from 0 to 100, linear between the
criterion's ``worst`` (0) and ``best`` (100) and clamped; ``best`` below
``worst`` means lower is better.  A figure the station did not report scores
0 and is marked ``missing`` (an evaluation cannot reward silence).  The score
is the weighted mean of the points, rounded to 0.01; stations are ranked by
score, ties by station id, so the order is the same on every page and export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from integrations.region.config import Criterion

__all__ = ("points", "Scored", "rank")


def points(criterion: Criterion, value: float | None) -> float:
    """Return 0–100 points for ``value`` on ``criterion`` (0 when not reported)."""
    if value is None:
        return 0.0
    return _points(value, criterion.worst, criterion.best - criterion.worst)


def _points(value: float, worst: float, span: float) -> float:
    share = (value - worst) / span
    # Comparisons, not min()/max(): this runs 10,000 times for each month of a national ranking.
    return 0.0 if share <= 0 else 100.0 if share >= 1 else round(share * 100, 2)


@dataclass(slots=True)
class Scored:
    """One station's place in a month's ranking."""

    station_id: str
    score: float
    rank: int = 0
    #: criterion key → (value or None, points)
    details: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    #: False when the station sent no figures for the month at all.
    reported: bool = True


def rank(
    criteria: Sequence[Criterion],
    figures: Mapping[str, Mapping[str, float | None]],
    stations: Sequence[str],
) -> list[Scored]:
    """Score every station in ``stations`` from its ``figures`` (KPIs by key) and rank them."""
    specs = [(c.key, c.worst, c.best - c.worst, c.weight) for c in criteria]
    total_weight = sum(c.weight for c in criteria)
    out: list[Scored] = []
    empty: Mapping[str, float | None] = {}
    for station_id in stations:
        kpis = figures.get(station_id)
        scored = Scored(station_id, 0.0, reported=kpis is not None)
        have = kpis if kpis is not None else empty
        weighted = 0.0
        details = scored.details
        for key, worst, span, weight in specs:
            value = have.get(key)
            if value is None:
                details[key] = (None, 0.0)
                scored.missing.append(key)
                continue
            got = _points(value, worst, span)
            details[key] = (value, got)
            weighted += got * weight
        scored.score = round(weighted / total_weight, 2) if total_weight else 0.0
        out.append(scored)
    out.sort(key=lambda s: (-s.score, s.station_id))
    for index, scored in enumerate(out, start=1):
        scored.rank = index
    return out
