"""Schema of the ``mqtt:`` block."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel
from hub.mqtt import BrokerAddress

__all__ = ("MqttConfig", "TlsConfig", "DiscoveryConfig", "Zigbee2MqttConfig", "PressRule", "BrokerAddress")

#: One way a device says "panic": every key must match; a list value means "any of these".
PressRule = dict[str, str | bool | int | list[str | bool | int]]


class TlsConfig(BlockModel):
    """TLS settings; paths are relative to the config folder."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    #: Skip the host name check (self-signed test brokers only).
    insecure: bool = False


class DiscoveryConfig(BlockModel):
    """Home Assistant MQTT discovery, in and out."""

    #: Create entities from ``<prefix>/…/config`` messages (ESPHome, Tasmota, generic devices).
    consume: bool = True
    #: Announce the hub's own SOS buttons, lights and incidents so a shop's Home Assistant sees them.
    publish: bool = False
    prefix: str = Field(default="homeassistant", pattern=r"^[A-Za-z0-9_/-]+$")


class Zigbee2MqttConfig(BlockModel):
    """Where Zigbee2MQTT publishes, and how SOS buttons say "panic"."""

    base_topic: str = Field(default="zigbee2mqtt", pattern=r"^[^#+]+$")
    #: Extra or replacement press rules per Z2M model (``definition.model`` in bridge/devices).
    sos_models: dict[str, list[PressRule]] = {}
    #: Battery percentage at or below which a ``sos_supervision`` event is raised.
    low_battery: int = Field(default=20, ge=0, le=100)


class MqttConfig(BlockModel):
    """The ``mqtt:`` block: one broker connection shared by every MQTT device source."""

    broker: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    #: Unique per hub: two clients with the same id knock each other off the broker.
    client_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    tls: TlsConfig | None = None
    keepalive: int = Field(default=30, ge=5, le=3600)
    #: False keeps the broker session (and QoS 1 messages) across reconnects.
    clean_session: bool = False
    #: Prefix of the hub's own topics: birth/will ``<base>/<hub id>/status``, exported states.
    base_topic: str = Field(default="safetyhub", pattern=r"^[A-Za-z0-9_/-]+$")
    #: Publish ``online`` (retained) on connect, with ``offline`` as the last will.
    birth: bool = True
    #: Reconnect backoff in seconds: jittered, growing from min to max.
    reconnect_min: float = Field(default=1.0, gt=0, le=60)
    reconnect_max: float = Field(default=60.0, gt=0, le=3600)
    max_payload: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    discovery: DiscoveryConfig = DiscoveryConfig()
    zigbee2mqtt: Zigbee2MqttConfig = Zigbee2MqttConfig()

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        BrokerAddress(value)
        return value

    @model_validator(mode="after")
    def _checks(self) -> MqttConfig:
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be at least reconnect_min")
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self

    @property
    def address(self) -> BrokerAddress:
        """Return the parsed broker address."""
        return BrokerAddress(self.broker)
