"""homeassistant.turn_on / turn_off / toggle / update_entity across domains."""

from __future__ import annotations

import json
import uuid

import pytest

from hub.core.errors import ServiceError, ServiceValidationError
from hub.testing import Mosquitto, MqttPeer, mqtt_block

DEVICES = """\
light:
  - {id: porch, simulated: true}
  - {id: gate, simulated: true}
sos:
  - {id: gate, simulated: true}
input_boolean:
  armed: {name: เฝ้าร้าน}
"""


async def test_fan_out_by_domain(make_hub) -> None:
    hub = await make_hub(DEVICES)
    res = await hub.services.call(
        "homeassistant",
        "turn_on",
        {"entity_id": ["light.porch", "input_boolean.armed", "sos.gate"]},
    )
    assert res == {"entity_id": ["light.porch", "input_boolean.armed"], "skipped": ["sos.gate"]}
    await hub.block_till_done()
    assert hub.states.get("light.porch").state == "on"
    assert hub.states.get("input_boolean.armed").state == "on"
    await hub.services.call("homeassistant", "toggle", {"target": {"entity_id": "light.porch, light.gate"}})
    await hub.block_till_done()
    assert (hub.states.get("light.porch").state, hub.states.get("light.gate").state) == ("off", "on")
    await hub.services.call("homeassistant", "turn_off", {"entity_id": "input_boolean.armed"})
    assert hub.states.get("input_boolean.armed").state == "off"


async def test_data_reaches_each_domain(make_hub) -> None:
    hub = await make_hub(DEVICES)
    await hub.services.call("homeassistant", "turn_on", {"entity_id": "light.porch", "brightness": 100})
    await hub.block_till_done()
    assert hub.states.get("light.porch").attributes["brightness"] == 100
    # The domain's own schema still applies: input_boolean takes no brightness, as in HA.
    with pytest.raises(ServiceValidationError, match="input_boolean.turn_on"):
        await hub.services.call(
            "homeassistant", "turn_on", {"entity_id": "input_boolean.armed", "brightness": 1}
        )


@pytest.mark.parametrize("entity_id", ["all", ["light.porch", "all"], "not an id", []])
async def test_bad_targets_are_refused(make_hub, entity_id) -> None:
    hub = await make_hub(DEVICES)
    with pytest.raises(ServiceValidationError, match="entity_id"):
        await hub.services.call("homeassistant", "turn_off", {"entity_id": entity_id})


async def test_update_entity_asks_the_device(make_hub, mosquitto: Mosquitto, mqtt_peer: MqttPeer) -> None:
    base = f"z2m_{uuid.uuid4().hex[:8]}"
    gets = await mqtt_peer.subscribe(f"{base}/+/get")
    hub = await make_hub(
        mqtt_block(mosquitto, zigbee2mqtt=f"{{base_topic: {base}}}")
        + "light:\n  - {id: gate_lamp, zigbee2mqtt: gate_lamp}\n"
        + "input_boolean:\n  armed: {}\n",
        real_clock=True,
    )
    assert len(await gets.wait(f"{base}/gate_lamp/get")) == 1  # the query every (re)connect makes
    res = await hub.services.call(
        "homeassistant", "update_entity", {"entity_id": ["light.gate_lamp", "input_boolean.armed"]}
    )
    assert res == {"refreshed": ["light.gate_lamp"], "pushed": ["input_boolean.armed"]}
    first, second = await gets.wait(f"{base}/gate_lamp/get", count=2)
    assert json.loads(second) == {"state": ""}
    with pytest.raises(ServiceError, match="no such entity: light.nope"):
        await hub.services.call("homeassistant", "update_entity", {"entity_id": "light.nope"})
