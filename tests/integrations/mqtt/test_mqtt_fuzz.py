"""Property tests: arbitrary payloads at every parser never crash, block, or press a button by accident."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.mqtt import discovery_schema as ds
from integrations.mqtt.zigbee2mqtt import parse_devices, parse_last_seen, telemetry_from
from integrations.sos.models import GENERIC_RULES, PRESS_TABLE, match_press

JSON_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True), st.text(max_size=20)
)
JSON = st.recursive(
    JSON_SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=10,
)
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
        "type",
        "params",
        "method",
        "id",
        "camera",
        "label",
        "event_type",
        "availability",
        "cmps",
        "p",
        "stat_t",
        "~",
        "voltage",
        "battery_low",
        "tamper",
    ]
)
DEVICE_LIKE = st.dictionaries(KEYS, JSON, max_size=8)


def _payloads() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        JSON.map(lambda v: json.dumps(v).encode()),
        DEVICE_LIKE.map(lambda v: json.dumps(v).encode()),
        st.sampled_from(
            [
                b"",
                b"null",
                b"{",
                b"[]",
                b'{"action":""}',
                b'{"action":null}',
                b"\xff\xfe",
                b'{"after":{"id":1}}',
                b'{"type":"new","after":[]}',
                b"Online",
                b"true",
                b"ON",
                b"9" * 400,
                b"[" * 5000 + b"]" * 5000,
            ]
        ),
    )


CONFIG = """\
sos:
  - {id: heiman, zigbee2mqtt: heiman}
  - {id: feibit, zigbee2mqtt: feibit}
  - {id: topic_btn, mqtt: {topic: shop/sos, payload: PRESSED}}
  - {id: templ, mqtt: {topic: shop/tpl, value_template: "{{ value_json.x.y }}", payload: go}}
light:
  - {id: zl, zigbee2mqtt: lamp}
  - {id: tl, tasmota: tlamp}
  - {id: sl, shelly: shellyplus1-x}
  - {id: siren, zigbee2mqtt: siren1, kind: siren}
frigate: {url: "http://127.0.0.1:5000"}
"""
#: Every topic some parser listens to.
TOPICS = [
    "zigbee2mqtt/heiman",
    "zigbee2mqtt/heiman/availability",
    "zigbee2mqtt/feibit",
    "zigbee2mqtt/bridge/devices",
    "zigbee2mqtt/bridge/state",
    "shop/sos",
    "shop/tpl",
    "zigbee2mqtt/lamp",
    "zigbee2mqtt/lamp/availability",
    "zigbee2mqtt/siren1",
    "stat/tlamp/RESULT",
    "stat/tlamp/POWER",
    "tele/tlamp/STATE",
    "tele/tlamp/LWT",
    "shellyplus1-x/events/rpc",
    "shellyplus1-x/status/switch:0",
    "shellyplus1-x/online",
    "safetyhub-test-hub/rpc",
    "frigate/events",
    "frigate/reviews",
    "frigate/available",
    "homeassistant/sensor/n/o/config",
    "homeassistant/device/d/config",
    "homeassistant/binary_sensor/x/config",
    "homeassistant/status",
]


@pytest.fixture
async def offline_hub(make_hub: Any) -> Any:
    # A broker that is never there: parsers are fed directly through the client's router.
    from hub.testing import free_port

    port = free_port()
    return await make_hub(
        f"mqtt: {{broker: 'mqtt://127.0.0.1:{port}', reconnect_min: 30, reconnect_max: 60}}\n" + CONFIG
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(topic=st.sampled_from(TOPICS), payload=_payloads(), retain=st.booleans())
async def test_every_parser_survives_anything(
    offline_hub: Any, topic: str, payload: bytes, retain: bool
) -> None:
    from integrations.mqtt import get_client

    hub = offline_hub
    presses: list[Any] = []
    unsub = hub.bus.listen("sos_pressed", presses.append)
    try:
        get_client(hub).inject(topic, payload, 0, retain)
        await hub.block_till_done()
    finally:
        unsub()
    for press in presses:
        # Only unambiguous panic payloads may press, and never a retained replay.
        assert not retain
        data = json.loads(payload) if payload.startswith(b"{") else None
        if topic == "shop/sos":
            assert payload == b"PRESSED"
        elif topic == "shop/tpl":
            assert press.data["action"] == "go"
        else:
            assert isinstance(data, dict)
            assert match_press(GENERIC_RULES + PRESS_TABLE["HS1EB/HS1EB-E"] + PRESS_TABLE["SEB01ZB"], data)
    for state in hub.states.all():
        json.dumps(state.as_dict(), default=str)  # every state stays serialisable for the API


@settings(max_examples=150, deadline=None)
@given(DEVICE_LIKE)
def test_pure_parsers(data: dict[str, Any]) -> None:
    action = match_press(GENERIC_RULES, data)
    assert action is None or data.get("sos") is True or data.get("action") in ("emergency", "panic", "sos")
    telemetry, _problems = telemetry_from(data)
    assert all(isinstance(v, int | float | bool | str) for v in telemetry.values())
    parse_last_seen(data.get("last_seen"))
    parse_devices(json.dumps([data]).encode())
    try:
        items = ds.component_configs("device", None, "x", data)
    except ds.DiscoveryError:
        items = {}
    for kind, config in items.values():
        ds.object_id_for(kind, config, "fallback")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_sia_judge_never_raises(data: bytes) -> None:
    from integrations.sia.config import SiaAccountConfig
    from integrations.sia.receiver import SiaReceiver

    async def nothing(_: Any) -> None:
        return None

    receiver = SiaReceiver(
        [SiaAccountConfig(account="1A2B"), SiaAccountConfig(account="BEEF", key="00" * 16)],
        nothing,
        host="127.0.0.1",
        port=0,
    )
    verdict = receiver.judge(b"\n" + data + b"\r")
    assert verdict is None or verdict.kind in ("ACK", "NAK", "DUH")
    if verdict is not None and verdict.kind == "ACK":
        assert verdict.event is not None
