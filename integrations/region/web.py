"""The region console: the month's ranking, a station's figures, exports (Thai first, 390 px)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.http.routes import Route, json_error
from hub.http.server import HUB_KEY
from integrations.federation.protocol import NAME_RE
from integrations.region.const import RUNTIME
from integrations.region.export import PdfFontMissing, ranking_csv, ranking_pdf
from integrations.region.labels import labels
from integrations.region.protocol import MONTH_RE
from integrations.region.runtime import Region
from integrations.station.kpis import shift_month

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)

_LOGGER = logging.getLogger(__name__)
#: Stations listed at most in the page's "offline or silent" and "refused" cards (the API has all).
_LIST_MOST = 30


class _BadRequest(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


def _region(request: web.Request) -> Region:
    region = request.app[HUB_KEY].data.get(RUNTIME)
    if region is None:
        raise _BadRequest(503, "the region is not running")
    return region


def _month(request: web.Request, region: Region) -> str:
    month = request.query.get("month", "") or region.this_month()
    if MONTH_RE.match(month) is None:
        raise _BadRequest(400, f"month {month[:20]!r}: expected YYYY-MM")
    return month


def _errors(handler: Any) -> Any:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except _BadRequest as err:
            if request.path.startswith("/api/"):
                return json_error(err.status, str(err))
            return web.Response(status=err.status, text=str(err), content_type="text/plain")

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def _render(request: web.Request, template: str, **context: Any) -> web.Response:
    from hub.http.templating import render, request_lang

    lang = request_lang(request)
    return render(request, template, L=labels(lang), **context)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


async def ranking_page(request: web.Request) -> web.Response:
    """The month's ranking of the region's stations, with trends and the stations needing a look."""
    region = _region(request)
    month = _month(request, region)
    data = await region.ranking(month)
    query = request.query.get("q", "").strip()[:64].lower()
    rows = [
        r for r in data["rows"] if not query or query in r["station_id"] or query in str(r["name"]).lower()
    ]
    size = region.cfg.ranking.page_size
    pages = max(1, -(-len(rows) // size))
    try:
        number = min(pages, max(1, int(request.query.get("page", "1"))))
    except ValueError as err:
        raise _BadRequest(400, "page: expected a number") from err
    return _render(
        request,
        "region_ranking.html",
        r=data,
        rows=rows[(number - 1) * size : number * size],
        page=number,
        pages=pages,
        query=query,
        matches=len(rows),
        region_cfg=region.cfg,
        prev=shift_month(month, -1),
        next=shift_month(month, 1),
        most=_LIST_MOST,
    )


async def station_page(request: web.Request) -> web.Response:
    """One station's figures for the month, its points and its history."""
    region = _region(request)
    month = _month(request, region)
    station_id = request.match_info["station_id"]
    data = await region.station(station_id, month) if NAME_RE.match(station_id) else None
    if data is None:
        raise _BadRequest(404, f"no station {station_id[:64]!r} in this region")
    from hub.http.charts import column_chart
    from hub.http.templating import request_lang

    row = data["row"]
    chart = column_chart(
        list(zip(data["months"], row["score_history"] if row else [None] * len(data["months"]), strict=True)),
        title=labels(request_lang(request))["score"],
        maximum=100,
    )
    return _render(
        request,
        "region_station.html",
        d=data,
        trend_chart=chart,
        prev=shift_month(month, -1),
        next=shift_month(month, 1),
    )


async def api_ranking(request: web.Request) -> web.Response:
    """The month's ranking as JSON (``?month=YYYY-MM``; default: this month)."""
    region = _region(request)
    return web.json_response(await region.ranking(_month(request, region)), dumps=_dumps)


async def api_station(request: web.Request) -> web.Response:
    """One station's figures for the month."""
    region = _region(request)
    station_id = request.match_info["station_id"]
    data = await region.station(station_id, _month(request, region)) if NAME_RE.match(station_id) else None
    if data is None:
        raise _BadRequest(404, "no such station in this region")
    return web.json_response(data, dumps=_dumps)


async def api_stations(request: web.Request) -> web.Response:
    """The region's stations: link state, last seen, refused messages and the last reason."""
    region = _region(request)
    rows = await region.store.stations()
    for row in rows:
        row["status"] = region.ingest.statuses.get(row["id"], row["status"])
        row["last_seen"] = region.ingest.last_seen.get(row["id"], row["last_seen"])
    return web.json_response(rows, dumps=_dumps)


async def api_status(request: web.Request) -> web.Response:
    """The intake's counters and broker link."""
    return web.json_response(_region(request).ingest.status(), dumps=_dumps)


async def ranking_csv_export(request: web.Request) -> web.Response:
    """The month's ranking as CSV for the committee."""
    from hub.http.templating import request_lang

    region = _region(request)
    month = _month(request, region)
    lang = request_lang(request)
    body = ranking_csv(await region.ranking(month), labels(lang), lang)
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="ranking-{region.cfg.id}-{month}.csv"'},
    )


async def ranking_pdf_export(request: web.Request) -> web.Response:
    """The month's ranking as PDF for the committee."""
    from hub.http.templating import request_lang

    region = _region(request)
    month = _month(request, region)
    lang = request_lang(request)
    data = await region.ranking(month)
    hub = request.app[HUB_KEY]
    title = region.cfg.name or region.cfg.id
    try:
        # fpdf2 with shaping is CPU work: off the event loop, so the intake keeps going.
        body = await hub.loop.run_in_executor(
            None,
            lambda: ranking_pdf(
                data, labels(lang), lang, font=region.cfg.pdf_font, title=title, tz=hub.clock.tz
            ),
        )
    except PdfFontMissing as err:
        raise _BadRequest(503, str(err)) from err
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="ranking-{region.cfg.id}-{month}.pdf"'},
    )


def routes(hub: Hub) -> list[Route]:
    """Return the region's pages and API (region role only)."""
    tags = ("region",)

    def api(path: str, handler: Any, role: str = "viewer") -> Route:
        return Route("GET", path, _errors(handler), role=role, tags=tags, summary=handler.__doc__ or "")

    def page(path: str, handler: Any, role: str = "viewer") -> Route:
        return Route("GET", path, _errors(handler), role=role, api=False, summary=handler.__doc__ or "")

    return [
        page("/region", ranking_page),
        page("/region/stations/{station_id}", station_page),
        page("/region/ranking.csv", ranking_csv_export),
        page("/region/ranking.pdf", ranking_pdf_export),
        api("/api/region", api_status, "operator"),
        api("/api/region/ranking", api_ranking),
        api("/api/region/stations", api_stations),
        api("/api/region/stations/{station_id}", api_station),
    ]
