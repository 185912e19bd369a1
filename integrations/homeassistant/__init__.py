"""HA's ``homeassistant.turn_on``, ``turn_off``, ``toggle`` and ``update_entity``.

The first three fan out to each entity's own domain (``light.turn_on`` for lights,
``switch.turn_on`` for switches, ``automation.turn_on``...), passing the rest of the data along,
as HA does.  As in HA, an entity whose domain has no such service is skipped with a warning; the
response names it, and ``safetyhub check`` reports it where the target is written in the config.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub import hookimpl
from hub.core.state import valid_entity_id
from hub.entity import Entity, EntityNotFound
from integrations.homeassistant.config import HomeAssistantConfig
from integrations.homeassistant.const import DOMAIN, FAN_OUT

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("HomeAssistantConfig",)

_LOGGER = logging.getLogger(__name__)


def entity_list(value: Any) -> Any:
    """``entity_id`` as HA takes it: one id, a comma-separated string or a list."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if isinstance(value, list) and "all" in value:
        # Switching every entity of every domain is never what was meant: name them.
        raise ValueError("'all' is not allowed here: name the entities")
    if isinstance(value, list):
        bad = [v for v in value if not isinstance(v, str) or not valid_entity_id(v)]
        if bad:
            raise ValueError(f"not an entity id: {', '.join(map(str, bad))}")
    return value


class TargetSchema(BaseModel):
    """``entity_id`` (one or a list), plus data passed on to each domain's service."""

    model_config = ConfigDict(extra="allow")
    entity_id: list[str] = Field(min_length=1)
    _entities = field_validator("entity_id", mode="before")(entity_list)


class UpdateSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: list[str] = Field(min_length=1)
    _entities = field_validator("entity_id", mode="before")(entity_list)


def by_domain(entity_ids: list[str]) -> dict[str, list[str]]:
    """Group entity ids by domain, keeping their order."""
    groups: dict[str, list[str]] = defaultdict(list)
    for entity_id in dict.fromkeys(entity_ids):
        groups[entity_id.split(".", 1)[0]].append(entity_id)
    return dict(groups)


@hookimpl
def config_schema() -> Any:
    """Return the (empty) ``homeassistant:`` block type."""
    return HomeAssistantConfig


@hookimpl
def setup(hub: Hub, config: HomeAssistantConfig | None) -> None:
    """Register the four services."""

    def fan_out(service: str) -> Any:
        async def handler(call: Any) -> dict[str, Any]:
            model: TargetSchema = call.model
            extra = dict(model.model_extra or {})
            done: list[str] = []
            skipped: list[str] = []
            for domain, ids in by_domain(model.entity_id).items():
                if domain == DOMAIN or not hub.services.has(domain, service):
                    _LOGGER.warning(
                        "%s.%s does not support entities of domain %s: %s", DOMAIN, service, domain, ids
                    )
                    skipped.extend(ids)
                    continue
                # The caller's retry key, made distinct per domain, so a re-run repeats nothing twice.
                key = f"{call.key}:{domain}" if call.key else None
                await hub.services.call(domain, service, {**extra, "entity_id": ids}, call.context, key=key)
                done.extend(ids)
            return {"entity_id": done, "skipped": skipped}

        return handler

    for service in FAN_OUT:
        hub.services.register(
            DOMAIN,
            service,
            fan_out(service),
            TargetSchema,
            description=f"{service} on entities of any domain that has {service}",
        )

    async def update_entity(call: Any) -> dict[str, Any]:
        refreshed: list[str] = []
        pushed: list[str] = []
        missing: list[str] = []
        for entity_id in dict.fromkeys(call.model.entity_id):
            try:
                entity: Entity = hub.entities.get(entity_id)
            except EntityNotFound:
                # A plain state (helpers, sensors from MQTT): nothing to ask, if it exists at all.
                (missing if hub.states.get(entity_id) is None else pushed).append(entity_id)
                continue
            (refreshed if await entity.query_state() else pushed).append(entity_id)
        if missing:
            raise ValueError(f"no such entity: {', '.join(missing)}")
        return {"refreshed": refreshed, "pushed": pushed}

    hub.services.register(
        DOMAIN,
        "update_entity",
        update_entity,
        UpdateSchema,
        description="Ask devices for their state now (devices that push their state need nothing)",
    )
