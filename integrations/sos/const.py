"""Constants for the SOS integration."""

from typing import Final

DOMAIN: Final = "sos"
EVENT_SOS_PRESSED: Final = "sos_pressed"
EVENT_SOS_SUPERVISION: Final = "sos_supervision"
STATE_IDLE: Final = "idle"
STATE_TRIGGERED: Final = "triggered"
