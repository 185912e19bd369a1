"""The hub's monthly programme figures, sent up so the station shows what the hub really did.

Only the hub's plugins know what counts as a patrol, a poll answer or a Big 6
resolution (their ``kpi_slots`` hook).  The station must not run those plugins
on its own database, which holds none of that (it showed zeros): each hub
sends its own figures as a ``kpi_month`` event instead, and the station keeps
the newest report per hub and month (:mod:`integrations.station.kpis`).

Through the outbox, coalesced per month: an unsent older report of a month is
replaced by the newer one (a hub offline for a day sends its latest figures).

When: after a ``kpi_changed`` event on the hub's bus (a check-in, a poll answer,
a saved meeting; debounced so a burst makes one report), and every
``kpi_interval`` seconds.  The month just closed is reported again during the
first ``KPI_FINAL_DAYS`` days of the next (a flagged check-in accepted late, the
poll's grace days, a resolution marked done).  A report identical to the last
one sent for that month is not sent again.

A slot carries ``n`` when its value is a share or a mean over ``n`` things
(``patrol_coverage`` over finished checkpoint × shift slots, a poll question's
mean over its answers), and ``sum``, the value times ``n`` before rounding:
the station combines hubs per zone and station as Σ sum / Σ n.  A slot
without ``n`` is a count and is added up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.core.clock import Cancel

if TYPE_CHECKING:
    from hub.core.bus import Event
    from hub.hub import Hub

__all__ = (
    "EVENT_KPI_MONTH",
    "EVENT_KPI_CHANGED",
    "KPI_FINAL_DAYS",
    "KpiSlotDoc",
    "KpiReportDoc",
    "read_report",
    "MONTH_RE",
    "collect_slots",
    "KpiReporter",
)

_LOGGER = logging.getLogger(__name__)

#: The event type of a hub's monthly figures (always sent when federation is on: aggregates only).
EVENT_KPI_MONTH = "kpi_month"
#: Fired on the hub's bus by whatever changes the month's figures; plugins fire it by name.
EVENT_KPI_CHANGED = "kpi_changed"
#: Days into a month during which the previous month is still reported.
KPI_FINAL_DAYS = 10
_MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
MONTH_RE = re.compile(_MONTH_PATTERN)


class KpiSlotDoc(BaseModel):
    """One figure as it travels (the station reads reports through this: a bad one is named, not shown)."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, Field(pattern=r"^[a-z0-9_.]{1,64}$")]
    #: The plugin that computed it.
    source: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    #: A poll question's text is the longest label (300 characters in its config).
    label_th: Annotated[str, Field(max_length=500)] = ""
    label_en: Annotated[str, Field(max_length=500)] = ""
    value: float | None = None
    unit: Annotated[str, Field(max_length=16)] = ""
    #: How many things a share or mean is over (its weight); absent for counts.
    n: Annotated[int, Field(ge=0)] | None = None
    #: ``value × n`` before rounding (the yes answers × 100, the scale points): hubs combine exactly.
    sum: float | None = None
    lower_is_better: bool | None = None

    @field_validator("value", "sum")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("not a finite number")
        return value


class KpiReportDoc(BaseModel):
    """A hub's figures for one month."""

    model_config = ConfigDict(extra="ignore")

    month: Annotated[str, Field(pattern=_MONTH_PATTERN)]
    #: True once the month is over (later reports of it are corrections).
    final: bool = False
    slots: Annotated[list[KpiSlotDoc], Field(max_length=500)] = []


def read_report(data: Any) -> tuple[KpiReportDoc | None, str | None]:
    """Return (report, None), or (None, a short reason) for a malformed one."""
    try:
        return KpiReportDoc.model_validate(data), None
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return None, f"{where}: {first.get('msg', 'invalid')}"[:200]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


async def collect_slots(hub: Hub, month: str) -> list[dict[str, Any]]:
    """Return every set-up plugin's ``kpi_slots`` for ``month``, in the form a report carries."""
    from integrations.federation.collect import set_up_domains

    slots: list[dict[str, Any]] = []
    seen: set[str] = set()
    results = await hub.plugins.hooks.kpi_slots(hub=hub, month=month, only=set_up_domains(hub))
    for info, result in results:
        for item in result or ():
            key = item.get("key") if isinstance(item, dict) else None
            if not isinstance(key, str) or key in seen:
                continue
            slot: dict[str, Any] = {
                "id": key,
                "source": info.domain,
                "label_th": str(item.get("label_th") or ""),
                "label_en": str(item.get("label_en") or ""),
                "value": _number(item.get("value")),
                "unit": str(item.get("unit") or ""),
            }
            n = item.get("n")
            if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                slot["n"] = n
                if _number(item.get("sum")) is not None:
                    slot["sum"] = _number(item.get("sum"))
            if isinstance(item.get("lower_is_better"), bool):
                slot["lower_is_better"] = item["lower_is_better"]
            try:
                KpiSlotDoc.model_validate(slot)
            except ValidationError as err:
                # The plugin's bug must not stop the other figures going up.
                _LOGGER.warning("KPI slot %r of %s left out: %s", key, info.domain, err.errors()[0]["msg"])
                continue
            seen.add(key)
            slots.append(slot)
    return slots


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class KpiReporter:
    """Sends ``kpi_month`` events through the federation outbox (so none is lost)."""

    def __init__(
        self,
        hub: Hub,
        send_event: Callable[..., Awaitable[str]],
        *,
        interval: float,
        debounce: float,
    ) -> None:
        self.hub = hub
        self._send_event = send_event
        self.interval = interval
        self.debounce = debounce
        #: month → digest of the last report queued (a restart sends each month once more).
        self._sent: dict[str, str] = {}
        self._due: Cancel | None = None
        self._unsub: Callable[[], None] | None = None

    def start(self) -> None:
        """Follow ``kpi_changed`` on the bus."""
        self._unsub = self.hub.bus.listen(EVENT_KPI_CHANGED, self._changed)

    def stop(self) -> None:
        """Stop following the bus and drop a pending report."""
        if self._unsub is not None:
            self._unsub()
            self._unsub = None
        if self._due is not None:
            self._due()
            self._due = None

    def _changed(self, _event: Event) -> None:
        if self._due is None:
            self._due = self.hub.clock.call_later(self.debounce, self._fire)

    def _fire(self) -> None:
        self._due = None
        self.hub.create_task(self._safe_report(), "federation kpi report")

    async def _safe_report(self) -> None:
        try:
            await self.report()
        except Exception:
            _LOGGER.exception("Federation: could not report the month's figures")

    async def loop(self) -> None:
        """Report now and every ``interval`` seconds (on the hub's clock)."""
        clock = self.hub.clock
        due = clock.time()
        while True:
            await self._safe_report()
            # On a fixed schedule: a slow report (a busy database) must not push every later one
            # back, or a month's closing report could wait a whole interval past its due time.
            due += self.interval
            now = clock.time()
            if due < now:
                due = now
            await clock.sleep(due - now)

    def months(self) -> list[str]:
        """Return the months to report now: this one, and the last one early in the month."""
        today = self.hub.clock.now().date()
        months = [_month(today)]
        if today.day <= KPI_FINAL_DAYS:
            months.insert(0, _month(today.replace(day=1) - timedelta(days=1)))
        return months

    async def report(self) -> list[str]:
        """Queue a report for each month whose figures changed; return the ids queued."""
        current = _month(self.hub.clock.now().date())
        ids: list[str] = []
        for month in self.months():
            slots = await collect_slots(self.hub, month)
            if not slots:
                continue  # no programme plugin here: nothing to report, and "not reported" is right
            body = {"month": month, "final": month != current, "slots": slots}
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            if self._sent.get(month) == digest:
                continue
            # Coalesced per month: a hub offline for a day sends its newest figures, not every step.
            ids.append(await self._send_event(EVENT_KPI_MONTH, body, coalesce=f"{EVENT_KPI_MONTH}:{month}"))
            self._sent[month] = digest
        for month in [m for m in self._sent if m not in self.months()]:
            del self._sent[month]
        return ids
