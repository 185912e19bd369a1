"""The devices set-up flow against a real Mosquitto and a simulated Zigbee2MQTT bridge."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from typing import Any

import pytest
import pytest_asyncio

from hub.testing import Mosquitto, mqtt_block, wait_until
from integrations.mqtt.testing_z2m import FakeZigbee2Mqtt, light_device, sos_button_device
from integrations.sos import setup_flow


@pytest_asyncio.fixture
async def bridge(mosquitto: Mosquitto) -> Any:
    z2m = FakeZigbee2Mqtt(mosquitto.host, mosquitto.port, f"z2m_{uuid.uuid4().hex[:8]}")
    await z2m.start()
    yield z2m
    await z2m.stop()


async def _hub(make_hub: Any, mosquitto: Mosquitto, base: str) -> Any:
    hub = await make_hub(mqtt_block(mosquitto, zigbee2mqtt=f"{{base_topic: {base}}}"), real_clock=True)
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    return hub


async def test_permit_join_then_the_button_is_found_and_proven(
    make_hub, mosquitto, bridge, client_for
) -> None:
    hub = await _hub(make_hub, mosquitto, bridge.base)
    client = await client_for("admin", target=hub)
    await bridge.pair(sos_button_device("new_sos", "0xa4c1380000000099"))
    page = await (await client.get("/setup/devices")).text()
    assert "new_sos" not in page  # it waits for pairing to open
    async with client.post("/setup/devices/permit", data={"minutes": "2"}, allow_redirects=False) as resp:
        assert resp.status == 303
    assert bridge.permit_requests[-1]["time"] == 120
    # Audited as the signed-in admin, from the request's address (hub.http.routes.audit_request).
    [entry] = await hub.audit.query(action="setup.permit_join")
    assert (entry.actor, entry.role, entry.target) == ("test-admin", "admin", "zigbee2mqtt")
    assert entry.detail == {"seconds": 120} and entry.ip == "127.0.0.1"
    await wait_until(lambda: setup_flow.found_devices(hub), 5, "the joined button is found")
    page = await (await client.get("/setup/devices")).text()
    assert 'data-device="z2m:new_sos"' in page and 'id="permit-open"' in page
    # The model's press table is shown when the device is chosen.
    page = await (await client.get("/setup/devices", params={"device": "z2m:new_sos"})).text()
    assert "action = &#34;emergency&#34;" in page or 'action = "emergency"' in page
    # Saving before a test press is refused, with nothing written.
    async with client.post(
        "/setup/devices/save", data={"device": "z2m:new_sos", "kind": "sos", "id": "gate"}
    ) as resp:
        assert resp.status == 422
        assert "ต้องทดสอบให้ผ่านก่อนบันทึก" in await resp.text()

    async def press_soon() -> None:
        await asyncio.sleep(0.3)
        await bridge.press("new_sos", "arm_all_zones")  # not a press: ignored
        await bridge.press("new_sos", "emergency")

    presser = asyncio.create_task(press_soon())
    async with client.post("/setup/devices/test-press", data={"device": "z2m:new_sos"}) as resp:
        text = await resp.text()
    await presser
    assert resp.status == 200 and 'id="press-ok"' in text and "emergency" in text
    assert 'id="save-sos"' in text


async def test_no_zigbee2mqtt_answering_says_what_to_check(make_hub, mosquitto, client_for) -> None:
    base = f"z2m_{uuid.uuid4().hex[:8]}"
    async with FakeZigbee2Mqtt(mosquitto.host, mosquitto.port, base, answer=False):
        hub = await _hub(make_hub, mosquitto, base)
        client = await client_for("admin", target=hub)
        setup_flow_wait = setup_flow.PERMIT_ANSWER_WAIT
        setup_flow.PERMIT_ANSWER_WAIT = 0.5
        try:
            async with client.post("/setup/devices/permit", data={"minutes": "1"}) as resp:
                text = await resp.text()
        finally:
            setup_flow.PERMIT_ANSWER_WAIT = setup_flow_wait
    assert resp.status == 422
    assert "Zigbee2MQTT ไม่ตอบกลับ" in text and base in text


async def test_no_mqtt_block_is_explained(make_hub, client_for) -> None:
    hub = await make_hub()
    client = await client_for("admin", target=hub)
    text = await (await client.get("/setup/devices")).text()
    assert "ยังไม่ได้เชื่อมต่อ MQTT" in text
    async with client.post("/setup/devices/permit", data={"minutes": "1"}) as resp:
        assert resp.status == 422


async def test_press_timeout_and_light_flash(make_hub, mosquitto, bridge, client_for) -> None:
    hub = await _hub(make_hub, mosquitto, bridge.base)
    bridge.devices.append(light_device("porch_bulb", "0x0017880100000001"))
    bridge.devices.append(sos_button_device("quiet_sos", "0xa4c1380000000098"))
    await bridge.publish_devices()
    await wait_until(lambda: len(setup_flow.found_devices(hub)) == 2, 5, "both devices found")
    with_light = {d["key"]: d for d in setup_flow.found_devices(hub)}
    assert with_light["z2m:porch_bulb"]["suggest"] == "light"
    assert with_light["z2m:quiet_sos"]["suggest"] == "sos"
    from integrations.flows.common import FlowError

    try:
        await setup_flow.wait_press(hub, "z2m:quiet_sos", within=0.3)
    except FlowError as err:
        assert err.key == "dev.press_timeout"
    else:
        raise AssertionError("a silent button must not pass the test")
    client = await client_for("admin", target=hub)
    async with client.post("/setup/devices/test-flash", data={"device": "z2m:porch_bulb"}) as resp:
        text = await resp.text()
    assert 'id="flash-sent"' in text and 'id="save-light"' in text
    await wait_until(lambda: bridge.commands_for("porch_bulb"), 5, "the bulb was told to blink")
    assert bridge.commands_for("porch_bulb")[0] == {"effect": "blink"}


async def test_proven_button_is_saved_through_the_writer(
    make_hub, mosquitto, bridge, client_for, config_dir
) -> None:
    from hub.bootstrap import load

    hub = await _hub(make_hub, mosquitto, bridge.base)
    bridge.devices.append(sos_button_device("gate_sos", "0xa4c1380000000097"))
    await bridge.publish_devices()
    await wait_until(lambda: setup_flow.found_devices(hub), 5, "the button is found")
    client = await client_for("admin", target=hub)

    async def press_soon() -> None:
        await asyncio.sleep(0.3)
        await bridge.press("gate_sos")

    presser = asyncio.create_task(press_soon())
    async with client.post("/setup/devices/test-press", data={"device": "z2m:gate_sos"}) as resp:
        assert 'id="press-ok"' in await resp.text()
    await presser
    form = {"device": "z2m:gate_sos", "kind": "sos", "id": "market_gate", "name": "ปุ่ม SOS ประตูตลาด"}
    async with client.post("/setup/devices/save", data=form, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    written = (config_dir / "ui" / "sos.yaml").read_text(encoding="utf-8")
    assert "zigbee2mqtt: gate_sos" in written and "market_gate" in written
    loaded = load(config_dir / "config.yaml")
    assert not loaded.errors
    assert [(b.id, b.zigbee2mqtt) for b in loaded.blocks["sos"]] == [("market_gate", "gate_sos")]
    # Applied without a restart: the button exists and a press reaches it.
    await wait_until(lambda: hub.states.get("sos.market_gate"), 5, "the button is live")
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    await bridge.press("gate_sos")
    await wait_until(lambda: presses, 5, "the live button takes presses")
    assert presses[0].data["entity_id"] == "sos.market_gate"
    assert not any(d["name"] == "gate_sos" for d in setup_flow.found_devices(hub))  # no longer "found"
    # The same id again is refused before anything is written.
    async with client.post("/setup/devices/save", data=form) as resp:
        assert resp.status == 422
    assert (config_dir / "ui" / "sos.yaml").read_text(encoding="utf-8") == written


async def test_broker_form_checks_then_writes_the_mqtt_block(
    make_hub, mosquitto, client_for, config_dir
) -> None:
    from hub.bootstrap import load
    from integrations.mqtt.testing import free_port

    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    page = await (await client.get("/setup/devices")).text()
    assert 'id="broker-connect"' in page and 'id="permit-join"' not in page
    async with client.post(
        "/setup/devices/broker", data={"broker": f"mqtt://127.0.0.1:{free_port()}"}
    ) as resp:
        assert resp.status == 422
        assert "ติดต่อโบรกเกอร์ไม่ได้" in await resp.text()
    async with client.post("/setup/devices/broker", data={"broker": "http://nope"}) as resp:
        assert resp.status == 422
        assert "mqtt://127.0.0.1:1883" in await resp.text()
    assert not (config_dir / "ui").exists()
    async with client.post(
        "/setup/devices/broker", data={"broker": mosquitto.url}, allow_redirects=False
    ) as resp:
        assert resp.status == 303, await resp.text()
    loaded = load(config_dir / "config.yaml")
    assert not loaded.errors and loaded.blocks["mqtt"].broker == mosquitto.url


@pytest.fixture
def password_broker(mosquitto_factory: Any, tmp_path: Any) -> Mosquitto:
    """A Mosquitto that accepts only hub/right."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd not installed")
    passwords = tmp_path / "passwd"
    subprocess.run([tool, "-b", "-c", str(passwords), "hub", "right"], check=True, capture_output=True)
    return mosquitto_factory(password_file=passwords)


async def test_broker_that_refuses_the_password(make_hub, password_broker, client_for) -> None:
    hub = await make_hub(real_clock=True)
    client = await client_for("admin", target=hub)
    form = {"broker": password_broker.url, "username": "hub", "password": "wrong"}
    async with client.post("/setup/devices/broker", data=form) as resp:
        assert resp.status == 422
        assert "โบรกเกอร์ไม่ยอมรับชื่อผู้ใช้หรือรหัสผ่าน" in await resp.text()


async def test_a_discovered_panic_input_becomes_an_sos_button(
    make_hub, mosquitto, mqtt_peer, client_for, config_dir
) -> None:
    """An ESPHome-style panic input announced by Home Assistant discovery, proven by its own "ON"."""
    import json

    from hub.bootstrap import load

    prefix = f"ha_{uuid.uuid4().hex[:6]}"
    hub = await make_hub(mqtt_block(mosquitto, discovery=f"{{prefix: {prefix}}}"), real_clock=True)
    state_topic = f"{prefix}_dev/panic/state"
    config = {
        "name": "Panic",
        "unique_id": f"{prefix}_panic",
        "state_topic": state_topic,
        "payload_on": "PRESSED",
        "payload_off": "IDLE",
        "device": {"name": "ESP ร้านทอง", "identifiers": ["esp1"], "model": "esp32-panic"},
    }
    await mqtt_peer.publish(f"{prefix}/binary_sensor/esp1/panic/config", json.dumps(config), retain=True)
    try:
        found = await wait_until(
            lambda: [d for d in setup_flow.found_devices(hub) if d["source"] == "discovery"], 5, "discovered"
        )
        [device] = found
        assert device["model"] == "esp32-panic"
        client = await client_for("admin", target=hub)

        async def press_soon() -> None:
            await asyncio.sleep(0.3)
            await mqtt_peer.publish(state_topic, "PRESSED")

        presser = asyncio.create_task(press_soon())
        async with client.post("/setup/devices/test-press", data={"device": device["key"]}) as resp:
            assert 'id="press-ok"' in await resp.text()
        await presser
        form = {"device": device["key"], "kind": "sos", "id": "gold_panic", "name": "ปุ่มใต้เคาน์เตอร์"}
        async with client.post("/setup/devices/save", data=form, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
        loaded = load(config_dir / "config.yaml")
        assert not loaded.errors
        [button] = loaded.blocks["sos"]
        assert (button.id, button.mqtt.topic, button.mqtt.payload) == ("gold_panic", state_topic, "PRESSED")
    finally:
        await mqtt_peer.publish(f"{prefix}/binary_sensor/esp1/panic/config", b"", retain=True)


async def test_a_sensor_is_shown_working_through_discovery(
    make_hub, mosquitto, bridge, mqtt_peer, client_for
) -> None:
    import json

    prefix = f"hs_{uuid.uuid4().hex[:6]}"
    hub = await make_hub(
        mqtt_block(
            mosquitto, zigbee2mqtt=f"{{base_topic: {bridge.base}}}", discovery=f"{{prefix: {prefix}}}"
        ),
        real_clock=True,
    )
    door = {
        "friendly_name": "back_door",
        "ieee_address": "0x00158d0000000042",
        "type": "EndDevice",
        "definition": {
            "model": "MCCGQ11LM",
            "vendor": "Aqara",
            "exposes": [{"type": "binary", "property": "contact"}],
        },
    }
    bridge.devices.append(door)
    await bridge.publish_devices()
    config = {
        "name": "Contact",
        "unique_id": "0x00158d0000000042_contact",
        "state_topic": f"{bridge.base}/back_door",
        "value_template": "{{ value_json.contact }}",
        "payload_on": False,
        "payload_off": True,
        "device": {"identifiers": ["zigbee2mqtt_0x00158d0000000042"], "name": "back_door"},
    }
    topic = f"{prefix}/binary_sensor/0x00158d0000000042/contact/config"
    client = await client_for("admin", target=hub)
    try:
        await wait_until(lambda: setup_flow.found_devices(hub), 5, "the door sensor is found")
        page = await (await client.get("/setup/devices", params={"device": "z2m:back_door"})).text()
        assert 'id="sensor-needs-discovery"' in page  # Z2M's discovery is off so far
        await mqtt_peer.publish(topic, json.dumps(config), retain=True)
        door_key = {"source": "z2m", "ieee": "0x00158d0000000042"}
        await wait_until(
            lambda: setup_flow.sensor_entities(hub, door_key), 5, "the discovered contact sensor"
        )
        page = await (await client.get("/setup/devices", params={"device": "z2m:back_door"})).text()
        assert 'id="sensor-live"' in page and "binary_sensor." in page
    finally:
        await mqtt_peer.publish(topic, b"", retain=True)
