"""Federation's names for the shared MQTT connection layer (:mod:`hub.mqtt`).

Both ends of federation (a hub's station link, the station's ingest) use
:class:`hub.mqtt.MqttConnection` directly; these aliases keep the names older
code and tests import.
"""

from __future__ import annotations

from hub.mqtt import ConnectionSettings, MessageHandler, MqttConnection, MqttNotConnected, publish_properties

__all__ = ("LinkSettings", "MqttLink", "MessageHandler", "LinkNotConnected", "publish_properties")

LinkSettings = ConnectionSettings
MqttLink = MqttConnection
LinkNotConnected = MqttNotConnected
