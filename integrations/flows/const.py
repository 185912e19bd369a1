"""Names of the set-up flows."""

from typing import Final

DOMAIN: Final = "flows"
#: The flows' pages, in the order the onboarding wizard offers them.
FLOW_PAGES: Final = ("/setup/devices", "/setup/cameras", "/setup/line")
