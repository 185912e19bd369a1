"""Constants for the light integration."""

from typing import Final

DOMAIN: Final = "light"
STATE_ON: Final = "on"
STATE_OFF: Final = "off"
#: On/off half-periods in seconds for software flashing, by pattern.
FLASH_PATTERNS: Final = {"normal": 0.5, "fast": 0.25, "slow": 1.0}
#: What a light can be asked to do beyond on/off (``light.turn_on`` fields need one of these).
ALL_FEATURES: Final = frozenset({"brightness", "color_temp", "color", "transition", "effect"})
#: What each source's protocol carries.  A Tasmota relay without a dimmer ignores Dimmer/CT/Color:
#: name it as ``kind: switch`` so that check refuses brightness for it.
SOURCE_FEATURES: Final = {
    "simulated": ALL_FEATURES,
    "zigbee2mqtt": ALL_FEATURES,
    "tasmota": frozenset({"brightness", "color_temp", "color", "transition"}),
    "shelly": frozenset(),
}
