"""The ``hub`` trigger (HA's ``homeassistant``): ``event: start`` or ``event: shutdown``.

Start triggers fire once every automation is armed at start-up, not on a
reload; shutdown triggers fire when the hub begins to stop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from hub.components.automation.const import HUB_TRIGGERS
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.components.automation.types import PlatformModel
from hub.core.bus import Unsubscribe

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("HubTrigger", "HubTriggerConfig")


class HubTriggerConfig(PlatformModel):
    event: Literal["start", "shutdown"]


class HubTrigger:
    """The built-in ``hub`` trigger platform."""

    schema: type[BaseModel] = HubTriggerConfig

    def attach(self, hub: Hub, config: HubTriggerConfig, fire: TriggerFire, info: TriggerInfo) -> Unsubscribe:
        """Register for the hub's start or shutdown."""
        callbacks = hub.data.get(HUB_TRIGGERS)
        if callbacks is None:
            callbacks = {"start": [], "shutdown": []}
            hub.data[HUB_TRIGGERS] = callbacks
        event = config.event

        def run() -> None:
            fire({"platform": "hub", "event": event, "description": f"hub {event}"}, None)

        callbacks[event].append(run)

        def detach() -> None:
            if run in callbacks[event]:
                callbacks[event].remove(run)

        return detach
