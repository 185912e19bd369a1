"""Constants of the CCOC console."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.ccoc.service import Console

DOMAIN: Final = "ccoc"

#: The station console's service: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[Console] = HubKey(DOMAIN)
