"""Clock triggers: ``time`` (a time of day or an input_datetime), ``time_pattern`` and ``sun``.

``time`` and ``sun`` deadlines are durable: the next deadline is saved, and
if it passed while the hub was down the trigger fires once at start-up with
``trigger.resumed: true`` (streetlights still switch on after a power cut at
dusk).  ``time_pattern`` is periodic and does not catch up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from hub.components.automation.const import DURABLE
from hub.components.automation.durations import parse_period
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.components.automation.sun import SunUnavailable, next_sun_event
from hub.components.automation.triggers.common import schedule_at
from hub.components.automation.types import PlatformModel, TimeOfDay
from hub.core.bus import Event, Unsubscribe
from hub.core.clock import Cancel
from hub.core.state import State

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "TimeTrigger",
    "TimeTriggerConfig",
    "TimePatternTrigger",
    "TimePatternConfig",
    "SunTrigger",
    "SunTriggerConfig",
    "next_time_of_day",
    "entity_deadline",
)

_LOGGER = logging.getLogger(__name__)


def next_time_of_day(hub: Hub, at: time, after: float) -> float:
    """Return the first local ``at`` strictly after ``after``."""
    tz = hub.clock.tz
    now = datetime.fromtimestamp(after, tz)
    candidate = datetime.combine(now.date(), at, tz)
    if candidate.timestamp() <= after:
        candidate = datetime.combine(now.date() + timedelta(days=1), at, tz)
    return candidate.timestamp()


def entity_deadline(hub: Hub, state: State | None, after: float) -> float | None:
    """Return the next time an input_datetime (or timestamp sensor) names, or None."""
    if state is None or state.state in ("unknown", "unavailable", ""):
        return None
    attrs = state.attributes
    if "has_date" in attrs or "has_time" in attrs:
        has_date, has_time = bool(attrs.get("has_date")), bool(attrs.get("has_time"))
        if not has_date:
            at = time(int(attrs.get("hour", 0)), int(attrs.get("minute", 0)), int(attrs.get("second", 0)))
            return next_time_of_day(hub, at, after)
        ts = attrs.get("timestamp")
        if ts is None:
            return None
        ts = float(ts)
        if not has_time:
            ts = datetime.combine(
                datetime.fromtimestamp(ts, hub.clock.tz).date(), time(), hub.clock.tz
            ).timestamp()
        return ts if ts > after else None
    try:
        when = datetime.fromisoformat(state.state.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=hub.clock.tz)
    ts = when.timestamp()
    return ts if ts > after else None


class _Slot:
    """One scheduled deadline of a clock trigger, saved as a durable row when asked."""

    def __init__(self, hub: Hub, info: TriggerInfo, name: str, durable: bool) -> None:
        self.hub = hub
        self.info = info
        self.key = f"time:{info.automation_id}:{info.trigger_idx}:{name}"
        self.durable = durable
        self.cancel: Cancel | None = None

    def resumed_deadline(self) -> float | None:
        """Return a saved deadline that passed while the hub was down (claiming it)."""
        store = self.hub.data.get(DURABLE)
        if store is None or not self.durable:
            return None
        row = store.claim(self.key)
        if row is None or row.deadline is None or row.data.get("fp") != self.info.fingerprint:
            return None
        return row.deadline if row.deadline <= self.hub.clock.time() else None

    def set(self, when: float | None, callback: Callable[[float], None]) -> None:
        self.clear(delete=False)
        store = self.hub.data.get(DURABLE)
        if when is None:
            if store is not None and self.durable:
                store.delete_key(self.key)
            return
        self.cancel = schedule_at(self.hub, when, lambda: callback(when))
        if store is not None and self.durable:
            store.save(self.key, self.info.automation_id, "time", when, {"fp": self.info.fingerprint})

    def clear(self, delete: bool = True) -> None:
        if self.cancel is not None:
            self.cancel()
            self.cancel = None
        store = self.hub.data.get(DURABLE)
        if delete and store is not None and self.durable:
            store.delete(self.key)


class TimeTriggerConfig(PlatformModel):
    at: list[TimeOfDay]

    @field_validator("at", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, list):
            return value
        return [value]


class TimeTrigger:
    """The built-in ``time`` trigger platform."""

    schema: type[BaseModel] = TimeTriggerConfig

    def attach(
        self, hub: Hub, config: TimeTriggerConfig, fire: TriggerFire, info: TriggerInfo
    ) -> Unsubscribe:
        """Schedule each ``at`` (re-scheduling entity-based ones when the entity changes)."""
        slots: list[_Slot] = []
        unsubs: list[Unsubscribe] = []

        def arm(slot: _Slot, at: Any, after: float) -> None:
            if isinstance(at, time):
                when: float | None = next_time_of_day(hub, at, after)
                description = f"time {at.isoformat()}"
            else:
                when = entity_deadline(hub, hub.states.get(at), after)
                description = f"time set by {at}"

            def due(deadline: float, resumed: bool = False) -> None:
                trigger: dict[str, Any] = {
                    "platform": "time",
                    "now": datetime.fromtimestamp(deadline, hub.clock.tz),
                    "description": description,
                    "entity_id": None if isinstance(at, time) else at,
                }
                if resumed:
                    trigger["resumed"] = True
                fire(trigger, None)
                arm(slot, at, max(deadline, hub.clock.time()))

            slot.set(when, due)

        for n, at in enumerate(config.at):
            slot = _Slot(hub, info, str(n), durable=True)
            slots.append(slot)
            missed = slot.resumed_deadline()
            arm(slot, at, hub.clock.time())
            if missed is not None:
                hub.loop.call_soon(_fire_resumed, hub, fire, at, missed)
            if not isinstance(at, time):

                def on_change(_event: Event, slot: _Slot = slot, at: Any = at) -> None:
                    arm(slot, at, hub.clock.time())

                unsubs.append(hub.states.track([at], on_change))

        def detach() -> None:
            for unsub in unsubs:
                unsub()
            for slot in slots:
                slot.clear()

        return detach


def _fire_resumed(hub: Hub, fire: TriggerFire, at: Any, when: float) -> None:
    description = f"time {at.isoformat()}" if isinstance(at, time) else f"time set by {at}"
    fire(
        {
            "platform": "time",
            "now": datetime.fromtimestamp(when, hub.clock.tz),
            "description": description,
            "entity_id": None if isinstance(at, time) else at,
            "resumed": True,
        },
        None,
    )


# -- time_pattern ------------------------------------------------------------------


def _pattern_values(value: Any, limit: int, name: str) -> list[int]:
    if value is None or value == "*":
        return list(range(limit))
    text = str(value).strip()
    if text.startswith("/"):
        step = int(text[1:])
        if step <= 0:
            raise ValueError(f"{name}: /N needs N > 0")
        return list(range(0, limit, step))
    number = int(text)
    if not 0 <= number < limit:
        raise ValueError(f"{name}: expected 0..{limit - 1}, got {number}")
    return [number]


class TimePatternConfig(PlatformModel):
    hours: int | str | None = None
    minutes: int | str | None = None
    seconds: int | str | None = None

    def values(self) -> tuple[list[int], list[int], list[int]]:
        """Return the matching hours, minutes and seconds (HA's defaulting of smaller units to 0)."""
        hours, minutes, seconds = self.hours, self.minutes, self.seconds
        if minutes is None and hours is not None:
            minutes = 0
        if seconds is None and minutes is not None:
            seconds = 0
        return (
            _pattern_values(hours, 24, "hours"),
            _pattern_values(minutes, 60, "minutes"),
            _pattern_values(seconds, 60, "seconds"),
        )

    @model_validator(mode="after")
    def _check(self) -> TimePatternConfig:
        # Check the patterns now, so that ``check`` reports them.
        if self.hours is None and self.minutes is None and self.seconds is None:
            raise ValueError("give hours, minutes or seconds")
        self.values()
        return self


def next_pattern(hub: Hub, pattern: tuple[list[int], list[int], list[int]], after: float) -> float:
    """Return the first local time matching ``pattern`` strictly after ``after``."""
    hours, minutes, seconds = pattern
    tz = hub.clock.tz
    start = datetime.fromtimestamp(int(after) + 1, tz)
    for days in range(2):
        day = start.date() + timedelta(days=days)
        first = days == 0
        for h in hours:
            if first and h < start.hour:
                continue
            for m in minutes:
                if first and h == start.hour and m < start.minute:
                    continue
                for s in seconds:
                    if first and h == start.hour and m == start.minute and s < start.second:
                        continue
                    return datetime.combine(day, time(h, m, s), tz).timestamp()
    raise ValueError("time pattern matches nothing")


class TimePatternTrigger:
    """The built-in ``time_pattern`` trigger platform."""

    schema: type[BaseModel] = TimePatternConfig

    def attach(
        self, hub: Hub, config: TimePatternConfig, fire: TriggerFire, info: TriggerInfo
    ) -> Unsubscribe:
        """Fire at every matching second."""
        pattern = config.values()
        slot = _Slot(hub, info, "pattern", durable=False)

        def arm(after: float) -> None:
            slot.set(next_pattern(hub, pattern, after), due)

        def due(deadline: float) -> None:
            fire(
                {
                    "platform": "time_pattern",
                    "now": datetime.fromtimestamp(deadline, hub.clock.tz),
                    "description": "time pattern",
                },
                None,
            )
            arm(deadline)

        arm(hub.clock.time())
        return slot.clear


# -- sun ---------------------------------------------------------------------------


def _offset(value: Any) -> float:
    result = parse_period(value, allow_negative=True)
    if not isinstance(result, float):
        raise ValueError("offset cannot be a template")
    return result


class SunTriggerConfig(PlatformModel):
    event: Literal["sunrise", "sunset"]
    offset: float = Field(default=0.0)

    @field_validator("offset", mode="before")
    @classmethod
    def _period(cls, value: Any) -> float:
        return _offset(value)


class SunTrigger:
    """The built-in ``sun`` trigger platform (needs ``hub.location``)."""

    schema: type[BaseModel] = SunTriggerConfig

    def attach(self, hub: Hub, config: SunTriggerConfig, fire: TriggerFire, info: TriggerInfo) -> Unsubscribe:
        """Schedule the next sunrise or sunset plus offset."""
        location = hub.core.location
        if location is None:
            raise SunUnavailable("the sun trigger needs hub.location (lat, lon)")
        slot = _Slot(hub, info, config.event, durable=True)

        def make(deadline: float, resumed: bool) -> dict[str, Any]:
            trigger: dict[str, Any] = {
                "platform": "sun",
                "event": config.event,
                "offset": config.offset,
                "now": datetime.fromtimestamp(deadline, hub.clock.tz),
                "description": f"{config.event} with offset {config.offset:+g}s",
            }
            if resumed:
                trigger["resumed"] = True
            return trigger

        def arm(after: float) -> None:
            try:
                when = next_sun_event(
                    config.event, location.lat, location.lon, after, hub.clock.tz, config.offset
                )
            except SunUnavailable as err:
                _LOGGER.error("Automation %s: %s", info.automation_name or info.automation_id, err)
                return
            slot.set(when, due)

        def due(deadline: float) -> None:
            fire(make(deadline, False), None)
            arm(max(deadline, hub.clock.time()))

        missed = slot.resumed_deadline()
        arm(hub.clock.time())
        if missed is not None:
            hub.loop.call_soon(lambda: fire(make(missed, True), None))
        return slot.clear
