"""Sunrise and sunset for the hub's location (``hub.location``), with astral.

Street lights follow the sun, so these use the hub's own latitude, longitude
and timezone: Bangkok's sunset is not Satun's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from astral import Observer
from astral.sun import azimuth, dawn, dusk, elevation, midnight, noon, sunrise, sunset

from hub.core.clock import Cancel
from hub.i18n import entity_name

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("SUN_EVENTS", "sun_event", "next_sun_event", "SunUnavailable", "SunEntity")

SUN_EVENTS = ("sunrise", "sunset")


class SunUnavailable(ValueError):
    """No location configured, or the sun does not rise/set that day."""


#: What ``sun.sun`` reports, as HA does: dawn and dusk are civil twilight (the sun 6° down).
_EVENTS: dict[str, Callable[..., datetime]] = {
    "sunrise": sunrise,
    "sunset": sunset,
    "dawn": dawn,
    "dusk": dusk,
    "noon": noon,
    "midnight": midnight,
}
#: How often elevation and azimuth are refreshed while an automation follows ``sun.sun``: an
#: elevation trigger fires within a minute of the crossing.
POSITION_EVERY = 60.0
#: ...and while nothing follows it: each minute's state write would be a recorder row and, on a
#: test's FakeClock, a day of 1,440 timers.
IDLE_EVERY = 900.0


def sun_event(event: str, lat: float, lon: float, day: datetime, tz: tzinfo) -> datetime | None:
    """Return ``event`` (sunrise, sunset, dawn, dusk, noon, midnight) of ``day`` (local date), or None near the poles."""
    observer = Observer(latitude=lat, longitude=lon)
    try:
        when: datetime = _EVENTS[event](observer, day.date(), tzinfo=tz)
    except ValueError:
        return None
    return when


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
    """``sun.sun`` as in HA: ``above_horizon``/``below_horizon`` with HA's attributes.

    HA blueprints often check ``is_state('sun.sun', 'below_horizon')``; the state changes at
    each sunrise and sunset of the hub's location.  The attributes are HA's: ``next_dawn``,
    ``next_dusk``, ``next_midnight``, ``next_noon``, ``next_rising``, ``next_setting`` (ISO 8601,
    UTC), ``elevation`` and ``azimuth`` (degrees, two decimals) and ``rising`` (before solar
    noon).  Elevation moves about a quarter of a degree a minute, so the entity is refreshed
    every :data:`POSITION_EVERY` seconds while an automation follows it (every
    :data:`IDLE_EVERY` otherwise), and exactly at each sunrise and sunset.
    """

    entity_id = "sun.sun"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._cancel: Cancel | None = None

    def start(self) -> None:
        """Publish the state now and keep it up to date."""
        self._update()

    def refresh(self) -> None:
        """Publish now and reschedule (after automations arm: their triggers set the pace)."""
        self.stop()
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
        upcoming = {event: next_sun_event(event, location.lat, location.lon, now, tz) for event in _EVENTS}
        rising, setting = upcoming["sunrise"], upcoming["sunset"]
        state = "below_horizon" if rising < setting else "above_horizon"
        observer = Observer(latitude=location.lat, longitude=location.lon)
        when = datetime.fromtimestamp(now, UTC)
        self.hub.states.set(
            self.entity_id,
            state,
            {
                "friendly_name": entity_name("sun", self.hub),
                **{
                    f"next_{name}": datetime.fromtimestamp(upcoming[event], UTC).isoformat()
                    for name, event in _ATTRS
                },
                "elevation": round(elevation(observer, when), 2),
                "azimuth": round(azimuth(observer, when), 2),
                "rising": upcoming["noon"] < upcoming["midnight"],
            },
        )
        every = POSITION_EVERY if self.hub.states.is_tracked(self.entity_id) else IDLE_EVERY
        self._cancel = self.hub.clock.call_at(min(now + every, min(rising, setting) + 1), self._update)


#: HA's attribute names for the events (``next_rising`` is the sunrise).
_ATTRS = (
    ("dawn", "dawn"),
    ("dusk", "dusk"),
    ("midnight", "midnight"),
    ("noon", "noon"),
    ("rising", "sunrise"),
    ("setting", "sunset"),
)
