"""Constants of the federation protocol (DESIGN §8), shared by hub and station."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.federation.uplink import Federation

DOMAIN: Final = "federation"

#: A message id: a ULID as ``hub.core.ids`` makes it (Crockford base32, 26 characters).
ID_PATTERN: Final = r"^[0-9A-HJKMNP-TV-Z]{26}$"
#: Version segment of every topic and the ``v`` field of every JSON payload.
PROTOCOL_VERSION: Final = 1
TOPIC_ROOT: Final = "ssz/v1"

# Topic kinds: ssz/v1/<station>/<hub>/<kind>
KIND_INCIDENT: Final = "incident"
KIND_EVENT: Final = "event"
KIND_REGISTRY: Final = "registry"
KIND_HEALTH: Final = "health"
KIND_SNAPSHOT: Final = "snapshot"
KIND_ACK: Final = "ack"
KIND_CMD: Final = "cmd"
#: Kinds a hub publishes (the station stores them and acknowledges).
UP_KINDS: Final = (KIND_INCIDENT, KIND_EVENT, KIND_REGISTRY, KIND_HEALTH, KIND_SNAPSHOT)
#: Kinds the station publishes to a hub.
DOWN_KINDS: Final = (KIND_ACK, KIND_CMD)
#: Kinds kept by the broker as the hub's current state.
RETAINED_KINDS: Final = (KIND_REGISTRY, KIND_HEALTH)

# Outbox priorities: lower goes first.  SOS before any other incident, incidents
# and command answers before pictures, pictures before telemetry.
PRIO_SOS: Final = 0
PRIO_INCIDENT: Final = 1
PRIO_SNAPSHOT: Final = 2
PRIO_EVENT: Final = 3
PRIO_REGISTRY: Final = 4
PRIO_HEALTH: Final = 5

#: Event types forwarded by default (DESIGN §8, issue 7).
EVENT_SOS_PRESSED: Final = "sos_pressed"
EVENT_CAMERA_MOTION: Final = "camera_motion"
EVENT_SOS_SUPERVISION: Final = "sos_supervision"
DEFAULT_EVENTS: Final = (EVENT_SOS_PRESSED, EVENT_CAMERA_MOTION, EVENT_SOS_SUPERVISION)
#: Fired on the hub's bus by whatever changes what ``registry_info`` returns (a checkpoint added
#: in the UI): the registry is rebuilt and re-sent after ``registry_debounce`` seconds, not with
#: the next ``registry_interval`` round.  Plugins fire it by name; they need not import this.
EVENT_REGISTRY_CHANGED: Final = "registry_changed"
#: The event type of a hub's answer to a station command.
EVENT_COMMAND_RESULT: Final = "command_result"

#: Commands a station may send; the hub's config may narrow this, never widen it.
ALLOWED_COMMANDS: Final = (
    "light.turn_on",
    "light.turn_off",
    "light.flash",
    "camera.ptz_preset",
    "camera.snapshot",
    "line.send",
    "incident.ack",
    "incident.dispatch",
    "incident.note",
    "incident.close",
    # A drill at the hub (DESIGN §13): a test press, marked as a drill everywhere it shows.
    "sos.drill",
    "camera.live",
)
#: The station telling a hub that an officer viewed one of its cameras' images (DESIGN §9:
#: the owner sees every view).  It changes nothing but the hub's audit log, so a hub always
#: accepts it, whatever its ``commands.allow`` says.
STATION_VIEW_COMMAND: Final = "audit.station_view"
#: Commands the station queues while a hub is offline and sends when it returns: they
#: record what an officer did, so they stay valid much longer than device commands.
DURABLE_COMMANDS: Final = frozenset(
    {"incident.ack", "incident.dispatch", "incident.note", "incident.close", STATION_VIEW_COMMAND}
)

#: Live video (DESIGN §12): the station asks the hub to dial out and push one camera's stream to
#: the station's web endpoint; the hub checks the owner's policy first.  Opened only through a
#: reasoned view (``POST /api/ccoc/views``), never as a bare console command.
LIVE_COMMAND: Final = "camera.live"
#: Path on the station's web server that a hub dials out to for a live stream (a WebSocket).
LIVE_UPLINK_PATH: Final = "/api/ccoc/live/uplink"

#: The station asking a hub for recorded footage (issue 13).  Like the view copy it is outside
#: the device allowlist: the camera owner's policy on the hub decides, and may ask the owner.
FOOTAGE_REQUEST_COMMAND: Final = "footage.request"
#: The hub telling the station what became of a footage request (approved, denied, failed...).
EVENT_FOOTAGE_STATUS: Final = "footage_status"

HEALTH_ONLINE: Final = "online"
HEALTH_OFFLINE: Final = "offline"

#: Largest JSON message either side sends or accepts (snapshots have their own limit).
MAX_JSON_BYTES: Final = 256 * 1024
#: Largest snapshot sent up (the camera integration's own limit is the same).
MAX_SNAPSHOT_BYTES: Final = 8 * 1024 * 1024

#: The hub's uplink to its police station: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[Federation] = HubKey(DOMAIN)
