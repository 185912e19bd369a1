"""Contributor kit: a real Mosquitto broker for tests (re-exported by ``hub.testing``).

``mosquitto`` is one anonymous broker per test session on a free 127.0.0.1
port; ``mosquitto_factory`` starts more, e.g. with a password file and an ACL::

    def test_my_sensor(mosquitto):
        ...  # mqtt: {broker: mosquitto.url}

    def test_acl(mosquitto_factory, tmp_path):
        broker = mosquitto_factory(password_file=pw, acl_file=acl)

Both need Debian's ``mosquitto`` package (``/usr/sbin/mosquitto``); without it
the tests that use them are skipped, not failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

__all__ = (
    "Mosquitto",
    "MosquittoFactory",
    "MessageLog",
    "MqttPeer",
    "mosquitto",
    "mosquitto_factory",
    "mqtt_peer",
    "find_mosquitto",
    "free_port",
    "mqtt_block",
    "wait_until",
)

_unique = itertools.count(1)

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")


def find_mosquitto() -> str | None:
    """Return the broker binary's path, or None."""
    for path in MOSQUITTO_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("mosquitto")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mosquitto:
    """One broker process on 127.0.0.1 with a generated config in its own folder."""

    def __init__(
        self,
        folder: Path,
        *,
        binary: str,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        persistence: bool = False,
        extra_conf: str = "",
    ) -> None:
        self.folder = folder
        self.binary = binary
        self.host = "127.0.0.1"
        self.port = free_port()
        self.password_file = password_file
        self.acl_file = acl_file
        self.persistence = persistence
        self.extra_conf = extra_conf
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self._write_conf()

    @property
    def url(self) -> str:
        """Return ``mqtt://127.0.0.1:<port>`` for the ``mqtt:`` block."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Return whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def _write_conf(self) -> None:
        lines = [
            "per_listener_settings false",
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if self.password_file else 'true'}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_queued_messages 100000",
        ]
        if self.password_file is not None:
            lines.append(f"password_file {Path(self.password_file).resolve()}")
        if self.acl_file is not None:
            lines.append(f"acl_file {Path(self.acl_file).resolve()}")
        if self.persistence:
            lines += [
                "persistence true",
                f"persistence_location {self.folder.resolve()}/",
                "autosave_interval 1",
            ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # As root, mosquitto 2 drops to user mosquitto and then cannot write our folder.
            lines.append("user root")
        if self.extra_conf:
            lines.append(self.extra_conf)
        self.conf.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts connections."""
        if self.running:
            return
        log = self.log.open("ab")
        try:
            self._proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self._proc.returncode}: {self.log_text()[-2000:]}"
                )
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        """Stop the broker (terminate, then kill)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def restart(self) -> None:
        """Stop and start again on the same port (clients see the connection drop)."""
        self.stop()
        self.start()

    def log_text(self) -> str:
        """Return what the broker logged so far."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""


MosquittoFactory = Callable[..., Mosquitto]


def _require_binary() -> str:
    binary = find_mosquitto()
    if binary is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    return binary


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """An anonymous Mosquitto on 127.0.0.1, shared by the whole test session.

    Tests that stop or restart it must leave it running (``start()``).
    """
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"), binary=_require_binary())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoFactory]:
    """Start extra brokers (auth, ACL, persistence); each is stopped when the test ends.

    ``mosquitto_factory(password_file=..., acl_file=..., persistence=False, extra_conf="")``;
    make password files with ``mosquitto_passwd -b -c FILE USER PASSWORD``.
    """
    brokers: list[Mosquitto] = []

    def _make(
        *,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        persistence: bool = False,
        extra_conf: str = "",
        start: bool = True,
    ) -> Mosquitto:
        broker = Mosquitto(
            tmp_path_factory.mktemp("mosquitto"),
            binary=_require_binary(),
            password_file=password_file,
            acl_file=acl_file,
            persistence=persistence,
            extra_conf=extra_conf,
        )
        brokers.append(broker)
        if start:
            broker.start()
        return broker

    yield _make
    for broker in brokers:
        broker.stop()


def mqtt_block(broker: Mosquitto | str, **options: Any) -> str:
    """Return an ``mqtt:`` YAML block for ``broker`` with fast reconnects and a unique client id.

    Extra options are added as YAML flow values (``mqtt_block(b, birth="false")``).
    """
    url = broker.url if isinstance(broker, Mosquitto) else broker
    values = {
        "broker": url,
        "client_id": f"test-{os.getpid()}-{next(_unique)}",
        "reconnect_min": "0.05",
        "reconnect_max": "0.5",
        **{k: str(v) for k, v in options.items()},
    }
    return "mqtt: {" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}\n"


async def wait_until(predicate: Callable[[], Any], within: float = 5.0, message: str = "") -> Any:
    """Poll ``predicate`` (real time) until it returns something truthy; fail the test after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {within}s")
        await asyncio.sleep(0.01)


class MessageLog:
    """Messages a test peer received, by topic."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []

    def payloads(self, topic: str) -> list[bytes]:
        """Return the payloads received on ``topic``, oldest first."""
        return [p for t, p, _ in self.messages if t == topic]

    async def wait(self, topic: str, count: int = 1, within: float = 5.0) -> list[bytes]:
        """Wait until ``count`` messages arrived on ``topic``; return their payloads."""
        await wait_until(
            lambda: len(self.payloads(topic)) >= count,
            within,
            f"expected {count} message(s) on {topic}, got {self.payloads(topic)!r}",
        )
        return self.payloads(topic)


class MqttPeer:
    """A device (or Zigbee2MQTT, or Frigate) played by the test: publishes and records."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.log = MessageLog()

    async def publish(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Publish exactly ``payload``."""
        await self.client.publish(topic, payload, qos=qos, retain=retain)

    async def subscribe(self, topic_filter: str, qos: int = 1) -> MessageLog:
        """Record messages matching ``topic_filter`` into :attr:`log`."""
        await self.client.subscribe(topic_filter, qos=qos)
        return self.log


@pytest_asyncio.fixture
async def mqtt_peer(mosquitto: Mosquitto) -> AsyncIterator[MqttPeer]:
    """An MQTT client on the session broker, for playing devices and checking the hub's commands."""
    import aiomqtt

    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, identifier=f"peer-{os.getpid()}-{next(_unique)}"
    ) as client:
        peer = MqttPeer(client)

        async def pump() -> None:
            async for message in client.messages:
                payload = (
                    message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
                )
                peer.log.messages.append((str(message.topic), payload, bool(message.retain)))

        task = asyncio.create_task(pump())
        try:
            yield peer
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
