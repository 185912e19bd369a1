"""MQTT 3.1.1 on the wire, for benches that simulate thousands of clients.

A real client library costs more CPU per message than the broker and the hub
under test; the simulators therefore write pre-encoded packets and read back
only what they count.  One encoder and one frame reader for all of them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

__all__ = ("varint", "mqtt_str", "packet", "connect_packet", "subscribe_packet", "frames")


def varint(n: int) -> bytes:
    """Return ``n`` as MQTT's remaining-length (7 bits a byte, high bit: more follow)."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_str(s: str) -> bytes:
    """Return a length-prefixed UTF-8 string."""
    raw = s.encode()
    return struct.pack("!H", len(raw)) + raw


def packet(first: int, body: bytes) -> bytes:
    """Return a packet: its first byte (type and flags), length, body."""
    return bytes([first]) + varint(len(body)) + body


def connect_packet(client_id: str, username: str, password: str, *, keepalive: int) -> bytes:
    """Return a CONNECT with a persistent session (clean session off) and a login."""
    body = mqtt_str("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", keepalive)
    return packet(0x10, body + mqtt_str(client_id) + mqtt_str(username) + mqtt_str(password))


def subscribe_packet(topic: str, *, packet_id: int = 1) -> bytes:
    """Return a SUBSCRIBE to one filter at QoS 0."""
    return packet(0x82, struct.pack("!H", packet_id) + mqtt_str(topic) + b"\x00")


def frames(buf: bytearray) -> Iterator[tuple[int, bytes]]:
    """Yield (packet type, body) for each whole packet in ``buf`` and remove them from it.

    A partial packet stays in ``buf`` for the next read.
    """
    pos = 0
    try:
        while len(buf) - pos >= 2:
            mult, length, i = 1, 0, pos + 1
            while True:
                if i >= len(buf):
                    return
                byte = buf[i]
                length += (byte & 0x7F) * mult
                mult *= 128
                i += 1
                if not byte & 0x80:
                    break
            if len(buf) < i + length:
                return
            kind = buf[pos] >> 4
            body = bytes(buf[i : i + length])
            pos = i + length
            yield kind, body
    finally:
        del buf[:pos]
