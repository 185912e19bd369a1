"""A hostile discovery ``value_template`` cannot hold up an SOS press (issue 15 item 9)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from hub.testing import Mosquitto, MqttPeer, mqtt_block, wait_until

#: Two nested loops over a 12,000-character string: 144 million iterations unbudgeted.
HOSTILE = "{% set s = 'x' * 12000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}{{ value }}"


async def _press_latency(hub: Any, peer: MqttPeer, sos_topic: str, messages: list[str]) -> float:
    """Seconds from the first of ``messages`` to ``sos_pressed`` for a press published right after them.

    The test's publisher shares the hub's event loop, so the clock starts
    before the first message: a stalled loop delays the press either way.
    """
    loop = asyncio.get_running_loop()
    pressed: list[float] = []
    unlisten = hub.bus.listen("sos_pressed", lambda _event: pressed.append(loop.time()))
    try:
        sent = loop.time()
        for topic in messages:
            await peer.publish(topic, "42", qos=1)
        await peer.publish(sos_topic, "PRESSED", qos=1)
        await wait_until(lambda: pressed, 60)
        return pressed[0] - sent
    finally:
        unlisten()


async def test_sos_stays_fast_while_a_hostile_discovery_template_renders(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    prefix = f"ha_{uuid.uuid4().hex[:6]}"
    sos_topic = f"shop/{uuid.uuid4().hex[:6]}/sos"
    hub = await make_hub(
        mqtt_block(mosquitto, discovery=f"{{prefix: {prefix}, publish: false}}")
        + f"sos:\n  - {{id: gate, mqtt: {{topic: {sos_topic}}}}}\n",
        real_clock=True,
    )
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    # a dozen devices, each with its own hostile template and its own state topic
    topics = [f"evil/{i}/state" for i in range(12)]
    for i, topic in enumerate(topics):
        config = {
            "name": f"Evil {i}",
            "state_topic": topic,
            "value_template": HOSTILE,
            "unique_id": f"evil{i}",
        }
        await mqtt_peer.publish(f"{prefix}/sensor/evil{i}/x/config", json.dumps(config), qos=1)
    benign = {
        "name": "Benign",
        "state_topic": "benign/state",
        "value_template": "{{ value }}",
        "unique_id": "benign",
    }
    await mqtt_peer.publish(f"{prefix}/sensor/benign/x/config", json.dumps(benign), qos=1)
    await wait_until(lambda: all(hub.states.get(f"sensor.evil{i}") for i in range(12)), 10)
    await wait_until(lambda: hub.states.get("sensor.benign"), 10)

    baseline = await _press_latency(hub, mqtt_peer, sos_topic, ["benign/state"] * 36)
    under_attack = await _press_latency(hub, mqtt_peer, sos_topic, topics * 3)
    # Unbudgeted, each of the 36 renders held the loop ~5 s before the press got through.
    assert under_attack < baseline + 1.0, (baseline, under_attack)
    # the hostile renders were stopped, not completed: no state was ever set from them
    assert all(hub.states.get(f"sensor.evil{i}").state != "42" for i in range(12))
