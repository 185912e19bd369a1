"""The built-in condition platforms and the condition compiler.

A condition compiles once into ``check(variables) -> bool``; checking the
``state`` condition is one dict lookup and a comparison.  A template error
inside a condition propagates (as :class:`TemplateError`) so that the run
ends with the error in its trace, instead of quietly counting as false.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from hub.components.automation.durations import parse_period, resolve_period
from hub.components.automation.platforms import ConditionCheck, ConditionPlatform
from hub.components.automation.sun import sun_event
from hub.components.automation.triggers.numeric_state import BoundField, in_range, numeric_value
from hub.components.automation.triggers.template import truthy
from hub.components.automation.triggers.timing import entity_deadline
from hub.components.automation.types import (
    EntityIds,
    PeriodField,
    PlatformModel,
    StateValues,
    TemplateText,
    TimeOfDay,
    as_list,
)
from hub.template import get_engine

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("ConditionSpec", "BUILTIN_CONDITIONS", "build_condition", "CompiledConditions", "WEEKDAYS")

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class ConditionSpec:
    """One validated condition: a leaf with its platform model, or and/or/not with children."""

    kind: str
    path: str
    model: Any = None
    children: list[ConditionSpec] = field(default_factory=list)
    enabled: bool = True
    alias: str | None = None


# -- state -------------------------------------------------------------------------


class StateConditionConfig(PlatformModel):
    entity_id: EntityIds
    state: StateValues
    attribute: str | None = None
    for_: PeriodField | None = Field(default=None, alias="for")
    match: Literal["all", "any"] = "all"


class StateCondition:
    """``condition: state``: every (or any) entity is in one of the states."""

    schema: type[BaseModel] = StateConditionConfig

    def build(self, hub: Hub, config: StateConditionConfig) -> ConditionCheck:
        """Compile to a dict lookup per entity."""
        get = hub.states.get
        allowed = frozenset(config.state)
        entities = tuple(config.entity_id)
        attribute = config.attribute
        period = config.for_
        need_all = config.match == "all"
        engine = get_engine(hub)
        clock = hub.clock

        def one(entity_id: str, variables: Mapping[str, Any]) -> bool:
            current = get(entity_id)
            if current is None:
                return False
            if attribute is None:
                if current.state not in allowed:
                    return False
            else:
                value = current.attributes.get(attribute)
                if value is None or (value not in allowed and str(value) not in allowed):
                    return False
            if period is None:
                return True
            seconds = resolve_period(period, engine, variables)
            return clock.time() - current.last_changed >= seconds

        if len(entities) == 1 and period is None and attribute is None:
            only = entities[0]

            def fast(_variables: Mapping[str, Any]) -> bool:
                current = get(only)
                return current is not None and current.state in allowed

            return fast
        if need_all:
            return lambda variables: all(one(e, variables) for e in entities)
        return lambda variables: any(one(e, variables) for e in entities)


# -- numeric_state -----------------------------------------------------------------


class NumericConditionConfig(PlatformModel):
    entity_id: EntityIds
    above: BoundField = None
    below: BoundField = None
    attribute: str | None = None
    value_template: TemplateText | None = None

    @model_validator(mode="after")
    def _bounds(self) -> NumericConditionConfig:
        if self.above is None and self.below is None:
            raise ValueError("give above, below or both")
        return self


class NumericStateCondition:
    """``condition: numeric_state``: every entity's value is in range."""

    schema: type[BaseModel] = NumericConditionConfig

    def build(self, hub: Hub, config: NumericConditionConfig) -> ConditionCheck:
        """Compile the range check."""
        engine = get_engine(hub)
        sm = hub.states

        def check(variables: Mapping[str, Any]) -> bool:
            for entity_id in config.entity_id:
                value = numeric_value(
                    engine, sm.get(entity_id), config.attribute, config.value_template, variables
                )
                try:
                    if not in_range(sm, value, config.above, config.below):
                        return False
                except ValueError:
                    return False
            return True

        return check


# -- template ----------------------------------------------------------------------


class TemplateConditionConfig(PlatformModel):
    value_template: TemplateText


class TemplateCondition:
    """``condition: template`` and the shorthand ``"{{ ... }}"``."""

    schema: type[BaseModel] = TemplateConditionConfig

    def build(self, hub: Hub, config: TemplateConditionConfig) -> ConditionCheck:
        """Compile the template once."""
        template = get_engine(hub).compile(config.value_template)
        return lambda variables: truthy(template.render_native(variables))


# -- time --------------------------------------------------------------------------


class TimeConditionConfig(PlatformModel):
    after: TimeOfDay | None = None
    before: TimeOfDay | None = None
    weekday: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None

    @field_validator("weekday", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return as_list(value) if value is not None else None

    @model_validator(mode="after")
    def _something(self) -> TimeConditionConfig:
        if self.after is None and self.before is None and self.weekday is None:
            raise ValueError("give after, before or weekday")
        return self


class TimeCondition:
    """``condition: time``: between after and before (across midnight if after > before), on weekdays."""

    schema: type[BaseModel] = TimeConditionConfig

    def build(self, hub: Hub, config: TimeConditionConfig) -> ConditionCheck:
        """Compile against the hub's clock and timezone."""
        clock = hub.clock

        def bound(value: Any) -> time | None:
            if value is None or isinstance(value, time):
                return value
            state = hub.states.get(value)
            if state is None:
                raise ValueError(f"{value} does not exist")
            if "hour" in state.attributes:
                a = state.attributes
                return time(int(a.get("hour", 0)), int(a.get("minute", 0)), int(a.get("second", 0)))
            ts = entity_deadline(hub, state, 0.0)
            if ts is None:
                raise ValueError(f"{value} holds no time")
            return datetime.fromtimestamp(ts, clock.tz).time()

        def check(_variables: Mapping[str, Any]) -> bool:
            now = clock.now()
            if config.weekday is not None and WEEKDAYS[now.weekday()] not in config.weekday:
                return False
            after = bound(config.after) or time(0, 0)
            before = bound(config.before)
            current = now.time().replace(tzinfo=None)
            if before is None:
                return current >= after
            if after <= before:
                return after <= current < before
            return current >= after or current < before

        return check


# -- sun ---------------------------------------------------------------------------


def _offset(value: Any) -> float:
    result = parse_period(value, allow_negative=True)
    if not isinstance(result, float):
        raise ValueError("offset cannot be a template")
    return result


class SunConditionConfig(PlatformModel):
    after: Literal["sunrise", "sunset"] | None = None
    before: Literal["sunrise", "sunset"] | None = None
    after_offset: float = 0.0
    before_offset: float = 0.0

    @field_validator("after_offset", "before_offset", mode="before")
    @classmethod
    def _period(cls, value: Any) -> float:
        return _offset(value)

    @model_validator(mode="after")
    def _something(self) -> SunConditionConfig:
        if self.after is None and self.before is None:
            raise ValueError("give after, before or both")
        return self


class SunCondition:
    """``condition: sun``: after/before today's sunrise or sunset (plus offsets)."""

    schema: type[BaseModel] = SunConditionConfig

    def build(self, hub: Hub, config: SunConditionConfig) -> ConditionCheck:
        """Compile against the hub's location."""
        location = hub.core.location
        if location is None:
            raise ValueError("the sun condition needs hub.location (lat, lon)")
        clock = hub.clock

        def today(event: str, offset: float) -> datetime | None:
            when = sun_event(event, location.lat, location.lon, clock.now(), clock.tz)
            return None if when is None else when + timedelta(seconds=offset)

        def check(_variables: Mapping[str, Any]) -> bool:
            now = clock.now()
            if config.after is not None:
                when = today(config.after, config.after_offset)
                if when is None or now < when:
                    return False
            if config.before is not None:
                when = today(config.before, config.before_offset)
                if when is None or now >= when:
                    return False
            return True

        return check


# -- trigger -----------------------------------------------------------------------


class TriggerConditionConfig(PlatformModel):
    id: list[str]

    @field_validator("id", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) for v in value]
        return [str(value)]


class TriggerCondition:
    """``condition: trigger``: the run was started by a trigger with one of these ids."""

    schema: type[BaseModel] = TriggerConditionConfig

    def build(self, hub: Hub, config: TriggerConditionConfig) -> ConditionCheck:
        """Compare ``trigger.id``."""
        ids = frozenset(config.id)

        def check(variables: Mapping[str, Any]) -> bool:
            trigger = variables.get("trigger")
            return isinstance(trigger, Mapping) and str(trigger.get("id")) in ids

        return check


BUILTIN_CONDITIONS: dict[str, ConditionPlatform] = {
    "state": StateCondition(),
    "numeric_state": NumericStateCondition(),
    "template": TemplateCondition(),
    "time": TimeCondition(),
    "sun": SunCondition(),
    "trigger": TriggerCondition(),
}


def build_condition(
    hub: Hub, spec: ConditionSpec, platforms: Mapping[str, ConditionPlatform]
) -> ConditionCheck:
    """Compile a validated condition (and its children) for ``hub``."""
    if not spec.enabled:
        return lambda _v: True
    if spec.kind in ("and", "or", "not"):
        checks = [build_condition(hub, child, platforms) for child in spec.children if child.enabled]
        if spec.kind == "and":
            return lambda v: all(c(v) for c in checks)
        if spec.kind == "or":
            return lambda v: any(c(v) for c in checks)
        return lambda v: not any(c(v) for c in checks)
    return platforms[spec.kind].build(hub, spec.model)


class CompiledConditions:
    """The ANDed conditions of an automation or ``if``/``choose`` branch, with per-condition results."""

    __slots__ = ("checks", "paths")

    def __init__(
        self, hub: Hub, specs: list[ConditionSpec], platforms: Mapping[str, ConditionPlatform]
    ) -> None:
        enabled = [s for s in specs if s.enabled]
        self.checks = tuple(build_condition(hub, s, platforms) for s in enabled)
        self.paths = tuple(s.path for s in enabled)

    def first_failure(self, variables: Mapping[str, Any]) -> int:
        """Return the index of the first false condition, or -1 when all hold."""
        for index, check in enumerate(self.checks):
            if not check(variables):
                return index
        return -1
