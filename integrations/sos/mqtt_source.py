"""SOS buttons on a plain MQTT topic (ESP/Tasmota buttons, alarm bridges, Node-RED).

A message on the topic is a press when its payload (or the
``value_template``'s result) equals ``payload``; with no ``payload``
configured, any non-empty message is a press.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.badinput import BadInputLog, payload_text
from hub.core.context import Context
from integrations.mqtt import MqttClient, MqttMessage
from integrations.mqtt.templating import ValueTemplate, compile_template
from integrations.sos.config import MqttSource
from integrations.sos.entity import SosButton

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("MqttButtonSource",)

_LOGGER = logging.getLogger(__name__)
_BAD = BadInputLog(_LOGGER)


class MqttButtonSource:
    """Connects one :class:`SosButton` to a topic and payload."""

    def __init__(self, hub: Hub, button: SosButton, client: MqttClient, config: MqttSource) -> None:
        self.hub = hub
        self.button = button
        self.client = client
        self.config = config
        self.template: ValueTemplate | None = (
            compile_template(hub, config.value_template) if config.value_template else None
        )
        self._unsub = client.subscribe(config.topic, self.on_message, qos=config.qos)

    def stop(self) -> None:
        """Unsubscribe."""
        self._unsub()

    def on_message(self, message: MqttMessage) -> None:
        """Press when the payload matches."""
        if message.retain:
            # Brokers hand live publishes to existing subscribers with retain=0; a retained
            # message is a replay on (re)subscribe, and pressing on it would raise a false
            # alarm at every reconnect.
            _BAD.warn(
                f"retained {message.topic}",
                "SOS topic %s: retained replay ignored (publish presses without retain)",
                message.topic,
            )
            return
        self.button.heard()  # any live message on its topic: the device is alive
        text = payload_text(message.payload, self.client.max_payload)
        if text is None:
            _BAD.warn(message.topic, "SOS topic %s: payload is not UTF-8 text; ignored", message.topic)
            return
        value: str | None = text.strip()
        if self.template is not None:
            value = self.template.render(text)
            if value is None:
                _BAD.warn(
                    message.topic, "SOS topic %s: value_template failed on %r", message.topic, text[:100]
                )
                return
        if not value:
            return
        if self.config.payload is not None and value != self.config.payload:
            return
        self.hub.create_task(
            self.button.press(
                value[:64], "mqtt", context=Context(origin="mqtt"), data={"topic": message.topic}
            ),
            f"sos press {self.button.entity_id}",
        )
