"""The ``event`` trigger, and the index that keeps its cost flat.

All event triggers share one bus listener per event type.  Subscribers whose
``event_data`` names an ``entity_id`` are further indexed by it, so 1,000
automations on ``sos_pressed`` for 1,000 different buttons cost one dict
lookup per press, not 1,000 comparisons.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, model_validator

from hub.components.automation.const import EVENT_INDEX
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.components.automation.types import MappingField, PlatformModel, as_list
from hub.core.bus import Event, EventBus, Unsubscribe

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("EventTrigger", "EventTriggerConfig", "EventIndex", "data_matches")

Subscriber = tuple[Mapping[str, Any] | None, Callable[[Event], None]]


def data_matches(expected: Mapping[str, Any] | None, actual: Mapping[str, Any]) -> bool:
    """Return whether every key of ``expected`` has the same value in ``actual`` (nested: subset)."""
    if not expected:
        return True
    for key, want in expected.items():
        if key not in actual:
            return False
        got = actual[key]
        if isinstance(want, Mapping):
            if not isinstance(got, Mapping) or not data_matches(want, got):
                return False
        elif got != want and str(got) != str(want):
            return False
    return True


class _TypeIndex:
    __slots__ = ("general", "by_entity", "unsub")

    def __init__(self) -> None:
        self.general: tuple[Subscriber, ...] = ()
        self.by_entity: dict[str, tuple[Subscriber, ...]] = {}
        self.unsub: Unsubscribe | None = None


class EventIndex:
    """Event-trigger subscriptions of one hub, behind one bus listener per event type."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._types: dict[str, _TypeIndex] = {}

    def subscribe(
        self, event_type: str, data: Mapping[str, Any] | None, callback: Callable[[Event], None]
    ) -> Unsubscribe:
        """Call ``callback(event)`` for events of ``event_type`` whose data matches ``data``."""
        index = self._types.get(event_type)
        if index is None:
            index = self._types[event_type] = _TypeIndex()
            index.unsub = self._bus.listen(event_type, functools.partial(self._dispatch, index))
        entry: Subscriber = (data, callback)
        entity = data.get("entity_id") if data else None
        if isinstance(entity, str):
            index.by_entity[entity] = (*index.by_entity.get(entity, ()), entry)
        else:
            index.general = (*index.general, entry)

        def unsubscribe() -> None:
            if isinstance(entity, str):
                left = tuple(e for e in index.by_entity.get(entity, ()) if e is not entry)
                if left:
                    index.by_entity[entity] = left
                else:
                    index.by_entity.pop(entity, None)
            else:
                index.general = tuple(e for e in index.general if e is not entry)
            if not index.general and not index.by_entity and self._types.get(event_type) is index:
                del self._types[event_type]
                if index.unsub is not None:
                    index.unsub()

        return unsubscribe

    @staticmethod
    def _dispatch(index: _TypeIndex, event: Event) -> None:
        candidates = index.general
        if index.by_entity:
            entity = event.data.get("entity_id")
            if isinstance(entity, str):
                keyed = index.by_entity.get(entity)
                if keyed:
                    candidates = candidates + keyed
        for expected, callback in candidates:
            if expected is None or data_matches(expected, event.data):
                callback(event)


def get_index(hub: Hub) -> EventIndex:
    """Return the hub's event index, creating it on first use."""
    index = hub.data.get(EVENT_INDEX)
    if index is None:
        index = EventIndex(hub.bus)
        hub.data[EVENT_INDEX] = index
    return index


class EventTriggerConfig(PlatformModel):
    event_type: list[str]
    event_data: MappingField = None
    context: MappingField = None

    @model_validator(mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "event_type" in value:
            value = dict(value)
            value["event_type"] = as_list(value["event_type"])
        return value

    @model_validator(mode="after")
    def _non_empty(self) -> EventTriggerConfig:
        if not self.event_type:
            raise ValueError("event_type: at least one event type is required")
        return self


class EventTrigger:
    """The built-in ``event`` trigger platform."""

    schema: type[BaseModel] = EventTriggerConfig

    def attach(
        self, hub: Hub, config: EventTriggerConfig, fire: TriggerFire, info: TriggerInfo
    ) -> Unsubscribe:
        """Subscribe through the shared index."""
        index = get_index(hub)
        users = as_list(config.context.get("user_id")) if config.context else None
        data = dict(config.event_data) if config.event_data else None

        def on_event(event: Event) -> None:
            if users is not None and (event._context is None or event._context.user_id not in users):
                return
            fire(
                {"platform": "event", "event": event, "description": f"event '{event.event_type}'"},
                event._context,
            )

        unsubs = [index.subscribe(str(et), data, on_event) for et in config.event_type]

        def detach() -> None:
            for unsub in unsubs:
                unsub()

        return detach
