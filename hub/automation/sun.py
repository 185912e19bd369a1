"""Sunrise and sunset for the hub's location (``hub.location``), with astral.

Street lights follow the sun, so these use the hub's own latitude, longitude
and timezone: Bangkok's sunset is not Satun's.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from astral import Observer
from astral.sun import sunrise, sunset

__all__ = ("SUN_EVENTS", "sun_event", "next_sun_event", "SunUnavailable")

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
