"""Cameras added in the web UI connect without a restart; a changed camera says a restart is needed."""

from __future__ import annotations

from typing import Any

from integrations.onvif import CAMERAS
from tests.integrations.onvif.conftest import camera_yaml


async def test_a_new_camera_connects_live_and_a_changed_one_waits_for_a_restart(
    make_hub: Any, make_device: Any
) -> None:
    first, second = await make_device(), await make_device()
    hub = await make_hub("onvif:\n" + camera_yaml("gate", first.port))
    gate = hub.data[CAMERAS]["camera.gate"]
    assert await gate.wait_connected(5), gate.error
    ui = hub.ui_config
    assert ui is not None
    owner = {"name": "ร้านทอง", "phone": "035-000000"}
    camera = {"id": "back", "host": "127.0.0.1", "port": second.port, "username": "admin", "timeout": 3}
    await ui.add_item(
        "onvif", {**camera, "share": "registry", "owner": owner}, secrets={"password": "secret"}
    )
    assert ui.restart_needed == {}
    back = hub.data[CAMERAS]["camera.back"]
    assert await back.wait_connected(5), back.error
    assert hub.data[CAMERAS]["camera.gate"] is gate  # the running camera was not touched
    items, etag = await ui.list_items("onvif")
    await ui.update_item("onvif", "back", {**camera, "share": "never"}, etag=etag)
    assert "onvif" in ui.restart_needed
    # Adding a third camera later does not pretend the change to "back" was applied.
    third = {**camera, "id": "side"}
    _items, etag = await ui.list_items("onvif")
    await ui.add_item("onvif", {**third, "share": "never"}, etag=etag, secrets={"password": "secret"})
    assert "onvif" in ui.restart_needed
