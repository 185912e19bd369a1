"""A change saved by the web UI applies to the running hub without a restart, losing nothing."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from hub.core.clock import FakeClock
from hub.hub import Hub
from hub.testing import Mosquitto, MqttPeer, mqtt_block, wait_until

DELAYED = """\
automation:
  - id: lamp_off
    trigger: {platform: event, event_type: go}
    action:
      - delay: {minutes: 10}
      - event: after_delay
"""


def _ui(hub: Hub) -> Any:
    assert hub.ui_config is not None
    return hub.ui_config


async def test_hook_config_changed(make_hub: Any, clock: FakeClock) -> None:
    """A durable delay in flight survives an automation reload that adds another automation."""
    hub = await make_hub(DELAYED, web=False)
    after: list[Any] = []
    added: list[Any] = []
    hub.bus.listen("after_delay", after.append)
    hub.bus.listen("added_ran", added.append)
    hub.bus.fire("go", {})
    await clock.advance(4 * 60)
    new = {
        "id": "added",
        "trigger": {"platform": "event", "event_type": "ping"},
        "action": [{"event": "added_ran"}],
    }
    await _ui(hub).add_item("automation", new)
    assert _ui(hub).restart_needed == {}
    hub.bus.fire("ping", {})
    await hub.block_till_done()
    assert len(added) == 1  # the new automation is live
    await clock.advance(6 * 60 + 1)
    assert len(after) == 1  # the first one's delay was not cancelled
    await hub.block_till_done()
    await hub.storage.flush()
    assert await hub.storage.fetchall("SELECT * FROM automation_timers") == []


async def test_sos_press_during_a_reload_is_not_lost(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    topic = f"shop/{uuid.uuid4().hex[:6]}/sos"
    hub = await make_hub(
        mqtt_block(mosquitto) + f"sos:\n  - {{id: gate, mqtt: {{topic: {topic}, payload: P}}}}\n",
        real_clock=True,
    )
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    presses: list[Any] = []
    hub.bus.listen("sos_pressed", presses.append)

    async def press_all_along() -> None:
        for _ in range(10):
            await mqtt_peer.publish(topic, "P", qos=1)
            await asyncio.sleep(0.01)

    ui = _ui(hub)
    pressing = asyncio.create_task(press_all_along())
    for n in range(3):  # reloads while the gate button is being pressed
        await ui.add_item("sos", {"id": f"door{n}", "mqtt": {"topic": f"{topic}/door{n}", "payload": "P"}})
    await pressing
    await wait_until(lambda: len(presses) == 10)
    assert {e.data["entity_id"] for e in presses} == {"sos.gate"}
    assert ui.restart_needed == {}
    # The new buttons are live too.
    await mqtt_peer.publish(f"{topic}/door1", "P", qos=1)
    await wait_until(lambda: len(presses) == 11)
    assert presses[-1].data["entity_id"] == "sos.door1"
    # A button added with a silence limit is supervised at once; removed, it is not.
    from integrations.sos import SUPERVISOR

    _items, etag = await ui.list_items("sos")
    watched = {"id": "watched", "mqtt": {"topic": f"{topic}/watched", "payload": "P"}, "silence_limit": 3600}
    etag = await ui.add_item("sos", watched, etag=etag)
    assert "sos.watched" in hub.data[SUPERVISOR].buttons
    await ui.remove_item("sos", "watched", etag=etag)
    assert "sos.watched" not in hub.data[SUPERVISOR].buttons


async def test_changed_and_removed_buttons_follow_the_config(make_hub: Any) -> None:
    hub = await make_hub("sos:\n  - {id: keep, simulated: true}\n")
    ui = _ui(hub)
    await ui.add_item("sos", {"id": "door", "name": "ประตู", "simulated": True})
    assert hub.states.get("sos.door").attributes["friendly_name"] == "ประตู"
    items, etag = await ui.list_items("sos")
    etag = await ui.update_item(
        "sos", "door", {"id": "door", "name": "ประตูหลัง", "simulated": True}, etag=etag
    )
    assert hub.states.get("sos.door").attributes["friendly_name"] == "ประตูหลัง"
    await ui.remove_item("sos", "door", etag=etag)
    assert hub.states.get("sos.door") is None
    assert hub.states.get("sos.keep") is not None


async def test_first_block_of_an_integration_is_set_up_live(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub()
    info = hub.plugins.get("sos")
    assert info is not None and info.status == "not_configured"
    client = await client_for("admin", target=hub)
    async with client.get("/devices") as response:
        assert response.status == 404  # not set up: its page does not pretend
    await _ui(hub).add_item("sos", {"id": "first", "simulated": True})
    assert info.status == "set_up"
    assert hub.states.get("sos.first") is not None
    async with client.get("/devices") as response:
        assert response.status == 200


async def test_hub_block_applies_name_and_timezone_and_says_what_needs_a_restart(make_hub: Any) -> None:
    hub = await make_hub()
    ui = _ui(hub)
    _block, etag = await ui.get_block("hub")
    etag = await ui.set_block("hub", {"name": "ร้านใหม่", "timezone": "Asia/Tokyo"}, etag=etag)
    assert hub.name == "ร้านใหม่"
    assert str(hub.clock.tz) == "Asia/Tokyo"
    assert ui.restart_needed == {}
    await ui.set_block("hub", {"name": "ร้านใหม่", "web": {"host": "127.0.0.1", "port": 8999}}, etag=etag)
    assert "web" in ui.restart_needed["hub"]
    assert hub.core.web.port == 0  # still what it listens on


async def test_a_block_without_live_reload_says_restart_needed(make_hub: Any, config_dir: Path) -> None:
    hub = await make_hub("zone:\n  id: test-zone\n  name_th: เขตทดสอบ\n  area_km2: 1.5\n")
    # `zone` has no config_changed hook: the change is saved and the admin told to restart.
    ui = _ui(hub)
    block, etag = await ui.get_block("zone")
    assert isinstance(block, dict) and block["name_th"] == "เขตทดสอบ"
    await ui.set_block("zone", {**block, "name_th": "เขตใหม่"}, etag=etag)
    assert "zone" in ui.restart_needed
    assert "เขตใหม่" in (config_dir / "ui" / "zone.yaml").read_text(encoding="utf-8")


async def test_lights_follow_the_config_live(make_hub: Any) -> None:
    hub = await make_hub("light:\n  - {id: gate_lamp, simulated: true}\n")
    ui = _ui(hub)
    await hub.services.call("light", "turn_on", {"entity_id": "light.gate_lamp"})
    await ui.add_item("light", {"id": "soi_lamp", "name": "ไฟซอย", "simulated": True})
    assert hub.states.get("light.gate_lamp").state == "on"  # untouched by the reload
    await hub.services.call("light", "turn_on", {"entity_id": "light.soi_lamp"})
    assert hub.states.get("light.soi_lamp").state == "on"
    _items, etag = await ui.list_items("light")
    await ui.remove_item("light", "soi_lamp", etag=etag)
    assert hub.states.get("light.soi_lamp") is None
    assert ui.restart_needed == {}


async def test_line_is_set_up_live_and_group_names_apply_live(make_hub: Any, fake_line: Any) -> None:
    from integrations.line.const import RUNTIME as LINE_RUNTIME
    from tests.integrations.line.conftest import BIG6, EYES, deliver

    hub = await make_hub()
    ui = _ui(hub)
    secrets = {"channel_access_token": fake_line.token, "channel_secret": fake_line.channel_secret}
    etag = await ui.set_block(
        "line", {"api_base": fake_line.base_url, "groups": {"big6": BIG6}}, etag=None, secrets=secrets
    )
    assert ui.restart_needed == {}
    assert hub.plugins.get("line").status == "set_up"
    assert await hub.data[LINE_RUNTIME].aliases() == {"big6": BIG6}
    # The webhook (registered at start, idle until now) answers LINE.
    assert await deliver(fake_line, hub, fake_line.event_join(BIG6)) == 200
    block, etag = await ui.get_block("line")
    assert isinstance(block, dict) and "channel_access_token" not in block
    await ui.set_block("line", {**block, "groups": {"big6": BIG6, "pineapple_eyes": EYES}}, etag=etag)
    assert ui.restart_needed == {}
    assert await hub.data[LINE_RUNTIME].aliases() == {"big6": BIG6, "pineapple_eyes": EYES}
    assert hub.services.has("notify", "line_pineapple_eyes")
    block, etag = await ui.get_block("line")
    await ui.set_block("line", {**block}, etag=etag, secrets={"channel_secret": "another-secret-value"})
    assert "line" in ui.restart_needed  # a new secret is not half-applied


async def test_a_restart_keeps_everything_the_ui_wrote(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub("sos:\n  - {id: hand, simulated: true}\n")
    ui = _ui(hub)
    await ui.add_item("sos", {"id": "door", "name": "ประตู", "simulated": True})
    _block, etag = await ui.get_block("hub")
    await ui.set_block("hub", {"name": "ร้านที่ตั้งในเว็บ"}, etag=etag)
    await hub.stop()
    again = Hub(config_dir / "config.yaml", clock=clock, web=False)
    await again.start()
    try:
        assert again.config_errors == []
        assert again.name == "ร้านที่ตั้งในเว็บ"
        assert again.states.get("sos.door") is not None and again.states.get("sos.hand") is not None
    finally:
        await again.stop()
