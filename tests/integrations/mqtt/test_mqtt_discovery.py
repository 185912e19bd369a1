"""Home Assistant MQTT discovery: consumed (both forms) and published for the hub's own entities."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hub.testing import Mosquitto, MqttPeer, mqtt_block, wait_until


async def _hub(
    make_hub: Any, mosquitto: Mosquitto, prefix: str, extra: str = "", publish: bool = False
) -> Any:
    hub = await make_hub(
        mqtt_block(mosquitto, discovery=f"{{prefix: {prefix}, publish: {str(publish).lower()}}}") + extra,
        real_clock=True,
    )
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    return hub


async def test_per_entity_discovery(make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    prefix = f"ha_{uuid.uuid4().hex[:6]}"
    dev = f"dev_{uuid.uuid4().hex[:6]}"
    hub = await _hub(make_hub, mosquitto, prefix, "light: []\n")
    triggers: list[Any] = []
    events: list[Any] = []
    hub.bus.listen("mqtt_device_trigger", triggers.append)
    hub.bus.listen("mqtt_event", events.append)
    device = {
        "identifiers": [f"zigbee2mqtt_{dev}"],
        "name": "Door",
        "model": "MCCGQ11LM",
        "manufacturer": "Aqara",
    }
    configs = {
        f"{prefix}/binary_sensor/{dev}/contact/config": {
            "name": "Contact",
            "state_topic": f"z/{dev}",
            "value_template": "{{ value_json.contact }}",
            "payload_on": False,
            "payload_off": True,
            "device_class": "door",
            "unique_id": f"{dev}_contact_z2m",
            "device": device,
            "availability": [{"topic": f"z/{dev}/availability", "value_template": "{{ value_json.state }}"}],
        },
        f"{prefix}/sensor/{dev}/battery/config": {
            "name": "Battery",
            "stat_t": f"z/{dev}",
            "val_tpl": "{{ value_json.battery }}",
            "unit_of_meas": "%",
            "dev_cla": "battery",
            "uniq_id": f"{dev}_battery_z2m",
            "dev": device,
        },
        f"{prefix}/event/{dev}/action/config": {
            "name": "Action",
            "state_topic": f"z/{dev}/evt",
            "event_types": ["press", "hold"],
            "unique_id": f"{dev}_action",
        },
        f"{prefix}/light/{dev}/light/config": {
            "schema": "json",
            "name": "Lamp",
            "~": f"z/{dev}_lamp",
            "cmd_t": "~/set",
            "stat_t": "~",
            "brightness": True,
            "brightness_scale": 254,
            "effect_list": ["blink", "breathe"],
            "unique_id": f"{dev}_lamp",
        },
        f"{prefix}/button/{dev}/identify/config": {
            "name": "Identify",
            "command_topic": f"z/{dev}/set/identify",
            "payload_press": "identify",
            "unique_id": f"{dev}_identify",
        },
        f"{prefix}/device_automation/{dev}/action_emergency/config": {
            "automation_type": "trigger",
            "type": "action",
            "subtype": "emergency",
            "payload": "emergency",
            "topic": f"z/{dev}/action",
            "device": device,
        },
        f"{prefix}/camera/{dev}/cam/config": {"topic": "x"},  # unsupported: ignored, logged
        f"{prefix}/sensor/{dev}/broken/config": "not json",
    }
    for topic, payload in configs.items():
        await mqtt_peer.publish(
            topic, payload if isinstance(payload, str) else json.dumps(payload), retain=True
        )
    contact = f"binary_sensor.{dev}_contact_z2m"
    await wait_until(lambda: hub.states.get(f"button.{dev}_identify") is not None)
    assert hub.states.get(contact).state == "unavailable"
    from integrations.mqtt import get_client

    await get_client(hub).settle()
    await mqtt_peer.publish(f"z/{dev}/availability", '{"state":"online"}', retain=True)
    await mqtt_peer.publish(f"z/{dev}", '{"contact":false,"battery":91,"linkquality":70}')
    await wait_until(lambda: hub.states.get(contact).state == "on")
    assert hub.states.get(contact).attributes["device_class"] == "door"
    assert hub.states.get(f"sensor.{dev}_battery_z2m").state == "91"
    assert hub.states.get(f"sensor.{dev}_battery_z2m").attributes["unit_of_measurement"] == "%"

    await mqtt_peer.publish(f"z/{dev}/evt", '{"event_type":"hold","duration":2}')
    await mqtt_peer.publish(f"z/{dev}/evt", '{"event_type":"explode"}')
    await mqtt_peer.publish(f"z/{dev}/action", "single")
    await mqtt_peer.publish(f"z/{dev}/action", "emergency")
    await wait_until(lambda: events and triggers)
    assert events[0].data["event_type"] == "hold" and events[0].data["data"]["duration"] == 2
    assert [t.data["subtype"] for t in triggers] == ["emergency"]
    assert triggers[0].data["device_name"] == "Door"

    log = await mqtt_peer.subscribe(f"z/{dev}/#")
    await mqtt_peer.subscribe(f"z/{dev}_lamp/set")
    await hub.services.call("light", "turn_on", {"entity_id": f"light.{dev}_lamp", "brightness": 255})
    assert json.loads((await log.wait(f"z/{dev}_lamp/set"))[0]) == {"state": "ON", "brightness": 254}
    await hub.services.call("button", "press", {"entity_id": f"button.{dev}_identify"})
    assert await log.wait(f"z/{dev}/set/identify") == [b"identify"]
    await mqtt_peer.publish(f"z/{dev}_lamp", '{"state":"ON","brightness":127}')
    await wait_until(lambda: hub.states.get(f"light.{dev}_lamp").state == "on")
    assert hub.states.get(f"light.{dev}_lamp").attributes["brightness"] == 128

    # An empty retained config removes the entity.
    await mqtt_peer.publish(f"{prefix}/sensor/{dev}/battery/config", "", retain=True)
    await wait_until(lambda: hub.states.get(f"sensor.{dev}_battery_z2m") is None)
    for topic in configs:
        await mqtt_peer.publish(topic, "", retain=True)


async def test_device_discovery_with_components(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    prefix = f"ha_{uuid.uuid4().hex[:6]}"
    hub = await _hub(make_hub, mosquitto, prefix)
    state_topic = f"esp/{prefix}/state"
    config = {
        "dev": {"ids": "esp_panic_01", "name": "ESP panic", "mf": "Espressif", "mdl": "ESP32"},
        "o": {"name": "ESPHome", "sw": "2026.11"},
        "stat_t": state_topic,
        "qos": 1,
        "cmps": {
            "alarm": {
                "p": "binary_sensor",
                "dev_cla": "safety",
                "uniq_id": "esp_panic_alarm",
                "val_tpl": "{{ value_json.alarm }}",
            },
            "rssi": {
                "p": "sensor",
                "uniq_id": "esp_panic_rssi",
                "val_tpl": "{{ value_json.rssi }}",
                "unit_of_meas": "dBm",
            },
        },
    }
    topic = f"{prefix}/device/esp_panic_01/config"
    await mqtt_peer.publish(topic, json.dumps(config), retain=True)
    await wait_until(lambda: hub.states.get("sensor.esp_panic_rssi") is not None)
    await mqtt_peer.publish(state_topic, '{"alarm":"ON","rssi":-61}', retain=True)  # ESPHome retains states
    await wait_until(lambda: hub.states.get("binary_sensor.esp_panic_alarm").state == "on")
    assert hub.states.get("sensor.esp_panic_rssi").state == "-61"
    # A component that vanishes from cmps is removed.
    del config["cmps"]["rssi"]  # type: ignore[attr-defined]
    await mqtt_peer.publish(topic, json.dumps(config), retain=True)
    await wait_until(lambda: hub.states.get("sensor.esp_panic_rssi") is None)
    assert hub.states.get("binary_sensor.esp_panic_alarm") is not None
    await mqtt_peer.publish(topic, "", retain=True)
    await wait_until(lambda: hub.states.get("binary_sensor.esp_panic_alarm") is None)
    await mqtt_peer.publish(state_topic, "", retain=True)


async def test_publishes_discovery_for_hub_entities(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    prefix = f"ha_{uuid.uuid4().hex[:6]}"
    log = await mqtt_peer.subscribe(f"{prefix}/#")
    base_log = await mqtt_peer.subscribe("safetyhub/test-hub/#")
    hub = await _hub(
        make_hub,
        mosquitto,
        prefix,
        "sos:\n  - {id: gate, name: Gate, simulated: true}\nlight:\n  - {id: lamp, simulated: true}\n",
        publish=True,
    )
    config = json.loads((await log.wait(f"{prefix}/device/safetyhub_test_hub/config"))[0])
    cmps = config["cmps"]
    assert cmps["gate_sos"]["p"] == "binary_sensor" and cmps["gate_sos"]["dev_cla"] == "safety"
    assert cmps["gate_press"]["p"] == "event" and cmps["gate_press"]["evt_typ"] == ["press"]
    assert cmps["light_lamp"]["p"] == "binary_sensor" and "open_incidents" in cmps
    assert config["avty_t"] == "safetyhub/test-hub/status"
    assert (await base_log.wait("safetyhub/test-hub/state/sos.gate"))[-1] == b"idle"
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "test"})
    press = json.loads((await base_log.wait("safetyhub/test-hub/event/sos.gate"))[0])
    assert press == {"event_type": "press", "action": "test", "source": "manual"}
    await wait_until(lambda: base_log.payloads("safetyhub/test-hub/state/sos.gate")[-1] == b"triggered")
    # Home Assistant restarting asks everyone to announce again.
    before = len(log.payloads(f"{prefix}/device/safetyhub_test_hub/config"))
    await mqtt_peer.publish(f"{prefix}/status", "online")
    await log.wait(f"{prefix}/device/safetyhub_test_hub/config", before + 1)
    await mqtt_peer.publish(f"{prefix}/device/safetyhub_test_hub/config", "", retain=True)


async def test_entities_from_retained_configs_get_their_state_at_connect(
    make_hub, mosquitto, mqtt_peer
) -> None:
    """Retained configs arrive while the client restores its subscriptions: their state topics must not be lost."""
    prefix = f"hd_{uuid.uuid4().hex[:6]}"
    state_topic = f"{prefix}_dev/panic/state"
    config = {
        "name": "Panic",
        "unique_id": f"{prefix}_panic",
        "state_topic": state_topic,
        "payload_on": "PRESSED",
    }
    await mqtt_peer.publish(f"{prefix}/binary_sensor/esp1/panic/config", json.dumps(config), retain=True)
    try:
        hub = await make_hub(mqtt_block(mosquitto, discovery=f"{{prefix: {prefix}}}"), real_clock=True)
        entity_id = f"binary_sensor.{prefix}_panic"
        await wait_until(lambda: hub.states.get(entity_id) is not None)
        from integrations.mqtt import get_client

        # The entity may exist before the client reports itself connected (that is the case
        # under test): its late subscription is sent at that point, then acknowledged.
        assert await get_client(hub).wait_connected(5)
        await get_client(hub).settle()
        await mqtt_peer.publish(state_topic, "PRESSED")
        await wait_until(lambda: hub.states.get(entity_id).state == "on", 3, "the state topic is subscribed")
    finally:
        await mqtt_peer.publish(f"{prefix}/binary_sensor/esp1/panic/config", b"", retain=True)
