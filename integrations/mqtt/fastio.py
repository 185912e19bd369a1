"""A read buffer under paho-mqtt's socket: fewer system calls per message.

paho reads every packet with at least three ``recv`` calls (one byte of
command, the length bytes one at a time, then the body).  At thousands of
device messages a second those system calls are a large part of the cost.
:class:`BufferedSocket` fills a 4 KiB buffer with one ``recv`` and serves
paho's small reads from memory.  It reports the buffered byte count through
``pending()``, the same hook paho and aiomqtt already use for TLS sockets,
so the reader keeps draining the buffer even though the kernel socket is no
longer readable.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

__all__ = ("BufferedSocket", "wrap_paho_client")

#: Small enough that one refill is processed in a few milliseconds (SOS latency),
#: large enough to turn ~3 system calls per message into one per ~50 messages.
_CHUNK = 4 * 1024


class BufferedSocket:
    """Wrap a connected socket; everything but ``recv``/``pending`` passes through."""

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


def wrap_paho_client(paho_client: Any) -> bool:
    """Make ``paho_client`` buffer its reads; return False if its internals are not as expected."""
    create = getattr(paho_client, "_create_socket", None)
    if create is None or getattr(paho_client, "_transport", "tcp") != "tcp":
        return False

    def create_buffered() -> Any:
        sock = create()
        # aiomqtt sets socket_options only on a bare socket.socket, which this
        # wrapper hides; without TCP_NODELAY, Nagle plus delayed ACKs can hold
        # a small publish (an SOS) for up to 40 ms.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return BufferedSocket(sock)

    paho_client._create_socket = create_buffered
    return True
