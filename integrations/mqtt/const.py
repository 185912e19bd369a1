"""Constants for the MQTT integration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.mqtt.client import MqttClient

DOMAIN: Final = "mqtt"
#: Entity that shows whether the hub is connected to its broker.
CONNECTED_ENTITY: Final = "binary_sensor.mqtt_connected"
#: Values of the connection status attribute (and of ``health_info``).
STATUS_CONNECTING: Final = "connecting"
STATUS_CONNECTED: Final = "connected"
STATUS_DISCONNECTED: Final = "disconnected"
STATUS_STOPPED: Final = "stopped"
#: Payloads of the hub's own birth and last-will message.
PAYLOAD_ONLINE: Final = "online"
PAYLOAD_OFFLINE: Final = "offline"
#: Largest payload handed to a parser; bigger ones are dropped and logged.
DEFAULT_MAX_PAYLOAD: Final = 256 * 1024
#: Seconds between two log lines about bad input from the same device.
#: Events fired by discovered HA ``event`` entities and device triggers.
EVENT_MQTT_EVENT: Final = "mqtt_event"
EVENT_DEVICE_TRIGGER: Final = "mqtt_device_trigger"

#: The hub's one MQTT client: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[MqttClient] = HubKey(DOMAIN)
