"""A job that runs every day at a local time, on the hub clock: :class:`DailyTask`.

Plugins with a daily check (big6's overdue resolutions, patrol_qr's gaps, the people
poll's announcements) and the daily backup all need the same wiring around
:meth:`hub.core.clock.Clock.call_daily`: start the job as a hub task (so a stop or a
test's ``block_till_done`` sees it), log a failure with its traceback without losing
tomorrow's run, and cancel the timer at shutdown.  Written once here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING

from hub.core.clock import Cancel

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("DailyTask",)

_LOGGER = logging.getLogger(__name__)


class DailyTask:
    """Run ``job(today)`` every day at ``at`` ("HH:MM", the hub's timezone) once started."""

    def __init__(
        self,
        hub: Hub,
        name: str,
        at: str,
        job: Callable[[date], Awaitable[object]],
        *,
        background: bool = False,
    ) -> None:
        #: ``background``: a long job (a backup) that ``block_till_done`` need not wait for.
        self.hub = hub
        self.name = name
        self.at = at
        self._job = job
        self._background = background
        self._cancel: Cancel | None = None

    @property
    def running(self) -> bool:
        """Return whether the daily timer is set."""
        return self._cancel is not None

    def start(self) -> None:
        """Set the daily timer (again after :meth:`stop`); a second start is ignored."""
        if self._cancel is None:
            self._cancel = self.hub.clock.call_daily(self.at, self._due)

    def stop(self) -> None:
        """Cancel the timer (plugin shutdown); a job already running finishes."""
        if self._cancel is not None:
            self._cancel()
            self._cancel = None

    def _due(self, today: date) -> None:
        spawn = self.hub.create_background_task if self._background else self.hub.create_task
        spawn(self._run(today), f"{self.name} daily {today}")

    async def _run(self, today: date) -> None:
        try:
            await self._job(today)
        except Exception:
            # Tomorrow's run is already scheduled (call_daily sets it before calling us).
            _LOGGER.exception("%s: daily job of %s failed", self.name, today)
