"""The trigger, condition and action platforms available to automations.

Built-in platforms first; plugins add theirs through the
``register_trigger_platforms`` and ``register_condition_platforms`` hooks (MQTT
adds the ``mqtt`` trigger, incidents the ``incident`` condition).  New kinds of
action step are services.  A plugin
may not replace a built-in: a silently different ``state`` trigger on the SOS
path would be a nasty surprise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.components.automation.conditions import BUILTIN_CONDITIONS
from hub.components.automation.platforms import ConditionPlatform, TriggerPlatform
from hub.components.automation.triggers import BUILTIN_TRIGGERS

if TYPE_CHECKING:
    from hub.plugins import PluginHost

__all__ = ("Registry", "KnownConfig", "registry_for")

_LOGGER = logging.getLogger(__name__)


@dataclass
class Registry:
    """Platforms by name, and which plugin brought each one."""

    triggers: dict[str, TriggerPlatform] = field(default_factory=lambda: dict(BUILTIN_TRIGGERS))
    conditions: dict[str, ConditionPlatform] = field(default_factory=lambda: dict(BUILTIN_CONDITIONS))
    owners: dict[str, str] = field(default_factory=dict)
    #: ``domain.service`` → schema (None: any data), from the ``service_schemas`` hook.
    services: dict[str, Any] = field(default_factory=dict)
    #: What ``check`` knows the config will create (set by the automation plugin's
    #: config_check; empty at run time, where the live states answer instead).
    known: KnownConfig | None = None


@dataclass
class KnownConfig:
    """Entities and LINE aliases the loaded config declares, for ``check``."""

    entities: set[str] = field(default_factory=set)
    #: Domains some plugin declares entities for: a reference outside ``entities`` is an error.
    domains: set[str] = field(default_factory=set)
    #: Domains that also get entities at run time (discovery): never an error.
    open_domains: set[str] = field(default_factory=set)
    #: ``line.groups`` aliases, or None when there is no ``line:`` block.
    line_aliases: set[str] | None = None
    #: (automation label, entity id) already reported, so each shows once per automation.
    reported: set[tuple[str, str]] = field(default_factory=set)

    def missing(self, entity_id: str) -> bool:
        """Return whether ``entity_id`` is surely not going to exist."""
        domain = entity_id.split(".", 1)[0]
        return domain in self.domains and domain not in self.open_domains and entity_id not in self.entities


def _add(
    target: dict[str, Any],
    found: Mapping[str, Any] | None,
    kind: str,
    owner: str,
    owners: dict[str, str],
    protocol: type,
) -> None:
    for name, platform in (found or {}).items():
        if name in target:
            _LOGGER.error("Plugin %s: %s platform %r already exists; ignored", owner, kind, name)
            continue
        if not hasattr(platform, "schema") or not isinstance(platform, protocol):
            _LOGGER.error(
                "Plugin %s: %s platform %r does not implement %s; ignored",
                owner,
                kind,
                name,
                protocol.__name__,
            )
            continue
        target[name] = platform
        owners[f"{kind}:{name}"] = owner


def registry_for(host: PluginHost | None) -> Registry:
    """Return the built-in platforms plus every plugin's."""
    registry = Registry()
    if host is None:
        return registry
    for info, found in host.hooks.register_trigger_platforms():
        _add(registry.triggers, found, "trigger", info.domain, registry.owners, TriggerPlatform)
    for info, conditions in host.hooks.register_condition_platforms():
        _add(registry.conditions, conditions, "condition", info.domain, registry.owners, ConditionPlatform)
    for _info, found in host.hooks.service_schemas():
        registry.services.update(found or {})
    return registry
