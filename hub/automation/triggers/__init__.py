"""The built-in trigger platforms."""

from __future__ import annotations

from hub.automation.platforms import TriggerPlatform
from hub.automation.triggers.event import EventTrigger
from hub.automation.triggers.hub import HubTrigger
from hub.automation.triggers.numeric_state import NumericStateTrigger
from hub.automation.triggers.state import StateTrigger
from hub.automation.triggers.template import TemplateTrigger
from hub.automation.triggers.timing import SunTrigger, TimePatternTrigger, TimeTrigger
from hub.automation.triggers.webhook import WebhookTrigger

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
