"""Constants of the region tier (DESIGN §14): topics, kinds, limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey
from integrations.federation.const import KIND_ACK, KIND_HEALTH, TOPIC_ROOT

if TYPE_CHECKING:
    from integrations.region.runtime import Region

DOMAIN: Final = "region"

#: Every region topic is ``ssz/v1/region/<region>/<station>/<kind>``: the hub tier's three
#: levels (parent, member, kind) one tier up, so one parser and one link serve both.
REGION_ROOT: Final = f"{TOPIC_ROOT}/region"

#: An incident as the region sees it: kind, times, zone, SOS → acknowledgement, status.
KIND_INCIDENT: Final = "incident"
#: One month of a station's figures: KPIs, counts, patrols, People Poll, Big 6.
KIND_MONTHLY: Final = "monthly"
#: Kinds a station publishes to its region (``health``: its retained report, last will
#: ``offline``); nothing else is accepted: no pictures, no video, no snapshots.
UP_KINDS: Final = (KIND_INCIDENT, KIND_MONTHLY, KIND_HEALTH)
#: Kinds the region publishes to a station.
DOWN_KINDS: Final = (KIND_ACK,)

#: Link states of a station at the region.
STATUS_ONLINE: Final = "online"
STATUS_OFFLINE: Final = "offline"
STATUS_SILENT: Final = "silent"
STATUS_UNKNOWN: Final = "unknown"

#: Events on the region's bus.
EVENT_STATION_ONLINE: Final = "region_station_online"
EVENT_STATION_OFFLINE: Final = "region_station_offline"
EVENT_STATION_SILENT: Final = "region_station_silent"
#: A station's message the region refused (bad KPI payload, wrong kind, not registered).
EVENT_REJECTED: Final = "region_rejected"

#: The region side of the station links: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[Region] = HubKey(DOMAIN)
