"""Time periods and times of day as HA writes them.

A period (``delay``, ``for``, ``timeout``) may be seconds (``90``), text
(``"00:01:30"``, ``"01:30"``, ``"00:00:01.5"``), a mapping
(``{minutes: 1, seconds: 30}``) or a template, also inside the mapping.  A
period that holds templates is kept as written and rendered at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Any

from hub.template import TemplateEngine, is_template, render_complex

__all__ = ("Period", "parse_period", "resolve_period", "parse_time_of_day", "PERIOD_UNITS")

#: A validated period: seconds, or something with templates to render later.
Period = float | str | dict[str, Any]

PERIOD_UNITS = {"days": 86400.0, "hours": 3600.0, "minutes": 60.0, "seconds": 1.0, "milliseconds": 0.001}
_HMS = re.compile(r"^\s*(-)?(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?\s*$")


def _text_seconds(text: str) -> float:
    text = text.strip()
    match = _HMS.match(text)
    if match is None:
        try:
            return float(text)
        except ValueError as err:
            raise ValueError(f"expected seconds or HH:MM[:SS[.F]], got {text!r}") from err
    sign, hours, minutes, seconds = match.groups()
    if int(minutes) >= 60 or (seconds is not None and float(seconds) >= 60):
        raise ValueError(f"expected HH:MM[:SS[.F]] with minutes and seconds below 60, got {text!r}")
    total = int(hours) * 3600 + int(minutes) * 60 + (float(seconds) if seconds else 0.0)
    return -total if sign else total


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a time period, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _text_seconds(value)
    if isinstance(value, Mapping):
        unknown = [str(k) for k in value if k not in PERIOD_UNITS]
        if unknown:
            raise ValueError(f"unknown time unit {unknown[0]!r} (use {', '.join(PERIOD_UNITS)})")
        total = 0.0
        for unit, amount in value.items():
            if isinstance(amount, bool) or not isinstance(amount, int | float | str):
                raise ValueError(f"{unit}: expected a number")
            try:
                total += float(amount) * PERIOD_UNITS[unit]
            except ValueError as err:
                raise ValueError(f"{unit}: expected a number, got {amount!r}") from err
        return total
    raise ValueError(f"expected a time period (seconds, HH:MM:SS or a mapping), got {type(value).__name__}")


def parse_period(value: Any, *, allow_negative: bool = False) -> Period:
    """Validate a period; return seconds, or the value itself if it holds templates."""
    if isinstance(value, str) and is_template(value):
        return str(value)
    if isinstance(value, Mapping) and any(is_template(v) for v in value.values()):
        unknown = [str(k) for k in value if k not in PERIOD_UNITS]
        if unknown:
            raise ValueError(f"unknown time unit {unknown[0]!r} (use {', '.join(PERIOD_UNITS)})")
        return {str(k): v for k, v in value.items()}
    seconds = _seconds(value)
    if seconds < 0 and not allow_negative:
        raise ValueError("a time period cannot be negative")
    return seconds


def resolve_period(period: Period, engine: TemplateEngine, variables: Mapping[str, Any]) -> float:
    """Return the seconds of a validated period, rendering its templates."""
    if isinstance(period, float | int):
        return float(period)
    rendered = render_complex(engine, period, variables)
    seconds = _seconds(rendered)
    if seconds < 0:
        raise ValueError(f"time period rendered negative: {rendered!r}")
    return seconds


def parse_time_of_day(value: Any) -> time:
    """Parse ``HH:MM`` or ``HH:MM:SS`` (YAML may already have made it seconds: 07:30 → 27000)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 86400:
        # YAML 1.1 reads an unquoted 07:30 as a base-60 number.
        return time(value // 3600, (value % 3600) // 60, value % 60)
    if isinstance(value, time):
        return value
    text = str(value).strip()
    try:
        parsed = time.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"expected a time of day HH:MM[:SS], got {text!r}") from err
    return parsed
