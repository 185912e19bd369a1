"""The benches' hand-written MQTT: what they send a broker accepts; frames split anywhere are read whole."""

from __future__ import annotations

import asyncio

from bench.mqtt_wire import connect_packet, frames, packet, subscribe_packet, varint
from integrations.mqtt.testing import Mosquitto


def test_frames_are_read_whole_however_the_bytes_arrive() -> None:
    sent = [packet(0x30, b"x" * n) for n in (0, 1, 127, 128, 16_384, 300)]
    wire = b"".join(sent)
    assert varint(127) == b"\x7f" and varint(128) == b"\x80\x01" and varint(16_384) == b"\x80\x80\x01"
    for step in (1, 2, 3, 7, 1000, len(wire)):
        buf = bytearray()
        got: list[tuple[int, bytes]] = []
        for start in range(0, len(wire), step):
            buf += wire[start : start + step]
            got += list(frames(buf))
        assert got == [(3, b"x" * n) for n in (0, 1, 127, 128, 16_384, 300)] and not buf


async def test_a_broker_accepts_the_connect_and_subscribe(mosquitto: Mosquitto) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", mosquitto.port)
    try:
        writer.write(connect_packet("sim-wire", "sim-wire", "password-1234", keepalive=60))
        writer.write(subscribe_packet("bench/wire/ack"))
        buf = bytearray()
        kinds: list[tuple[int, bytes]] = []
        while len(kinds) < 2:
            buf += await asyncio.wait_for(reader.read(1024), 5)
            kinds += list(frames(buf))
        assert kinds[0] == (2, b"\x00\x00")  # CONNACK: accepted
        assert kinds[1] == (9, b"\x00\x01\x00")  # SUBACK for packet id 1, QoS 0 granted
    finally:
        writer.close()
        await writer.wait_closed()
