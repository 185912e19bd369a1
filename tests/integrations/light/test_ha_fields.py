"""HA's light.turn_on fields, the switch domain, and what each source can be asked (issue: HA blueprints as written)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from hub.core.errors import ServiceError, ServiceValidationError
from hub.testing import Mosquitto, MqttPeer, mqtt_block, wait_until
from integrations.light.fields import hs_to_hex, to_command, xy_to_hex

SIMULATED = """\
light:
  - {id: porch, simulated: true}
  - {id: siren_relay, simulated: true, kind: switch}
"""


def _last(hub, entity_id: str) -> tuple[bool | None, dict[str, Any]]:
    return hub.entities.get(entity_id).commands[-1]


@pytest.mark.parametrize(
    ("data", "sent"),
    [
        ({"brightness_pct": 50}, {"brightness": 128}),
        ({"brightness_pct": 100}, {"brightness": 255}),
        ({"color_temp_kelvin": 2700}, {"color_temp": 370}),
        ({"kelvin": 6500}, {"color_temp": 154}),
        ({"rgb_color": [255, 128, 0]}, {"hex_color": "#FF8000"}),
        ({"color_name": "orange"}, {"hex_color": "#FFA500"}),
        ({"hs_color": [30, 100]}, {"hs": (30.0, 100.0)}),
        ({"xy_color": [0.7, 0.3]}, {"xy": (0.7, 0.3)}),
        ({"transition": 3, "effect": "breathe"}, {"transition": 3.0, "effect": "breathe"}),
    ],
)
async def test_ha_fields_reach_the_light_in_one_unit(make_hub, data, sent) -> None:
    hub = await make_hub(SIMULATED)
    await hub.services.call("light", "turn_on", {"entity_id": "light.porch", **data})
    assert _last(hub, "light.porch") == (True, sent)


async def test_brightness_steps_start_from_the_current_level(make_hub) -> None:
    hub = await make_hub(SIMULATED)
    await hub.services.call("light", "turn_on", {"entity_id": "light.porch", "brightness": 100})
    await hub.services.call("light", "turn_on", {"entity_id": "light.porch", "brightness_step_pct": 20})
    assert hub.states.get("light.porch").attributes["brightness"] == 151
    await hub.services.call("light", "turn_on", {"entity_id": "light.porch", "brightness_step": -200})
    assert hub.states.get("light.porch").attributes["brightness"] == 0


async def test_flash_short_and_long(make_hub, clock) -> None:
    hub = await make_hub(SIMULATED)
    await hub.services.call("light", "turn_on", {"entity_id": "light.porch", "flash": "short"})
    await hub.block_till_done()
    assert hub.states.get("light.porch").attributes["flashing"] is True
    await clock.advance(2.5)
    await hub.block_till_done()
    assert hub.states.get("light.porch").attributes["flashing"] is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rgb_color": [1, 2, 3], "color_name": "red"}, "one colour field"),
        ({"brightness": 3, "brightness_pct": 4}, "one brightness field"),
        ({"color_name": "blurple"}, "not a CSS colour name"),
        ({"rgb_color": [256, 0, 0]}, "0–255"),
        ({"hs_color": [400, 10]}, "hue must be 0–360"),
        ({"flash": "medium"}, "flash"),
        ({"brightness_pct": 120}, "brightness_pct"),
    ],
)
async def test_bad_fields_are_refused(make_hub, data, message) -> None:
    hub = await make_hub(SIMULATED)
    with pytest.raises(ServiceValidationError, match=message):
        await hub.services.call("light", "turn_on", {"entity_id": "light.porch", **data})


def test_colour_conversions() -> None:
    assert hs_to_hex(0, 100) == "#FF0000" and hs_to_hex(120, 100) == "#00FF00"
    red = xy_to_hex(0.64, 0.33)  # sRGB's red primary
    assert red[:3] == "#FF" and int(red[3:5], 16) <= 2 and red[5:] == "00"
    assert to_command({"brightness_step_pct": 10}, None).brightness == 26  # from off, as HA


async def test_switch_domain(make_hub) -> None:
    hub = await make_hub(SIMULATED)
    assert hub.states.get("switch.siren_relay").state == "unknown"
    await hub.services.call("switch", "turn_on", {"entity_id": "switch.siren_relay"})
    assert hub.states.get("switch.siren_relay").state == "on"
    await hub.services.call("switch", "toggle", {"target": {"entity_id": "switch.siren_relay"}})
    assert hub.states.get("switch.siren_relay").state == "off"
    await hub.services.call("homeassistant", "turn_on", {"entity_id": ["switch.siren_relay", "light.porch"]})
    assert hub.states.get("switch.siren_relay").state == "on" and hub.states.get("light.porch").state == "on"
    with pytest.raises(ServiceError, match="light.turn_on does not act on switch.siren_relay"):
        await hub.services.call("light", "turn_on", {"entity_id": "switch.siren_relay"})
    with pytest.raises(ServiceError, match="switch.turn_off does not act on light.porch"):
        await hub.services.call("switch", "turn_off", {"entity_id": "light.porch"})


async def test_protocols_carry_the_fields(make_hub, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    """Zigbee2MQTT, Tasmota and Shelly on a real Mosquitto: what goes on the wire, and what is refused."""
    uid = uuid.uuid4().hex[:8]
    base = f"z2m_{uid}"
    z2m = await mqtt_peer.subscribe(f"{base}/+/set")
    tas = await mqtt_peer.subscribe(f"cmnd/t_{uid}/#")
    hub = await make_hub(
        mqtt_block(mosquitto, zigbee2mqtt=f"{{base_topic: {base}}}")
        + f"""\
light:
  - {{id: bulb, zigbee2mqtt: bulb}}
  - {{id: street, tasmota: t_{uid}}}
  - {{id: relay, shelly: shellyplus1-{uid}}}
  - {{id: plug, tasmota: p_{uid}, kind: switch}}
""",
        real_clock=True,
    )
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    await hub.services.call(
        "light", "turn_on", {"entity_id": "light.bulb", "hs_color": [240, 80], "brightness_pct": 20}
    )
    body = json.loads((await z2m.wait(f"{base}/bulb/set"))[-1])
    assert body == {"state": "ON", "brightness": 51, "color": {"hue": 240.0, "saturation": 80.0}}
    await hub.services.call(
        "light", "turn_on", {"entity_id": "light.street", "color_temp_kelvin": 4000, "transition": 2}
    )
    await wait_until(lambda: b"ON" in tas.payloads(f"cmnd/t_{uid}/POWER"))
    # Empty payloads are the state queries every connect makes.
    sent = {
        t.rsplit("/", 1)[1]: p.decode() for t, p, _ in tas.messages if t.startswith(f"cmnd/t_{uid}/") and p
    }
    assert sent == {"Fade": "1", "Speed": "4", "CT": "250", "POWER": "ON"}
    with pytest.raises(ServiceError, match=r"light.relay cannot do brightness_pct"):
        await hub.services.call("light", "turn_on", {"entity_id": "light.relay", "brightness_pct": 50})
    with pytest.raises(ServiceError, match=r"light.street cannot do effect"):
        await hub.services.call("light", "turn_on", {"entity_id": "light.street", "effect": "blink"})
    assert hub.states.get("switch.plug") is not None


def test_check_names_a_field_the_target_cannot_do(load_config) -> None:
    from hub.testing import BASE_CONFIG

    loaded = load_config(
        """\
light:
  - {id: relay, shelly: shellyplus1-a8032ab12345}
  - {id: bulb, simulated: true}
automation:
  - id: dusk
    trigger: {platform: sun, event: sunset}
    action:
      - action: light.turn_on
        target: {entity_id: [light.relay, light.bulb]}
        data:
          brightness_pct: 40
      - action: homeassistant.turn_on
        entity_id: light.relay
        data: {color_name: red}
"""
    )
    first = BASE_CONFIG.count("\n")
    messages = [str(e) for e in loaded.errors]
    assert (
        f"config.yaml:{first + 11}: automation[0].action[0].data.brightness_pct: light.relay cannot do brightness_pct: its source does not carry it"
        in messages
    )
    assert (
        f"config.yaml:{first + 14}: automation[0].action[1].data.color_name: light.relay cannot do color_name: its source does not carry it"
        in messages
    )
    assert not any("light.bulb" in m for m in messages)


async def test_discovered_switch_and_light_features(
    make_hub, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    """HA discovery: a `switch` component (a siren relay) and a default-schema light with an RGB topic."""
    prefix = f"ha_{uuid.uuid4().hex[:6]}"
    dev = f"dev_{uuid.uuid4().hex[:6]}"
    hub = await make_hub(
        mqtt_block(mosquitto, discovery=f"{{prefix: {prefix}, publish: false}}") + "light: []\n",
        real_clock=True,
    )
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    switch_cfg = {
        "name": "Siren relay",
        "unique_id": f"{dev}_siren",
        "command_topic": f"t/{dev}/siren/set",
        "state_topic": f"t/{dev}/siren",
        "payload_on": "1",
        "payload_off": "0",
        "state_on": "on",
        "state_off": "off",
    }
    lamp_cfg = {
        "name": "Lamp",
        "unique_id": f"{dev}_lamp",
        "command_topic": f"t/{dev}/lamp/set",
        "rgb_command_topic": f"t/{dev}/lamp/rgb",
    }
    await mqtt_peer.publish(f"{prefix}/switch/{dev}/siren/config", json.dumps(switch_cfg), retain=True)
    await mqtt_peer.publish(f"{prefix}/light/{dev}/lamp/config", json.dumps(lamp_cfg), retain=True)
    switch_id, lamp_id = f"switch.{dev}_siren", f"light.{dev}_lamp"
    await wait_until(lambda: hub.states.get(switch_id) and hub.states.get(lamp_id))
    log = await mqtt_peer.subscribe(f"t/{dev}/#")
    await hub.services.call("switch", "turn_on", {"entity_id": switch_id})
    assert await log.wait(f"t/{dev}/siren/set") == [b"1"]
    await mqtt_peer.publish(f"t/{dev}/siren", "on")
    await wait_until(lambda: hub.states.get(switch_id).state == "on")
    await hub.services.call("light", "turn_on", {"entity_id": lamp_id, "color_name": "orange"})
    assert await log.wait(f"t/{dev}/lamp/rgb") == [b"255,165,0"]
    with pytest.raises(ServiceError, match="cannot do brightness"):
        await hub.services.call("light", "turn_on", {"entity_id": lamp_id, "brightness": 10})
