"""The built-in trigger platforms."""

from __future__ import annotations

from hub.components.automation.platforms import TriggerPlatform
from hub.components.automation.triggers.event import EventTrigger
from hub.components.automation.triggers.hub import HubTrigger
from hub.components.automation.triggers.numeric_state import NumericStateTrigger
from hub.components.automation.triggers.state import StateTrigger
from hub.components.automation.triggers.template import TemplateTrigger
from hub.components.automation.triggers.timing import SunTrigger, TimePatternTrigger, TimeTrigger
from hub.components.automation.triggers.webhook import WebhookTrigger

__all__ = ("BUILTIN_TRIGGERS", "PLATFORM_ALIASES")


def _builtin() -> dict[str, TriggerPlatform]:
    hub_trigger = HubTrigger()
    return {
        "state": StateTrigger(),
        "numeric_state": NumericStateTrigger(),
        "event": EventTrigger(),
        "time": TimeTrigger(),
        "time_pattern": TimePatternTrigger(),
        "sun": SunTrigger(),
        "template": TemplateTrigger(),
        "webhook": WebhookTrigger(),
        "hub": hub_trigger,
        # HA's name for the same trigger, so HA blueprints load unchanged.
        "homeassistant": hub_trigger,
    }


BUILTIN_TRIGGERS: dict[str, TriggerPlatform] = _builtin()
#: Names HA blueprints use for our platforms.
PLATFORM_ALIASES = {"homeassistant": "hub"}
