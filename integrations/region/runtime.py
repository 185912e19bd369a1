"""The region at run time: its store, its intake, and the month's ranking."""

from __future__ import annotations

import json
import logging
import time
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.core.clock import Cancel
from integrations.region.const import STATUS_ONLINE, STATUS_UNKNOWN
from integrations.region.ingest import RegionIngest
from integrations.region.ranking import Scored, rank
from integrations.region.store import RegionStore
from integrations.station.kpis import month_bounds, shift_month

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.region.config import RegionConfig

__all__ = "Region"

_LOGGER = logging.getLogger(__name__)

#: A month's scored stations, and each station's ranks and scores over the trend's months.
_Scores = tuple[list[Scored], dict[str, list[int | None]], dict[str, list[float | None]]]


class Region:
    """One regional command centre."""

    def __init__(self, hub: Hub, cfg: RegionConfig) -> None:
        self.hub = hub
        self.cfg = cfg
        path = Path(cfg.database.path)
        self.store = RegionStore(path if path.is_absolute() else hub.data_dir / path)
        self.ingest = RegionIngest(hub, cfg, self.store)
        self._purge: Cancel | None = None
        self._cache: dict[str, tuple[float, list[str], _Scores]] = {}

    async def start(self) -> None:
        """Open the database and start taking what stations send."""
        await self.store.open()
        try:
            await self.ingest.start()
        except BaseException:
            await self.store.close()
            raise
        self._purge = self.hub.clock.call_daily("03:30", self._purge_ids)

    async def stop(self) -> None:
        """Store what is queued, disconnect, close the database."""
        if self._purge is not None:
            self._purge()
            self._purge = None
        try:
            await self.ingest.stop()
        finally:
            await self.store.close()

    def _purge_ids(self, _today: date) -> None:
        before = self.hub.clock.time() - self.cfg.dedupe_days * 86400
        self.hub.create_task(self._safe_purge(before), "region purge message ids")

    async def _safe_purge(self, before: float) -> None:
        try:
            count = await self.store.purge(before)
        except Exception:
            _LOGGER.exception("Region: could not purge old message ids")
            return
        if count:
            _LOGGER.info("Region: forgot %d message ids older than %d days", count, self.cfg.dedupe_days)

    def this_month(self) -> str:
        """Return the current month in the region's time zone (``YYYY-MM``)."""
        return datetime.fromtimestamp(self.hub.clock.time(), self.hub.clock.tz).strftime("%Y-%m")

    async def ranking(self, month: str) -> dict[str, Any]:
        """Return the month's ranking, each station's trend, and the stations needing a look."""
        stations = await self.store.stations()
        ids = [s["id"] for s in stations]
        months = [shift_month(month, -i) for i in range(self.cfg.ranking.trend_months - 1, -1, -1)]
        scored, ranks, scores = await self._scores(month, months, ids)
        live = self.ingest.statuses
        now = self.hub.clock.time()
        names = {s["id"]: s["name"] or s["id"] for s in stations}
        attention = [
            {
                "id": s["id"],
                "name": names[s["id"]],
                "status": live.get(s["id"], s["status"]) or STATUS_UNKNOWN,
                "last_seen": self.ingest.last_seen.get(s["id"], s["last_seen"]),
            }
            for s in stations
            if (live.get(s["id"], s["status"]) or STATUS_UNKNOWN) != STATUS_ONLINE
        ]
        bad = [
            {
                "id": s["id"],
                "name": names[s["id"]],
                "rejected": s["rejected"],
                "last_reject": s["last_reject"],
                "last_reject_at": s["last_reject_at"],
                "last_reject_code": s["last_reject_code"],
                "last_reject_field": s["last_reject_field"],
            }
            for s in stations
            if s["rejected"]
        ]
        return {
            "month": month,
            "months": months,
            "generated_at": now,
            "criteria": [c.model_dump() for c in self.cfg.ranking.criteria],
            "rows": [self._row(item, names, ranks, scores) for item in scored],
            "attention": attention,
            "refused": bad,
        }

    async def _scores(self, month: str, months: list[str], ids: list[str]) -> _Scores:
        """Score the month and the trend's months: the costly part, kept ``cache_seconds``.

        Stations report every few minutes, so figures a few seconds old are what the
        committee would read anyway; the page, its exports and the API then share one
        computation (at 1,500 stations, six months of scores).  Link states and refused
        messages are read fresh on every call.
        """
        ttl = self.cfg.ranking.cache_seconds
        hit = self._cache.get(month)
        now = time.monotonic()
        if hit is not None and now - hit[0] < ttl and hit[1] == ids:
            return hit[2]
        criteria = self.cfg.ranking.criteria
        reports = await self.store.month(month)
        scored = rank(criteria, {s: r["kpis"] for s, r in reports.items()}, ids)
        history = await self.store.kpis(months[:-1])
        ranks: dict[str, list[int | None]] = {s: [] for s in ids}
        scores: dict[str, list[float | None]] = {s: [] for s in ids}
        for past in months[:-1]:
            for item in rank(criteria, history.get(past, {}), ids):
                ranks[item.station_id].append(item.rank if item.reported else None)
                scores[item.station_id].append(item.score if item.reported else None)
        for item in scored:
            ranks[item.station_id].append(item.rank if item.reported else None)
            scores[item.station_id].append(item.score if item.reported else None)
        result = (scored, ranks, scores)
        if ttl > 0:
            self._cache = {m: v for m, v in self._cache.items() if now - v[0] < ttl}
            self._cache[month] = (now, ids, result)
        return result

    @staticmethod
    def _row(
        item: Scored,
        names: dict[str, str],
        ranks: dict[str, list[int | None]],
        scores: dict[str, list[float | None]],
    ) -> dict[str, Any]:
        history = ranks[item.station_id]
        previous = history[-2] if len(history) > 1 else None
        return {
            "rank": item.rank,
            "station_id": item.station_id,
            "name": names.get(item.station_id, item.station_id),
            "score": item.score,
            "reported": item.reported,
            "missing": item.missing,
            "criteria": {k: {"value": v, "points": p} for k, (v, p) in item.details.items()},
            "previous_rank": previous,
            # Positive: up the table since last month.
            "change": None if previous is None or not item.reported else previous - item.rank,
            "rank_history": history,
            "score_history": scores[item.station_id],
        }

    async def station(self, station_id: str, month: str) -> dict[str, Any] | None:
        """Return one station's figures for ``month``, its ranking row and its incidents."""
        stations = {s["id"]: s for s in await self.store.stations()}
        info = stations.get(station_id)
        if info is None:
            return None
        ranking = await self.ranking(month)
        row = next((r for r in ranking["rows"] if r["station_id"] == station_id), None)
        report = (await self.store.month(month)).get(station_id)
        start, end = month_bounds(month, self.hub.clock.tz)
        counts = (await self.store.incident_counts(start, end)).get(
            station_id, {"total": 0, "sos": 0, "sos_unacknowledged": 0, "open": 0}
        )
        return {
            "station": {
                **info,
                "status": self.ingest.statuses.get(station_id, info["status"]) or STATUS_UNKNOWN,
                "last_seen": self.ingest.last_seen.get(station_id, info["last_seen"]),
            },
            "month": month,
            "row": row,
            "criteria": ranking["criteria"],
            "months": ranking["months"],
            "report": json.loads(report["body"]) if report else None,
            "received_at": report["received_at"] if report else None,
            "incidents": counts,
            "recent": await self.store.incidents(station_id, start, end, limit=50),
        }
