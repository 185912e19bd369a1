"""The hub's one broker connection, shared by every MQTT device source.

Plugins subscribe topic filters with callbacks; the client keeps the broker
subscriptions (one per distinct filter, at the highest QoS asked for) and
routes each message through one :class:`TopicRouter`.  It reconnects with
jittered backoff, restores every subscription before it reports itself
connected, and announces the hub with a retained birth message whose last
will says ``offline``.

aiomqtt owns the connection (connect, TLS, auth, keepalive, will, publish).
Incoming messages are taken from paho's ``on_message`` callback instead of
aiomqtt's async iterator: the iterator costs a task and an ``asyncio.wait``
per message, which at thousands of device messages a second is most of the
hub's CPU.  If a future aiomqtt hides that hook, the client falls back to
the iterator and only gets slower.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiomqtt

from hub.badinput import BadInputLog
from hub.core.errors import HubError
from integrations.mqtt.config import MqttConfig
from integrations.mqtt.const import (
    CONNECTED_ENTITY,
    PAYLOAD_OFFLINE,
    PAYLOAD_ONLINE,
    STATUS_CONNECTED,
    STATUS_CONNECTING,
    STATUS_DISCONNECTED,
    STATUS_STOPPED,
)
from integrations.mqtt.fastio import wrap_paho_client
from integrations.mqtt.matcher import TopicRouter, validate_filter, validate_topic

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("MqttClient", "MqttMessage", "MessageCallback", "MqttNotConnected", "Unsubscribe")

_LOGGER = logging.getLogger(__name__)

Unsubscribe = Callable[[], None]
#: Filters per SUBSCRIBE packet when restoring many subscriptions after a reconnect.
_SUBSCRIBE_CHUNK = 200


class MqttNotConnected(HubError):
    """The broker is not connected, so nothing can be published now."""

    #: True when the broker answered and refused the user name or password.
    refused: bool = False


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


class MqttClient:
    """Connection, subscriptions and routing for one broker."""

    def __init__(self, hub: Hub, config: MqttConfig) -> None:
        self.hub = hub
        self.config = config
        self.address = config.address
        self.client_id = config.client_id or f"safetyhub-{hub.id}"
        self.status_topic = f"{config.base_topic}/{hub.id}/status"
        self.status = STATUS_CONNECTING
        self.last_error: str | None = None
        self.connects = 0
        self.received = 0
        self.dropped = 0
        self.max_payload = config.max_payload
        self.bad_input = BadInputLog(_LOGGER)
        self._router: TopicRouter[_Subscription] = TopicRouter()
        #: Broker subscriptions: filter → QoS asked of the broker, and how many callbacks share it.
        self._filters: dict[str, list[int]] = {}
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._connected = asyncio.Event()
        self._connect_callbacks: list[ConnectCallback] = []
        self._pending: set[asyncio.Task[Any]] = set()
        self._to_subscribe: list[tuple[str, int]] = []
        self._to_unsubscribe: list[str] = []
        self._fast_path = True

    # -- public API ------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Return whether the broker is connected and subscriptions are restored."""
        return self._connected.is_set()

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
            self._broker_subscribe([(topic_filter, qos)])
        else:
            entry[1] += 1
            if qos > entry[0]:
                entry[0] = qos
                self._broker_subscribe([(topic_filter, qos)])
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
                self._broker_unsubscribe(topic_filter)

        return unsubscribe

    async def publish(
        self,
        topic: str,
        payload: str | bytes | bytearray | int | float | None = None,
        qos: int = 0,
        retain: bool = False,
        max_wait: float = 10.0,
    ) -> None:
        """Publish a message; raise MqttNotConnected while the broker is down."""
        validate_topic(topic)
        client = self._client
        if client is None or not self._connected.is_set():
            raise MqttNotConnected(f"MQTT broker {self.address} is not connected ({self.status})")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=max_wait)
        except aiomqtt.MqttError as err:
            raise MqttNotConnected(f"publish to {topic} failed: {err}") from None

    def on_connect(self, callback: ConnectCallback) -> Unsubscribe:
        """Call ``callback()`` after every (re)connect, once subscriptions are restored."""
        self._connect_callbacks.append(callback)
        if self._connected.is_set():
            self._run_callback(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._connect_callbacks.remove(callback)

        return remove

    async def wait_connected(self, within: float | None = None) -> bool:
        """Wait up to ``within`` seconds until connected; return False if it did not happen."""
        try:
            await asyncio.wait_for(self._connected.wait(), within)
        except TimeoutError:
            return False
        return True

    async def settle(self) -> None:
        """Wait until every SUBSCRIBE/UNSUBSCRIBE sent so far is acknowledged by the broker.

        New subscriptions reach the broker asynchronously; a message published
        before the broker has the subscription is not delivered (unless retained).
        """
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

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

    def start(self) -> None:
        """Start the connection loop (the hub starts even if the broker is down)."""
        self._write_status()
        self._task = self.hub.create_background_task(self._run(), "mqtt connection")

    async def stop(self) -> None:
        """Say ``offline``, disconnect and stop reconnecting."""
        self._stopping = True
        client = self._client
        if client is not None and self._connected.is_set() and self.config.birth:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await client.publish(self.status_topic, PAYLOAD_OFFLINE, qos=1, retain=True, timeout=2)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout=5)
        for task in list(self._pending):
            task.cancel()
        self._connected.clear()
        self.status = STATUS_STOPPED

    # -- connection loop -------------------------------------------------------------

    async def probe(self, within: float = 5.0) -> None:
        """Connect once with this config and disconnect: the set-up flow's broker check.

        Uses its own client id (never the hub's: two clients with one id knock each
        other off) and no last will.  Raises MqttNotConnected saying why; its
        ``refused`` is True when the broker turned the credentials down.
        """
        client = self._build(identifier=f"{self.client_id}-probe", will=False)
        try:
            async with asyncio.timeout(within):
                await client.__aenter__()
        except TimeoutError:
            raise MqttNotConnected(f"MQTT broker {self.address} did not answer in {within:g} s") from None
        except aiomqtt.MqttError as err:
            rc = getattr(err, "rc", None)
            value = getattr(rc, "value", rc)
            problem = MqttNotConnected(f"MQTT broker {self.address}: {err}")
            # CONNACK 4/5 (MQTT 3.1.1), 134/135 (MQTT 5): bad user name or password / not authorised.
            problem.refused = value in (4, 5, 134, 135)
            raise problem from None
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.__aexit__(None, None, None)

    def _build(self, identifier: str | None = None, will: bool = True) -> aiomqtt.Client:
        cfg = self.config
        tls_params = None
        if self.address.tls or cfg.tls is not None:
            tls = cfg.tls
            tls_params = aiomqtt.TLSParameters(
                ca_certs=self._path(tls.ca_file) if tls else None,
                certfile=self._path(tls.cert_file) if tls else None,
                keyfile=self._path(tls.key_file) if tls else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        last_will = (
            aiomqtt.Will(self.status_topic, PAYLOAD_OFFLINE, qos=1, retain=True)
            if cfg.birth and will
            else None
        )
        client = aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=cfg.username,
            password=cfg.password,
            identifier=identifier or self.client_id,
            clean_session=True if identifier else cfg.clean_session,
            keepalive=cfg.keepalive,
            will=last_will,
            tls_params=tls_params,
            tls_insecure=(cfg.tls.insecure if cfg.tls else None) if tls_params else None,
            timeout=10,
        )
        self._fast_path = self._install_fast_path(client)
        return client

    def _path(self, name: str | None) -> str | None:
        if name is None:
            return None
        path = Path(name)
        return str(path if path.is_absolute() else self.hub.config_dir / path)

    def _install_fast_path(self, client: aiomqtt.Client) -> bool:
        """Take messages straight from paho (see the module docstring)."""
        paho = getattr(client, "_client", None)
        if paho is None or not hasattr(paho, "on_message"):
            return False
        dispatch = self._dispatch

        def on_message(_client: Any, _userdata: Any, message: Any) -> None:
            dispatch(message.topic, message.payload, message.qos, bool(message.retain))

        paho.on_message = on_message
        wrap_paho_client(paho)
        return True

    async def _run(self) -> None:
        delay = self.config.reconnect_min
        while not self._stopping:
            self._set_status(STATUS_CONNECTING)
            try:
                client = self._build()
                async with client:
                    self._client = client
                    self.connects += 1
                    delay = self.config.reconnect_min
                    await self._after_connect(client)
                    if self.connects > 1:
                        _LOGGER.info("MQTT reconnected to %s", self.address)
                    else:
                        _LOGGER.info("MQTT connected to %s as %s", self.address, self.client_id)
                    await self._serve(client)
            except aiomqtt.MqttError as err:
                self.last_error = str(err) or type(err).__name__
                self.bad_input.warn("broker", "MQTT broker %s: %s; retrying", self.address, self.last_error)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.last_error = f"{type(err).__name__}: {err}"
                _LOGGER.exception("MQTT connection to %s failed", self.address)
            finally:
                self._client = None
                self._connected.clear()
                self._to_subscribe.clear()  # all of them are restored on the next connect
                self._to_unsubscribe.clear()
            if self._stop_requested():
                break
            self._set_status(STATUS_DISCONNECTED)
            # Decorrelated jitter: hubs that lost the same broker do not come back in step.
            delay = min(self.config.reconnect_max, random.uniform(self.config.reconnect_min, delay * 3))
            await asyncio.sleep(delay)

    def _stop_requested(self) -> bool:
        # A method, not the attribute: stop() sets it while _run is suspended.
        return self._stopping

    async def _after_connect(self, client: aiomqtt.Client) -> None:
        """Restore subscriptions, announce the hub, then report connected."""
        filters = [(f, entry[0]) for f, entry in self._filters.items()]
        for i in range(0, len(filters), _SUBSCRIBE_CHUNK):
            await client.subscribe(filters[i : i + _SUBSCRIBE_CHUNK])
        if self.config.birth:
            await client.publish(self.status_topic, PAYLOAD_ONLINE, qos=1, retain=True)
        self._connected.set()
        # Retained messages arrive while the filters above are restored, and their callbacks
        # subscribe more (an entity from a retained discovery config subscribes its state
        # topic); _broker_subscribe skipped those while not yet connected, so send them now.
        restored = dict(filters)
        late = [(f, entry[0]) for f, entry in self._filters.items() if restored.get(f, -1) < entry[0]]
        if late:
            self._broker_subscribe(late)
        self.last_error = None
        self._set_status(STATUS_CONNECTED)
        for callback in list(self._connect_callbacks):
            self._run_callback(callback)

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Return (by raising MqttError) when the connection drops."""
        if self._fast_path:
            # Messages arrive through on_message; the iterator only waits for the disconnect.
            async for _message in client.messages:
                pass
        else:
            async for message in client.messages:
                self._dispatch(
                    str(message.topic),
                    bytes(message.payload or b""),  # type: ignore[arg-type,unused-ignore]
                    message.qos,
                    message.retain,
                )

    def _broker_subscribe(self, filters: list[tuple[str, int]]) -> None:
        client = self._client
        if client is None or not self._connected.is_set():
            return  # restored by _after_connect
        # Coalesce: a plugin setting up 1,000 buttons makes one SUBSCRIBE per 200 filters, not 2,000.
        if not self._to_subscribe:
            self._spawn(self._subscribe_batch(client))
        self._to_subscribe.extend(filters)

    async def _subscribe_batch(self, client: aiomqtt.Client) -> None:
        await asyncio.sleep(0)  # let the rest of this loop iteration's subscriptions join the batch
        filters, self._to_subscribe = self._to_subscribe, []
        try:
            for i in range(0, len(filters), _SUBSCRIBE_CHUNK):
                await client.subscribe(filters[i : i + _SUBSCRIBE_CHUNK])
        except aiomqtt.MqttError as err:
            # The reconnect that follows restores them.
            _LOGGER.debug("Subscribe of %d filters failed: %s", len(filters), err)

    def _broker_unsubscribe(self, topic_filter: str) -> None:
        client = self._client
        if client is None or not self._connected.is_set() or self.hub.state == "stopping":
            return  # nothing to do at the broker, or the disconnect is about to drop it anyway
        if not self._to_unsubscribe:
            self._spawn(self._unsubscribe_batch(client))
        self._to_unsubscribe.append(topic_filter)

    async def _unsubscribe_batch(self, client: aiomqtt.Client) -> None:
        await asyncio.sleep(0)
        # A filter subscribed again meanwhile stays.
        filters = [f for f in dict.fromkeys(self._to_unsubscribe) if f not in self._filters]
        self._to_unsubscribe = []
        try:
            for i in range(0, len(filters), _SUBSCRIBE_CHUNK):
                await client.unsubscribe(filters[i : i + _SUBSCRIBE_CHUNK])
        except aiomqtt.MqttError as err:
            _LOGGER.debug("Unsubscribe of %d filters failed: %s", len(filters), err)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _run_callback(self, callback: ConnectCallback) -> None:
        try:
            result = callback()
            if inspect.isawaitable(result):
                self._spawn(result)
        except Exception:
            _LOGGER.exception("MQTT on_connect callback %r failed", callback)

    # -- routing -----------------------------------------------------------------------

    def _dispatch(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
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

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._write_status()

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
