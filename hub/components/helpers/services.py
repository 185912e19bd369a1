"""The helper services (HA's names and fields)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict

from hub.components.automation.durations import parse_period
from hub.components.helpers.entities import (
    Counter,
    Helper,
    InputBoolean,
    InputDatetime,
    InputNumber,
    InputSelect,
    InputText,
    Timer,
)

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("register",)

H = TypeVar("H", bound=Helper)


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]


class _Number(_Target):
    value: float


class _Text(_Target):
    value: str


class _Option(_Target):
    option: str


class _Cycle(_Target):
    cycle: bool = True


class _Options(_Target):
    options: list[str]


class _Datetime(_Target):
    date: str | None = None
    time: str | None = None
    datetime: str | None = None
    timestamp: float | None = None


class _TimerStart(_Target):
    duration: Any = None


class _TimerChange(_Target):
    duration: Any


class _CounterValue(_Target):
    value: int


def register(hub: Hub, helpers: dict[str, Helper]) -> None:
    """Register every helper service."""

    def pick(call: Any, kind: type[H]) -> list[H]:
        ids = call.data["entity_id"]
        if isinstance(ids, str):
            if ids == "all":
                ids = [h for h in helpers if h.startswith(kind.domain + ".")]
            else:
                ids = [i.strip() for i in ids.split(",") if i.strip()]
        found: list[H] = []
        for entity_id in ids:
            helper = helpers.get(entity_id)
            if not isinstance(helper, kind):
                raise ValueError(f"no {kind.domain} entity {entity_id!r}")
            found.append(helper)
        return found

    def each(kind: type[H], action: Callable[[H, Any], None]) -> Callable[[Any], None]:
        def handler(call: Any) -> None:
            for helper in pick(call, kind):
                action(helper, call)
                if not isinstance(helper, Timer):
                    helper.write(call.context)

        return handler

    def seconds(value: Any, allow_negative: bool = False) -> float | None:
        if value is None:
            return None
        result = parse_period(value, allow_negative=allow_negative)
        if not isinstance(result, float):
            raise ValueError("duration cannot be a template here")
        return result

    def set_datetime(helper: InputDatetime, call: Any) -> None:
        data = call.data
        if data["timestamp"] is not None:
            from datetime import datetime

            helper.when = datetime.fromtimestamp(data["timestamp"], hub.clock.tz)
        elif data["datetime"] is not None:
            helper.set_text(data["datetime"])
        elif data["date"] is not None and data["time"] is not None:
            helper.set_text(
                f"{data['date']} {data['time']}"
                if helper.config.has_time and helper.config.has_date
                else data["time"]
                if helper.config.has_time
                else data["date"]
            )
        elif data["date"] is not None:
            helper.set_text(data["date"])
        elif data["time"] is not None:
            if helper.config.has_date and helper.when is not None:
                helper.set_text(f"{helper.when.astimezone(hub.clock.tz).date().isoformat()} {data['time']}")
            else:
                helper.set_text(data["time"])
        else:
            raise ValueError("give date, time, datetime or timestamp")

    def set_value(helper: InputNumber, call: Any) -> None:
        helper.set(call.data["value"])

    def step_number(delta: int) -> Callable[[InputNumber, Any], None]:
        def action(helper: InputNumber, _call: Any) -> None:
            c = helper.config
            helper.number = min(c.max, max(c.min, helper.number + delta * c.step))

        return action

    def set_options(helper: InputSelect, call: Any) -> None:
        options = [str(o) for o in call.data["options"]]
        if not options or len(set(options)) != len(options):
            raise ValueError("options must be a non-empty list of unique values")
        helper.options = options
        if helper.current not in options:
            helper.current = options[0]

    def counter_step(delta: int) -> Callable[[Counter, Any], None]:
        def action(helper: Counter, _call: Any) -> None:
            c = helper.config
            value = helper.count + delta * helper.step
            if c.minimum is not None:
                value = max(c.minimum, value)
            if c.maximum is not None:
                value = min(c.maximum, value)
            helper.count = value

        return action

    reg = hub.services.register
    reg(
        "input_boolean",
        "turn_on",
        each(InputBoolean, lambda h, c: setattr(h, "on", True)),
        _Target,
        description="Switch on",
    )
    reg(
        "input_boolean",
        "turn_off",
        each(InputBoolean, lambda h, c: setattr(h, "on", False)),
        _Target,
        description="Switch off",
    )
    reg(
        "input_boolean",
        "toggle",
        each(InputBoolean, lambda h, c: setattr(h, "on", not h.on)),
        _Target,
        description="Toggle",
    )
    reg("input_number", "set_value", each(InputNumber, set_value), _Number, description="Set the value")
    reg("input_number", "increment", each(InputNumber, step_number(1)), _Target, description="Add one step")
    reg(
        "input_number",
        "decrement",
        each(InputNumber, step_number(-1)),
        _Target,
        description="Remove one step",
    )
    reg(
        "input_select",
        "select_option",
        each(InputSelect, lambda h, c: h.select(c.data["option"])),
        _Option,
        description="Select an option",
    )
    reg(
        "input_select",
        "select_next",
        each(InputSelect, lambda h, c: h.step(1, c.data["cycle"])),
        _Cycle,
        description="Select the next option",
    )
    reg(
        "input_select",
        "select_previous",
        each(InputSelect, lambda h, c: h.step(-1, c.data["cycle"])),
        _Cycle,
        description="Select the previous option",
    )
    reg(
        "input_select",
        "select_first",
        each(InputSelect, lambda h, c: h.select(h.options[0])),
        _Target,
        description="Select the first option",
    )
    reg(
        "input_select",
        "select_last",
        each(InputSelect, lambda h, c: h.select(h.options[-1])),
        _Target,
        description="Select the last option",
    )
    reg(
        "input_select",
        "set_options",
        each(InputSelect, set_options),
        _Options,
        description="Replace the options",
    )
    reg(
        "input_text",
        "set_value",
        each(InputText, lambda h, c: h.set(c.data["value"])),
        _Text,
        description="Set the text",
    )
    reg(
        "input_datetime",
        "set_datetime",
        each(InputDatetime, set_datetime),
        _Datetime,
        description="Set the date and/or time",
    )
    reg("counter", "increment", each(Counter, counter_step(1)), _Target, description="Add one step")
    reg("counter", "decrement", each(Counter, counter_step(-1)), _Target, description="Remove one step")
    reg(
        "counter",
        "reset",
        each(Counter, lambda h, c: setattr(h, "count", h.config.initial)),
        _Target,
        description="Back to the initial value",
    )
    reg(
        "counter",
        "set_value",
        each(Counter, lambda h, c: h.set(c.data["value"])),
        _CounterValue,
        description="Set the value",
    )
    reg(
        "timer",
        "start",
        each(Timer, lambda h, c: h.start(seconds(c.data["duration"]), c.context)),
        _TimerStart,
        description="Start or restart",
    )
    reg("timer", "pause", each(Timer, lambda h, c: h.pause(c.context)), _Target, description="Pause")
    reg("timer", "cancel", each(Timer, lambda h, c: h.cancel(c.context)), _Target, description="Cancel")
    reg("timer", "finish", each(Timer, lambda h, c: h.finish(c.context)), _Target, description="Finish now")
    reg(
        "timer",
        "change",
        each(Timer, lambda h, c: h.change(seconds(c.data["duration"], True) or 0.0, c.context)),
        _TimerChange,
        description="Add (or with a negative duration, remove) time",
    )
