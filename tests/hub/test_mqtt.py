"""The shared MQTT connection layer: the library internals guard, the read buffer, the fallback path."""

from __future__ import annotations

import asyncio
import inspect
import socket
import uuid
from typing import Any

import aiomqtt
import pytest

from hub.mqtt import INTERNALS, SUPPORTED, BufferedSocket, ConnectionSettings, MqttConnection
from hub.testing import Mosquitto, wait_until


async def test_the_private_attributes_the_fast_path_uses_are_still_there() -> None:
    # If this fails after a library upgrade, read hub/mqtt.py's _Internals against the new
    # aiomqtt/paho code, fix it, then widen SUPPORTED: the hub would otherwise run on the
    # slow path (or, worse, with a half-installed fast path) without anyone noticing.
    assert INTERNALS.versions == {dist: majors[-1] for dist, majors in SUPPORTED.items()}, (
        f"aiomqtt/paho-mqtt versions {INTERNALS.versions} are outside {SUPPORTED}"
    )
    client = aiomqtt.Client("127.0.0.1")
    paho = client._client
    missing = [name for name in INTERNALS.PAHO_ATTRIBUTES if not hasattr(paho, name)]
    assert not missing, f"paho's client lost {missing}: the MQTT fast path cannot be installed"
    assert paho._transport == "tcp"
    assert callable(paho._create_socket)
    # paho's callback API version 2: on_publish(client, userdata, mid, reason_code, properties).
    on_publish = paho.on_publish  # aiomqtt's own, which ours wraps
    assert on_publish is not None and len(inspect.signature(on_publish).parameters) == 5
    assert INTERNALS.check(client) and INTERNALS.usable


def test_the_read_buffer_serves_small_reads_from_one_recv() -> None:
    left, right = socket.socketpair()
    try:
        right.sendall(b"\x30\x05hello\x30\x02hi")
        recvs: list[int] = []

        class Counting:
            def recv(self, size: int) -> bytes:
                recvs.append(size)
                return left.recv(size)

        buffered = BufferedSocket(Counting())
        reads = [buffered.recv(1), buffered.recv(1), buffered.recv(5), buffered.recv(1)]
        assert reads == [b"\x30", b"\x05", b"hello", b"\x30"]
        assert buffered.pending() == 3  # the rest of the second packet is in memory
        assert buffered.recv(100) == b"\x02hi"
        assert len(recvs) == 1  # one system call for two packets
        right.close()
        assert buffered.recv(1) == b""  # the peer closed: paho sees the end of the stream
        assert BufferedSocket(left).fileno() == left.fileno()  # everything else passes through
    finally:
        left.close()
        right.close()


async def _round_trip(mosquitto: Mosquitto) -> tuple[MqttConnection, list[tuple[str, bytes, int, bool]]]:
    root = f"t/{uuid.uuid4().hex[:6]}"
    got: list[tuple[str, bytes, int, bool]] = []
    statuses: list[str] = []
    conn = MqttConnection(
        # 3.1.1: under v5 the subscription is no_local, and this test reads its own messages.
        ConnectionSettings(
            mosquitto.url, client_id=f"c-{root[2:]}", protocol="3.1.1", subscriptions=(f"{root}/#",)
        ),
        lambda topic, payload, qos, retain, _props: got.append((topic, payload, qos, retain)),
        name="test",
        birth=(f"{root}/status", b"online", 1, True),
        on_status=statuses.append,
    )
    conn.start()
    try:
        assert await conn.wait_connected(5), conn.info()
        await wait_until(lambda: (f"{root}/status", b"online", 1, False) in got)  # our own birth
        await conn.publish(f"{root}/a", b"1", qos=1)
        assert conn.publish_nowait(f"{root}/b", b"2", qos=0)
        await wait_until(lambda: len(got) == 3)
        assert got[1:] == [(f"{root}/a", b"1", 1, False), (f"{root}/b", b"2", 0, False)]
        assert statuses == ["connected"]  # connecting was the starting status
    finally:
        await conn.stop()
    return conn, got


async def test_a_connection_restores_its_subscriptions_and_announces_itself(mosquitto: Mosquitto) -> None:
    conn, _got = await _round_trip(mosquitto)
    assert conn.status == "stopped" and not conn.connected


async def test_without_the_fast_path_it_behaves_the_same(
    mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    # As if a library upgrade moved an attribute: the public API carries everything.
    monkeypatch.setattr(INTERNALS, "problem", "aiomqtt 3.x is not one of (2,)")
    monkeypatch.setattr(INTERNALS, "_warned", False)
    installed: list[Any] = []
    monkeypatch.setattr(INTERNALS, "install", lambda *args: installed.append(args))
    await _round_trip(mosquitto)
    assert not installed
    assert "MQTT fast path off (aiomqtt 3.x is not one of (2,))" in caplog.text


async def test_a_broker_that_is_not_there_is_retried_with_a_growing_jittered_delay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float) -> None:
        waits.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)  # the backoff waits are recorded, not waited
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # nothing listens here
    conn = MqttConnection(
        ConnectionSettings(f"mqtt://127.0.0.1:{port}", reconnect_min=1.0, reconnect_max=8.0),
        lambda *_: None,
        name="test",
    )
    conn.start()
    try:
        await wait_until(lambda: len([w for w in waits if w >= 1.0]) >= 6)
    finally:
        await conn.stop()
    backoff = [w for w in waits if w >= 1.0][:6]
    assert all(1.0 <= w <= 8.0 for w in backoff)
    assert max(backoff) > 1.0  # it grows (jittered, so not exactly doubling)
    assert conn.last_error and conn.status == "stopped"
