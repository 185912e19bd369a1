"""Generic MQTT topic buttons, webhook buttons, the devices page, and a broker restart mid-test."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from hub.testing import Mosquitto, MosquittoFactory, MqttPeer, mqtt_block, wait_until

SECRET = "kXq3tLr8yWm2pZ5vB7nC9dF1"


async def test_mqtt_topic_button(make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    topic = f"shop/{uuid.uuid4().hex[:6]}/sos"
    hub = await make_hub(
        mqtt_block(mosquitto)
        + f"""\
sos:
  - {{id: fish_stall, mqtt: {{topic: {topic}, payload: "PRESSED"}}}}
  - {{id: any_msg, mqtt: {{topic: {topic}/any}}}}
  - {{id: templ, mqtt: {{topic: {topic}/json, value_template: "{{{{ value_json.event }}}}", payload: panic}}}}
""",
        real_clock=True,
    )
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    for t, p in [
        (topic, "RELEASED"),
        (topic, "PRESSED"),
        (f"{topic}/any", ""),
        (f"{topic}/any", "hello"),
        (f"{topic}/json", '{"event":"idle"}'),
        (f"{topic}/json", "garbage"),
        (f"{topic}/json", '{"event":"panic"}'),
        (topic, "PRESSED"),
    ]:
        await mqtt_peer.publish(t, p, qos=1)
    await wait_until(lambda: len(presses) == 4)
    assert [(e.data["entity_id"], e.data["action"]) for e in presses] == [
        ("sos.fish_stall", "PRESSED"),
        ("sos.any_msg", "hello"),
        ("sos.templ", "panic"),
        ("sos.fish_stall", "PRESSED"),
    ]
    assert hub.states.get("sos.fish_stall").attributes["presses"] == 2


async def test_webhook_button(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub(f"""\
sos:
  - {{id: wifi_button, webhook: {{id: {SECRET}}}}}
  - {{id: other, webhook: {{id: {SECRET[::-1]}}}}}
""")
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    anon = await client_for(anonymous=True, target=hub)
    async with anon.post(f"/api/sos/webhook/{SECRET}") as resp:
        assert resp.status == 200
        assert (await resp.json())["entity_id"] == "sos.wifi_button"
    async with anon.post(f"/api/sos/webhook/{SECRET}", json={"action": "long_press"}) as resp:
        assert resp.status == 200
    async with anon.post(f"/api/sos/webhook/{SECRET[:-1]}x") as resp:
        assert resp.status == 404
    async with anon.get(f"/api/sos/webhook/{SECRET}") as resp:
        assert resp.status == 405
    await hub.block_till_done()
    assert [(e.data["entity_id"], e.data["action"], e.data["source"]) for e in presses] == [
        ("sos.wifi_button", "webhook", "webhook"),
        ("sos.wifi_button", "long_press", "webhook"),
    ]
    # Guessing is throttled per IP.
    for _ in range(25):
        async with anon.post(f"/api/sos/webhook/guess{uuid.uuid4().hex}") as resp:
            last = resp.status
    assert last == 429


async def test_devices_page(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub("""\
sos:
  - {id: drill, name: Drill button, simulated: true}
  - {id: zb, zigbee2mqtt: needs_mqtt}
light:
  - {id: lamp, name: Gate lamp, simulated: true}
""")
    viewer = await client_for("viewer", target=hub)
    async with viewer.get("/devices") as resp:
        assert resp.status == 200
        html = await resp.text()
    assert "sos.drill" in html and "light.lamp" in html and "Drill button" in html
    assert "test-press" not in html
    admin = await client_for("admin", target=hub)
    async with admin.get("/devices") as resp:
        html = await resp.text()
    assert "test-press" in html and "test-flash" in html
    assert "add an `mqtt:` block" in html.replace("&#96;", "`")
    anon = await client_for(anonymous=True, target=hub)
    async with anon.get("/devices", allow_redirects=False) as resp:
        assert resp.status == 401


async def test_broker_restart_loses_no_press_after_reconnect(
    make_hub: Any, mosquitto_factory: MosquittoFactory
) -> None:
    import aiomqtt

    broker = mosquitto_factory()
    hub = await make_hub(
        mqtt_block(broker) + "sos:\n  - {id: gate, mqtt: {topic: market/gate/sos}}\n", real_clock=True
    )
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    from integrations.mqtt import get_client

    client = get_client(hub)
    assert await client.wait_connected(5)
    broker.restart()  # no persistence: the broker forgets the hub's session and subscriptions
    await wait_until(lambda: client.connects >= 2 and client.connected, 10)
    assert hub.states.get("binary_sensor.mqtt_connected").state == "on"
    async with aiomqtt.Client(broker.host, broker.port) as device:
        for i in range(20):
            await device.publish("market/gate/sos", f"press-{i}", qos=1)
    await wait_until(lambda: len(presses) == 20, 10)
    assert [e.data["action"] for e in presses] == [f"press-{i}" for i in range(20)]


async def test_broker_down_at_start(
    make_hub: Any, mosquitto_factory: MosquittoFactory, mqtt_peer: Any
) -> None:
    import aiomqtt

    broker = mosquitto_factory(start=False)
    hub = await make_hub(
        mqtt_block(broker) + "sos:\n  - {id: gate, mqtt: {topic: late/sos}}\n", real_clock=True
    )
    state = hub.states.get("binary_sensor.mqtt_connected")
    assert state.state == "off" and state.attributes["status"] in ("connecting", "disconnected")
    assert hub.states.get("sos.gate").state == "idle"
    health = {
        i.domain: v for i, v in await hub.plugins.async_call_each("health_info", only=["mqtt"], hub=hub)
    }
    assert health["mqtt"]["status"] in ("connecting", "disconnected")
    broker.start()
    await wait_until(lambda: hub.states.get("binary_sensor.mqtt_connected").state == "on", 10)
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    async with aiomqtt.Client(broker.host, broker.port) as device:
        await device.publish("late/sos", "go", qos=1)
    await wait_until(lambda: presses)


async def test_webhook_needs_no_login_but_rejects_oversize(make_hub: Any) -> None:
    hub = await make_hub(f"sos:\n  - {{id: b, webhook: {{id: {SECRET}}}}}\n")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{hub.http.url}/api/sos/webhook/{SECRET}", data=b"x" * 10000) as resp,
    ):
        assert resp.status == 200  # body too big to parse: still a press, with the default action
    await hub.block_till_done()
    assert hub.states.get("sos.b").attributes["presses"] == 1
