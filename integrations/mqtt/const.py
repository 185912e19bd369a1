"""Constants for the MQTT integration."""

from typing import Final

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
