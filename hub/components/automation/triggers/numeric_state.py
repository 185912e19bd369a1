"""The ``numeric_state`` trigger: a value crosses into a range (above/below), optionally ``for`` a while.

As in HA it fires on the change that *enters* the range, not on every change
inside it: an entity is armed while its value is outside the range.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from hub.components.automation.durations import Period, resolve_period
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.components.automation.triggers.common import HoldTimers
from hub.components.automation.types import EntityIds, PeriodField, PlatformModel, TemplateText
from hub.core.bus import Event, Unsubscribe
from hub.core.state import State, StateMachine, valid_entity_id
from hub.template import TemplateEngine, TemplateError, TemplateState, get_engine

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("NumericStateTrigger", "NumericStateConfig", "numeric_value", "in_range")

_LOGGER = logging.getLogger(__name__)

Bound = float | str | None


def _number_or_entity(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return str(value).strip().lower()
    return value


BoundField = Annotated[float | str | None, BeforeValidator(_number_or_entity)]


class NumericStateConfig(PlatformModel):
    entity_id: EntityIds
    above: BoundField = None
    below: BoundField = None
    attribute: str | None = None
    value_template: TemplateText | None = None
    for_: PeriodField | None = Field(default=None, alias="for")

    @model_validator(mode="after")
    def _bounds(self) -> NumericStateConfig:
        if self.above is None and self.below is None:
            raise ValueError("give above, below or both")
        for name in ("above", "below"):
            value = getattr(self, name)
            if isinstance(value, str) and not valid_entity_id(value):
                raise ValueError(f"{name}: expected a number or an entity id, got {value!r}")
        if not self.entity_id:
            raise ValueError("entity_id: at least one entity is required")
        return self


def _bound(sm: StateMachine, bound: Bound) -> float | None:
    if bound is None or isinstance(bound, float | int):
        return bound
    state = sm.get(bound)
    if state is None:
        raise ValueError(f"{bound} does not exist")
    try:
        return float(state.state)
    except ValueError as err:
        raise ValueError(f"{bound} is not a number ({state.state!r})") from err


def numeric_value(
    engine: TemplateEngine,
    state: State | None,
    attribute: str | None,
    template: str | None,
    variables: Mapping[str, Any],
) -> float | None:
    """Return the number to compare for ``state`` (None if it is not a number)."""
    if state is None:
        return None
    if template is not None:
        raw: Any = engine.compile(template).render_native({**variables, "state": TemplateState(state)})
    elif attribute is not None:
        raw = state.attributes.get(attribute)
    else:
        raw = state.state
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return float(raw)
    except (ValueError, TypeError):
        return None


def in_range(sm: StateMachine, value: float | None, above: Bound, below: Bound) -> bool:
    """Return whether ``value`` is strictly above ``above`` and below ``below``."""
    if value is None:
        return False
    low = _bound(sm, above)
    high = _bound(sm, below)
    if low is not None and not value > low:
        return False
    return not (high is not None and not value < high)


def _matches_now(matches: Any, sm: StateMachine, entity_id: str, _hold: dict[str, Any]) -> bool:
    return bool(matches(sm.get(entity_id)))


class NumericStateTrigger:
    """The built-in ``numeric_state`` trigger platform."""

    schema: type[BaseModel] = NumericStateConfig

    def attach(
        self, hub: Hub, config: NumericStateConfig, fire: TriggerFire, info: TriggerInfo
    ) -> Unsubscribe:
        """Track the entities and fire when one enters the range."""
        engine = get_engine(hub)
        sm = hub.states
        holds = HoldTimers(hub, info, fire) if config.for_ is not None else None
        name = info.automation_name or info.automation_id

        def matches(state: State | None) -> bool:
            try:
                value = numeric_value(engine, state, config.attribute, config.value_template, info.variables)
                return in_range(sm, value, config.above, config.below)
            except (TemplateError, ValueError) as err:
                _LOGGER.warning("Automation %s: numeric_state trigger: %s", name, err)
                return False

        armed = {eid for eid in config.entity_id if not matches(sm.get(eid))}

        def on_change(event: Event) -> None:
            entity_id: str = event.data["entity_id"]
            old: State | None = event.data["old_state"]
            new: State | None = event.data["new_state"]
            now_matching = matches(new)
            if holds is not None and holds.hold(entity_id) is not None and not now_matching:
                holds.cancel(entity_id)
            if not now_matching:
                armed.add(entity_id)
                return
            if entity_id not in armed:
                return
            armed.discard(entity_id)
            trigger: dict[str, Any] = {
                "platform": "numeric_state",
                "entity_id": entity_id,
                "below": config.below,
                "above": config.above,
                "attribute": config.attribute,
                "from_state": TemplateState(old) if old is not None else None,
                "to_state": TemplateState(new) if new is not None else None,
                "for": None,
                "description": f"numeric state of {entity_id}",
            }
            if holds is None:
                fire(trigger, event._context)
                return
            try:
                seconds = resolve_period(
                    cast(Period, config.for_), engine, {**info.variables, "trigger": trigger}
                )
            except Exception as err:  # noqa: BLE001 - a bad for: template must not break the state listener
                _LOGGER.error("Automation %s: cannot work out for: of numeric_state trigger: %s", name, err)
                return
            trigger["for"] = seconds
            holds.start(entity_id, seconds, trigger, event._context, {"mode": "in_range"})

        unsub = sm.track(config.entity_id, on_change)
        if holds is not None:
            for entity_id in config.entity_id:
                holds.restore(entity_id, functools.partial(_matches_now, matches, sm, entity_id))

        def detach() -> None:
            unsub()
            if holds is not None:
                holds.cancel_all()

        return detach
