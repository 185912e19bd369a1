"""Constants for the cross-domain services."""

from typing import Final

DOMAIN: Final = "homeassistant"
#: The services that fan out to each entity's own domain.
FAN_OUT: Final = ("turn_on", "turn_off", "toggle")
