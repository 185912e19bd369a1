"""The interfaces of trigger, condition and action platforms.

Plugins return instances from the ``register_trigger_platforms`` and
``register_condition_platforms`` hooks (a new kind of action step is a service).
The engine validates each block with the platform's ``schema`` (a pydantic
model; the ``platform``/``trigger``/``condition`` key is removed first, and
the common keys ``id``, ``alias``, ``enabled``, ``variables`` are handled by
the engine) and reports errors with file:line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel

from hub.core.bus import Unsubscribe
from hub.core.context import Context

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "TriggerPlatform",
    "ConditionPlatform",
    "TriggerInfo",
    "TriggerFire",
    "ConditionCheck",
)

#: Called by a trigger when it fires: ``fire(trigger_vars, context)``.
#: ``trigger_vars`` become ``trigger.*`` (the engine adds ``id``, ``idx``, ``platform``, ``alias``).
TriggerFire = Callable[[dict[str, Any], Context | None], None]
#: A compiled condition: ``check(variables) -> bool``.
ConditionCheck = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class TriggerInfo:
    """Where a trigger lives, for logs and durable state keys."""

    automation_id: str
    trigger_idx: int
    trigger_id: str
    variables: Mapping[str, Any]
    #: A hash of this trigger's config: durable state saved under an older
    #: config is not resumed (added; platforms may ignore it).
    fingerprint: str = ""
    #: Human name of the automation, for log messages.
    automation_name: str = ""


@runtime_checkable
class TriggerPlatform(Protocol):
    """Arms a trigger and calls ``fire`` each time it triggers."""

    schema: type[BaseModel]

    def attach(
        self, hub: Hub, config: Any, fire: TriggerFire, info: TriggerInfo
    ) -> Unsubscribe | Awaitable[Unsubscribe]:
        """Arm the trigger; return a callable that disarms it."""
        ...


@runtime_checkable
class ConditionPlatform(Protocol):
    """Compiles a condition into a fast check."""

    schema: type[BaseModel]

    def build(self, hub: Hub, config: Any) -> ConditionCheck:
        """Return the check for this condition block."""
        ...
