"""The SIA DC-09 receiver: frames in, ACK/NAK/DUH out.

pysiaalarm parses, decrypts and builds the answers; this module owns the
transport and the acceptance policy, because pysiaalarm's own server
answers a bad CRC with a bare ``\\n\\r`` (not a NAK), reads one ``read(1000)``
as one frame, and lets a garbled hex body crash the connection.  Policy
(notes §3.2):

* bad CRC, undecodable or garbage frame, wrong key, timestamp outside the
  account's window, encrypted frame without timestamp, plaintext frame for
  an account that has a key → ``NAK`` (and one rate-limited log line);
* unknown account, unknown event code → ``DUH``;
* otherwise ``ACK``, then the event is handed to the hub.

Keys: panels show AES keys in hex; pysiaalarm takes the key's *ASCII*
bytes.  The account's ``key_b`` is set to the real key bytes and its ``key``
left empty, which also stops pysiaalarm echoing the key in ``[K…]`` answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from pysiaalarm.account import SIAAccount
from pysiaalarm.errors import EventFormatError, NoAccountError
from pysiaalarm.event import NAKEvent, OHEvent, SIAEvent

from hub.badinput import BadInputLog
from integrations.sia.config import SiaAccountConfig
from integrations.sia.const import MAX_FRAME

__all__ = ("SiaReceiver", "make_account", "frame", "Verdict")

_LOGGER = logging.getLogger(__name__)

EventHandler = Callable[[SIAEvent], Awaitable[None]]


def make_account(cfg: SiaAccountConfig) -> SIAAccount:
    """Return a pysiaalarm account with the key bytes the panel really uses."""
    account = SIAAccount(account_id=cfg.account.upper(), key=None, allowed_timeband=cfg.allowed_timeband)
    account.key_b = cfg.key_bytes()
    return account


def frame(body: str) -> bytes:
    """Wrap a response body as ``\\n<CRC><0LLL><body>\\r``."""
    crc = SIAEvent._crc_calc(body)  # pysiaalarm's CRC-16/ARC, exposed as a static helper
    return f"\n{crc}{len(body):04X}{body}\r".encode("ascii")


def _nak() -> bytes:
    return NAKEvent().create_response()


class Verdict:
    """What happened to one frame: the answer sent, and the event to act on (if accepted)."""

    __slots__ = ("response", "event", "reason")

    def __init__(self, response: bytes, event: SIAEvent | None = None, reason: str = "") -> None:
        self.response = response
        self.event = event
        self.reason = reason

    @property
    def kind(self) -> str:
        """Return ``ACK``, ``NAK``, ``DUH`` or ``RSP``."""
        head = self.response.split(b'"')
        return head[1].decode("ascii", "replace").lstrip("*") if len(head) > 2 else "NAK"


class SiaReceiver:
    """TCP and/or UDP listener for DC-09 frames."""

    def __init__(
        self,
        accounts: list[SiaAccountConfig],
        on_event: EventHandler,
        *,
        host: str,
        port: int,
        protocol: str = "tcp",
    ) -> None:
        self.accounts = {a.account.upper(): make_account(a) for a in accounts}
        self.on_event = on_event
        self.host = host
        self.port = port
        self.protocol = protocol
        self.bad = BadInputLog(_LOGGER)
        self.counts: dict[str, int] = {"ACK": 0, "NAK": 0, "DUH": 0}
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the policy --------------------------------------------------------------------

    def judge(self, data: bytes, peer: str = "?") -> Verdict | None:
        """Return the answer to one frame (None for an empty line)."""
        line = data.decode("ascii", errors="replace").strip("\r\n\x00 ")
        if not line:
            return None
        verdict = self._judge(line)
        self.counts[verdict.kind] = self.counts.get(verdict.kind, 0) + 1
        if verdict.reason:
            self.bad.warn(
                f"{peer} {verdict.reason}",
                "SIA from %s: %s → %s (frame %r)",
                peer,
                verdict.reason,
                verdict.kind,
                line[:120],
            )
        return verdict

    def _judge(self, line: str) -> Verdict:
        try:
            event = SIAEvent.from_line(line, self.accounts)
        except NoAccountError:
            return Verdict(_nak(), reason="encrypted frame for an unknown account or without key")
        except EventFormatError:
            return Verdict(_nak(), reason="undecodable frame (garbage, or wrong key)")
        except (ValueError, TypeError, IndexError, UnicodeError) as err:
            return Verdict(_nak(), reason=f"undecodable frame ({type(err).__name__})")
        if isinstance(event, OHEvent):
            return Verdict(event.create_response(), event)
        # pysiaalarm writes a missing receiver as the text "None" into its answers.
        event.receiver = event.receiver or ""
        if not event.valid_message:
            return Verdict(_nak(), reason="bad CRC")
        account = event.sia_account
        if account is None:
            body = f'"DUH"{event.sequence}{event.receiver}{event.line}#{event.account}[]'
            return Verdict(frame(body), reason=f"unknown account {event.account}")
        if account.encrypted and not event.encrypted:
            return Verdict(_nak(), reason=f"plaintext frame for encrypted account {event.account}")
        if event.encrypted and event.timestamp is None:
            return Verdict(_nak(), reason="encrypted frame without timestamp")
        if not event.valid_timestamp:
            return Verdict(_nak(), reason=f"timestamp {event.timestamp} outside the window")
        if event.code_not_found:
            return Verdict(event.create_response(), reason=f"unknown code {event.code!r}")
        return Verdict(event.create_response(), event)

    # -- transports ----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen; with port 0 the OS picks one (see :attr:`port`)."""
        if self.protocol in ("tcp", "both"):
            self._server = await asyncio.start_server(self._handle_tcp, self.host, self.port, limit=MAX_FRAME)
            self.port = self._server.sockets[0].getsockname()[1]
        if self.protocol in ("udp", "both"):
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, self.port)
            )
            self._udp = transport
            if self.port == 0:
                self.port = transport.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        for task in list(self._tasks):
            task.cancel()

    async def _handle_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str(writer.get_extra_info("peername") or "?")
        try:
            while True:
                try:
                    data = await reader.readuntil(b"\r")
                except asyncio.IncompleteReadError as err:
                    if err.partial.strip():
                        self._answer(writer, err.partial, peer)
                    break
                except asyncio.LimitOverrunError:
                    # A frame longer than any DC-09 frame: answer once and hang up.
                    writer.write(_nak())
                    self.counts["NAK"] += 1
                    self.bad.warn(
                        f"{peer} long", "SIA from %s: frame over %d bytes → NAK, closing", peer, MAX_FRAME
                    )
                    break
                self._answer(writer, data, peer)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _answer(self, writer: asyncio.StreamWriter, data: bytes, peer: str) -> None:
        verdict = self.judge(data, peer)
        if verdict is None:
            return
        writer.write(verdict.response)
        if verdict.event is not None and verdict.kind == "ACK":
            self._dispatch(verdict.event)

    def _dispatch(self, event: SIAEvent) -> None:
        # The ACK is already on its way: the panel must not wait for the hub's disk.
        task = asyncio.ensure_future(self._run(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, event: SIAEvent) -> None:
        try:
            await self.on_event(event)
        except Exception:
            _LOGGER.exception("Handling SIA event %s failed", event.code)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, receiver: SiaReceiver) -> None:
        self.receiver = receiver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if len(data) > MAX_FRAME:
            return
        verdict = self.receiver.judge(data, str(addr))
        if verdict is None or self.transport is None:
            return
        self.transport.sendto(verdict.response, addr)
        if verdict.event is not None and verdict.kind == "ACK":
            self.receiver._dispatch(verdict.event)
