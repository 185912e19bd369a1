"""Chaos: the MQTT broker restarts while SOS buttons are being pressed.

Zigbee2MQTT buttons publish QoS 1 through a persistent Mosquitto.  One press
is published right before the broker goes down (it may be in flight, stored
by the broker, or re-delivered after the restart: at least once); the hub's
persistent session must come back by itself and every press must end as
exactly one incident with one LINE card per group.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiomqtt

from hub.testing import BASE_CONFIG
from integrations.mqtt import get_client
from integrations.mqtt.testing import mqtt_block
from tests.chaos.conftest import GROUPS, check_promises, get_health, until

BASE = BASE_CONFIG.replace(
    "web: {host: 127.0.0.1, port: 0}",
    "web: {host: 127.0.0.1, port: 0, public_url: 'https://talat.example.org'}",
)
BUTTON = """\
sos:
  - {id: gate, name: ปุ่ม SOS ประตูตลาด, zigbee2mqtt: gate_sos}
automation:
  - id: sos_gate
    use_blueprint:
      path: sos_alert.yaml
      input: {sos_button: sos.gate, line_targets: [big6, pineapple_eyes]}
"""


async def press(broker: Any, n: int) -> None:
    """Publish one Zigbee2MQTT press (QoS 1) as the button would, from a fresh connection."""
    async with aiomqtt.Client(broker.host, broker.port, identifier=f"z2m-{os.getpid()}-{n}") as client:
        await client.publish("zigbee2mqtt/gate_sos", f'{{"action":"emergency","linkquality":{n}}}', qos=1)


async def sos_incidents(hub: Any) -> list[str]:
    rows = await hub.storage.fetchall("SELECT id FROM incidents WHERE kind = 'sos' ORDER BY opened_at")
    return [row["id"] for row in rows]


async def test_broker_restart_loses_no_press(make_hub: Any, mosquitto_factory: Any, line_fake: Any) -> None:
    broker = mosquitto_factory(persistence=True)
    fake = await line_fake()
    hub = await make_hub(mqtt_block(broker) + fake.config_yaml(GROUPS) + BUTTON, base=BASE, real_clock=True)
    client = get_client(hub)
    assert await client.wait_connected(10)

    await press(broker, 1)
    await until(lambda: sos_incidents(hub), within=10, message="first press: no incident")

    await press(broker, 2)
    # Down and up again on the same port, right behind the publish.
    await asyncio.to_thread(broker.restart)
    assert await client.wait_connected(15), "the hub did not reconnect to the restarted broker"
    for n in (3, 4):
        await press(broker, n)

    await until(lambda: _count(hub, 4), within=20, message="presses lost across the broker restart")
    await asyncio.sleep(1.0)  # room for a late re-delivery to show up as a duplicate
    await hub.block_till_done()
    ids = await sos_incidents(hub)
    assert len(ids) == 4, f"{len(ids)} incidents for 4 presses"  # none lost, none re-delivered twice
    check_promises(
        [f"press-{n}" for n in range(1, 5)],
        {f"press-{n + 1}": [i] for n, i in enumerate(ids)},
        fake,
        await get_health(hub.http.url),
    )
    assert client.connected


async def _count(hub: Any, n: int) -> bool:
    return len(await sos_incidents(hub)) >= n
