"""The running poll: monthly links, accepting answers, throttling, results and the monthly events."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from hub.daily import DailyTask
from plugins.people_poll.answers import AnswerError, QuestionResult, aggregate, read_answers
from plugins.people_poll.config import PollConfig
from plugins.people_poll.const import (
    DOMAIN,
    EVENT_OPENED,
    EVENT_RESULTS,
    MONTH_PATTERN,
    TREND_MONTHS,
)
from plugins.people_poll.store import PollStore

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hub.hub import Hub

__all__ = ("PollManager", "PollRefused", "month_of", "previous_months")

_LOGGER = logging.getLogger(__name__)
_MONTH = re.compile(MONTH_PATTERN)


class PollRefused(Exception):
    """A submission was refused; nothing was stored."""

    def __init__(
        self, reason: str, status: int, *, retry_after: float | None = None, question: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.question = question


def month_of(day: date) -> str:
    """Return ``YYYY-MM`` of a date."""
    return f"{day.year:04d}-{day.month:02d}"


def valid_month(month: str) -> bool:
    """Return whether ``month`` is a well-formed ``YYYY-MM``."""
    return bool(_MONTH.match(month)) and 2000 <= int(month[:4]) <= 2200


def previous_months(month: str, count: int) -> list[str]:
    """Return ``count`` months ending with ``month``, oldest first."""
    year, mon = int(month[:4]), int(month[5:7])
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return list(reversed(out))


@dataclass(frozen=True)
class TrendPoint:
    """One month of the trend."""

    month: str
    n: int
    values: dict[str, float | None]


class PollManager:
    """Everything the poll's pages, services and hooks do."""

    def __init__(self, hub: Hub, config: PollConfig) -> None:
        self.hub = hub
        self.config = config
        self.store = PollStore(hub.storage)
        self._lock = asyncio.Lock()
        #: ``on_day`` every day at ``announce_at``; started and stopped by the plugin.
        self.daily_task = DailyTask(hub, DOMAIN, config.announce_at, self.on_day)

    # -- months and links --------------------------------------------------------

    def current_month(self) -> str:
        """Return this month in the hub's timezone."""
        return month_of(self.hub.clock.now().date())

    def month_start(self, month: str) -> float:
        """Return the UNIX time the month starts (local midnight on the 1st)."""
        return datetime.combine(date.fromisoformat(month + "-01"), time(0), self.hub.clock.tz).timestamp()

    def month_end(self, month: str) -> float:
        """Return the UNIX time the month ends."""
        first = date.fromisoformat(month + "-01")
        nxt = (first + timedelta(days=32)).replace(day=1)
        return datetime.combine(nxt, time(0), self.hub.clock.tz).timestamp()

    def closes_at(self, month: str) -> float:
        """Return when the month's link stops taking answers (end of month + grace days)."""
        return self.month_end(month) + self.config.grace_days * 86400

    def link(self, month: str | None = None) -> str:
        """Return the signed public path of a month's poll (this month by default)."""
        month = month or self.current_month()
        if not valid_month(month):
            raise ValueError(f"not a month: {month!r} (expected YYYY-MM)")
        ttl = self.closes_at(month) - self.hub.clock.time()
        if ttl <= 0:
            raise ValueError(f"the poll of {month} has closed")
        return self.hub.signer.sign(f"/{DOMAIN}/m/{month}", ttl)

    def window_problem(self, month: str) -> str | None:
        """Return None while a month takes answers, else ``not_open`` or ``closed``."""
        now = self.hub.clock.time()
        if now < self.month_start(month):
            return "not_open"
        if now >= self.closes_at(month):
            return "closed"
        return None

    # -- answers --------------------------------------------------------------------

    async def check_throttle(self, month: str, address: str) -> str:
        """Return the client's salted hash, or raise 429 when it has sent too much."""
        now = self.hub.clock.time()
        client = await self.store.client_hash(month, address, self.closes_at(month))
        hour = await self.store.attempts(month, client, now - 3600)
        if hour >= self.config.max_per_client_per_hour:
            raise PollRefused("throttled", 429, retry_after=3600)
        if await self.store.attempts(month, client, 0) >= self.config.max_per_client_per_month:
            raise PollRefused("throttled", 429, retry_after=self.closes_at(month) - now)
        return client

    async def submit(
        self, month: str, address: str, form: Mapping[str, Any], *, answered: bool
    ) -> dict[str, Any]:
        """Store one response, or raise :class:`PollRefused` having stored no answer.

        ``answered`` is whether the browser already carries this month's
        "done" cookie.  Every attempt, refused or not, counts against the
        client's limits, so a script cannot probe forever; once over the
        limit nothing more is written at all.
        """
        problem = self.window_problem(month)
        if problem is not None:
            raise PollRefused(problem, 410 if problem == "closed" else 403)
        async with self._lock:
            client = await self.check_throttle(month, address)
            await self.store.add_attempt(month, client, self.hub.clock.time())
            if answered:
                raise PollRefused("already", 409)
            try:
                answers = read_answers(self.config.questions, form)
            except AnswerError as err:
                raise PollRefused("invalid", 400, question=err.question) from err
            await self.store.add_response(month, answers)
        # No ``kpi_changed`` here on purpose: a report sent seconds after one answer would tell
        # the station when that resident answered. Answers go up with the periodic report.
        return answers

    # -- results ----------------------------------------------------------------------

    async def results(self, month: str) -> tuple[int, dict[str, QuestionResult]]:
        """Return (responses, results per question) of a month."""
        responses = await self.store.responses(month)
        return len(responses), aggregate(self.config.questions, responses)

    async def public_results(self, month: str) -> dict[str, Any]:
        """Return a month's aggregates only: what may leave the hub."""
        n, results = await self.results(month)
        return {
            "month": month,
            "responses": n,
            "questions": [r.public() for r in results.values() if r.question.type != "text"],
        }

    async def trend(self, month: str, count: int = TREND_MONTHS) -> list[TrendPoint]:
        """Return each month's means (scales) and shares of yes (yes/no) up to ``month``."""
        points = []
        for m in previous_months(month, count):
            n, results = await self.results(m)
            values: dict[str, float | None] = {}
            for qid, res in results.items():
                if res.question.type == "scale":
                    values[qid] = res.mean
                elif res.question.type == "yes_no":
                    values[qid] = None if res.share_yes is None else res.share_yes * 100
            points.append(TrendPoint(m, n, values))
        return points

    # -- the monthly events --------------------------------------------------------------

    async def on_day(self, today: date) -> None:
        """Run the day's jobs: announce a new month, publish a closed month's results, purge."""
        await self.store.purge(self.hub.clock.time())
        if today.day == 1 and self.window_problem(month_of(today)) is None:
            path = self.link(month_of(today))
            self.hub.bus.fire(
                EVENT_OPENED,
                {
                    "month": month_of(today),
                    "path": path,
                    "url": _absolute(self.hub, path),
                    "title_th": self.config.title_th,
                    "title_en": self.config.title_en,
                },
            )
        if today.day == self.config.grace_days + 1:
            closed = month_of(today.replace(day=1) - timedelta(days=1))
            self.hub.bus.fire(EVENT_RESULTS, await self.public_results(closed))


def _absolute(hub: Hub, path: str) -> str:
    base = hub.core.web.public_url
    return base.rstrip("/") + path if base else path
