"""MQTT: the broker connection every device source shares.

Other plugins use it through :func:`get_client`::

    client = get_client(hub)                      # MqttNotConfigured without an ``mqtt:`` block
    unsub = client.subscribe("zigbee2mqtt/+/availability", on_message, qos=1)
    await client.publish("cmnd/soi_lamp/POWER", "ON", qos=1)

Also here: the ``mqtt.publish`` service, the ``mqtt`` trigger, Home Assistant
discovery (consumed, and optionally published for the hub's own entities),
the hub's birth/last-will, and ``binary_sensor.mqtt_connected``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub import hookimpl
from hub.core.errors import HubError, ServiceValidationError
from hub.keys import HubKey
from integrations.mqtt.client import MessageCallback, MqttClient, MqttMessage, MqttNotConnected
from integrations.mqtt.config import MqttConfig
from integrations.mqtt.const import DOMAIN, RUNTIME
from integrations.mqtt.matcher import validate_topic
from integrations.mqtt.templating import TemplateError, render_payload
from integrations.mqtt.trigger import MqttTrigger

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "MqttClient",
    "MqttMessage",
    "MessageCallback",
    "MqttNotConfigured",
    "MqttNotConnected",
    "get_client",
    "find_client",
)

_EXTRAS: HubKey[list[Any]] = HubKey("mqtt_extras")


class MqttNotConfigured(HubError):
    """A device needs MQTT but the config has no ``mqtt:`` block."""


def find_client(hub: Hub) -> MqttClient | None:
    """Return the hub's MQTT client, or None when MQTT is not configured."""
    return hub.data.get(RUNTIME)


def get_client(hub: Hub) -> MqttClient:
    """Return the hub's MQTT client; raise MqttNotConfigured with a fix for the admin."""
    client = hub.data.get(RUNTIME)
    if client is None:
        raise MqttNotConfigured(
            "this device talks MQTT: add an `mqtt:` block with the broker (see docs/devices.md)"
        )
    return client


class PublishSchema(BaseModel):
    """``mqtt.publish`` data."""

    model_config = ConfigDict(extra="forbid")
    topic: str
    payload: str | None = None
    #: Rendered with the hub's template engine (states(), now()…) before publishing.
    payload_template: str | None = None
    qos: int = Field(default=0, ge=0, le=2)
    retain: bool = False

    @model_validator(mode="after")
    def _checks(self) -> PublishSchema:
        validate_topic(self.topic)
        if self.payload is not None and self.payload_template is not None:
            raise ValueError("give payload or payload_template, not both")
        return self


@hookimpl
def config_schema() -> Any:
    """Return the ``mqtt:`` block type."""
    return MqttConfig


@hookimpl
def setup(hub: Hub, config: MqttConfig | None) -> None:
    """Start the connection (in the background: a broker that is down must not stop the hub)."""
    if config is None:
        # Set up only because sos/light depend on us; their MQTT devices report the missing block.
        return
    client = MqttClient(hub, config)
    hub.data[RUNTIME] = client
    extras: list[Any] = []
    hub.data[_EXTRAS] = extras
    if config.discovery.consume:
        from integrations.mqtt.discovery import DiscoveryManager

        manager = DiscoveryManager(hub, client, config.discovery.prefix)
        manager.start()
        extras.append(manager)
    if config.discovery.publish:
        from integrations.mqtt.export import DiscoveryPublisher

        publisher = DiscoveryPublisher(hub, client, config.discovery.prefix, config.base_topic)
        publisher.start()
        extras.append(publisher)
    client.start()

    async def publish(call: Any) -> None:
        data: PublishSchema = call.model
        payload = data.payload
        if data.payload_template is not None:
            try:
                payload = render_payload(hub, data.payload_template, {"context": call.context})
            except TemplateError as err:
                raise ServiceValidationError(f"mqtt.publish: payload_template: {err}") from err
        await client.publish(data.topic, payload, qos=data.qos, retain=data.retain)

    hub.services.register(
        DOMAIN,
        "publish",
        publish,
        PublishSchema,
        role="admin",
        description="Publish an MQTT message (payload or payload_template, qos, retain)",
    )


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Say offline and disconnect."""
    for extra in hub.data.pop(_EXTRAS, None) or []:
        extra.stop()
    client = hub.data.pop(RUNTIME, None)
    if client is not None:
        await client.stop()


@hookimpl
def register_trigger_platforms() -> Any:
    """Return the ``mqtt`` trigger."""
    return {"mqtt": MqttTrigger()}


@hookimpl
def health_info(hub: Hub) -> Any:
    """Return the broker link state (``connecting`` until the first connect)."""
    client = find_client(hub)
    return client.info() if client is not None else None


@hookimpl
def config_entities(loaded: Any) -> Any:
    """Lights found by Home Assistant discovery exist only at run time: not checked."""
    cfg = loaded.blocks.get("mqtt")
    discovery = getattr(cfg, "discovery", None)
    return ["light.*"] if discovery is None or discovery.consume else []
