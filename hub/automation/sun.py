"""Sunrise and sunset for the hub's location (``hub.location``), with astral.

Street lights follow the sun, so these use the hub's own latitude, longitude
and timezone: Bangkok's sunset is not Satun's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from astral import Observer
from astral.sun import sunrise, sunset

from hub.core.clock import Cancel

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("SUN_EVENTS", "sun_event", "next_sun_event", "SunUnavailable", "SunEntity")

SUN_EVENTS = ("sunrise", "sunset")


class SunUnavailable(ValueError):
    """No location configured, or the sun does not rise/set that day."""


def sun_event(event: str, lat: float, lon: float, day: datetime, tz: tzinfo) -> datetime | None:
    """Return the sunrise or sunset of ``day`` (local date), or None near the poles."""
    observer = Observer(latitude=lat, longitude=lon)
    try:
        func = sunrise if event == "sunrise" else sunset
        return func(observer, day.date(), tzinfo=tz)
    except ValueError:
        return None


def next_sun_event(
    event: str, lat: float, lon: float, after: float, tz: tzinfo, offset: float = 0.0
) -> float:
    """Return the UNIX time of the first ``event`` + ``offset`` strictly after ``after``."""
    start = datetime.fromtimestamp(after, tz)
    for days in range(-1, 370):
        when = sun_event(event, lat, lon, start + timedelta(days=days), tz)
        if when is None:
            continue
        ts = when.timestamp() + offset
        if ts > after:
            return ts
    raise SunUnavailable(f"no {event} within a year at {lat}, {lon}")


class SunEntity:
    """``sun.sun`` as in HA: ``above_horizon``/``below_horizon`` with the next rising and setting.

    HA blueprints often check ``is_state('sun.sun', 'below_horizon')``; the
    state changes at each sunrise and sunset of the hub's location.
    """

    entity_id = "sun.sun"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._cancel: Cancel | None = None

    def start(self) -> None:
        """Publish the state now and keep it up to date."""
        self._update()

    def stop(self) -> None:
        """Stop updating."""
        if self._cancel is not None:
            self._cancel()
            self._cancel = None

    def _update(self) -> None:
        location = self.hub.core.location
        if location is None:
            return
        now = self.hub.clock.time()
        tz = self.hub.clock.tz
        rising = next_sun_event("sunrise", location.lat, location.lon, now, tz)
        setting = next_sun_event("sunset", location.lat, location.lon, now, tz)
        state = "below_horizon" if rising < setting else "above_horizon"
        self.hub.states.set(
            self.entity_id,
            state,
            {
                "friendly_name": "Sun",
                "next_rising": datetime.fromtimestamp(rising, UTC).isoformat(),
                "next_setting": datetime.fromtimestamp(setting, UTC).isoformat(),
            },
        )
        self._cancel = self.hub.clock.call_at(min(rising, setting) + 1, self._update)
