"""Entity states and the state machine."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from hub.core.bus import Event, EventBus, Unsubscribe
from hub.core.context import Context

__all__ = ("EVENT_STATE_CHANGED", "State", "StateMachine", "valid_entity_id", "split_entity_id")

_LOGGER = logging.getLogger(__name__)

EVENT_STATE_CHANGED = "state_changed"
_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
_valid_ids: set[str] = set()


def valid_entity_id(entity_id: str) -> bool:
    """Return whether ``entity_id`` has the ``domain.object_id`` shape."""
    if entity_id in _valid_ids:
        return True
    if _ENTITY_ID.match(entity_id) is None:
        return False
    if len(_valid_ids) < 100_000:
        _valid_ids.add(entity_id)
    return True


def split_entity_id(entity_id: str) -> tuple[str, str]:
    """Return ``(domain, object_id)``."""
    domain, _, object_id = entity_id.partition(".")
    return domain, object_id


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class State:
    """An immutable snapshot of one entity."""

    __slots__ = ("entity_id", "state", "attributes", "last_changed", "last_updated", "context")

    def __init__(
        self,
        entity_id: str,
        state: str,
        attributes: Mapping[str, Any],
        last_changed: float,
        last_updated: float,
        context: Context | None = None,
    ) -> None:
        self.entity_id = entity_id
        self.state = state
        self.attributes = attributes
        self.last_changed = last_changed
        self.last_updated = last_updated
        self.context = context

    @property
    def domain(self) -> str:
        """Return the entity's domain."""
        return self.entity_id.partition(".")[0]

    @property
    def object_id(self) -> str:
        """Return the entity's object id."""
        return self.entity_id.partition(".")[2]

    @property
    def name(self) -> str:
        """Return the friendly name, falling back to the object id."""
        return str(self.attributes.get("friendly_name") or self.object_id.replace("_", " "))

    def as_dict(self) -> dict[str, Any]:
        """Return the HA-compatible JSON form."""
        return {
            "entity_id": self.entity_id,
            "state": self.state,
            "attributes": dict(self.attributes),
            "last_changed": _iso(self.last_changed),
            "last_updated": _iso(self.last_updated),
            "context": self.context.as_dict() if self.context is not None else None,
        }

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, State)
            and self.entity_id == other.entity_id
            and self.state == other.state
            and self.attributes == other.attributes
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<State {self.entity_id}={self.state}>"


StateListener = Callable[[Event], Any]


class StateMachine:
    """Holds every entity's current state and announces changes.

    Listeners registered with :meth:`track` are indexed by entity id behind one
    shared bus listener, so a state change costs one dict lookup however many
    automations or integrations watch other entities.
    """

    def __init__(self, bus: EventBus, time_fn: Callable[[], float]) -> None:
        self._bus = bus
        self._time = time_fn
        self._states: dict[str, State] = {}
        self._trackers: dict[str, tuple[StateListener, ...]] = {}
        self._tracker_unsub: Unsubscribe | None = None

    def get(self, entity_id: str) -> State | None:
        """Return the state of ``entity_id``, or None."""
        return self._states.get(entity_id)

    def is_state(self, entity_id: str, state: str) -> bool:
        """Return whether ``entity_id`` is currently ``state``."""
        current = self._states.get(entity_id)
        return current is not None and current.state == state

    def all(self, domain: str | None = None) -> list[State]:
        """Return all states, optionally of one domain."""
        if domain is None:
            return list(self._states.values())
        prefix = domain + "."
        return [s for eid, s in self._states.items() if eid.startswith(prefix)]

    def entity_ids(self, domain: str | None = None) -> list[str]:
        """Return all entity ids, optionally of one domain."""
        return [s.entity_id for s in self.all(domain)]

    def __len__(self) -> int:
        return len(self._states)

    def set(
        self,
        entity_id: str,
        new_state: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        force_update: bool = False,
        context: Context | None = None,
    ) -> State:
        """Set an entity's state and fire ``state_changed`` if anything changed."""
        old = self._states.get(entity_id)
        if old is None and not valid_entity_id(entity_id):
            raise ValueError(f"invalid entity id {entity_id!r}: expected domain.object_id in [a-z0-9_]")
        attrs: Mapping[str, Any] = MappingProxyType(dict(attributes)) if attributes else _EMPTY
        new_state = str(new_state)
        if old is not None and not force_update and old.state == new_state and old.attributes == attrs:
            return old
        now = self._time()
        last_changed = old.last_changed if old is not None and old.state == new_state else now
        state = State(entity_id, new_state, attrs, last_changed, now, context)
        self._states[entity_id] = state
        self._bus.fire(
            EVENT_STATE_CHANGED,
            {"entity_id": entity_id, "old_state": old, "new_state": state},
            context,
        )
        return state

    def remove(self, entity_id: str, context: Context | None = None) -> bool:
        """Remove an entity; fires ``state_changed`` with ``new_state`` None."""
        old = self._states.pop(entity_id, None)
        if old is None:
            return False
        self._bus.fire(
            EVENT_STATE_CHANGED, {"entity_id": entity_id, "old_state": old, "new_state": None}, context
        )
        return True

    def is_tracked(self, entity_id: str) -> bool:
        """Return whether anything follows ``entity_id`` through :meth:`track` (an automation)."""
        return entity_id in self._trackers

    def track(self, entity_ids: Iterable[str], listener: StateListener) -> Unsubscribe:
        """Call ``listener(event)`` on ``state_changed`` for any of ``entity_ids``."""
        ids = tuple(dict.fromkeys(e.lower() for e in entity_ids))
        for eid in ids:
            self._trackers[eid] = (*self._trackers.get(eid, ()), listener)
        if self._tracker_unsub is None and self._trackers:
            self._tracker_unsub = self._bus.listen(EVENT_STATE_CHANGED, self._dispatch)

        def unsubscribe() -> None:
            for eid in ids:
                remaining = tuple(cb for cb in self._trackers.get(eid, ()) if cb is not listener)
                if remaining:
                    self._trackers[eid] = remaining
                else:
                    self._trackers.pop(eid, None)
            if not self._trackers and self._tracker_unsub is not None:
                self._tracker_unsub()
                self._tracker_unsub = None

        return unsubscribe

    def _dispatch(self, event: Event) -> None:
        listeners = self._trackers.get(event.data["entity_id"])
        if listeners is None:
            return
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                _LOGGER.exception("Error in state listener %r for %s", listener, event.data["entity_id"])


_EMPTY: Mapping[str, Any] = MappingProxyType({})
