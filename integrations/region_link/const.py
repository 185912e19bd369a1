"""Constants of a station's link to its region."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.region_link.uplink import RegionUplink

DOMAIN: Final = "region_link"
#: The station's own outbox for its region (the hub tier's table shape, kept apart).
OUTBOX_TABLE: Final = "region_outbox"
#: The entity that shows whether the station is connected to its region's broker.
CONNECTED_ENTITY: Final = "binary_sensor.region_connected"

#: The station's uplink to its region: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[RegionUplink] = HubKey(DOMAIN)
