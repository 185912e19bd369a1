"""SOS buttons behind Zigbee2MQTT, driven through a real Mosquitto with the payloads of notes §1.2."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hub.testing import Mosquitto, MqttPeer, mqtt_block, wait_until

DEVICES = [
    {
        "friendly_name": "Coordinator",
        "ieee_address": "0x00124b0000000000",
        "type": "Coordinator",
        "definition": None,
    },
    {
        "friendly_name": "market_gate_sos",
        "ieee_address": "0x847127fffe0542eb",
        "type": "EndDevice",
        "power_source": "Battery",
        "definition": {
            "model": "HS1EB/HS1EB-E",
            "vendor": "HEIMAN",
            "exposes": [
                {"type": "enum", "property": "action", "values": ["off", "single", "double", "hold"]},
                {"type": "numeric", "property": "battery"},
            ],
        },
    },
    {
        "friendly_name": "gold_shop_sos",
        "ieee_address": "0x00158d0001a2b3c4",
        "type": "EndDevice",
        "definition": {
            "model": "SEB01ZB",
            "vendor": "Feibit",
            "exposes": [{"type": "binary", "property": "sos"}],
        },
    },
    {
        "friendly_name": "tuya_sos",
        "ieee_address": "0xa4c1380000000001",
        "type": "EndDevice",
        "definition": {"model": "TS0215A_sos", "vendor": "Tuya", "exposes": []},
    },
    {
        "friendly_name": "mystery",
        "ieee_address": "0xa4c1380000000002",
        "type": "EndDevice",
        "definition": {"model": "XYZ-UNKNOWN", "vendor": "Nobody", "exposes": []},
    },
]


def _config(broker: Mosquitto, base: str, extra_sos: str = "", z2m: str = "") -> str:
    return (
        mqtt_block(broker, zigbee2mqtt=f"{{base_topic: {base}{z2m}}}")
        + f"""\
sos:
  - {{id: market_gate, name: Market gate, zigbee2mqtt: market_gate_sos}}
  - {{id: gold_shop, zigbee2mqtt: gold_shop_sos}}
  - {{id: tuya, zigbee2mqtt: tuya_sos}}
  - {{id: mystery, zigbee2mqtt: mystery}}
{extra_sos}"""
    )


async def _start(
    make_hub: Any, mosquitto: Mosquitto, peer: MqttPeer, **kw: Any
) -> tuple[Any, str, list[Any], list[Any]]:
    base = f"z2m_{uuid.uuid4().hex[:8]}"
    await peer.publish(f"{base}/bridge/devices", json.dumps(DEVICES), retain=True)
    hub = await make_hub(_config(mosquitto, base, **kw), real_clock=True)
    presses: list[Any] = []
    supervision: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    hub.bus.listen("sos_supervision", supervision.append)
    from integrations.mqtt import get_client
    from integrations.mqtt.zigbee2mqtt import get_bridge

    client = get_client(hub)
    assert await client.wait_connected(5)
    bridge = get_bridge(hub, client, base)
    await wait_until(
        lambda: bridge.model("market_gate_sos") == "HS1EB/HS1EB-E", message="bridge/devices not learned"
    )
    return hub, base, presses, supervision


async def test_heiman_single_is_a_press_feibit_sos_true_too(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    hub, base, presses, _ = await _start(make_hub, mosquitto, mqtt_peer)
    await mqtt_peer.publish(
        f"{base}/market_gate_sos", '{"action":"single","battery":97,"linkquality":120}', qos=0
    )
    await wait_until(lambda: presses)
    assert presses[0].data["entity_id"] == "sos.market_gate"
    assert presses[0].data["action"] == "single"
    assert presses[0].data["source"] == "zigbee2mqtt"
    assert presses[0].data["model"] == "HS1EB/HS1EB-E"
    state = hub.states.get("sos.market_gate")
    assert state.state == "triggered"
    assert state.attributes["battery"] == 97 and state.attributes["linkquality"] == 120
    assert hub.states.get("sensor.market_gate_battery").state == "97"
    assert hub.states.get("sensor.market_gate_last_seen").state == "unknown"

    await mqtt_peer.publish(f"{base}/gold_shop_sos", '{"sos":true,"tamper":false,"battery_low":false}', qos=0)
    await wait_until(lambda: len(presses) == 2)
    assert presses[1].data["entity_id"] == "sos.gold_shop" and presses[1].data["action"] == "sos"
    assert hub.states.get("sos.gold_shop").state == "triggered"


async def test_not_presses_and_never_debounced(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    hub, base, presses, _ = await _start(make_hub, mosquitto, mqtt_peer)
    not_presses = [
        (f"{base}/market_gate_sos", '{"action":"","battery":97,"linkquality":90}'),  # legacy clear
        (f"{base}/market_gate_sos", '{"action":null,"battery":96}'),  # TS0601 null
        (
            f"{base}/market_gate_sos",
            '{"battery":95,"linkquality":80,"last_seen":"2026-11-21T20:59:38+07:00"}',
        ),
        (f"{base}/market_gate_sos", '{"action":"off"}'),  # Heiman release
        (f"{base}/gold_shop_sos", '{"sos":false,"tamper":false,"battery_low":false}'),
        (f"{base}/tuya_sos", '{"action":"single"}'),  # not this model's word
        (f"{base}/mystery", '{"action":"single"}'),  # unknown model: generic only
        (f"{base}/market_gate_sos", "not json at all"),
        (f"{base}/market_gate_sos", '["action","single"]'),
        (f"{base}/market_gate_sos", '{"battery":"lots","linkquality":true}'),
    ]
    for topic, payload in not_presses:
        await mqtt_peer.publish(topic, payload, qos=0)
    # Then real presses: each one counts, back to back, while already triggered.
    for _ in range(3):
        await mqtt_peer.publish(
            f"{base}/tuya_sos", '{"action":"emergency","battery":100,"voltage":3000}', qos=0
        )
    await mqtt_peer.publish(f"{base}/mystery", '{"action":"emergency"}', qos=0)
    await wait_until(lambda: len(presses) == 4)
    assert [p.data["entity_id"] for p in presses] == ["sos.tuya"] * 3 + ["sos.mystery"]
    assert hub.states.get("sos.tuya").attributes["presses"] == 3
    assert hub.states.get("sos.market_gate").state == "idle"
    tele = hub.states.get("sos.market_gate").attributes
    assert tele["battery"] == 95 and tele["linkquality"] == 80
    assert tele["last_seen"].startswith("2026-11-21T13:59:38")
    rows = await hub.recorder.events(event_type="sos_pressed")
    assert len(rows) == 4


async def test_availability_and_battery_supervision(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    hub, base, presses, supervision = await _start(make_hub, mosquitto, mqtt_peer)
    await mqtt_peer.publish(f"{base}/market_gate_sos/availability", '{"state":"offline"}', retain=True)
    await wait_until(lambda: hub.states.get("sos.market_gate").state == "unavailable")
    await wait_until(lambda: [e for e in supervision if e.data["problem"] == "offline"])
    await mqtt_peer.publish(f"{base}/market_gate_sos/availability", '{"state":"online"}', retain=True)
    await wait_until(lambda: hub.states.get("sos.market_gate").state == "idle")
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"battery":12,"linkquality":60}', qos=0)
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"battery":11,"linkquality":60}', qos=0)
    await wait_until(lambda: [e for e in supervision if e.data["problem"] == "low_battery"])
    problems = [e.data["problem"] for e in supervision]
    assert problems == ["offline", "online", "low_battery"]  # low battery raised once, not per report
    low = supervision[-1].data
    assert low["entity_id"] == "sos.market_gate" and low["battery"] == 12
    # Feibit's battery_low flag counts too.
    await mqtt_peer.publish(f"{base}/gold_shop_sos", '{"sos":false,"battery_low":true}', qos=0)
    await wait_until(lambda: [e for e in supervision if e.data["entity_id"] == "sos.gold_shop"])
    assert presses == []
    # Clean up the retained availability so other tests start fresh.
    await mqtt_peer.publish(f"{base}/market_gate_sos/availability", "", retain=True)


async def test_retained_replay_is_not_a_press(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    base = f"z2m_{uuid.uuid4().hex[:8]}"
    # Z2M with `retain: true` for the device: its last message is replayed on every subscribe.
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"action":"single","battery":90}', retain=True)
    await mqtt_peer.publish(f"{base}/bridge/devices", json.dumps(DEVICES), retain=True)
    hub = await make_hub(_config(mosquitto, base), real_clock=True)
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    await wait_until(lambda: hub.states.get("sos.market_gate").attributes.get("battery") == 90)
    assert presses == []
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"action":"single","battery":90}', qos=0)
    await wait_until(lambda: presses)
    await mqtt_peer.publish(f"{base}/market_gate_sos", "", retain=True)


async def test_press_table_extended_in_config(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    extra = "  - {id: own_rule, zigbee2mqtt: mystery, press: [{action: [single, long]}]}\n"
    hub, base, presses, _ = await _start(
        make_hub,
        mosquitto,
        mqtt_peer,
        extra_sos=extra,
        z2m=', sos_models: {"XYZ-UNKNOWN": [{action: double}], "TS0215A_sos": [{alarm: true}]}',
    )
    await mqtt_peer.publish(f"{base}/mystery", '{"action":"double"}', qos=0)
    await mqtt_peer.publish(f"{base}/mystery", '{"action":"long"}', qos=0)
    await mqtt_peer.publish(f"{base}/tuya_sos", '{"alarm":true}', qos=0)
    await mqtt_peer.publish(
        f"{base}/tuya_sos", '{"action":"emergency"}', qos=0
    )  # replaced by the config rule
    await wait_until(lambda: len(presses) >= 3)
    await mqtt_peer.publish(
        f"{base}/market_gate_sos", '{"action":"single"}', qos=0
    )  # a marker: all before it are in
    await wait_until(lambda: presses[-1].data["entity_id"] == "sos.market_gate")
    got = sorted((p.data["entity_id"], p.data["action"]) for p in presses[:-1])
    # own_rule's press: replaces its model's rules; tuya: the config replaced the built-in emergency.
    assert got == [("sos.mystery", "double"), ("sos.own_rule", "long"), ("sos.tuya", "alarm")]


async def test_no_mqtt_block_fails_only_that_button(make_hub: Any) -> None:
    hub = await make_hub("""\
sos:
  - {id: zb, zigbee2mqtt: some_button}
  - {id: drill, simulated: true}
""")
    assert hub.states.get("sos.zb").state == "unavailable"
    assert "mqtt" in hub.states.get("sos.zb").attributes["error"]
    await hub.services.call("sos", "press", {"entity_id": "sos.drill"})
    assert hub.states.get("sos.drill").state == "triggered"
    assert hub.plugins.get("sos").status == "set_up"


async def test_press_before_the_device_list_is_known_is_not_dropped(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    """Issue 15 item 2: the hub asks for bridge/devices at connect and never drops an early press."""
    base = f"z2m_{uuid.uuid4().hex[:8]}"
    requests = await mqtt_peer.subscribe(f"{base}/bridge/request/devices")
    hub = await make_hub(_config(mosquitto, base), real_clock=True)
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    # The device list is asked for at connect (Z2M answers on bridge/devices).
    await requests.wait(f"{base}/bridge/request/devices")
    # No device list yet: the universal press words count as presses.
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"action":"single","battery":97}', qos=0)
    await mqtt_peer.publish(f"{base}/tuya_sos", '{"action":"emergency"}', qos=0)
    await wait_until(lambda: len(presses) == 2)
    assert [(p.data["entity_id"], p.data["action"]) for p in presses] == [
        ("sos.market_gate", "single"),
        ("sos.tuya", "emergency"),
    ]
    # The bridge answers; from now on each model's own rules apply.
    await mqtt_peer.publish(f"{base}/bridge/devices", json.dumps(DEVICES))
    from integrations.mqtt.zigbee2mqtt import get_bridge

    bridge = get_bridge(hub, get_client(hub), base)
    await wait_until(lambda: bridge.model("tuya_sos") == "TS0215A_sos")
    await mqtt_peer.publish(f"{base}/tuya_sos", '{"action":"single"}', qos=0)  # not this model's word
    await mqtt_peer.publish(f"{base}/tuya_sos", '{"action":"emergency"}', qos=0)
    await wait_until(lambda: len(presses) == 3)
    assert presses[-1].data["model"] == "TS0215A_sos"


async def test_unrecognised_press_is_a_visible_incident(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    """An action nobody recognises from a configured SOS button is an incident, not a log line."""
    hub, base, presses, _ = await _start(make_hub, mosquitto, mqtt_peer)
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

    mgr = hub.data[INCIDENT_RUNTIME]
    opened: list[Any] = []
    hub.bus.listen("incident_opened", opened.append)
    # The model is learned but not in the table; "long" is not a generic panic word.
    await mqtt_peer.publish(f"{base}/mystery", '{"action":"long"}', qos=0)
    await wait_until(lambda: opened, message="no unrecognised-press incident")
    inc = await mgr.get(opened[0].data["incident_id"])
    assert inc.kind == "sos" and inc.data["unrecognised"] is True
    assert inc.data["action"] == "long" and inc.data["model"] == "XYZ-UNKNOWN"
    assert "sos.mystery" in inc.entities
    assert presses == []  # not a real alarm: automations do not fire as for a press
    # A second one while it is open adds to it rather than opening another.
    await mqtt_peer.publish(f"{base}/mystery", '{"action":"long"}', qos=0)
    notes: list[Any] = []
    hub.bus.listen("incident_updated", notes.append)
    await wait_until(lambda: notes, message="the second unrecognised press was not added")
    assert notes[0].data["change"] == "unrecognised_press"
    # Known releases and known models' other words stay quiet.
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"action":"off"}', qos=0)
    await mqtt_peer.publish(f"{base}/tuya_sos", '{"action":"arm_all_zones"}', qos=0)
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"action":"single"}', qos=0)
    await wait_until(lambda: presses)
    await hub.block_till_done()
    # The real press opened its own (default) incident; no second unrecognised one.
    assert [e.data["incident"]["data"].get("unrecognised") for e in opened] == [True, None]
    inc = await mgr.get(inc.id)
    assert [t.kind for t in inc.timeline] == ["opened", "unrecognised_press"]
