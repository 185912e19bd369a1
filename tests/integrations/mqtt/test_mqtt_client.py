"""The shared client against a real Mosquitto: birth/will, routing, limits, mqtt.publish, the trigger."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import uuid
from typing import Any

import pytest

from hub.components.automation.platforms import TriggerInfo
from hub.core.errors import ServiceValidationError
from hub.testing import Mosquitto, MosquittoFactory, MqttPeer, mqtt_block, wait_until


async def _hub(make_hub: Any, broker: Mosquitto, extra: str = "", **options: Any) -> tuple[Any, Any]:
    hub = await make_hub(mqtt_block(broker, **options) + extra, real_clock=True)
    from integrations.mqtt import get_client

    client = get_client(hub)
    assert await client.wait_connected(5)
    return hub, client


async def test_birth_and_last_will(make_hub: Any, mosquitto_factory: MosquittoFactory) -> None:
    import aiomqtt

    broker = mosquitto_factory()
    hub, client = await _hub(make_hub, broker, keepalive=5)
    assert hub.states.get("binary_sensor.mqtt_connected").state == "on"
    seen: list[bytes] = []
    async with aiomqtt.Client(broker.host, broker.port) as watcher:
        await watcher.subscribe(client.status_topic)

        async def collect() -> None:
            async for message in watcher.messages:
                seen.append(bytes(message.payload))

        task = asyncio.create_task(collect())
        await wait_until(lambda: seen == [b"online"])  # retained birth
        # Drop the hub's connection without a DISCONNECT: the broker publishes the will.
        sock = client._client._client.socket()  # the TCP socket under aiomqtt/paho
        sock.shutdown(socket.SHUT_RDWR)
        await wait_until(lambda: b"offline" in seen, 10)
        await wait_until(lambda: seen[-1] == b"online", 10)  # reconnected and re-announced
        task.cancel()


async def test_routing_limits_and_bad_callbacks(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer, caplog: Any
) -> None:
    hub, client = await _hub(make_hub, mosquitto, max_payload=2048)
    root = f"t/{uuid.uuid4().hex[:6]}"
    got: list[tuple[str, str]] = []
    unsub_a = client.subscribe(f"{root}/+/state", lambda m: got.append(("a", m.topic)), qos=1)
    client.subscribe(f"{root}/#", lambda m: got.append(("b", m.topic)))
    client.subscribe(f"{root}/boom", lambda m: 1 / 0)
    await asyncio.sleep(0.2)
    await mqtt_peer.publish(f"{root}/lamp/state", "1")
    await mqtt_peer.publish(f"{root}/big", b"x" * 5000)
    for _ in range(5):
        await mqtt_peer.publish(f"{root}/boom", "x")
    await mqtt_peer.publish(f"{root}/end", "1")
    await wait_until(lambda: ("b", f"{root}/end") in got)
    assert ("a", f"{root}/lamp/state") in got and ("b", f"{root}/lamp/state") in got
    assert ("b", f"{root}/big") not in got and client.dropped == 1
    assert len([r for r in caplog.records if "failed on" in r.getMessage()]) == 1  # rate-limited
    unsub_a()
    await mqtt_peer.publish(f"{root}/lamp/state", "2")
    await wait_until(lambda: got.count(("b", f"{root}/lamp/state")) == 2)
    assert got.count(("a", f"{root}/lamp/state")) == 1


async def test_publish_service(make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    hub, _ = await _hub(make_hub, mosquitto)
    topic = f"out/{uuid.uuid4().hex[:6]}"
    log = await mqtt_peer.subscribe(f"{topic}/#")
    hub.states.set("sensor.temp", "31.5")
    await hub.services.call("mqtt", "publish", {"topic": f"{topic}/plain", "payload": "hello", "qos": 1})
    await hub.services.call(
        "mqtt",
        "publish",
        {
            "topic": f"{topic}/tpl",
            "payload_template": "{{ states('sensor.temp') | float + 1 }}",
            "retain": True,
        },
    )
    assert await log.wait(f"{topic}/plain") == [b"hello"]
    assert await log.wait(f"{topic}/tpl") == [b"32.5"]
    with pytest.raises(ServiceValidationError):
        await hub.services.call("mqtt", "publish", {"topic": f"{topic}/#", "payload": "x"})
    assert hub.services.get("mqtt", "publish").role == "admin"
    await mqtt_peer.publish(f"{topic}/tpl", "", retain=True)


async def test_mqtt_trigger(make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    hub, _ = await _hub(make_hub, mosquitto)
    from integrations.mqtt.trigger import MqttTrigger

    topic = f"trig/{uuid.uuid4().hex[:6]}"
    fired: list[dict[str, Any]] = []
    info = TriggerInfo("a1", 0, "0", {})
    platform = MqttTrigger()
    unsub_plain = platform.attach(hub, {"topic": f"{topic}/+"}, lambda v, c: fired.append(v), info)
    platform.attach(
        hub,
        {"topic": f"{topic}/json", "payload": "emergency", "value_template": "{{ value_json.action }}"},
        lambda v, c: fired.append({"t": 1, **v}),
        info,
    )
    platform.attach(
        hub, {"topic": f"{topic}/on", "payload": True}, lambda v, c: fired.append({"on": 1}), info
    )
    await asyncio.sleep(0.2)
    await mqtt_peer.publish(f"{topic}/json", '{"action":"single"}')
    await mqtt_peer.publish(f"{topic}/json", '{"action":"emergency"}')
    await mqtt_peer.publish(f"{topic}/on", "ON")
    await wait_until(lambda: len(fired) == 5)
    plain = [f for f in fired if "t" not in f and "on" not in f]
    assert [p["payload"] for p in plain] == ['{"action":"single"}', '{"action":"emergency"}', "ON"]
    assert plain[0]["payload_json"] == {"action": "single"} and plain[0]["topic"] == f"{topic}/json"
    assert [f["payload_json"]["action"] for f in fired if "t" in f] == ["emergency"]
    assert [f for f in fired if "on" in f] == [{"on": 1}]
    unsub_plain()
    assert MqttTrigger.schema.model_validate({"topic": "a/+/b", "qos": 1}).qos == 1
    with pytest.raises(ValueError):
        MqttTrigger.schema.model_validate({"topic": "a/#/b"})


def test_config_errors(load_config: Any) -> None:
    loaded = load_config("mqtt: {broker: http://x, reconnect_min: 5, reconnect_max: 1}\n")
    messages = " ".join(str(e) for e in loaded.errors)
    assert "mqtt" in messages and "broker" in messages
    loaded = load_config("mqtt: {broker: 'mqtt://user:pw@host'}\n")
    assert any("credentials" in str(e) for e in loaded.errors)
    assert not load_config(
        "mqtt: {broker: 'mqtts://broker.example:8883', username: hub, password: pw}\n"
    ).errors


async def test_client_survives_broker_kill(make_hub: Any, mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory()
    hub, client = await _hub(make_hub, broker)
    assert broker._proc is not None
    os.kill(broker._proc.pid, signal.SIGKILL)
    await wait_until(lambda: hub.states.get("binary_sensor.mqtt_connected").state == "off", 10)
    broker.start()
    await wait_until(lambda: client.connected, 10)
    assert json.loads(json.dumps(client.info()))["connects"] >= 2
