"""Fuzz targets shared by the suite (``tests/fuzz``, fast settings) and ``bench/fuzz.py`` (≥ 100k cases each).

Each target is an input strategy plus an oracle: the input goes through the
real code, and the outcome must be either *accepted* or *refused with a
clear error* of the kind that code documents (a ``ConfigError`` with a file
and a message, a pydantic ``ValidationError``, a SIA ``NAK``/``DUH`` answer,
a 4xx with a JSON ``error``, a bad-input warning).  Anything else, an
unexpected exception, a handler crash caught by a safety net and logged, a
5xx, is a failure.

Pure targets (``config``, ``sia``, ``federation``) are plain functions; the
hub targets (``mqtt``, ``line_webhook``) run against a real hub that the
caller starts once (:class:`HubRig`), since starting one per case would
measure start-up, not parsing.
"""

from __future__ import annotations

import json
import logging
import string
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pydantic
from hypothesis import strategies as st

from hub.config import ConfigError

# -- shared strategies ---------------------------------------------------------------------

JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=24),
)
JSON = st.recursive(
    JSON_SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=12,
)


def mutated_bytes(seeds: list[bytes] | st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Real inputs with a few bytes flipped, cut, repeated or inserted; plus raw noise."""
    seed_strategy = st.sampled_from(seeds) if isinstance(seeds, list) else seeds

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(seed_strategy))
        for _ in range(draw(st.integers(0, 4))):
            op = draw(st.sampled_from(["flip", "cut", "insert", "dup", "trunc"]))
            if not data and op != "insert":
                continue
            at = draw(st.integers(0, max(0, len(data) - 1)))
            if op == "flip":
                data[at] = draw(st.integers(0, 255))
            elif op == "cut":
                del data[at : at + draw(st.integers(1, 8))]
            elif op == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            elif op == "dup":
                data[at:at] = data[at : at + draw(st.integers(1, 16))]
            else:
                del data[at:]
        return bytes(data)

    return st.one_of(mutate(), st.binary(max_size=200))


# -- 1. the config loader ---------------------------------------------------------------------

#: The reference config of DESIGN §4.1 (secrets inline so that it loads alone), the seed of every case.
CONFIG_SEED = """\
hub: {id: talat-sot-01, name: ตลาดสดเทศบาล, zone: angthong-mueang, timezone: Asia/Bangkok,
      location: {lat: 14.5896, lon: 100.4550}, data_dir: ./data,
      web: {host: 127.0.0.1, port: 8123, public_url: https://talat.example.org}}
mqtt: {broker: mqtt://127.0.0.1:1883, username: hub, password: !secret mqtt_password}
sos:
  - {id: market_gate, name: ปุ่ม SOS ประตูตลาด, zigbee2mqtt: market_gate_sos}
  - {id: fish_stall, mqtt: {topic: shop/fish/sos, payload: "PRESSED"}}
  - {id: bank_panel, sia: {account: "1A2B", zone: 1}}
sia: {port: 7777, accounts: [{account: "1A2B", key: !secret sia_key}]}
light:
  - {id: gate_lamp, zigbee2mqtt: gate_lamp}
  - {id: soi_lamp, tasmota: soi_lamp}
  - {id: stall_relay, shelly: shellyplus1-a8032ab12345}
onvif:
  - {id: market_gate, host: 127.0.0.1, port: 8080, username: admin, password: !secret cam_pw,
     share: on_alarm, owner: {name: เทศบาลเมืองอ่างทอง, phone: "035-000000"}}
line:
  channel_access_token: !secret line_token
  channel_secret: !secret line_secret
  groups: {big6: C0123456789abcdef0123456789abcdef}
automation:
  - id: sos_market_gate
    alias: SOS ประตูตลาด
    trigger: {platform: state, entity_id: sos.market_gate, to: triggered}
    action: [{service: light.flash, data: {entity_id: light.gate_lamp, seconds: 60}}]
"""
SECRETS = (
    "mqtt_password: hunter22\nsia_key: 000102030405060708090a0b0c0d0e0f\ncam_pw: camera-pw\n"
    "line_token: tok\nline_secret: 0123456789abcdef0123456789abcdef\n"
)
_YAML_BITS = [
    "!secret",
    "!secret nope",
    "!include",
    "!include missing.yaml",
    "!include_dir_list .",
    "!env_var",
    "!env_var NOPE_NOT_SET",
    "&a",
    "*a",
    "<<: *a",
    "{",
    "}",
    "[",
    "]",
    ":",
    "- ",
    "? ",
    "|",
    ">",
    "'",
    '"',
    "#",
    "\t",
    "~",
    "null",
    "yes",
    "0x1F",
    "1e999",
    "-.inf",
    "2026-01-01",
    "!!python/object:os.system",
    "!!binary AAAA",
    "%YAML 1.1",
    "---",
    "...",
    "\\u0000",
    "ตลาด",
    "\x00",
    "\ufeff",
    "id",
    "platform",
]


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    """The reference config with lines removed, doubled, re-indented or spliced with YAML oddities."""
    lines = CONFIG_SEED.splitlines()
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "indent", "splice", "value", "random"]))
        if op == "drop" and len(lines) > 1:
            del lines[at]
        elif op == "dup":
            lines.insert(at, lines[at])
        elif op == "indent":
            lines[at] = " " * draw(st.integers(0, 9)) + lines[at].lstrip()
        elif op == "splice":
            pos = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:pos] + draw(st.sampled_from(_YAML_BITS)) + lines[at][pos:]
        elif op == "value" and ":" in lines[at]:
            key = lines[at].split(":", 1)[0]
            value = draw(
                st.one_of(
                    st.sampled_from(_YAML_BITS),
                    st.text(max_size=12),
                    JSON.map(lambda v: json.dumps(v, ensure_ascii=False)),
                )
            )
            lines[at] = f"{key}: {value}"
        elif op == "random":
            lines.insert(at, draw(st.text(alphabet=string.printable + "ตลาด{}[]:-&*!|>'\"", max_size=40)))
    return "\n".join(lines) + "\n"


def billion_laughs(depth: int) -> str:
    """An alias bomb: each level refers to the previous one nine times."""
    out = ['a0: &a0 ["lol"]']
    for n in range(1, depth + 1):
        out.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "hub: {id: x, name: x}\n" + "\n".join(out) + "\n"


class ConfigTarget:
    """Write a case to config.yaml (with secrets.yaml beside it) and load it as ``safetyhub check`` does."""

    def __init__(self, full_every: int = 1) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="fuzz-config-"))
        (self.folder / "secrets.yaml").write_text(SECRETS, encoding="utf-8")
        self.path = self.folder / "config.yaml"
        self.full_every = full_every
        self.cases = 0

    def __call__(self, text: str) -> None:
        from hub.bootstrap import load
        from hub.config import load_config_file

        self.cases += 1
        self.path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _raw, errors = load_config_file(self.path)
        _check_config_errors(errors, ConfigError)
        if self.cases % self.full_every == 0:
            # The whole ``check``: YAML, then every plugin's schema.
            loaded = load(self.path)
            _check_config_errors(loaded.errors, ConfigError)


def _check_config_errors(errors: list[Any], error_type: type[ConfigError]) -> None:
    for err in errors:
        assert isinstance(err, error_type), err
        assert err.file and err.message.strip(), f"an error without a place or a message: {err!r}"
        assert "Traceback" not in err.message, err.message


# -- 2. SIA DC-09 frames ------------------------------------------------------------------------

SIA_KEY = "000102030405060708090a0b0c0d0e0f"


def sia_frame(index: int) -> bytes:
    """One of five real frames, encoded by siadc09 as a panel sends them, stamped *now*.

    Made at draw time: the receiver refuses frames whose timestamp is more than
    a few seconds off, and a long run lasts minutes.
    """
    from siadc09 import account, message, util, xdata

    acct, idtoken, content, key, seq = [
        ("1A2B", "SIA-DCS", b"#1A2B|Nri1/PA001]", None, 1),
        ("1A2B", "SIA-DCS", b"#1A2B|Nri1/BA002]", None, 7),
        ("BEEF", "SIA-DCS", b"#BEEF|Nri7/PA001]", SIA_KEY, 3),
        ("1A2B", "ADM-CID", b"#1A2B|1120 01 001]", None, 4),
        ("1A2B", "NULL", b"]", None, 5),
    ][index]
    acc = account.Account(acct=int(acct, 16), key=key)
    msg = message.EventMessage(
        acc,
        config={
            "idtoken": idtoken,
            "seqno": seq,
            "data": xdata.Data(content=content),
            "timestamp": util.now() + timedelta(seconds=0),
        },
    )
    return bytes(msg.encode())


class SiaTarget:
    """Judge one frame as the receiver does for every TCP line or UDP datagram."""

    def __init__(self) -> None:
        from integrations.sia.config import SiaAccountConfig
        from integrations.sia.receiver import SiaReceiver

        async def nothing(_: Any) -> None:
            return None

        self.receiver = SiaReceiver(
            [SiaAccountConfig(account="1A2B"), SiaAccountConfig(account="BEEF", key=SIA_KEY)],
            nothing,
            host="127.0.0.1",
            port=0,
        )

    def strategy(self) -> st.SearchStrategy[bytes]:
        """Fresh real frames, as they are or mutated, and noise."""
        fresh = st.integers(0, 4).map(sia_frame)
        return st.one_of(fresh, mutated_bytes(fresh))

    def __call__(self, data: bytes) -> None:
        verdict = self.receiver.judge(data)
        if verdict is None:
            assert not data.decode("ascii", errors="replace").strip("\r\n\x00 "), data
            return
        assert verdict.kind in ("ACK", "NAK", "DUH"), verdict.kind
        assert verdict.response.startswith(b"\n") and verdict.response.endswith(b"\r"), verdict.response
        if verdict.kind == "ACK":
            assert verdict.event is not None
        else:
            assert verdict.reason, f"{verdict.kind} without a reason for {data!r}"


# -- 3. federation messages -------------------------------------------------------------------


def federation_seeds() -> list[bytes]:
    """One valid message of each kind, as the hub and the station write them."""
    from hub.core.ids import ulid
    from integrations.federation.protocol import dumps, envelope

    now = 1_767_225_600.0
    incident = {
        "id": "01J0000000000000000000000A",
        "kind": "sos",
        "severity": "critical",
        "status": "open",
        "title": "SOS",
        "place": "ประตู 1",
        "location": {"lat": 14.59, "lon": 100.45},
        "entities": ["sos.gate"],
        "data": {"action": "emergency"},
        "opened_at": now,
        "updated_at": now,
    }
    return [
        envelope(
            ulid(),
            "st",
            "hub-a",
            "incident",
            now,
            {"action": "opened", "incident": incident, "entry": {"ts": now, "kind": "opened", "text": "SOS"}},
        ),
        envelope(
            ulid(), "st", "hub-a", "event", now, {"type": "camera_motion", "data": {"x": 1}, "time": now}
        ),
        envelope(
            ulid(), "st", "hub-a", "health", now, {"status": "online", "uptime": 12.5, "version": "0.1.0"}
        ),
        envelope(ulid(), "st", "hub-a", "registry", now, {"hub": {"id": "hub-a"}, "cameras": [{"id": "c"}]}),
        dumps(
            {
                "v": 1,
                "id": ulid(),
                "station": "st",
                "hub": "hub-a",
                "command": "light.flash",
                "data": {"entity_id": "light.gate", "seconds": 30},
                "by": {"user": "officer"},
                "ts": now,
            }
        ),
        dumps({"v": 1, "ids": [ulid()], "rejected": [{"id": ulid(), "reason": "bad"}], "ts": now}),
    ]


@st.composite
def federation_messages(draw: st.DrawFn) -> bytes:
    """Valid envelopes with fields dropped, retyped or replaced; byte mutations; arbitrary JSON."""
    seeds = federation_seeds()
    choice = draw(st.integers(0, 2))
    if choice == 0:
        doc = json.loads(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(1, 3))):
            target = doc
            if "body" in doc and isinstance(doc["body"], dict) and draw(st.booleans()):
                target = doc["body"]
            if not target:
                break
            key = draw(st.sampled_from(sorted(target)))
            if draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(JSON)
        return json.dumps(doc, ensure_ascii=False, allow_nan=True).encode()
    if choice == 1:
        return draw(mutated_bytes(seeds))
    return json.dumps(draw(JSON), allow_nan=True).encode()


def federation_check(payload: bytes) -> None:
    """Each parser on both ends accepts the message or refuses it with a validation error."""
    from integrations.federation.protocol import AckDoc, CommandDoc, SnapshotMeta, parse_envelope, parse_topic

    for parse in (parse_envelope, CommandDoc.model_validate_json, AckDoc.model_validate_json):
        try:
            parse(payload)
        except pydantic.ValidationError as err:
            assert err.errors(), err  # says which field and why
    try:
        meta = json.loads(payload)
    except ValueError:
        meta = None
    if isinstance(meta, dict):
        try:
            SnapshotMeta.model_validate({str(k): str(v) for k, v in meta.items()})
        except pydantic.ValidationError as err:
            assert err.errors()
    text = payload.decode("utf-8", errors="replace")
    parts = parse_topic(text)
    assert parts is None or text.count("/") == 4


# -- hub targets: MQTT payloads and the LINE webhook ------------------------------------------------

#: Every device kind the MQTT layer parses; the topics each one listens to.
MQTT_CONFIG = """\
sos:
  - {id: heiman, zigbee2mqtt: heiman}
  - {id: topic_btn, mqtt: {topic: shop/sos, payload: PRESSED}}
  - {id: templ, mqtt: {topic: shop/tpl, value_template: "{{ value_json.x.y }}", payload: go}}
light:
  - {id: zl, zigbee2mqtt: lamp}
  - {id: tl, tasmota: tlamp}
  - {id: sl, shelly: shellyplus1-x}
frigate: {url: "http://127.0.0.1:5000"}
"""
MQTT_TOPICS = [
    "zigbee2mqtt/heiman",
    "zigbee2mqtt/heiman/availability",
    "zigbee2mqtt/bridge/devices",
    "zigbee2mqtt/bridge/state",
    "zigbee2mqtt/bridge/info",
    "shop/sos",
    "shop/tpl",
    "zigbee2mqtt/lamp",
    "zigbee2mqtt/lamp/availability",
    "stat/tlamp/RESULT",
    "stat/tlamp/POWER",
    "tele/tlamp/STATE",
    "tele/tlamp/LWT",
    "tele/tlamp/SENSOR",
    "shellyplus1-x/events/rpc",
    "shellyplus1-x/status/switch:0",
    "shellyplus1-x/online",
    "frigate/events",
    "frigate/reviews",
    "frigate/available",
    "homeassistant/sensor/n/o/config",
    "homeassistant/device/d/config",
    "homeassistant/binary_sensor/x/config",
    "homeassistant/light/y/config",
    "homeassistant/status",
]
_MQTT_SEEDS = [
    b'{"action":"emergency","battery":90,"linkquality":120}',
    b'{"state":"ON","brightness":254}',
    b'{"POWER":"ON","Dimmer":40}',
    b'{"method":"NotifyStatus","params":{"switch:0":{"output":true}}}',
    b'{"type":"new","after":{"id":"1","camera":"gate","label":"person","has_snapshot":true}}',
    b'[{"ieee_address":"0x1","friendly_name":"heiman","definition":{"model":"HS1EB/HS1EB-E"}}]',
    b'{"name":"x","stat_t":"~/s","~":"a/b","cmd_t":"~/c","uniq_id":"u1"}',
    b"online",
    b"PRESSED",
    b'{"x":{"y":"go"}}',
    b'{"state":"online"}',
    b'{"dev":{"ids":["d"]},"o":{"name":"z"},"cmps":{}}',
]
KEYS = st.sampled_from(
    [
        "action",
        "sos",
        "battery",
        "linkquality",
        "last_seen",
        "state",
        "brightness",
        "POWER",
        "Dimmer",
        "after",
        "before",
        "type",
        "params",
        "method",
        "id",
        "camera",
        "label",
        "cmps",
        "p",
        "stat_t",
        "~",
        "voltage",
        "battery_low",
        "tamper",
        "definition",
        "friendly_name",
    ]
)


def mqtt_payloads() -> st.SearchStrategy[tuple[str, bytes, bool]]:
    payload = st.one_of(
        mutated_bytes(_MQTT_SEEDS),
        st.dictionaries(KEYS, JSON, max_size=8).map(lambda v: json.dumps(v, allow_nan=True).encode()),
        JSON.map(lambda v: json.dumps(v, allow_nan=True).encode()),
        st.sampled_from([b"", b"null", b"{", b"[]", b"\xff\xfe", b"9" * 400, b"[" * 3000 + b"]" * 3000]),
    )
    return st.tuples(st.sampled_from(MQTT_TOPICS), payload, st.booleans())


#: The fake LINE API's channel secret (``integrations.line.testing.FAKE_SECRET``): deliveries are signed with it.
LINE_SECRET = "0123456789abcdef0123456789abcdef"
_LINE_TYPES = [
    "message",
    "postback",
    "join",
    "leave",
    "follow",
    "unfollow",
    "memberJoined",
    "memberLeft",
    "beacon",
    "accountLink",
    "things",
    "videoPlayComplete",
    "unsend",
    "nonsense",
    "",
]


@st.composite
def line_bodies(draw: st.DrawFn) -> tuple[bytes, bool]:
    """(body, signed): LINE-shaped deliveries with odd events, and raw bodies; most carry a valid signature."""
    source = draw(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["user", "group", "room", "x"]),
                    "userId": st.text(max_size=34),
                    "groupId": st.text(max_size=34),
                }
            ),
            JSON,
        )
    )
    event = draw(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(_LINE_TYPES),
                "mode": st.sampled_from(["active", "standby", 7]),
                "timestamp": st.one_of(st.integers(-1, 2**53), st.text(max_size=5)),
                "source": st.just(source),
                "webhookEventId": st.one_of(st.text(min_size=1, max_size=30), st.none(), st.integers()),
                "deliveryContext": st.one_of(st.just({"isRedelivery": False}), JSON),
            },
            optional={
                "replyToken": st.text(max_size=40),
                "message": st.one_of(
                    JSON,
                    st.fixed_dictionaries(
                        {
                            "type": st.sampled_from(["text", "image", "location", "sticker", "file", "?"]),
                            "id": st.text(max_size=20),
                            "text": st.text(max_size=60),
                            "latitude": JSON_SCALAR,
                            "longitude": JSON_SCALAR,
                        }
                    ),
                ),
                "postback": st.one_of(JSON, st.fixed_dictionaries({"data": st.text(max_size=80)})),
                "joined": JSON,
                "left": JSON,
            },
        )
    )
    shape = draw(st.integers(0, 3))
    if shape == 0:
        body: Any = {"destination": "U" + "0" * 32, "events": draw(st.lists(st.just(event), max_size=3))}
    elif shape == 1:
        body = {"events": draw(JSON)}
    else:
        body = draw(JSON) if shape == 2 else None
    raw = (
        json.dumps(body, ensure_ascii=False, allow_nan=True).encode()
        if body is not None
        else draw(st.binary(max_size=200))
    )
    return raw, draw(st.integers(0, 9)) > 0


@dataclass
class HubRig:
    """A running hub for the hub targets, with a log trap: any ERROR record is a crash."""

    hub: Any
    errors: list[logging.LogRecord] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)

    def install(self) -> Callable[[], None]:
        """Trap ERROR records and MQTT handler crashes; return the undo function."""
        rig = self

        class Trap(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                rig.errors.append(record)

        trap = Trap(level=logging.ERROR)
        logging.getLogger().addHandler(trap)
        undo_mqtt: Callable[[], None] = lambda: None  # noqa: E731
        client = _mqtt_client(self.hub)
        if client is not None:
            original = client.bad_input.warn

            def spy(key: str, message: str, *args: Any, exc_info: bool = False) -> bool:
                if key.startswith("callback "):
                    rig.crashes.append(message % args if args else message)
                return bool(original(key, message, *args, exc_info=exc_info))

            client.bad_input.warn = spy

            def undo_mqtt() -> None:
                client.bad_input.warn = original

        def undo() -> None:
            logging.getLogger().removeHandler(trap)
            undo_mqtt()

        return undo

    def assert_clean(self, what: Any) -> None:
        """Fail with the first crash seen since the last call."""
        crashes, errors = list(self.crashes), [r for r in self.errors if not _expected_error(r)]
        self.crashes.clear()
        self.errors.clear()
        assert not crashes, f"a parser crashed on {what!r}: {crashes[0]}"
        assert not errors, f"logged an error on {what!r}: {errors[0].getMessage()}"


def _expected_error(record: logging.LogRecord) -> bool:
    # The offline MQTT client reports its broker as unreachable: the world, not the input.
    return record.name.startswith("integrations.mqtt") and "connection" in record.getMessage().lower()


def _mqtt_client(hub: Any) -> Any:
    try:
        from integrations.mqtt import get_client

        return get_client(hub)
    except (KeyError, LookupError):
        return None


async def mqtt_check(rig: HubRig, case: tuple[str, bytes, bool], settle: bool = True) -> None:
    """Feed one message to the MQTT router of an offline hub; nothing may crash."""
    topic, payload, retain = case
    _mqtt_client(rig.hub).inject(topic, payload, 0, retain)
    if settle:
        await rig.hub.block_till_done()
        rig.assert_clean(case)


async def line_check(rig: HubRig, session: Any, case: tuple[bytes, bool], settle: bool = True) -> None:
    """POST one delivery to the hub's LINE webhook: 200 or a 4xx with a JSON error, and no crash after."""
    from integrations.line.testing import sign_line_body

    body, signed = case
    signature = sign_line_body(body, LINE_SECRET) if signed else "bm90IGEgc2lnbmF0dXJl"
    async with session.post(
        "/api/line/webhook",
        data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": signature},
    ) as resp:
        status = resp.status
        text = await resp.text()
    assert status == 200 or 400 <= status < 500, (status, text, body[:200])
    if status != 200:
        assert json.loads(text).get("error"), text
    if not signed:
        assert status == 401, (status, body[:200])
    if settle:
        await rig.hub.block_till_done()
        rig.assert_clean(body[:300])
