"""Constants for the light integration."""

from typing import Final

DOMAIN: Final = "light"
STATE_ON: Final = "on"
STATE_OFF: Final = "off"
#: On/off half-periods in seconds for software flashing, by pattern.
FLASH_PATTERNS: Final = {"normal": 0.5, "fast": 0.25, "slow": 1.0}
