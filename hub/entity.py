"""Entities backed by objects: what a service like ``light.turn_on`` acts on.

The state machine holds plain states; an :class:`Entity` is the object an
integration registers so domain services can find the device behind an
entity id (HA's entity platform, without the ceremony).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from hub.core.context import Context
from hub.core.state import State, valid_entity_id
from hub.keys import HubKey

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("Entity", "EntityRegistry", "ENTITIES", "EntityNotFound")

E = TypeVar("E", bound="Entity")


class EntityNotFound(ValueError):
    """No entity object is registered under that id (a 400 at the API)."""


class Entity:
    """Base class for an entity owned by an integration."""

    domain: ClassVar[str] = ""

    def __init__(self, hub: Hub, object_id: str, name: str | None = None) -> None:
        self.hub = hub
        self.object_id = object_id
        self.entity_id = f"{self.domain}.{object_id}"
        if not valid_entity_id(self.entity_id):
            raise ValueError(f"invalid entity id {self.entity_id!r}")
        self.name = name or object_id.replace("_", " ")
        self.available = True

    @property
    def state(self) -> State | None:
        """Return the current state."""
        return self.hub.states.get(self.entity_id)

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return attributes to publish with every state write."""
        return {}

    async def query_state(self) -> bool:
        """Ask the device for its state now (HA's ``homeassistant.update_entity``).

        Return False when there is nothing to ask: the device pushes its state.
        """
        return False

    def write_state(
        self,
        state: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        context: Context | None = None,
        force_update: bool = False,
    ) -> State:
        """Publish ``state`` with the friendly name and extra attributes."""
        attrs = {"friendly_name": self.name, **self.extra_attributes(), **(attributes or {})}
        if not self.available:
            state = "unavailable"
        return self.hub.states.set(self.entity_id, state, attrs, context=context, force_update=force_update)


class EntityRegistry:
    """Entity objects by id."""

    def __init__(self) -> None:
        self._entities: dict[str, Entity] = {}

    def add(self, entity: Entity) -> None:
        """Register an entity; ids are unique."""
        if entity.entity_id in self._entities:
            raise ValueError(f"entity {entity.entity_id} already exists")
        self._entities[entity.entity_id] = entity

    def remove(self, entity_id: str) -> None:
        """Forget an entity."""
        self._entities.pop(entity_id, None)

    def get(self, entity_id: str, kind: type[E] = Entity) -> E:  # type: ignore[assignment]
        """Return the entity, raising EntityNotFound if missing or of another kind."""
        entity = self._entities.get(entity_id)
        if entity is None or not isinstance(entity, kind):
            raise EntityNotFound(f"no {kind.domain or 'such'} entity {entity_id!r}")
        return entity

    def domain(self, domain: str) -> list[Entity]:
        """Return the entities of one domain."""
        return [e for e in self._entities.values() if e.domain == domain]

    def resolve(self, entity_ids: str | Iterable[str] | None, kind: type[E]) -> list[E]:
        """Return entities for a service's ``entity_id`` (a string, list or ``all``)."""
        if entity_ids is None:
            return []
        if isinstance(entity_ids, str):
            if entity_ids == "all":
                return [e for e in self._entities.values() if isinstance(e, kind)]
            entity_ids = [i.strip() for i in entity_ids.split(",") if i.strip()]
        return [self.get(eid, kind) for eid in entity_ids]

    def __iter__(self) -> Any:
        return iter(list(self._entities.values()))


ENTITIES: HubKey[EntityRegistry] = HubKey("entities")
