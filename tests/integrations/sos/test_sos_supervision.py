"""A silent SOS button raises a supervision incident: never an SOS, never an idle-looking button."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from hub.http.templating import LANG_COOKIE
from hub.testing import Mosquitto, MqttPeer, mqtt_block, wait_until
from integrations.federation.testing import FederationLab, start_pair, until
from integrations.federation.testing import federation_lab as federation_lab  # the fixture
from integrations.station.const import RUNTIME as STATION_RUNTIME

DEVICES = [
    {
        "friendly_name": "market_gate_sos",
        "ieee_address": "0x847127fffe0542eb",
        "type": "EndDevice",
        "power_source": "Battery",
        "definition": {"model": "HS1EB/HS1EB-E", "vendor": "HEIMAN", "exposes": []},
    }
]


async def _setup(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, mosquitto: Mosquitto, peer: MqttPeer
) -> tuple[Any, Any, str]:
    base = f"z2m_{uuid.uuid4().hex[:8]}"
    await peer.publish(f"{base}/bridge/devices", json.dumps(DEVICES), retain=True)
    extra = mqtt_block(mosquitto, zigbee2mqtt=f"{{base_topic: {base}}}") + (
        "sos:\n"
        "  - {id: market_gate, name: ปุ่มประตูตลาด, zigbee2mqtt: market_gate_sos, silence_limit: 3600}\n"
        "  - {id: desk, simulated: true}\n"
    )
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", hub_extra=extra)
    from integrations.mqtt import get_client
    from integrations.mqtt.zigbee2mqtt import get_bridge

    client = get_client(hub)
    assert await client.wait_connected(5)
    bridge = get_bridge(hub, client, base)
    await wait_until(lambda: bridge.model("market_gate_sos") == "HS1EB/HS1EB-E")
    return hub, station, base


async def test_a_silent_button_raises_a_supervision_incident_that_federates(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    mosquitto: Mosquitto,
    mqtt_peer: MqttPeer,
    clock: FakeClock,
    client_for: Any,
) -> None:
    hub, station, base = await _setup(make_hub, federation_lab, tmp_path, mosquitto, mqtt_peer)
    presses: list[Any] = []
    problems: list[str] = []
    hub.bus.listen("sos_pressed", presses.append)
    hub.bus.listen("sos_supervision", lambda e: problems.append(e.data["problem"]))
    mgr = hub.data[INCIDENT_RUNTIME]

    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"battery":64,"linkquality":90}', qos=0)
    await wait_until(lambda: hub.states.get("sos.market_gate").attributes.get("last_heard") is not None)
    state = hub.states.get("sos.market_gate")
    assert state.state == "idle" and state.attributes["supervision"] == "ok"
    assert state.attributes["silence_limit"] == 3600

    await clock.advance(3000)
    assert await mgr.find(kind="supervision") == []
    await clock.advance(700)  # 3,700 s without a word: over the limit

    async def opened() -> list[Any]:
        return await mgr.find(kind="supervision")

    (inc,) = await until(opened)
    assert inc.status == "open" and inc.severity == "high" and not inc.drill
    assert inc.title == "ปุ่ม SOS ไม่ส่งสัญญาณ: ปุ่มประตูตลาด"
    assert inc.entities == ["sos.market_gate"] and inc.data["check"] == "button_silent"
    assert inc.data["battery"] == 64
    assert problems == ["silent"]
    assert presses == []  # never an SOS
    assert await mgr.find(kind="sos") == []
    # A dead button does not look idle: not on its state, not on the devices page (Thai first).
    state = hub.states.get("sos.market_gate")
    assert state.state == "unavailable" and state.attributes["supervision"] == "silent"
    assert hub.states.get("sos.desk").state == "idle"  # an unsupervised button is left alone
    viewer = await client_for("viewer", target=hub)
    page = await (await viewer.get("/devices")).text()  # the hub's language: Thai
    row = page.split('data-entity-id="sos.market_gate"', 1)[1].split("</tr>", 1)[0]
    assert "ไม่ส่งสัญญาณ" in row and "button-silent" in row
    # More checks do not open more incidents.
    await clock.advance(600)
    assert len(await opened()) == 1

    # It federates to the station like every incident, as a supervision incident.
    async def at_station() -> list[dict[str, Any]]:
        found = await station.data[STATION_RUNTIME].store.incidents(kind="supervision", hub_id="test-hub")
        # (The shared fake clock's jump also makes the station call the hub itself silent.)
        return [i for i in found if i["data"].get("check") == "button_silent"]

    (federated,) = await until(at_station)
    assert federated["id"] == inc.id and federated["status"] == "open"

    # Heard again: available, the incident closed with a note.
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"battery":63,"linkquality":88}', qos=0)
    await wait_until(lambda: hub.states.get("sos.market_gate").state == "idle")

    async def closed() -> bool:
        return (await mgr.get(inc.id)).status == "closed"

    await until(closed)
    assert problems == ["silent", "heard_again"]
    assert hub.states.get("sos.market_gate").attributes["supervision"] == "ok"


async def test_a_press_on_a_silent_button_is_the_sos_it_is(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    mosquitto: Mosquitto,
    mqtt_peer: MqttPeer,
    clock: FakeClock,
) -> None:
    hub, _station, base = await _setup(make_hub, federation_lab, tmp_path, mosquitto, mqtt_peer)
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)
    await clock.advance(3700)  # never heard since the hub started
    await wait_until(lambda: hub.states.get("sos.market_gate").state == "unavailable")
    await mqtt_peer.publish(f"{base}/market_gate_sos", '{"action":"single"}', qos=0)
    await wait_until(lambda: presses)
    assert presses[0].data["entity_id"] == "sos.market_gate"
    await wait_until(lambda: hub.states.get("sos.market_gate").attributes["supervision"] == "ok")


def test_a_silence_limit_needs_a_button_that_reports(load_config: Any) -> None:
    loaded = load_config("sos:\n  - {id: panel, webhook: {id: abcdefghijklmnop1234}, silence_limit: 3600}\n")
    assert any(
        "silence_limit needs a button that reports on its own" in str(e) and "config.yaml:" in str(e)
        for e in loaded.errors
    )


async def test_the_devices_page_in_english(
    make_hub: Any,
    federation_lab: FederationLab,
    tmp_path: Path,
    mosquitto: Mosquitto,
    mqtt_peer: MqttPeer,
    clock: FakeClock,
) -> None:
    hub, _station, _base = await _setup(make_hub, federation_lab, tmp_path, mosquitto, mqtt_peer)
    await clock.advance(3700)
    await wait_until(lambda: hub.states.get("sos.market_gate").state == "unavailable")
    user = await hub.auth.add_user("viewer1", "correct horse battery", "viewer")
    token = await hub.auth.create_token(user, "t")
    async with aiohttp.ClientSession(
        base_url=hub.http.url, headers={"Authorization": f"Bearer {token}"}, cookies={LANG_COOKIE: "en"}
    ) as s:
        page = await (await s.get("/devices")).text()
    assert "Not reporting" in page
