"""The incident component's names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from hub.components.incident import IncidentManager

DOMAIN: Final = "incident"

#: The incident store every other plugin files SOS and alarms through: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[IncidentManager] = HubKey(DOMAIN)
