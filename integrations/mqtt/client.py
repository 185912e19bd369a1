"""The hub's one broker connection for devices, shared by every MQTT device source.

Plugins subscribe topic filters with callbacks; the client keeps the broker
subscriptions (one per distinct filter, at the highest QoS asked for) and
routes each message through one :class:`TopicRouter`.  The connection itself
(reconnect with jitter, TLS, the retained ``online`` birth with an ``offline``
last will, subscriptions restored in batches before it reports itself
connected, the fast message path) is :class:`hub.mqtt.MqttConnection`, the
layer federation and the station use too; this module adds the routing and
the ``binary_sensor.mqtt_connected`` status entity.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog
from hub.mqtt import ConnectionSettings, MqttConnection, MqttNotConnected
from integrations.mqtt.config import MqttConfig
from integrations.mqtt.const import (
    CONNECTED_ENTITY,
    PAYLOAD_OFFLINE,
    PAYLOAD_ONLINE,
    STATUS_CONNECTED,
)
from integrations.mqtt.matcher import TopicRouter, validate_filter, validate_topic

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("MqttClient", "MqttMessage", "MessageCallback", "MqttNotConnected", "Unsubscribe")

_LOGGER = logging.getLogger(__name__)

Unsubscribe = Callable[[], None]


class MqttMessage:
    """One received message."""

    __slots__ = ("topic", "payload", "qos", "retain")

    def __init__(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain

    def __repr__(self) -> str:
        return f"<MqttMessage {self.topic} {self.payload[:60]!r}>"


MessageCallback = Callable[[MqttMessage], Any]
ConnectCallback = Callable[[], Awaitable[None] | None]


class _Subscription:
    __slots__ = ("topic_filter", "callback", "qos", "max_payload")

    def __init__(self, topic_filter: str, callback: MessageCallback, qos: int, max_payload: int) -> None:
        self.topic_filter = topic_filter
        self.callback = callback
        self.qos = qos
        self.max_payload = max_payload


def _settings(hub: Hub, config: MqttConfig) -> ConnectionSettings:
    tls = config.tls
    return ConnectionSettings(
        broker=config.broker,
        username=config.username,
        password=config.password,
        client_id=config.client_id or f"safetyhub-{hub.id}",
        ca_file=tls.ca_file if tls else None,
        cert_file=tls.cert_file if tls else None,
        key_file=tls.key_file if tls else None,
        tls_insecure=tls.insecure if tls else False,
        # A ``tls:`` block turns TLS on even for an mqtt:// URL.
        tls=True if tls is not None else None,
        protocol="3.1.1",
        keepalive=config.keepalive,
        clean=config.clean_session,
        reconnect_min=config.reconnect_min,
        reconnect_max=config.reconnect_max,
        config_dir=hub.config_dir,
    )


class MqttClient(MqttConnection):
    """Connection, subscriptions and routing for one device broker."""

    def __init__(self, hub: Hub, config: MqttConfig) -> None:
        self.hub = hub
        self.config = config
        self.status_topic = f"{config.base_topic}/{hub.id}/status"
        super().__init__(
            _settings(hub, config),
            self._dispatch,
            name="MQTT",
            will=(lambda: (self.status_topic, PAYLOAD_OFFLINE, 1, True)) if config.birth else None,
            birth=(self.status_topic, PAYLOAD_ONLINE, 1, True) if config.birth else None,
            on_status=lambda _status: self._write_status(),
        )
        self.received = 0
        self.dropped = 0
        self.max_payload = config.max_payload
        self.bad_input = BadInputLog(_LOGGER)
        self._router: TopicRouter[_Subscription] = TopicRouter()
        #: Filter → [QoS asked of the broker, how many callbacks share it].
        self._filters: dict[str, list[int]] = {}

    # -- public API ------------------------------------------------------------------

    def subscribe(
        self, topic_filter: str, callback: MessageCallback, qos: int = 0, max_payload: int | None = None
    ) -> Unsubscribe:
        """Call ``callback(message)`` for every message matching ``topic_filter``.

        The callback runs on the event loop and should be quick; it may return
        a coroutine, which is run as a task.  Subscriptions survive reconnects.
        Payloads over ``max_payload`` (default: the ``mqtt:`` block's) are
        dropped with a rate-limited log line.  Raises ValueError for an invalid filter.
        """
        validate_filter(topic_filter)
        if qos not in (0, 1, 2):
            raise ValueError("qos must be 0, 1 or 2")
        sub = _Subscription(topic_filter, callback, qos, max_payload or self.max_payload)
        remove_route = self._router.add(topic_filter, sub)
        entry = self._filters.get(topic_filter)
        if entry is None:
            self._filters[topic_filter] = [qos, 1]
        else:
            entry[1] += 1
            entry[0] = max(entry[0], qos)
        self.subscribe_filters([(topic_filter, qos)])
        done = False

        def unsubscribe() -> None:
            nonlocal done
            if done:
                return
            done = True
            remove_route()
            current = self._filters.get(topic_filter)
            if current is None:
                return
            current[1] -= 1
            if current[1] <= 0:
                del self._filters[topic_filter]
                self.unsubscribe_filters([topic_filter])

        return unsubscribe

    async def publish(
        self,
        topic: str,
        payload: str | bytes | bytearray | int | float | None = None,
        qos: int = 0,
        retain: bool = False,
        max_wait: float = 10.0,
        *,
        properties: Any = None,
    ) -> None:
        """Publish a message; raise MqttNotConnected while the broker is down."""
        validate_topic(topic)
        await super().publish(topic, payload, qos, retain, max_wait, properties=properties)

    def inject(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        """Route a message as if it came from the broker (bench and tests of parsers)."""
        self._dispatch(topic, payload, qos, retain)

    def info(self) -> dict[str, Any]:
        """Return status facts for health_info and the UI (no credentials)."""
        return {
            "status": self.status,
            "broker": str(self.address),
            "client_id": self.client_id,
            "connects": self.connects,
            "last_error": self.last_error,
            "subscriptions": len(self._filters),
            "received": self.received,
            "dropped": self.dropped,
            "bad_input": self.bad_input.total,
        }

    # -- lifecycle -------------------------------------------------------------------

    def start(self, spawn: Callable[..., Any] | None = None) -> None:
        """Start the connection loop (the hub starts even if the broker is down)."""
        self._write_status()
        super().start(spawn or self.hub.create_background_task)

    async def stop(self, last_words: tuple[str, bytes | str, int, bool] | None = None) -> None:
        """Say ``offline``, disconnect and stop reconnecting."""
        if last_words is None and self.config.birth:
            last_words = (self.status_topic, PAYLOAD_OFFLINE, 1, True)
        await super().stop(last_words)

    def _may_unsubscribe(self) -> bool:
        # At shutdown the disconnect drops every subscription anyway.
        return super()._may_unsubscribe() and self.hub.state != "stopping"

    # -- routing -----------------------------------------------------------------------

    def _dispatch(self, topic: str, payload: bytes, qos: int, retain: bool, _properties: Any = None) -> None:
        self.received += 1
        subs = self._router.match(topic)
        if not subs:
            return
        message = MqttMessage(topic, payload, qos, retain)
        for sub in subs:
            if len(payload) > sub.max_payload:
                self.dropped += 1
                self.bad_input.warn(
                    topic,
                    "MQTT %s: %d-byte payload over the %d-byte limit; ignored",
                    topic,
                    len(payload),
                    sub.max_payload,
                )
                continue
            try:
                result = sub.callback(message)
                if result is not None and inspect.iscoroutine(result):
                    self.hub.create_task(result, f"mqtt {topic}")
            except Exception:  # noqa: BLE001 - logged (rate-limited, with traceback) below
                # A parser bug on one device's payload must not stop the others.
                self.bad_input.warn(
                    f"callback {topic}",
                    "MQTT handler for %s failed on %r",
                    topic,
                    payload[:200],
                    exc_info=True,
                )

    # -- status ------------------------------------------------------------------------

    def _write_status(self) -> None:
        try:
            self.hub.states.set(
                CONNECTED_ENTITY,
                "on" if self.status == STATUS_CONNECTED else "off",
                {
                    "friendly_name": "MQTT broker",
                    "device_class": "connectivity",
                    "status": self.status,
                    "broker": str(self.address),
                    "client_id": self.client_id,
                    "last_error": self.last_error,
                },
            )
        except Exception:
            _LOGGER.exception("Could not write %s", CONNECTED_ENTITY)
