"""Constants of the station role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.station.runtime import Station

DOMAIN: Final = "station"

#: Hub link states.
STATUS_UNKNOWN: Final = "unknown"
STATUS_ONLINE: Final = "online"
STATUS_OFFLINE: Final = "offline"
STATUS_SILENT: Final = "silent"

#: Events the station fires on its bus.
EVENT_HUB_ONLINE: Final = "station_hub_online"
EVENT_HUB_OFFLINE: Final = "station_hub_offline"
EVENT_HUB_SILENT: Final = "station_hub_silent"
EVENT_INCIDENT: Final = "federated_incident"
EVENT_EVENT: Final = "federated_event"
EVENT_SNAPSHOT: Final = "federated_snapshot"
EVENT_COMMAND_RESULT: Final = "station_command_result"
#: Another station worker stored an incident (or its picture) / saw a hub's link change
#: (several workers on PostgreSQL, integrations/station/cluster.py): for live views only,
#: its automations ran on that worker.
EVENT_PEER_INCIDENT: Final = "station_peer_incident"
EVENT_PEER_HUB: Final = "station_peer_hub"
EVENT_PEER_COMMAND: Final = "station_peer_command"
#: Stored in the station database already: the recorder need not copy them.
RECORDED_ELSEWHERE: Final = (EVENT_INCIDENT, EVENT_EVENT, EVENT_SNAPSHOT)

#: Entity domain mirroring each registered hub's link state.
HUB_ENTITY_DOMAIN: Final = "station_hub"
#: Audit actions.
AUDIT_COMMAND: Final = "station.command"
AUDIT_SNAPSHOT_VIEW: Final = "station.snapshot.view"
#: Ids per ack message (a few tens of kilobytes).
ACK_CHUNK: Final = 1000

#: The station side of the federation: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[Station] = HubKey(DOMAIN)
