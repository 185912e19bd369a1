"""Zigbee2MQTT, Tasmota and Shelly lights and a Zigbee siren, against a real Mosquitto.

The test plays the devices: it answers commands the way the firmware does
(payloads from notes §1.3–1.5) and checks the hub's commands on the command topics.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from hub.testing import Mosquitto, MqttPeer, mqtt_block, wait_until


def _uid() -> str:
    return uuid.uuid4().hex[:8]


async def _hub(make_hub: Any, mosquitto: Mosquitto, block: str, base: str = "zigbee2mqtt") -> Any:
    hub = await make_hub(
        mqtt_block(mosquitto, zigbee2mqtt=f"{{base_topic: {base}}}") + block, real_clock=True
    )
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    return hub


async def test_zigbee2mqtt_light_and_siren(make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    base = f"z2m_{_uid()}"
    log = await mqtt_peer.subscribe(f"{base}/+/set")
    await mqtt_peer.subscribe(f"{base}/+/get")
    hub = await _hub(
        make_hub,
        mosquitto,
        """\
light:
  - {id: gate_lamp, zigbee2mqtt: gate_lamp}
  - {id: gate_siren, zigbee2mqtt: gate_siren, kind: siren}
""",
        base,
    )
    # The hub asks for the state after connecting.
    assert json.loads((await log.wait(f"{base}/gate_lamp/get"))[0]) == {"state": ""}
    assert hub.states.get("light.gate_lamp").state == "unknown"
    await mqtt_peer.publish(f"{base}/gate_lamp", '{"state":"OFF","brightness":254,"linkquality":120}', qos=0)
    await wait_until(lambda: hub.states.get("light.gate_lamp").state == "off")

    await hub.services.call(
        "light",
        "turn_on",
        {"entity_id": "light.gate_lamp", "brightness": 128, "transition": 2, "hex_color": "#FF0000"},
    )
    cmd = json.loads((await log.wait(f"{base}/gate_lamp/set"))[0])
    assert cmd == {"state": "ON", "brightness": 127, "transition": 2, "color": {"hex": "#FF0000"}}
    assert hub.states.get("light.gate_lamp").state == "off"  # not optimistic: the device has not said so
    await mqtt_peer.publish(f"{base}/gate_lamp", '{"state":"ON","brightness":127,"linkquality":118}', qos=0)
    await wait_until(lambda: hub.states.get("light.gate_lamp").state == "on")
    state = hub.states.get("light.gate_lamp")
    assert state.attributes["brightness"] == 128 and state.attributes["linkquality"] == 118  # 127/254 of 255

    await mqtt_peer.publish(f"{base}/gate_lamp/availability", '{"state":"offline"}')
    await wait_until(lambda: hub.states.get("light.gate_lamp").state == "unavailable")
    await mqtt_peer.publish(f"{base}/gate_lamp/availability", '{"state":"online"}')
    await wait_until(lambda: hub.states.get("light.gate_lamp").state == "on")

    # Flash: the bulb's own blink effect, repeated, then stop_effect and the state from before.
    await hub.services.call(
        "light", "flash", {"entity_id": "light.gate_lamp", "seconds": 1.0, "pattern": "fast"}
    )
    await wait_until(lambda: b'{"state": "ON"}' in log.payloads(f"{base}/gate_lamp/set"), 5)
    cmds = [json.loads(p) for p in log.payloads(f"{base}/gate_lamp/set")[1:]]
    assert cmds[0] == {"effect": "blink"} and cmds.count({"effect": "blink"}) >= 2
    assert cmds[-2:] == [{"effect": "stop_effect"}, {"state": "ON"}]

    await hub.services.call("siren", "turn_on", {"entity_id": "siren.gate_siren", "duration": 30})
    warning = json.loads((await log.wait(f"{base}/gate_siren/set"))[0])
    assert warning == {
        "warning": {
            "mode": "emergency",
            "level": "high",
            "strobe": True,
            "strobe_level": "high",
            "strobe_duty_cycle": 5,
            "duration": 30,
        }
    }
    assert hub.states.get("siren.gate_siren").state == "on"
    await hub.services.call("siren", "turn_off", {"entity_id": "siren.gate_siren"})
    assert json.loads((await log.wait(f"{base}/gate_siren/set", 2))[1])["warning"]["mode"] == "stop"
    assert hub.states.get("siren.gate_siren").state == "off"
    assert not any(retained for _, _, retained in log.messages)


async def test_tasmota(make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    t = f"tasmota_{_uid()}"
    log = await mqtt_peer.subscribe(f"cmnd/{t}/#")
    await mqtt_peer.publish(f"tele/{t}/LWT", "Online", retain=True)
    hub = await _hub(make_hub, mosquitto, f"light:\n  - {{id: soi_lamp, tasmota: {t}}}\n")
    assert (await log.wait(f"cmnd/{t}/POWER"))[0] == b""  # the state query after connecting
    await mqtt_peer.publish(f"stat/{t}/RESULT", '{"POWER":"OFF"}', qos=0)
    await mqtt_peer.publish(f"stat/{t}/POWER", "OFF", qos=0)
    await wait_until(lambda: hub.states.get("light.soi_lamp").state == "off")

    await hub.services.call("light", "turn_on", {"entity_id": "light.soi_lamp"})
    assert (await log.wait(f"cmnd/{t}/POWER", 2))[1] == b"ON"
    await mqtt_peer.publish(f"stat/{t}/RESULT", '{"POWER":"ON"}', qos=0)
    await wait_until(lambda: hub.states.get("light.soi_lamp").state == "on")
    await hub.services.call("light", "toggle", {"entity_id": "light.soi_lamp"})
    assert (await log.wait(f"cmnd/{t}/POWER", 3))[2] == b"TOGGLE"
    await mqtt_peer.publish(
        f"tele/{t}/STATE",
        json.dumps(
            {
                "Time": "2026-11-21T20:00:00",
                "Uptime": "0T01:00:00",
                "POWER": "OFF",
                "Dimmer": 40,
                "Wifi": {"AP": 1, "SSId": "shop", "RSSI": 70, "Signal": -65},
            }
        ),
        qos=0,
    )
    await wait_until(lambda: hub.states.get("light.soi_lamp").state == "off")
    assert hub.states.get("light.soi_lamp").attributes["brightness"] == 102
    await mqtt_peer.publish(f"tele/{t}/LWT", "Offline", retain=True)
    await wait_until(lambda: hub.states.get("light.soi_lamp").state == "unavailable")
    assert not any(retained for _, _, retained in log.messages)
    await mqtt_peer.publish(f"tele/{t}/LWT", "", retain=True)


async def test_shelly_gen2_rpc(make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    dev = f"shellyplus1-{_uid()}"
    log = await mqtt_peer.subscribe(f"{dev}/rpc")
    output = {"value": False}

    async def firmware() -> None:
        """Answer RPC requests like a Shelly Plus 1 does."""
        answered = 0
        while True:
            requests = log.payloads(f"{dev}/rpc")
            for raw in requests[answered:]:
                req = json.loads(raw)
                result: dict[str, Any]
                if req["method"] == "Switch.GetStatus":
                    result = {
                        "id": 0,
                        "source": "init",
                        "output": output["value"],
                        "temperature": {"tC": 40.1},
                    }
                elif req["method"] == "Switch.Set":
                    result = {"was_on": output["value"]}
                    output["value"] = req["params"]["on"]
                    await mqtt_peer.publish(
                        f"{dev}/events/rpc",
                        json.dumps(
                            {
                                "src": dev,
                                "dst": f"{dev}/events",
                                "method": "NotifyStatus",
                                "params": {
                                    "ts": 1732200000.0,
                                    "switch:0": {"id": 0, "output": output["value"], "source": "MQTT"},
                                },
                            }
                        ),
                    )
                else:
                    result = {}
                await mqtt_peer.publish(
                    f"{req['src']}/rpc",
                    json.dumps({"id": req["id"], "src": dev, "dst": req["src"], "result": result}),
                )
            answered = len(requests)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(firmware())
    try:
        await mqtt_peer.publish(f"{dev}/online", "true", retain=True)
        hub = await _hub(make_hub, mosquitto, f"light:\n  - {{id: stall_relay, shelly: {dev}}}\n")
        await wait_until(lambda: hub.states.get("light.stall_relay").state == "off")  # from GetStatus
        first = json.loads(log.payloads(f"{dev}/rpc")[0])
        assert first["method"] == "Switch.GetStatus" and first["src"] == "safetyhub-test-hub"
        await hub.services.call("light", "turn_on", {"entity_id": "light.stall_relay"})
        await wait_until(lambda: hub.states.get("light.stall_relay").state == "on")
        req = json.loads(log.payloads(f"{dev}/rpc")[1])
        assert req["method"] == "Switch.Set" and req["params"] == {"id": 0, "on": True}
        await mqtt_peer.publish(f"{dev}/online", "false", retain=True)
        await wait_until(lambda: hub.states.get("light.stall_relay").state == "unavailable")
    finally:
        task.cancel()
        await mqtt_peer.publish(f"{dev}/online", "", retain=True)


async def test_lights_without_mqtt_block(make_hub: Any) -> None:
    hub = await make_hub("light:\n  - {id: a, tasmota: lamp_a}\n  - {id: b, simulated: true}\n")
    assert hub.states.get("light.a").state == "unavailable"
    assert "mqtt" in hub.states.get("light.a").attributes["error"]
    await hub.services.call("light", "turn_on", {"entity_id": "light.b"})
    assert hub.states.get("light.b").state == "on"
