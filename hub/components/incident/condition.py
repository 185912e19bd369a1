"""``condition: incident``: whether an incident of some kind is open at this hub.

The incidents core plugin offers it through ``register_condition_platforms``:
an automation can, say, keep a siren on only while an SOS is still
unacknowledged, or skip a motion alert while an alarm is already open.  It
reads the ``incident.*`` entities that mirror open incidents, so a check is a
scan of the (few) open incidents, never a database read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from hub.components.automation.platforms import ConditionCheck
from hub.components.automation.types import PlatformModel

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("IncidentCondition", "IncidentConditionConfig")

OpenStatus = Literal["open", "acknowledged", "dispatched"]


class IncidentConditionConfig(PlatformModel):
    """Any open incident matching every list given (an empty list matches all)."""

    kind: list[Literal["sos", "motion", "tip", "manual", "alarm", "supervision"]] = []
    severity: list[Literal["info", "low", "medium", "high", "critical"]] = []
    #: Which not-yet-closed states count; all of them by default.
    status: list[OpenStatus] = ["open", "acknowledged", "dispatched"]


class IncidentCondition:
    """``condition: incident``."""

    schema: type[PlatformModel] = IncidentConditionConfig

    def build(self, hub: Hub, config: IncidentConditionConfig) -> ConditionCheck:
        """Scan the mirrored open incidents for one that matches."""
        states = hub.states
        kinds, severities, statuses = (
            frozenset(config.kind),
            frozenset(config.severity),
            frozenset(config.status),
        )

        def check(_variables: Mapping[str, Any]) -> bool:
            for state in states.all("incident"):
                attrs = state.attributes
                if (
                    state.state in statuses
                    and (not kinds or attrs.get("kind") in kinds)
                    and (not severities or attrs.get("severity") in severities)
                ):
                    return True
            return False

        return check
