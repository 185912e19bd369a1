"""SIA DC-09: siadc09 plays the alarm panel (plain, encrypted and Contact ID frames) over TCP and UDP."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from siadc09 import account, message, util, xdata

KEY = "000102030405060708090a0b0c0d0e0f"  # AES-128 as the panel shows it (hex)
WRONG = "ffeeddccbbaa99887766554433221100"

CONFIG = f"""\
sos:
  - {{id: bank_panel, name: Bank counter, sia: {{account: "1A2B", zone: 1}}}}
sia:
  host: 127.0.0.1
  port: 0
  protocol: both
  accounts:
    - {{account: "1A2B", name: Bank branch}}
    - {{account: "BEEF", key: {KEY}, zones: [7]}}
"""


def frame(
    acct: str,
    idtoken: str,
    content: bytes,
    *,
    key: str | None = None,
    seq: int = 1,
    ts_shift: float = 0.0,
    timestamp: bool = True,
) -> bytes:
    """Encode one DC-09 event frame the way a panel's communicator does."""
    acc = account.Account(acct=int(acct, 16), key=key)
    when = util.now() + timedelta(seconds=ts_shift) if timestamp else None
    msg = message.EventMessage(
        acc, config={"idtoken": idtoken, "seqno": seq, "data": xdata.Data(content=content), "timestamp": when}
    )
    return bytes(msg.encode())


async def send_tcp(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r"), 5)
    finally:
        writer.close()
        await writer.wait_closed()


async def send_udp(port: int, data: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bytes] = loop.create_future()

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, payload: bytes, addr: Any) -> None:
            if not answer.done():
                answer.set_result(payload)

    transport, _ = await loop.create_datagram_endpoint(Proto, remote_addr=("127.0.0.1", port))
    try:
        transport.sendto(data)
        return await asyncio.wait_for(answer, 5)
    finally:
        transport.close()


def kind(answer: bytes) -> str:
    return answer.split(b'"')[1].decode().lstrip("*")


@pytest.fixture
async def sia_hub(make_hub: Any) -> Any:
    hub = await make_hub(CONFIG, real_clock=True)
    from integrations.sia.const import RUNTIME as SIA_RUNTIME

    hub.sia_port = hub.data[SIA_RUNTIME].port
    return hub


async def _collect(hub: Any) -> tuple[list[Any], list[Any]]:
    presses: list[Any] = []
    events: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    hub.bus.listen("sia_event", events.append)
    return presses, events


async def test_plain_sia_panic_presses_configured_and_new_zones(sia_hub: Any) -> None:
    hub = sia_hub
    presses, events = await _collect(hub)
    answer = await send_tcp(hub.sia_port, frame("1A2B", "SIA-DCS", b"#1A2B|Nri1/PA001"))
    assert kind(answer) == "ACK" and b"None" not in answer  # pysiaalarm's "None" receiver quirk is fixed
    parsed = message.parse_frame(answer)
    assert parsed.idtoken == "ACK" and parsed.seq == 1
    answer = await send_tcp(hub.sia_port, frame("1A2B", "SIA-DCS", b"#1A2B|Nri1/PA003", seq=2))
    assert kind(answer) == "ACK"
    await hub.block_till_done()
    assert [(p.data["entity_id"], p.data["action"], p.data["source"]) for p in presses] == [
        ("sos.bank_panel", "panic", "sia"),
        ("sos.1a2b_3", "panic", "sia"),
    ]
    assert hub.states.get("sos.1a2b_3").state == "triggered"
    assert hub.states.get("sos.beef_7").state == "idle"  # pre-created from zones: [7]
    assert events == []


async def test_contact_id_duress_and_restore(sia_hub: Any) -> None:
    hub = sia_hub
    presses, events = await _collect(hub)
    assert kind(await send_tcp(hub.sia_port, frame("1A2B", "ADM-CID", b"#1A2B|1121 01 001"))) == "ACK"
    assert kind(await send_tcp(hub.sia_port, frame("1A2B", "ADM-CID", b"#1A2B|3121 01 001", seq=2))) == "ACK"
    assert kind(await send_tcp(hub.sia_port, frame("1A2B", "ADM-CID", b"#1A2B|1130 01 004", seq=3))) == "ACK"
    await hub.block_till_done()
    assert [(p.data["entity_id"], p.data["action"], p.data["cid"]) for p in presses] == [
        ("sos.bank_panel", "duress", "1121")
    ]
    assert [(e.data["code"], e.data["zone"], e.data["cid"]) for e in events] == [
        ("HH", 1, "3121"),
        ("BA", 4, "1130"),
    ]
    assert events[1].data["description"]


async def test_encrypted_frames(sia_hub: Any) -> None:
    hub = sia_hub
    presses, events = await _collect(hub)
    answer = await send_tcp(hub.sia_port, frame("BEEF", "SIA-DCS", b"#BEEF|Nri1/BA002", key=KEY))
    assert answer.split(b'"')[1] == b"*ACK"
    acked = message.parse_frame(answer, keys=bytes.fromhex(KEY))  # the panel can decrypt our ACK
    assert acked.idtoken == "ACK" and acked.timestamp is not None
    answer = await send_tcp(hub.sia_port, frame("BEEF", "SIA-DCS", b"#BEEF|Nri1/HA007", key=KEY, seq=2))
    assert kind(answer) == "ACK"
    await hub.block_till_done()
    assert [e.data["code"] for e in events] == ["BA"]
    assert [(p.data["entity_id"], p.data["action"]) for p in presses] == [("sos.beef_7", "holdup")]


@pytest.mark.parametrize(
    "bad",
    [
        "wrong_key",
        "old_timestamp",
        "future_timestamp",
        "plaintext_for_keyed",
        "bad_crc",
        "garbage",
        "no_timestamp_encrypted",
    ],
)
async def test_refused_frames_get_nak(sia_hub: Any, bad: str, caplog: Any) -> None:
    hub = sia_hub
    presses, events = await _collect(hub)
    data = {
        "wrong_key": lambda: frame("BEEF", "SIA-DCS", b"#BEEF|Nri1/PA001", key=WRONG),
        "old_timestamp": lambda: frame("BEEF", "SIA-DCS", b"#BEEF|Nri1/PA001", key=KEY, ts_shift=-120),
        "future_timestamp": lambda: frame("BEEF", "SIA-DCS", b"#BEEF|Nri1/PA001", key=KEY, ts_shift=90),
        "plaintext_for_keyed": lambda: frame("BEEF", "SIA-DCS", b"#BEEF|Nri1/PA001"),
        "bad_crc": lambda: b"\n0000" + frame("1A2B", "SIA-DCS", b"#1A2B|Nri1/PA001")[5:],
        "garbage": lambda: b"\nHELLO, IS THIS THE ALARM CENTRE?\r",
        "no_timestamp_encrypted": lambda: _encrypted_without_timestamp(),
    }[bad]()
    answer = await send_tcp(hub.sia_port, data)
    assert kind(answer) == "NAK"
    await asyncio.sleep(0.05)
    await hub.block_till_done()
    assert presses == [] and events == []
    assert any("NAK" in r.getMessage() for r in caplog.records)


def _encrypted_without_timestamp() -> bytes:
    acc = account.Account(acct=0xBEEF, key=KEY)
    msg = message.EventMessage(
        acc, config={"idtoken": "SIA-DCS", "seqno": 1, "data": xdata.Data(content=b"#BEEF|Nri1/PA001")}
    )
    # siadc09 always stamps encrypted frames: cut the timestamp out of the cleartext.
    return _strip_ts(bytes(msg.encode()))


def _strip_ts(raw: bytes) -> bytes:
    from siadc09.util import crc, decrypt, encrypt

    head, _, rest = raw[9:-1].partition(b"[")
    clear = decrypt(bytes.fromhex(KEY), bytes.fromhex(rest.decode()))
    body = clear[: clear.rindex(b"]") + 1]
    body = body + b"\x00" * (-len(body) % 16)
    msg = head + b"[" + encrypt(bytes.fromhex(KEY), body).hex().encode()
    return b"\n" + b"%04X" % crc(msg) + b"0%03X" % len(msg) + msg + b"\r"


async def test_unknown_account_duh_and_udp(sia_hub: Any) -> None:
    hub = sia_hub
    presses, _ = await _collect(hub)
    assert kind(await send_tcp(hub.sia_port, frame("9999", "SIA-DCS", b"#9999|Nri1/PA001"))) == "DUH"
    assert kind(await send_udp(hub.sia_port, frame("1A2B", "SIA-DCS", b"#1A2B|Nri1/PA002"))) == "ACK"
    assert kind(await send_udp(hub.sia_port, b"\x00\xff garbage")) == "NAK"
    await hub.block_till_done()
    assert [p.data["entity_id"] for p in presses] == ["sos.1a2b_2"]


async def test_several_frames_on_one_connection_and_null_poll(sia_hub: Any) -> None:
    hub = sia_hub
    presses, events = await _collect(hub)
    reader, writer = await asyncio.open_connection("127.0.0.1", hub.sia_port)
    frames = [frame("1A2B", "SIA-DCS", b"#1A2B|Nri1/PA001", seq=i) for i in range(1, 4)]
    null = bytes(message.NullMessage(account.Account(acct=0x1A2B)).encode())
    writer.write(b"".join(frames) + null)  # coalesced in one TCP segment
    await writer.drain()
    answers = [await asyncio.wait_for(reader.readuntil(b"\r"), 5) for _ in range(4)]
    writer.close()
    assert [kind(a) for a in answers] == ["ACK"] * 4
    await hub.block_till_done()
    assert len(presses) == 3 and events == []  # the NULL poll is a heartbeat, not an event


def test_hex_key_is_converted_for_pysiaalarm() -> None:
    from integrations.sia.config import SiaAccountConfig
    from integrations.sia.receiver import make_account

    acc = make_account(SiaAccountConfig(account="beef", key=KEY))
    assert acc.key_b == bytes.fromhex(KEY) and len(acc.key_b) == 16 and acc.encrypted
    assert acc.key is None  # pysiaalarm echoes `key` in [K…] answers: it must stay empty
    ascii_acc = make_account(SiaAccountConfig(account="beef", key="A" * 16, key_format="ascii"))
    assert ascii_acc.key_b == b"A" * 16
