"""What templates see of the state machine.

Templates get read-only wrappers, never the hub's own objects: the sandbox
blocks ``_``-prefixed attributes, and these wrappers keep everything that
could reach the hub behind such names.  Every read is also noted in the
current :class:`RenderInfo` (when one is active), so a template trigger or a
``wait_template`` knows which entities to watch instead of re-rendering on
every state change.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.core.state import State, StateMachine

__all__ = ("RenderInfo", "TemplateState", "AllStates", "DomainStates", "RENDER_INFO", "note_entity")


class RenderInfo:
    """What one render read: entities, whole domains, everything, or the time."""

    __slots__ = ("entities", "domains", "all_states", "uses_time")

    def __init__(self) -> None:
        self.entities: set[str] = set()
        self.domains: set[str] = set()
        self.all_states = False
        self.uses_time = False


#: The RenderInfo of the render in progress, or None when nobody is tracking.
RENDER_INFO: contextvars.ContextVar[RenderInfo | None] = contextvars.ContextVar("render_info", default=None)


def note_entity(entity_id: str) -> None:
    """Record that the current render read ``entity_id``."""
    info = RENDER_INFO.get()
    if info is not None:
        info.entities.add(entity_id)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class TemplateState:
    """A state as templates see it (HA's TemplateState): datetimes, not floats."""

    __slots__ = ("_state",)

    def __init__(self, state: State) -> None:
        self._state = state

    @property
    def entity_id(self) -> str:
        """Return the entity id."""
        return self._state.entity_id

    @property
    def state(self) -> str:
        """Return the state string."""
        return self._state.state

    @property
    def attributes(self) -> Mapping[str, Any]:
        """Return the (read-only) attributes."""
        return self._state.attributes

    @property
    def domain(self) -> str:
        """Return the domain."""
        return self._state.domain

    @property
    def object_id(self) -> str:
        """Return the object id."""
        return self._state.object_id

    @property
    def name(self) -> str:
        """Return the friendly name."""
        return self._state.name

    @property
    def last_changed(self) -> datetime:
        """Return when the state string last changed (UTC)."""
        return _dt(self._state.last_changed)

    @property
    def last_updated(self) -> datetime:
        """Return when the state or an attribute last changed (UTC)."""
        return _dt(self._state.last_updated)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form (traces, durable timers); no context."""
        s = self._state
        return {
            "entity_id": s.entity_id,
            "state": s.state,
            "attributes": dict(s.attributes),
            "last_changed": s.last_changed,
            "last_updated": s.last_updated,
        }

    def __getitem__(self, key: str) -> Any:
        # HA templates sometimes write trigger.to_state['state'].
        if key in (
            "entity_id",
            "state",
            "attributes",
            "domain",
            "object_id",
            "name",
            "last_changed",
            "last_updated",
        ):
            return getattr(self, key)
        raise KeyError(key)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TemplateState):
            return self._state == other._state
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return self._state.state

    def __repr__(self) -> str:
        return f"<template TemplateState({self._state.entity_id}={self._state.state})>"


class DomainStates:
    """``states.light``: iterate a domain's states, or ``states.light.porch``."""

    __slots__ = ("_sm", "_domain")

    def __init__(self, sm: StateMachine, domain: str) -> None:
        self._sm = sm
        self._domain = domain

    def __getattr__(self, name: str) -> TemplateState | None:
        if name.startswith("_") or name in _JINJA_PROBES:
            raise AttributeError(name)
        entity_id = f"{self._domain}.{name}"
        note_entity(entity_id)
        state = self._sm.get(entity_id)
        return TemplateState(state) if state is not None else None

    def __iter__(self) -> Iterator[TemplateState]:
        info = RENDER_INFO.get()
        if info is not None:
            info.domains.add(self._domain)
        return iter(sorted((TemplateState(s) for s in self._sm.all(self._domain)), key=lambda t: t.entity_id))

    def __len__(self) -> int:
        info = RENDER_INFO.get()
        if info is not None:
            info.domains.add(self._domain)
        return len(self._sm.all(self._domain))

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<template DomainStates({self._domain})>"


#: Attribute names jinja itself probes on objects (sandbox checks, pass_context):
#: never domains, and answering them with a DomainStates would mislead jinja.
_JINJA_PROBES = frozenset(
    {
        "unsafe_callable",
        "alters_data",
        "jinja_pass_arg",
        "jinja_async_variant",
        "environmentfunction",
        "contextfunction",
        "evalcontextfunction",
    }
)


class AllStates:
    """The ``states`` global: ``states('light.x')``, ``states.light.x``, iteration."""

    __slots__ = ("_sm",)

    def __init__(self, sm: StateMachine) -> None:
        self._sm = sm

    def __getattr__(self, name: str) -> DomainStates:
        if name.startswith("_") or name in _JINJA_PROBES:
            raise AttributeError(name)
        return DomainStates(self._sm, name)

    def __call__(self, entity_id: str, rounded: bool = False, with_unit: bool = False) -> str:
        entity_id = str(entity_id).lower()
        note_entity(entity_id)
        state = self._sm.get(entity_id)
        if state is None:
            return "unknown"
        value = state.state
        if rounded:
            with contextlib.suppress(ValueError):
                value = str(round(float(value), 2))
        if with_unit and (unit := state.attributes.get("unit_of_measurement")):
            value = f"{value} {unit}"
        return value

    def __iter__(self) -> Iterator[TemplateState]:
        info = RENDER_INFO.get()
        if info is not None:
            info.all_states = True
        return iter(sorted((TemplateState(s) for s in self._sm.all()), key=lambda t: t.entity_id))

    def __len__(self) -> int:
        info = RENDER_INFO.get()
        if info is not None:
            info.all_states = True
        return len(self._sm)

    def __repr__(self) -> str:
        return "<template AllStates>"
