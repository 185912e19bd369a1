"""The hub's one MQTT connection layer: devices, federation and the station all use it.

:class:`MqttConnection` is a self-healing client around aiomqtt: it reconnects
with decorrelated jitter (optionally fast retries first, for a broker restart),
speaks TLS, sets a last will and publishes a birth message, restores its
subscriptions in batches at every connect (logging the broker's refusals),
and reports its status (``connecting``/``connected``/``disconnected``/
``stopped``) to a callback the owner turns into a status entity.
``integrations/mqtt`` (devices) subclasses it with a topic router;
``integrations/federation`` (a hub's station link) and ``integrations/station``
(the station's ingest) use it as it is.

It lives in ``hub/`` and not in the mqtt integration because neither the
federation nor the station manifest depends on ``mqtt``: a station has no
device broker, and a hub may federate without one.

Library internals
-----------------
aiomqtt owns the protocol.  A station ingests tens of thousands of messages a
second and a hub thousands, and aiomqtt's async iterator costs a task and an
``asyncio.wait`` per message, so messages are taken from paho's
``on_message`` callback instead; paho's socket reads go through a buffer
(:class:`BufferedSocket`); refused publishes (MQTT v5 PUBACK reason codes) are
counted from paho's ``on_publish``; acks that must go out before the
subscriptions are confirmed are handed to paho's ``publish``.  Those private
attributes are used by :class:`_Internals` only, and only for the library
versions in :data:`SUPPORTED`: with any other version the connection logs a
warning once and uses aiomqtt's public API (slower, same behaviour).
``tests/hub/test_mqtt_internals.py`` fails loudly when an upgrade moves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub.badinput import BadInputLog
from hub.core.errors import HubError
from hub.core.retry import REAL_TIME, Backoff

__all__ = (
    "BrokerAddress",
    "BufferedSocket",
    "ConnectionSettings",
    "MessageHandler",
    "MqttConnection",
    "MqttNotConnected",
    "SUPPORTED",
    "STATUS_CONNECTED",
    "STATUS_CONNECTING",
    "STATUS_DISCONNECTED",
    "STATUS_STOPPED",
    "publish_properties",
)

_LOGGER = logging.getLogger(__name__)

STATUS_CONNECTING = "connecting"
STATUS_CONNECTED = "connected"
STATUS_DISCONNECTED = "disconnected"
STATUS_STOPPED = "stopped"

#: ``handler(topic, payload, qos, retain, properties)``; properties is None under MQTT 3.1.1.
MessageHandler = Callable[[str, bytes, int, bool, Any], None]
ConnectHook = Callable[[], Awaitable[None] | None]
#: (topic, payload, qos, retain) of a will, birth or last-words message.
Announcement = tuple[str, bytes | str, int, bool]
#: Makes the last will at each connect (its payload may depend on the moment).
WillFactory = Callable[[], Announcement]

#: Filters per SUBSCRIBE packet (restoring thousands of device filters after a reconnect).
SUBSCRIBE_CHUNK = 200
#: Library major versions whose private attributes :class:`_Internals` was written against.
SUPPORTED: dict[str, tuple[int, ...]] = {"aiomqtt": (2,), "paho-mqtt": (2,)}
#: One read of the buffered socket: small enough that a refill is processed in a few
#: milliseconds (SOS latency), large enough to turn ~3 system calls per message into one per ~50.
_CHUNK = 4 * 1024


class MqttNotConnected(HubError):
    """The broker is not connected right now, so nothing can be published."""

    #: True when the broker answered and refused the user name or password (a probe).
    refused: bool = False


class BrokerAddress:
    """A parsed ``mqtt://host:port`` / ``mqtts://host:port`` URL."""

    __slots__ = ("scheme", "host", "port", "tls")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError("broker must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError("broker needs a host, e.g. mqtt://127.0.0.1:1883")
        if parts.username or parts.password:
            # Credentials in the URL end up in logs and the UI; they belong in username/password.
            raise ValueError("put credentials in username/password, not in the broker URL")
        self.scheme = parts.scheme
        self.tls = parts.scheme in ("mqtts", "ssl")
        self.host = parts.hostname
        self.port = parts.port or (8883 if self.tls else 1883)

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


@dataclass
class ConnectionSettings:
    """Everything needed to reach one broker."""

    broker: str
    username: str | None = None
    password: str | None = None
    client_id: str = ""
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    tls_insecure: bool = False
    #: Use TLS even on an ``mqtt://`` URL (None: when the URL says mqtts:// or a CA is given).
    tls: bool | None = None
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
    #: Filters subscribed at QoS 1 from the start (more may be added with ``subscribe``).
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


# -- library internals (the only code that touches them) ----------------------------------------


class BufferedSocket:
    """A read buffer under paho's socket: fewer system calls per message.

    paho reads every packet with at least three ``recv`` calls (one byte of
    command, the length bytes one at a time, then the body).  This fills a
    4 KiB buffer with one ``recv`` and serves paho's small reads from memory.
    It reports the buffered byte count through ``pending()``, the hook paho
    and aiomqtt already use for TLS sockets, so the reader keeps draining the
    buffer although the kernel socket is no longer readable.  Everything but
    ``recv``/``pending`` passes through.
    """

    __slots__ = ("_sock", "_buf", "_pos")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, size: int) -> bytes:
        """Return up to ``size`` bytes, refilling from the socket only when the buffer is empty."""
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            # May raise BlockingIOError or ssl.SSLWantReadError: paho handles both.
            buf = bytes(self._sock.recv(max(size, _CHUNK)))
            if not buf:
                self._buf, self._pos = b"", 0
                return buf
            pos = 0
        end = min(pos + size, len(buf))
        self._buf, self._pos = buf, end
        return buf[pos:end]

    def pending(self) -> int:
        """Return bytes readable without waiting: ours plus the TLS layer's."""
        inner = getattr(self._sock, "pending", None)
        return len(self._buf) - self._pos + (inner() if inner is not None else 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _major(dist: str) -> int | None:
    try:
        return int(metadata.version(dist).split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


class _Internals:
    """Every use of aiomqtt's and paho's private attributes.

    They are used only when the installed versions are in :data:`SUPPORTED`
    and the client at hand has every attribute in :data:`PAHO_ATTRIBUTES`.
    """

    #: paho attributes read or replaced on aiomqtt's ``Client._client``.
    PAHO_ATTRIBUTES = ("on_message", "on_publish", "publish", "_create_socket", "_transport", "socket")

    def __init__(self) -> None:
        self.versions = {dist: _major(dist) for dist in SUPPORTED}
        self.problem: str | None = None
        for dist, majors in SUPPORTED.items():
            if self.versions[dist] not in majors:
                self.problem = f"{dist} {self.versions[dist]}.x is not one of {majors}"
        self._warned = False

    @property
    def usable(self) -> bool:
        """Return whether the fast path is on (False: aiomqtt's public API only)."""
        return self.problem is None

    def check(self, client: aiomqtt.Client) -> bool:
        """Return whether ``client`` has what the fast path uses (decided once, warned once)."""
        if self.problem is None:
            paho = getattr(client, "_client", None)
            missing = [a for a in self.PAHO_ATTRIBUTES if not hasattr(paho, a)]
            if paho is None or missing:
                self.problem = f"aiomqtt.Client._client lacks {missing or ['_client']}"
        if self.problem is not None and not self._warned:
            self._warned = True
            _LOGGER.warning("MQTT fast path off (%s): messages go through aiomqtt's iterator", self.problem)
        return self.problem is None

    @staticmethod
    def paho(client: aiomqtt.Client) -> Any:
        return client._client

    def install(
        self,
        client: aiomqtt.Client,
        on_message: Callable[[Any], None],
        on_refused: Callable[[Any], None],
    ) -> None:
        """Take messages from paho directly, buffer its reads and see refused publishes."""
        paho = self.paho(client)
        paho.on_message = lambda _client, _userdata, message: on_message(message)
        if getattr(paho, "_transport", "tcp") == "tcp":
            create = paho._create_socket

            def create_buffered() -> Any:
                sock = create()
                # aiomqtt applies socket_options only to a bare socket.socket, which the
                # buffer hides; without TCP_NODELAY, Nagle plus delayed ACKs can hold a
                # small publish (an SOS, an ack) for up to 40 ms.
                with contextlib.suppress(OSError, AttributeError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return BufferedSocket(sock)

            paho._create_socket = create_buffered
        original: Any = paho.on_publish

        def on_publish(c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
            if getattr(reason, "is_failure", False):
                on_refused(reason)
            original(c, u, mid, reason, props)

        paho.on_publish = on_publish

    def publish_nowait(
        self, client: aiomqtt.Client, topic: str, payload: bytes, qos: int, retain: bool, props: Any
    ) -> bool:
        """Queue a publish in paho without waiting for aiomqtt's PUBACK future."""
        info = self.paho(client).publish(topic, payload, qos, retain, props)
        return bool(info.rc == 0)

    def socket(self, client: aiomqtt.Client) -> Any:
        """Return the socket under ``client`` (tests cut it to make the broker send the will)."""
        return self.paho(client).socket()


INTERNALS = _Internals()


# -- the connection -------------------------------------------------------------------------------


class MqttConnection:
    """A self-healing MQTT client with a fast message path."""

    def __init__(
        self,
        settings: ConnectionSettings,
        on_message: MessageHandler,
        *,
        name: str,
        will: WillFactory | None = None,
        birth: Announcement | None = None,
        on_connect: ConnectHook | None = None,
        on_disconnect: Callable[[], None] | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.address = settings.address
        self.name = name
        self.client_id = settings.client_id
        self.v5 = settings.protocol == "5"
        self.status = STATUS_CONNECTING
        self.last_error: str | None = None
        self.connects = 0
        #: Publishes the broker answered with a failure reason code (ACL refusals).
        self.refused_publishes = 0
        #: Subscriptions the broker refused since the last connect.
        self.refused_subscriptions: list[str] = []
        self._on_message = on_message
        self._will = will
        self._birth = birth
        self._connect_callbacks: list[ConnectHook] = [on_connect] if on_connect else []
        self._on_disconnect = on_disconnect
        self._on_status = on_status
        #: Broker subscriptions (filter → QoS), restored at every connect.
        self._broker_filters: dict[str, int] = dict.fromkeys(settings.subscriptions, 1)
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._connected = asyncio.Event()
        #: True from the broker's CONNACK to the drop: publishing works before our
        #: subscriptions are confirmed (and the broker delivers a queued session then).
        self._session_up = False
        self._log = BadInputLog(_LOGGER)
        self._pending: set[asyncio.Task[Any]] = set()
        self._to_subscribe: list[tuple[str, int]] = []
        self._to_unsubscribe: list[str] = []

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

    def on_connect(self, callback: ConnectHook) -> Callable[[], None]:
        """Call ``callback()`` after every (re)connect, once subscriptions are restored."""
        self._connect_callbacks.append(callback)
        if self._connected.is_set():
            self._run_callback(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._connect_callbacks.remove(callback)

        return remove

    def start(self, spawn: Callable[..., asyncio.Task[Any]] | None = None) -> None:
        """Start the connection loop (``spawn`` is the hub's background-task maker); again after stop()."""
        self._stopping = False
        coro = self._run()
        self._task = spawn(coro, f"{self.name} connection") if spawn else asyncio.ensure_future(coro)

    async def stop(self, last_words: Announcement | None = None) -> None:
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
        for task in list(self._pending):
            task.cancel()
        self._connected.clear()
        self.status = STATUS_STOPPED  # not reported: the owner is shutting down

    async def publish(
        self,
        topic: str,
        payload: str | bytes | bytearray | int | float | None = None,
        qos: int = 0,
        retain: bool = False,
        max_wait: float = 10.0,
        *,
        properties: Properties | None = None,
    ) -> None:
        """Publish and wait for the broker's PUBACK (QoS 1); raise MqttNotConnected if down."""
        client = self._client
        if client is None or not self._connected.is_set():
            raise MqttNotConnected(f"{self.name}: broker {self.address} is not connected ({self.status})")
        try:
            await client.publish(
                topic,
                payload,
                qos=qos,
                retain=retain,
                properties=properties if self.v5 else None,
                timeout=max_wait,
            )
        except aiomqtt.MqttError as err:
            raise MqttNotConnected(f"{self.name}: publish to {topic} failed: {err}") from err

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
        in that gap, and their acks must not be lost.  For traffic whose delivery
        the application confirms itself (the station's acks, the hub's outbox).
        """
        client = self._client
        if client is None or not self._session_up:
            return False
        props = properties if self.v5 else None
        if INTERNALS.usable:
            return INTERNALS.publish_nowait(client, topic, payload, qos, retain, props)
        self._spawn(self._publish_quietly(client, topic, payload, qos, retain, props))
        return True

    def subscribe_filters(self, filters: Iterable[tuple[str, int]]) -> None:
        """Subscribe (or raise the QoS of) ``filters`` now if connected, and at every connect.

        Calls made in one loop iteration share SUBSCRIBE packets (a plugin setting
        up 1,000 buttons makes one per 200 filters, not 1,000).
        """
        new = [(f, q) for f, q in filters if self._broker_filters.get(f, -1) < q]
        for topic_filter, qos in new:
            self._broker_filters[topic_filter] = qos
        client = self._client
        if not new or client is None or not self._connected.is_set():
            return  # restored by _after_connect
        if not self._to_subscribe:
            self._spawn(self._subscribe_batch(client))
        self._to_subscribe.extend(new)

    def unsubscribe_filters(self, filters: Iterable[str]) -> None:
        """Stop receiving ``filters`` (batched like :meth:`subscribe_filters`)."""
        gone = [f for f in filters if self._broker_filters.pop(f, None) is not None]
        client = self._client
        if not gone or client is None or not self._connected.is_set() or not self._may_unsubscribe():
            return  # nothing to do at the broker, or the disconnect is about to drop it anyway
        if not self._to_unsubscribe:
            self._spawn(self._unsubscribe_batch(client))
        self._to_unsubscribe.extend(gone)

    async def settle(self) -> None:
        """Wait until every SUBSCRIBE/UNSUBSCRIBE sent so far is acknowledged by the broker.

        New subscriptions reach the broker asynchronously; a message published
        before the broker has the subscription is not delivered (unless retained).
        """
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def info(self) -> dict[str, Any]:
        """Return status facts for health and the UI (never credentials)."""
        return {
            "status": self.status,
            "broker": str(self.address),
            "client_id": self.client_id,
            "protocol": "5" if self.v5 else "3.1.1",
            "connects": self.connects,
            "last_error": self.last_error,
            "refused_publishes": self.refused_publishes,
            "refused_subscriptions": self.refused_subscriptions,
        }

    # -- connection loop ---------------------------------------------------------------------

    async def probe(self, within: float = 5.0) -> None:
        """Connect once and disconnect, outside the loop: a set-up form's broker check.

        Give it settings with a client id of its own (two clients with one id knock each
        other off).  Raises MqttNotConnected saying why; ``refused`` is True when the
        broker turned the user name or password down.
        """
        client = self._build()
        try:
            async with asyncio.timeout(within):
                await client.__aenter__()
        except TimeoutError as err:
            raise MqttNotConnected(f"MQTT broker {self.address} did not answer in {within:g} s") from err
        except aiomqtt.MqttError as err:
            rc = getattr(err, "rc", None)
            problem = MqttNotConnected(f"MQTT broker {self.address}: {err}")
            # CONNACK 4/5 (MQTT 3.1.1), 134/135 (MQTT 5): bad user name or password / not authorised.
            problem.refused = getattr(rc, "value", rc) in (4, 5, 134, 135)
            raise problem from err
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.__aexit__(None, None, None)

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
        if s.tls or (s.tls is None and (self.address.tls or s.ca_file)):
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
        if INTERNALS.check(client):
            INTERNALS.install(client, self._on_paho_message, self._on_refused)
        return client

    def _on_paho_message(self, message: Any) -> None:
        self._deliver(message.topic, message.payload, message.qos, bool(message.retain), message)

    def _deliver(self, topic: str, payload: bytes, qos: int, retain: bool, message: Any) -> None:
        try:
            self._on_message(topic, payload, qos, retain, getattr(message, "properties", None))
        except Exception:  # noqa: BLE001 - logged (rate-limited, with traceback) below
            # One poisoned message must not take the connection down.
            self._log.warn(f"handler {topic}", "%s: handler failed on %s", self.name, topic, exc_info=True)

    def _on_refused(self, reason: Any) -> None:
        self.refused_publishes += 1
        self._log.warn(
            "refused", "%s: broker %s refused a publish: %s (check the ACL)", self.name, self.address, reason
        )

    async def _run(self) -> None:
        # Decorrelated jitter: a hundred hubs that lost the same broker don't come back in step.
        # Real time: the broker is a real process even when a test's FakeClock drives the hub.
        backoff = Backoff(self.settings.reconnect_min, self.settings.reconnect_max, decorrelated=True)
        # A short outage (a broker restart) costs about its own length.
        fast = Backoff(0.2, 0.5, decorrelated=True)
        loop = asyncio.get_running_loop()
        lost_at: float | None = None
        while not self._stopping:
            self._set_status(STATUS_CONNECTING)
            try:
                client = self._build()
                async with client:
                    self._client = client
                    self._session_up = True
                    lost_at = None
                    self.connects += 1
                    backoff.reset()
                    fast.reset()
                    await self._after_connect(client)
                    await self._serve(client)
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
                self._to_subscribe.clear()  # all of them are restored on the next connect
                self._to_unsubscribe.clear()
                was_connected = self._connected.is_set()
                self._connected.clear()
                if was_connected and self._on_disconnect is not None:
                    try:
                        self._on_disconnect()
                    except Exception:
                        _LOGGER.exception("%s: on_disconnect hook failed", self.name)
            if self._stopped():
                break
            self._set_status(STATUS_DISCONNECTED)
            now = loop.time()
            lost_at = now if lost_at is None else lost_at
            await (fast if now - lost_at < self.settings.fast_retry_for else backoff).sleep(REAL_TIME)

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Return (by raising MqttError) when the connection drops."""
        if INTERNALS.usable:
            async for _ in client.messages:
                pass  # messages arrive through on_message; this waits for the drop
        else:
            async for message in client.messages:
                payload = message.payload
                raw = payload if isinstance(payload, bytes) else str(payload or "").encode()
                self._deliver(str(message.topic), raw, message.qos, message.retain, message)

    async def _after_connect(self, client: aiomqtt.Client) -> None:
        """Restore subscriptions, announce, then report connected."""
        self.refused_subscriptions = []
        restored = dict(self._broker_filters)
        await self._subscribe(client, list(restored.items()))
        if self._birth is not None:
            topic, payload, qos, retain = self._birth
            await client.publish(topic, payload, qos=qos, retain=retain)
        self._connected.set()
        # Retained messages arrive while the filters above are restored, and their handlers
        # subscribe more (an entity from a retained discovery config subscribes its state
        # topic); subscribe_filters only recorded those while not yet connected: send them now.
        late = [(f, q) for f, q in self._broker_filters.items() if restored.get(f, -1) < q]
        if late:
            self._to_subscribe.extend(late)
            self._spawn(self._subscribe_batch(client))
        self.last_error = None
        self._set_status(STATUS_CONNECTED)
        if self.connects > 1:
            _LOGGER.info("%s: reconnected to %s", self.name, self.address)
        else:
            _LOGGER.info("%s: connected to %s as %s", self.name, self.address, self.client_id)
        for callback in list(self._connect_callbacks):
            self._run_callback(callback)

    async def _subscribe(self, client: aiomqtt.Client, filters: list[tuple[str, int]]) -> None:
        for i in range(0, len(filters), SUBSCRIBE_CHUNK):
            chunk = filters[i : i + SUBSCRIBE_CHUNK]
            # no_local: the station subscribes to a filter that also matches what it
            # publishes (acks, commands); under v5 the broker need not echo them back.
            options: list[tuple[str, Any]] = [
                (f, SubscribeOptions(qos=q, noLocal=True) if self.v5 else q) for f, q in chunk
            ]
            granted = await client.subscribe(options)
            for (name, _qos), code in zip(chunk, granted or (), strict=False):
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

    async def _subscribe_batch(self, client: aiomqtt.Client) -> None:
        await asyncio.sleep(0)  # let the rest of this loop iteration's subscriptions join the batch
        filters, self._to_subscribe = self._to_subscribe, []
        try:
            await self._subscribe(client, filters)
        except aiomqtt.MqttError as err:
            # The reconnect that follows restores them.
            _LOGGER.debug("%s: subscribe of %d filters failed: %s", self.name, len(filters), err)

    async def _unsubscribe_batch(self, client: aiomqtt.Client) -> None:
        await asyncio.sleep(0)
        # A filter subscribed again meanwhile stays.
        filters = [f for f in dict.fromkeys(self._to_unsubscribe) if f not in self._broker_filters]
        self._to_unsubscribe = []
        try:
            for i in range(0, len(filters), SUBSCRIBE_CHUNK):
                await client.unsubscribe(filters[i : i + SUBSCRIBE_CHUNK])
        except aiomqtt.MqttError as err:
            _LOGGER.debug("%s: unsubscribe of %d filters failed: %s", self.name, len(filters), err)

    async def _publish_quietly(
        self, client: aiomqtt.Client, topic: str, payload: bytes, qos: int, retain: bool, props: Any
    ) -> None:
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(topic, payload, qos=qos, retain=retain, properties=props, timeout=10)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _run_callback(self, callback: ConnectHook) -> None:
        try:
            result = callback()
            if inspect.isawaitable(result):
                self._spawn(result)
        except Exception:
            _LOGGER.exception("%s: on_connect callback %r failed", self.name, callback)

    def _may_unsubscribe(self) -> bool:
        """Return whether an UNSUBSCRIBE is worth sending (not while the connection is closing)."""
        return not self._stopping

    def _stopped(self) -> bool:
        # A method, not the attribute: stop() flips it while _run awaits.
        return self._stopping

    def _set_status(self, status: str) -> None:
        if status == self.status:
            return
        self.status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                _LOGGER.exception("%s: status callback failed", self.name)
