"""One MQTT connection to the station's broker, used by both ends of federation.

The hub's device broker (``integrations/mqtt``) and the station's broker are
different machines with different credentials, so federation keeps its own
connection.  aiomqtt owns the protocol (connect, TLS, auth, keepalive, will,
QoS 1); this class adds what both ends need around it: reconnect with
decorrelated jitter, subscriptions restored on every connect (refusals by the
broker's ACL are logged, not ignored), a callback after each connect, and
messages taken straight from paho's ``on_message`` hook, the same fast path
``integrations.mqtt.client`` uses, because a station ingests tens of
thousands of messages a second and aiomqtt's iterator costs a task each.

MQTT v5 is the default: the broker then *tells* a publisher that the ACL
refused it (PUBACK reason 135) instead of dropping silently, snapshots carry
their metadata as user properties, and commands carry an expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub.badinput import BadInputLog
from integrations.mqtt.config import BrokerAddress
from integrations.mqtt.fastio import wrap_paho_client

__all__ = ("LinkSettings", "MqttLink", "MessageHandler", "LinkNotConnected", "publish_properties")

_LOGGER = logging.getLogger(__name__)

#: ``handler(topic, payload, properties)``; properties is None under MQTT 3.1.1.
MessageHandler = Callable[[str, bytes, Any], None]
ConnectHook = Callable[[], Awaitable[None] | None]
#: Makes the last will at each connect: (topic, payload, qos, retain).
WillFactory = Callable[[], tuple[str, bytes, int, bool]]


class LinkNotConnected(Exception):
    """The broker is not connected right now."""


@dataclass
class LinkSettings:
    """Everything needed to reach the station's broker."""

    broker: str
    username: str | None = None
    password: str | None = None
    client_id: str = ""
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    tls_insecure: bool = False
    protocol: str = "5"
    keepalive: int = 30
    #: False keeps the broker session (queued QoS 1 messages) across reconnects.
    clean: bool = False
    #: MQTT v5 session expiry, seconds (how long the broker keeps a persistent session).
    session_expiry: int = 7 * 24 * 3600
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    #: Seconds after a lost connection during which retries are fast (0.2–0.5 s) before the
    #: jittered backoff starts; 0 for none (hubs: a hundred must not come back in step).
    fast_retry_for: float = 0.0
    subscriptions: Sequence[str] = field(default_factory=tuple)
    config_dir: Path = field(default_factory=Path.cwd)

    @property
    def address(self) -> BrokerAddress:
        """Return the parsed broker URL."""
        return BrokerAddress(self.broker)


def publish_properties(
    *, expiry: int | None = None, content_type: str | None = None, user: Sequence[tuple[str, str]] = ()
) -> Properties:
    """Return MQTT v5 PUBLISH properties."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if expiry is not None:
        props.MessageExpiryInterval = max(1, int(expiry))
    if content_type is not None:
        props.ContentType = content_type
    if user:
        props.UserProperty = list(user)
    return props


class MqttLink:
    """A self-healing MQTT client with a fast message path."""

    def __init__(
        self,
        settings: LinkSettings,
        on_message: MessageHandler,
        *,
        name: str,
        will: WillFactory | None = None,
        on_connect: ConnectHook | None = None,
        on_disconnect: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.address = settings.address
        self.name = name
        self.v5 = settings.protocol == "5"
        self.status = "connecting"
        self.last_error: str | None = None
        self.connects = 0
        #: Publishes the broker answered with a failure reason code (ACL refusals).
        self.refused_publishes = 0
        #: Subscriptions the broker refused at the last connect.
        self.refused_subscriptions: list[str] = []
        self._on_message = on_message
        self._will = will
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._connected = asyncio.Event()
        #: True from the broker's CONNACK to the drop: publishing works before our
        #: subscriptions are confirmed (and the broker delivers a queued session then).
        self._session_up = False
        self._log = BadInputLog(_LOGGER)
        self._spawned: set[asyncio.Task[Any]] = set()

    # -- public ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Return whether the broker is connected and subscriptions are in place."""
        return self._connected.is_set()

    async def wait_connected(self, within: float | None = None) -> bool:
        """Wait until connected; return False if not within ``within`` seconds."""
        try:
            await asyncio.wait_for(self._connected.wait(), within)
        except TimeoutError:
            return False
        return True

    def start(self, spawn: Callable[..., asyncio.Task[Any]] | None = None) -> None:
        """Start the connection loop (``spawn`` is the hub's background-task maker); again after stop()."""
        self._stopping = False
        coro = self._run()
        self._task = spawn(coro, f"{self.name} link") if spawn else asyncio.ensure_future(coro)

    async def stop(self, last_words: tuple[str, bytes, int, bool] | None = None) -> None:
        """Optionally publish ``last_words`` (topic, payload, qos, retain), then disconnect."""
        self._stopping = True
        client = self._client
        if client is not None and self._connected.is_set() and last_words is not None:
            topic, payload, qos, retain = last_words
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await client.publish(topic, payload, qos=qos, retain=retain, timeout=2)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, timeout=5)
        for task in list(self._spawned):
            task.cancel()
        self._connected.clear()
        self.status = "stopped"

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
        ack_within: float = 10.0,
    ) -> None:
        """Publish and wait for the broker's PUBACK; raise LinkNotConnected if down."""
        client = self._client
        if client is None or not self._connected.is_set():
            raise LinkNotConnected(f"{self.name}: broker {self.address} not connected ({self.status})")
        try:
            await client.publish(
                topic,
                payload,
                qos=qos,
                retain=retain,
                properties=properties if self.v5 else None,
                timeout=ack_within,
            )
        except aiomqtt.MqttError as err:
            raise LinkNotConnected(f"{self.name}: publish to {topic} failed: {err}") from None

    def publish_nowait(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> bool:
        """Hand a message to the client without waiting for PUBACK; return False if down.

        Works from the broker's CONNACK on, before the subscriptions are
        confirmed (``connected``): a persistent session's queued messages arrive
        in that gap, and their acks must not be lost.  For traffic whose delivery the application confirms itself (the
        station's acks: a lost one makes the hub re-send, which is harmless).
        """
        client = self._client
        if client is None or not self._session_up:
            return False
        paho = client._client
        info = paho.publish(topic, payload, qos, retain, properties if self.v5 else None)
        return bool(info.rc == 0)

    def info(self) -> dict[str, Any]:
        """Return status facts for health and the UI (never credentials)."""
        return {
            "status": self.status,
            "broker": str(self.address),
            "client_id": self.settings.client_id,
            "protocol": "5" if self.v5 else "3.1.1",
            "connects": self.connects,
            "last_error": self.last_error,
            "refused_publishes": self.refused_publishes,
            "refused_subscriptions": self.refused_subscriptions,
        }

    # -- connection loop ---------------------------------------------------------------------

    def _path(self, name: str | None) -> str | None:
        if not name:
            return None
        path = Path(name)
        full = path if path.is_absolute() else self.settings.config_dir / path
        if not full.is_file():
            # ssl says only "No such file or directory"; the admin needs to know which file.
            raise FileNotFoundError(f"TLS file '{name}' does not exist ({full})")
        return str(full)

    def _build(self) -> aiomqtt.Client:
        s = self.settings
        tls_params = None
        if self.address.tls or s.ca_file:
            tls_params = aiomqtt.TLSParameters(
                ca_certs=self._path(s.ca_file),
                certfile=self._path(s.cert_file),
                keyfile=self._path(s.key_file),
                cert_reqs=ssl.CERT_REQUIRED,
            )
        will = None
        if self._will is not None:
            w_topic, w_payload, w_qos, w_retain = self._will()
            will = aiomqtt.Will(w_topic, w_payload, qos=w_qos, retain=w_retain)
        kwargs: dict[str, Any] = {}
        if self.v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 0 if s.clean else s.session_expiry
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V5, clean_start=s.clean, properties=props)
        else:
            kwargs.update(protocol=aiomqtt.ProtocolVersion.V311, clean_session=s.clean)
        client = aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            keepalive=s.keepalive,
            will=will,
            tls_params=tls_params,
            tls_insecure=s.tls_insecure if tls_params else None,
            timeout=10,
            # Small packets (an SOS, an ack) must go out now: Nagle plus the peer's delayed
            # ACK otherwise adds up to 40 ms per round trip.
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
            **kwargs,
        )
        self._install_hooks(client)
        return client

    def _install_hooks(self, client: aiomqtt.Client) -> None:
        """Take messages from paho directly and count refused publishes."""
        paho = client._client
        handler = self._on_message
        log = self._log

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            try:
                handler(message.topic, message.payload, getattr(message, "properties", None))
            except Exception:
                # One poisoned message must not take the connection down.
                log.warn(
                    f"handler {message.topic}",
                    "%s: handler failed on %s",
                    self.name,
                    message.topic,
                    exc_info=True,
                )

        paho.on_message = on_message
        wrap_paho_client(paho)
        original: Any = paho.on_publish

        def on_publish(c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
            if getattr(reason, "is_failure", False):
                self.refused_publishes += 1
                log.warn(
                    "refused",
                    "%s: broker %s refused a publish: %s (check the ACL)",
                    self.name,
                    self.address,
                    reason,
                )
            original(c, u, mid, reason, props)

        paho.on_publish = on_publish

    async def _run(self) -> None:
        delay = self.settings.reconnect_min
        loop = asyncio.get_running_loop()
        lost_at: float | None = None
        while not self._stopping:
            self._set_status("connecting")
            try:
                client = self._build()
                async with client:
                    self._client = client
                    self._session_up = True
                    lost_at = None
                    self.connects += 1
                    delay = self.settings.reconnect_min
                    await self._after_connect(client)
                    async for _ in client.messages:
                        pass  # messages arrive through on_message; this waits for the drop
            except aiomqtt.MqttError as err:
                self.last_error = str(err) or type(err).__name__
                self._log.warn(
                    "connect", "%s: broker %s: %s; retrying", self.name, self.address, self.last_error
                )
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.last_error = f"{type(err).__name__}: {err}"
                _LOGGER.exception("%s: connection to %s failed", self.name, self.address)
            finally:
                self._client = None
                self._session_up = False
                was_connected = self._connected.is_set()
                self._connected.clear()
                if was_connected and self._on_disconnect is not None:
                    try:
                        self._on_disconnect()
                    except Exception:
                        _LOGGER.exception("%s: on_disconnect hook failed", self.name)
            if self._stopped():
                break
            self._set_status("disconnected")
            now = loop.time()
            lost_at = now if lost_at is None else lost_at
            if now - lost_at < self.settings.fast_retry_for:
                # A short outage (a broker restart) costs about its own length.
                await asyncio.sleep(random.uniform(0.2, 0.5))
                continue
            # Decorrelated jitter: a hundred hubs that lost the station don't come back in step.
            delay = min(self.settings.reconnect_max, random.uniform(self.settings.reconnect_min, delay * 3))
            await asyncio.sleep(delay)

    async def _after_connect(self, client: aiomqtt.Client) -> None:
        sock: Any = client._client.socket()
        if sock is not None:
            # aiomqtt applies socket_options only to a bare socket.socket, and the read
            # buffer (fastio) wraps it: set TCP_NODELAY through the wrapper.
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.refused_subscriptions = []
        subs = list(self.settings.subscriptions)
        if subs:
            # no_local: the station subscribes to a filter that also matches what it
            # publishes (acks, commands); under v5 the broker need not echo them back.
            option: Any = SubscribeOptions(qos=1, noLocal=True) if self.v5 else 1
            granted = await client.subscribe([(f, option) for f in subs])
            for name, code in zip(subs, granted or (), strict=False):
                value = getattr(code, "value", code)
                if isinstance(value, int) and value >= 0x80:
                    self.refused_subscriptions.append(name)
                    _LOGGER.error(
                        "%s: broker %s refused the subscription %s (%s): check the ACL",
                        self.name,
                        self.address,
                        name,
                        code,
                    )
        self._connected.set()
        self.last_error = None
        self._set_status("connected")
        _LOGGER.info("%s: connected to %s as %s", self.name, self.address, self.settings.client_id)
        if self._on_connect is not None:
            try:
                result = self._on_connect()
                if inspect.isawaitable(result):
                    task: asyncio.Task[Any] = asyncio.ensure_future(result)
                    self._spawned.add(task)
                    task.add_done_callback(self._spawned.discard)
            except Exception:
                _LOGGER.exception("%s: on_connect hook failed", self.name)

    def _stopped(self) -> bool:
        # A method, not the attribute: stop() flips it while _run awaits.
        return self._stopping

    def _set_status(self, status: str) -> None:
        self.status = status
