"""Against a real ONVIF device: the PyPI ``ipycam`` package on loopback (see ipycam_peer.py)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
from PIL import Image

from hub.testing import wait_for
from integrations.camera.entity import PtzPreset
from integrations.onvif import CAMERAS
from tests.integrations.onvif.conftest import IpyCam, camera_yaml


async def _ptz_status(cam: IpyCam) -> dict[str, Any]:
    headers = {"Authorization": aiohttp.encode_basic_auth("admin", "secret")}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{cam.onvif_port}/api/ptz", headers=headers) as resp,
    ):
        return await resp.json()


async def _connected(make_hub, cam: IpyCam, cam_id: str = "loop", **kw: str):
    hub = await make_hub("onvif:\n" + camera_yaml(cam_id, cam.onvif_port, **kw))
    camera = hub.data[CAMERAS][f"camera.{cam_id}"]
    assert await camera.wait_connected(15), camera.error
    return hub, camera


async def test_device_profiles_stream_and_snapshot(make_hub, ipycam) -> None:
    hub, camera = await _connected(make_hub, ipycam)
    assert camera.info == {
        "manufacturer": "TestVendor",
        "model": "LoopCam-1",
        "firmware": "1.3.0",
        "serial": "SN-0001",
    }
    assert camera.profile_token == "Profile_Main"
    assert camera.stream_uri() == ipycam.rtsp_url
    await wait_for(lambda: camera.events_status == "unsupported", what="events checked")  # ipycam has none...
    assert hub.states.get("binary_sensor.loop_motion").state == "unavailable"  # ...so motion is unknown
    result = await hub.services.call("camera", "snapshot", {"entity_id": "camera.loop"})
    assert result["errors"] == []
    row = await hub.storage.fetchone("SELECT * FROM snapshots WHERE id = ?", (result["snapshot_ids"][0],))
    image = Image.open(io.BytesIO((hub.data_dir / row["path"]).read_bytes()))
    assert image.format == "JPEG" and image.size == (320, 240)
    # Digest was refused (ipycam only does Basic); Basic worked and is remembered, also in the database.
    assert camera.snapshot_auth == "basic"
    stored = await hub.storage.fetchone("SELECT snapshot_auth FROM onvif_state WHERE camera_id = 'loop'")
    assert stored["snapshot_auth"] == "basic"


async def test_ptz_presets_goto_and_move(make_hub, ipycam, clock) -> None:
    hub, camera = await _connected(make_hub, ipycam)
    assert camera.supports_ptz
    presets = await camera.ptz_presets()
    assert PtzPreset("1", "Gate") in presets and PtzPreset("2", "Fish stalls") in presets
    moved = await hub.services.call("camera", "ptz_preset", {"entity_id": "camera.loop", "preset": "gate"})
    assert moved["moved"] == [{"entity_id": "camera.loop", "token": "1", "name": "Gate"}]
    status = await _ptz_status(ipycam)
    assert (status["pan"], status["tilt"], status["zoom"]) == (0.5, -0.2, 0.5)
    await hub.services.call("camera", "ptz_preset", {"entity_id": "camera.loop", "preset": "2"})
    assert (await _ptz_status(ipycam))["pan"] == -0.6
    await hub.services.call("camera", "ptz_move", {"entity_id": "camera.loop", "pan": 0.5, "duration": 1})
    assert (await _ptz_status(ipycam))["moving"] is True
    await clock.advance(0.9)
    assert (await _ptz_status(ipycam))["moving"] is True
    await clock.advance(0.1)  # the hub sends Stop on its own clock, without the caller's help
    for _ in range(100):
        if not (await _ptz_status(ipycam))["moving"]:
            break
        await asyncio.sleep(0.05)
    assert (await _ptz_status(ipycam))["moving"] is False
    try:
        await hub.services.call("camera", "ptz_preset", {"entity_id": "camera.loop", "preset": "Nowhere"})
    except Exception as err:  # noqa: BLE001 - ServiceError wraps the PtzError
        assert "no preset 'Nowhere'" in str(err) and "Gate (1)" in str(err)
    else:
        raise AssertionError("an unknown preset must fail the call")


async def test_wrong_password(make_hub, ipycam) -> None:
    hub = await make_hub("onvif:\n" + camera_yaml("loop", ipycam.onvif_port, password="wrong"))
    camera = hub.data[CAMERAS]["camera.loop"]
    await wait_for(lambda: camera.error == "authentication failed", within=15, what="auth failure")
    assert hub.states.get("camera.loop").state == "unavailable"
    assert camera.connect_attempts == 1


async def test_broken_ptz_xml_is_survived(make_hub, ipycam_stock) -> None:
    # Stock ipycam answers GetPresets with undeclared XML prefixes, like cheap firmware.
    hub, camera = await _connected(make_hub, ipycam_stock)
    assert hub.states.get("camera.loop").state == "idle"
    assert camera.supports_ptz and "unreadable" in (camera.presets_error or "")
    # GotoPreset's reply has no body to parse, so moving by token still works.
    moved = await hub.services.call("camera", "ptz_preset", {"entity_id": "camera.loop", "preset": "1"})
    assert moved["moved"][0]["token"] == "1"
    assert (await _ptz_status(ipycam_stock))["pan"] == 0.5


async def test_clock_skew_with_faketime(make_hub, ipycam_skewed) -> None:
    # ipycam runs an hour behind under Debian faketime; WS-Security only works with adjust_time.
    hub, camera = await _connected(make_hub, ipycam_skewed)
    assert -3605 < camera.clock_skew < -3595
    assert hub.states.get("camera.loop").attributes["clock_skew_s"] in range(-3605, -3594)
    assert camera.info["model"] == "LoopCam-1"  # an authenticated call went through
