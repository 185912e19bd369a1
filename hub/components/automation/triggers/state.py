"""The ``state`` trigger: an entity (or one attribute) changes, optionally held ``for`` a while.

Subscribes with ``hub.states.track``: one dict lookup per state change
however many automations exist.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, Field, model_validator

from hub.components.automation.durations import Period, resolve_period
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.components.automation.triggers.common import HoldTimers
from hub.components.automation.types import EntityIds, PeriodField, PlatformModel, StateValues
from hub.core.bus import Event, Unsubscribe
from hub.core.state import State
from hub.template import TemplateState, get_engine

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("StateTrigger", "StateTriggerConfig")

_LOGGER = logging.getLogger(__name__)
_MISSING: Any = object()


class StateTriggerConfig(PlatformModel):
    entity_id: EntityIds
    from_: StateValues | None = Field(default=None, alias="from")
    to: StateValues | None = None
    not_from: StateValues | None = None
    not_to: StateValues | None = None
    attribute: str | None = None
    for_: PeriodField | None = Field(default=None, alias="for")

    @model_validator(mode="after")
    def _exclusive(self) -> StateTriggerConfig:
        given = self.model_fields_set
        if "from_" in given and "not_from" in given:
            raise ValueError("use either from or not_from, not both")
        if "to" in given and "not_to" in given:
            raise ValueError("use either to or not_to, not both")
        if not self.entity_id:
            raise ValueError("entity_id: at least one entity is required")
        return self


def _value(state: State | None, attribute: str | None) -> Any:
    if state is None:
        return None
    if attribute is None:
        return state.state
    return state.attributes.get(attribute)


def _matcher(values: list[str] | None, negate: bool) -> Any:
    """Return a predicate; None values (``to: ~``) match any value."""
    if values is None:
        return None
    allowed = frozenset(values)
    if negate:
        return lambda v: v is not None and str(v) not in allowed
    return lambda v: v is not None and (v in allowed or str(v) in allowed)


def _holds_now(still_holds: Any, hub: Hub, entity_id: str, hold: dict[str, Any]) -> bool:
    return bool(still_holds(hold, hub.states.get(entity_id)))


class StateTrigger:
    """The built-in ``state`` trigger platform."""

    schema: type[BaseModel] = StateTriggerConfig

    def attach(
        self, hub: Hub, config: StateTriggerConfig, fire: TriggerFire, info: TriggerInfo
    ) -> Unsubscribe:
        """Track the entities and fire on matching changes."""
        given = config.model_fields_set
        attribute = config.attribute
        match_from = _matcher(config.from_, False) or _matcher(config.not_from, True)
        match_to = _matcher(config.to, False) or _matcher(config.not_to, True)
        # Any of from/to/not_from/not_to given (even null): attribute-only changes don't count.
        states_only = bool(given & {"from_", "to", "not_from", "not_to"})
        only_from = "from_" in given and "to" not in given
        period = config.for_
        holds = HoldTimers(hub, info, fire) if period is not None else None
        platform = "state"

        def still_holds(hold: dict[str, Any], new: State | None) -> bool:
            if new is None:
                return False
            current = _value(new, attribute)
            if hold.get("mode") == "left":
                return bool(current != hold.get("value"))
            return bool(current == hold.get("value"))

        def on_change(event: Event) -> None:
            data = event.data
            entity_id: str = data["entity_id"]
            old: State | None = data["old_state"]
            new: State | None = data["new_state"]
            if holds is not None:
                hold = holds.hold(entity_id)
                if hold is not None and not still_holds(hold, new):
                    holds.cancel(entity_id)
            old_value = _value(old, attribute)
            new_value = _value(new, attribute)
            if attribute is not None:
                if old_value == new_value:
                    return
            elif states_only and old_value == new_value:
                return
            if match_from is not None and not match_from(old_value):
                return
            if match_to is not None and not match_to(new_value):
                return
            trigger: dict[str, Any] = {
                "platform": platform,
                "entity_id": entity_id,
                "from_state": TemplateState(old) if old is not None else None,
                "to_state": TemplateState(new) if new is not None else None,
                "attribute": attribute,
                "for": None,
                "description": f"state of {entity_id}",
            }
            if holds is None:
                fire(trigger, event._context)
                return
            try:
                seconds = resolve_period(
                    cast(Period, period), get_engine(hub), {**info.variables, "trigger": trigger}
                )
            except Exception as err:  # noqa: BLE001 - a bad for: template must not break the state listener
                _LOGGER.error(
                    "Automation %s: cannot work out for: of state trigger: %s",
                    info.automation_name or info.automation_id,
                    err,
                )
                return
            trigger["for"] = seconds
            hold = {"mode": "left", "value": old_value} if only_from else {"mode": "same", "value": new_value}
            holds.start(entity_id, seconds, trigger, event._context, hold)

        unsub = hub.states.track(config.entity_id, on_change)
        if holds is not None:
            for entity_id in config.entity_id:
                holds.restore(entity_id, functools.partial(_holds_now, still_holds, hub, entity_id))

        def detach() -> None:
            unsub()
            if holds is not None:
                holds.cancel_all()

        return detach
