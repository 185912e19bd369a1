"""The helper entities: ``input_*``, ``timer`` and ``counter``, with HA's states and attributes.

Values are restored after a restart (from the ``helper_state`` table) unless
the config gives an ``initial`` value, as in HA.  Timers go further than HA:
an active timer keeps running across a restart, and one that ran out while
the hub was down finishes at start-up (``timer.finished`` with
``resumed: true``) once automations are armed to hear it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from hub.components.helpers.config import (
    CounterConfig,
    InputBooleanConfig,
    InputDatetimeConfig,
    InputNumberConfig,
    InputSelectConfig,
    InputTextConfig,
    TimerConfig,
)
from hub.core.clock import Cancel
from hub.core.context import Context
from hub.storage import to_json

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "Helper",
    "InputBoolean",
    "InputNumber",
    "InputSelect",
    "InputText",
    "InputDatetime",
    "Timer",
    "Counter",
    "SAVE_SQL",
    "MIGRATION",
    "format_hms",
)

_LOGGER = logging.getLogger(__name__)

MIGRATION = """
CREATE TABLE helper_state (
    entity_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    data TEXT,
    updated REAL NOT NULL
);
"""
SAVE_SQL = "INSERT OR REPLACE INTO helper_state (entity_id, state, data, updated) VALUES (?, ?, ?, ?)"


def format_hms(seconds: float) -> str:
    """Return ``H:MM:SS`` as HA shows timer durations."""
    total = int(round(max(0.0, seconds)))
    return f"{total // 3600}:{(total % 3600) // 60:02d}:{total % 60:02d}"


class Helper:
    """Base: one entity, its config, and how to save its value."""

    domain = ""

    def __init__(self, hub: Hub, object_id: str, config: Any) -> None:
        self.hub = hub
        self.object_id = object_id
        self.entity_id = f"{self.domain}.{object_id}"
        self.config = config
        self.name = config.name if config is not None and config.name else object_id.replace("_", " ")

    def base_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"friendly_name": self.name}
        if self.config is not None and self.config.icon:
            attrs["icon"] = self.config.icon
        return attrs

    def attributes(self) -> dict[str, Any]:
        """Return the entity's attributes."""
        return self.base_attributes()

    def value(self) -> str:
        """Return the state string."""
        raise NotImplementedError

    def write(self, context: Context | None = None, save: bool = True) -> None:
        """Publish the state (and remember it for the next start)."""
        state = self.value()
        self.hub.states.set(self.entity_id, state, self.attributes(), context=context)
        if save and self.hub.storage.is_open:
            self.hub.storage.enqueue(
                SAVE_SQL, (self.entity_id, state, to_json(self.saved_data()), self.hub.clock.time())
            )

    def saved_data(self) -> dict[str, Any]:
        """Return extra data to keep across restarts."""
        return {}

    def restore(self, state: str, data: dict[str, Any]) -> None:
        """Take the value saved before a restart."""


class InputBoolean(Helper):
    domain = "input_boolean"
    config: InputBooleanConfig | None

    def __init__(self, hub: Hub, object_id: str, config: InputBooleanConfig | None) -> None:
        super().__init__(hub, object_id, config)
        self.on = bool(config.initial) if config is not None and config.initial is not None else False

    def value(self) -> str:
        return "on" if self.on else "off"

    def restore(self, state: str, data: dict[str, Any]) -> None:
        if self.config is None or self.config.initial is None:
            self.on = state == "on"


class InputNumber(Helper):
    domain = "input_number"
    config: InputNumberConfig

    def __init__(self, hub: Hub, object_id: str, config: InputNumberConfig) -> None:
        super().__init__(hub, object_id, config)
        self.number = config.initial if config.initial is not None else config.min

    def value(self) -> str:
        return str(float(self.number))

    def attributes(self) -> dict[str, Any]:
        c = self.config
        attrs = {
            **self.base_attributes(),
            "min": c.min,
            "max": c.max,
            "step": c.step,
            "mode": c.mode,
            "initial": c.initial,
        }
        if c.unit_of_measurement:
            attrs["unit_of_measurement"] = c.unit_of_measurement
        return attrs

    def set(self, number: float) -> None:
        c = self.config
        if not c.min <= number <= c.max:
            raise ValueError(f"{self.entity_id}: {number:g} is outside {c.min:g}..{c.max:g}")
        self.number = number

    def restore(self, state: str, data: dict[str, Any]) -> None:
        if self.config.initial is None:
            with contextlib.suppress(ValueError):
                self.set(float(state))


class InputSelect(Helper):
    domain = "input_select"
    config: InputSelectConfig

    def __init__(self, hub: Hub, object_id: str, config: InputSelectConfig) -> None:
        super().__init__(hub, object_id, config)
        self.options = list(config.options)
        self.current = config.initial if config.initial is not None else self.options[0]

    def value(self) -> str:
        return self.current

    def attributes(self) -> dict[str, Any]:
        return {**self.base_attributes(), "options": list(self.options)}

    def select(self, option: str) -> None:
        if option not in self.options:
            raise ValueError(f"{self.entity_id}: {option!r} is not one of {', '.join(self.options)}")
        self.current = option

    def step(self, delta: int, cycle: bool) -> None:
        index = self.options.index(self.current) + delta
        if cycle:
            index %= len(self.options)
        else:
            index = max(0, min(len(self.options) - 1, index))
        self.current = self.options[index]

    def saved_data(self) -> dict[str, Any]:
        return {"options": self.options}

    def restore(self, state: str, data: dict[str, Any]) -> None:
        if self.config.initial is None and state in self.options:
            self.current = state


class InputText(Helper):
    domain = "input_text"
    config: InputTextConfig

    def __init__(self, hub: Hub, object_id: str, config: InputTextConfig | None) -> None:
        super().__init__(hub, object_id, config or InputTextConfig())
        self.text = self.config.initial or ""

    def value(self) -> str:
        return self.text

    def attributes(self) -> dict[str, Any]:
        c = self.config
        return {**self.base_attributes(), "min": c.min, "max": c.max, "pattern": c.pattern, "mode": c.mode}

    def set(self, text: str) -> None:
        c = self.config
        if not c.min <= len(text) <= c.max:
            raise ValueError(f"{self.entity_id}: text length must be {c.min}..{c.max}")
        if c.pattern and re.fullmatch(c.pattern, text) is None:
            raise ValueError(f"{self.entity_id}: text does not match {c.pattern}")
        self.text = text

    def restore(self, state: str, data: dict[str, Any]) -> None:
        if self.config.initial is None:
            self.text = state


class InputDatetime(Helper):
    domain = "input_datetime"
    config: InputDatetimeConfig

    def __init__(self, hub: Hub, object_id: str, config: InputDatetimeConfig) -> None:
        super().__init__(hub, object_id, config)
        self.when: datetime | None = None
        if config.initial:
            self.set_text(config.initial)
        elif config.has_date:
            self.when = datetime.combine(hub.clock.now().date(), time(), hub.clock.tz)
        else:
            self.when = datetime.combine(date(1970, 1, 1), time(), hub.clock.tz)

    def set_text(self, text: str) -> None:
        text = text.strip()
        tz = self.hub.clock.tz
        try:
            if self.config.has_date and self.config.has_time:
                parsed = datetime.fromisoformat(text)
                self.when = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
            elif self.config.has_date:
                self.when = datetime.combine(date.fromisoformat(text[:10]), time(), tz)
            else:
                self.when = datetime.combine(date(1970, 1, 1), time.fromisoformat(text), tz)
        except ValueError as err:
            raise ValueError(f"{self.entity_id}: cannot read {text!r} as a date/time") from err

    def value(self) -> str:
        if self.when is None:
            return "unknown"
        local = self.when.astimezone(self.hub.clock.tz)
        if self.config.has_date and self.config.has_time:
            return local.strftime("%Y-%m-%d %H:%M:%S")
        if self.config.has_date:
            return local.strftime("%Y-%m-%d")
        return local.strftime("%H:%M:%S")

    def attributes(self) -> dict[str, Any]:
        attrs = {
            **self.base_attributes(),
            "has_date": self.config.has_date,
            "has_time": self.config.has_time,
            "editable": True,
        }
        if self.when is None:
            return attrs
        local = self.when.astimezone(self.hub.clock.tz)
        if self.config.has_date:
            attrs.update(year=local.year, month=local.month, day=local.day)
        if self.config.has_time:
            attrs.update(hour=local.hour, minute=local.minute, second=local.second)
        if self.config.has_date:
            attrs["timestamp"] = local.timestamp()
        else:
            attrs["timestamp"] = local.hour * 3600 + local.minute * 60 + local.second
        return attrs

    def restore(self, state: str, data: dict[str, Any]) -> None:
        if not self.config.initial and state not in ("unknown", ""):
            with contextlib.suppress(ValueError):
                self.set_text(state)


class Counter(Helper):
    domain = "counter"
    config: CounterConfig

    def __init__(self, hub: Hub, object_id: str, config: CounterConfig | None) -> None:
        super().__init__(hub, object_id, config or CounterConfig())
        self.count = self.config.initial
        self.step = self.config.step

    def value(self) -> str:
        return str(self.count)

    def attributes(self) -> dict[str, Any]:
        c = self.config
        return {
            **self.base_attributes(),
            "initial": c.initial,
            "step": self.step,
            "minimum": c.minimum,
            "maximum": c.maximum,
            "editable": True,
        }

    def set(self, count: int) -> None:
        c = self.config
        if c.minimum is not None and count < c.minimum:
            raise ValueError(f"{self.entity_id}: {count} is below the minimum {c.minimum}")
        if c.maximum is not None and count > c.maximum:
            raise ValueError(f"{self.entity_id}: {count} is above the maximum {c.maximum}")
        self.count = count

    def restore(self, state: str, data: dict[str, Any]) -> None:
        if self.config.restore:
            with contextlib.suppress(ValueError):
                self.count = int(state)


class Timer(Helper):
    """``timer.*``: idle → active → (paused) → idle, with durable deadlines."""

    domain = "timer"
    config: TimerConfig

    def __init__(self, hub: Hub, object_id: str, config: TimerConfig | None) -> None:
        super().__init__(hub, object_id, config or TimerConfig())
        self.status = "idle"
        self.duration = self.config.duration
        self.finishes_at: float | None = None
        self.remaining: float = self.duration
        self._cancel: Cancel | None = None
        self.pending_finish = False

    def value(self) -> str:
        return self.status

    def attributes(self) -> dict[str, Any]:
        attrs = {
            **self.base_attributes(),
            "duration": format_hms(self.duration),
            "editable": True,
            "restore": self.config.restore,
        }
        if self.status == "active" and self.finishes_at is not None:
            attrs["remaining"] = format_hms(self.finishes_at - self.hub.clock.time())
            attrs["finishes_at"] = datetime.fromtimestamp(self.finishes_at, UTC).isoformat()
        elif self.status == "paused":
            attrs["remaining"] = format_hms(self.remaining)
        return attrs

    def saved_data(self) -> dict[str, Any]:
        return {"duration": self.duration, "finishes_at": self.finishes_at, "remaining": self.remaining}

    def restore(self, state: str, data: dict[str, Any]) -> None:
        if not self.config.restore:
            return
        if state == "paused":
            self.status = "paused"
            self.duration = float(data.get("duration") or self.duration)
            self.remaining = float(data.get("remaining") or 0.0)
        elif state == "active" and data.get("finishes_at") is not None:
            self.duration = float(data.get("duration") or self.duration)
            self.finishes_at = float(data["finishes_at"])
            if self.finishes_at <= self.hub.clock.time():
                # Ran out while the hub was down: finish once automations listen.
                self.pending_finish = True
            self.status = "active"

    def _fire(self, event: str, context: Context | None, **extra: Any) -> None:
        self.hub.bus.fire(f"timer.{event}", {"entity_id": self.entity_id, **extra}, context)

    def _schedule(self) -> None:
        self._unschedule()
        if self.finishes_at is not None:
            self._cancel = self.hub.clock.call_at(self.finishes_at, lambda: self.finish(None, due=True))

    def _unschedule(self) -> None:
        if self._cancel is not None:
            self._cancel()
            self._cancel = None

    def resume(self) -> None:
        """Re-arm a timer restored as active (or finish it if it ran out while down)."""
        if self.status != "active":
            return
        if self.pending_finish:
            self.pending_finish = False
            self.finish(None, due=True, resumed=True)
            return
        self._schedule()

    def start(self, duration: float | None, context: Context | None) -> None:
        now = self.hub.clock.time()
        if duration is not None and duration > 0:
            self.duration = duration
        event = "restarted" if self.status == "active" else "started"
        seconds = self.remaining if self.status == "paused" and duration is None else self.duration
        self.finishes_at = now + seconds
        self.status = "active"
        self._schedule()
        self.write(context)
        self._fire(event, context)

    def pause(self, context: Context | None) -> None:
        if self.status != "active" or self.finishes_at is None:
            return
        self._unschedule()
        self.remaining = max(0.0, self.finishes_at - self.hub.clock.time())
        self.finishes_at = None
        self.status = "paused"
        self.write(context)
        self._fire("paused", context)

    def cancel(self, context: Context | None) -> None:
        if self.status == "idle":
            return
        self._unschedule()
        self.status, self.finishes_at, self.remaining = "idle", None, self.duration
        self.write(context)
        self._fire("cancelled", context)

    def finish(self, context: Context | None, *, due: bool = False, resumed: bool = False) -> None:
        if self.status == "idle":
            return
        self._unschedule()
        finished_at = self.finishes_at or self.hub.clock.time()
        self.status, self.finishes_at, self.remaining = "idle", None, self.duration
        self.write(context)
        extra: dict[str, Any] = {"finished_at": datetime.fromtimestamp(finished_at, UTC).isoformat()}
        if resumed:
            extra["resumed"] = True
        self._fire("finished", context, **extra)

    def change(self, delta: float, context: Context | None) -> None:
        if self.status == "active" and self.finishes_at is not None:
            self.finishes_at = max(self.hub.clock.time(), self.finishes_at + delta)
            self._schedule()
        elif self.status == "paused":
            self.remaining = max(0.0, self.remaining + delta)
        else:
            raise ValueError(f"{self.entity_id} is not running")
        self.write(context)
        self._fire("changed", context)

    def stop(self) -> None:
        """Drop the in-memory schedule (the saved deadline stays for the next start)."""
        self._unschedule()
