"""The monthly message quota: read it, warn at 80 %, tell the admin and the station at 100 %.

LINE counts a group push once per member who receives it, so a few alerts to
big groups can use up a free plan.  The quota is read at start-up, every
``quota_check_every`` seconds, and shortly after sends; a send refused with
"monthly limit" marks it exhausted at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from integrations.line.client import LineApiError, SendResult
from integrations.line.const import EVENT_QUOTA, EVENT_QUOTA_EXHAUSTED

if TYPE_CHECKING:
    from integrations.line.runtime import LineRuntime

__all__ = ("QuotaWatch", "QuotaReading")

_LOGGER = logging.getLogger(__name__)

#: After a send, read the quota again no sooner than this (seconds).
_AFTER_SEND_DELAY = 60.0


@dataclass
class QuotaReading:
    """The latest quota figures."""

    limit: int | None  # None: unlimited plan
    used: int
    read_at: float

    @property
    def fraction(self) -> float | None:
        """Return used/limit, or None when unlimited."""
        if self.limit is None:
            return None
        return self.used / self.limit if self.limit > 0 else 1.0


class QuotaWatch:
    """Keeps the quota reading and the level (ok, warning, exhausted) with its events."""

    def __init__(self, rt: LineRuntime) -> None:
        self.rt = rt
        self.reading: QuotaReading | None = None
        self.level = "ok"
        self.error: str | None = None
        self._read_soon: Any = None

    def level_for(self, reading: QuotaReading) -> str:
        """Return ok, warning or exhausted for a reading."""
        fraction = reading.fraction
        if fraction is None:
            return "ok"
        if fraction >= 1.0:
            return "exhausted"
        if fraction >= self.rt.config.quota_warn_at:
            return "warning"
        return "ok"

    async def refresh(self) -> QuotaReading | None:
        """Read the quota now and act on the level."""
        try:
            limit, used = await self.rt.api.quota()
        except LineApiError as err:
            self.error = str(err)
            _LOGGER.warning("LINE: cannot read the message quota: %s", err)
            return self.reading
        self.error = None
        self.reading = QuotaReading(limit, used, self.rt.hub.clock.time())
        await self._set_level(self.level_for(self.reading))
        return self.reading

    async def loop(self) -> None:
        """Read the quota every ``quota_check_every`` seconds."""
        while True:
            await self.refresh()
            await self.rt.hub.clock.sleep(self.rt.config.quota_check_every)

    def after_send(self, result: SendResult) -> None:
        """React to a send: a monthly-limit refusal, or a push that used quota."""
        hub = self.rt.hub
        if result.quota_exhausted:
            if self.reading is not None and self.reading.limit is not None:
                self.reading.used = max(self.reading.used, self.reading.limit)
            hub.create_task(self._set_level("exhausted", cause=result.error or "monthly limit"), "line quota")
            return
        if result.ok and self._read_soon is None:
            # Coalesce: one reading a minute after a burst, not one per message.
            def read() -> None:
                self._read_soon = None
                hub.create_task(self.refresh(), "line quota refresh")

            self._read_soon = hub.clock.call_later(_AFTER_SEND_DELAY, read)

    def cancel(self) -> None:
        """Drop the pending after-send reading (shutdown)."""
        if self._read_soon is not None:
            self._read_soon()
            self._read_soon = None

    def as_dict(self) -> dict[str, Any]:
        """Return the gauge's figures for the UI and API."""
        reading = self.reading
        return {
            "level": self.level,
            "limit": reading.limit if reading else None,
            "used": reading.used if reading else None,
            "percent": round(100 * reading.fraction, 1) if reading and reading.fraction is not None else None,
            "read_at": reading.read_at if reading else None,
            "warn_at_percent": round(100 * self.rt.config.quota_warn_at),
            "error": self.error,
        }

    async def _set_level(self, level: str, *, cause: str = "") -> None:
        previous, self.level = self.level, level
        figures = self.as_dict()
        self.rt.publish_state()
        if level == previous:
            return
        hub = self.rt.hub
        hub.bus.fire(EVENT_QUOTA, {"level": level, "previous": previous, **figures})
        used, limit = figures["used"], figures["limit"]
        if level == "warning":
            _LOGGER.warning(
                "LINE: %s of %s messages of this month's quota used (%s%%); alerts stop at 100%%",
                used,
                limit,
                figures["percent"],
            )
        elif level == "exhausted":
            _LOGGER.error(
                "LINE: the monthly message quota is used up (%s of %s%s): LINE alerts cannot be pushed "
                "until next month or a plan upgrade; replies still work",
                used,
                limit,
                f"; {cause}" if cause else "",
            )
            # The admin sees it in the audit log and on the LINE page; the station
            # gets the event through federation.
            await hub.audit.log(
                "line",
                "line.quota_exhausted",
                "line.bot",
                role="system",
                detail={"used": used, "limit": limit, "cause": cause},
                result="error",
            )
            hub.bus.fire(
                EVENT_QUOTA_EXHAUSTED, {"used": used, "limit": limit, "cause": cause, "hub_id": hub.id}
            )
        else:
            _LOGGER.info("LINE: message quota back to %s (%s of %s)", level, used, limit)
