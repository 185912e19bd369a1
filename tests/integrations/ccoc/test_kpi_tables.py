"""The KPI page's per-zone and per-hub tables: which figures get a column, and how cells print."""

from __future__ import annotations

from integrations.ccoc.kpi_tables import columns, fmt, rows
from integrations.station.kpis import Figure, Scope, StationKpis


def fig(fid: str, value: float | None, unit: str = "", n: int | None = None) -> Figure:
    return Figure(fid, "p", f"th {fid}", f"en {fid}", unit, value, n)


def test_headline_columns_in_order_and_cells() -> None:
    figures = [
        fig("big6_resolutions", 3),
        fig("poll_trust_police", 3.25, "/5", 8),
        fig("patrols", 9),
        fig("poll_responses", 8),
        fig("patrol_flagged", 1),  # not a headline figure: on the station-wide card only
        fig("poll_fear_of_crime", None, "/5", 0),
    ]
    station = Scope("station", "", "", "", ["a", "b"], figures={f.id: f for f in figures}, reported=1)
    reported = Scope("hub", "a", "ตลาด", "z", ["a"], figures={f.id: f for f in figures}, reported=1)
    silent = Scope("hub", "b", "", "z", ["b"])
    k = StationKpis("2026-01", 0, 1, station, [], [reported, silent])
    cols = columns(k)
    assert [c.id for c in cols] == [
        "patrols",
        "poll_responses",
        "poll_trust_police",
        "poll_fear_of_crime",
        "big6_resolutions",
    ]
    first, second = rows(k.hubs, cols)
    assert first.cells == ["9", "8", "3.25/5", "–", "3"] and first.name == "ตลาด"
    # A hub that sent nothing shows dashes, never zeros, and its id for a name.
    assert second.cells == ["–"] * 5 and second.name == "b" and second.sos == "0/0"
    assert (fmt(50.0, "%"), fmt(33.3), fmt(None, "%"), fmt(0)) == ("50%", "33.3", "–", "0")
