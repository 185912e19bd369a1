"""Live video in real Chromium: an officer opens a camera at the CCOC and watches it; the owner sees it.

Real peers on 127.0.0.1: Mosquitto, a station and a hub (each with its web
server), ipycam's RTSP (H.264) as the camera.  The hub opens no port: it
dials out to the station when asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.federation.testing import FederationLab, until
from integrations.federation.testing import federation_lab as federation_lab  # the fixture
from integrations.video.uplink import LIVE_UPLINKS
from tests.integrations.onvif.conftest import IpyCam, _start_ipycam, _stop
from tests.integrations.video.live_lab import live_pair

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def camera() -> Iterator[IpyCam]:
    cam = _start_ipycam("--fix-ptz-ns", "--preauth-time")
    yield cam
    _stop(cam)


#: Draws the video's current frame to a canvas; returns its size and the spread of its pixel values.
FRAME_SPREAD = """
() => {
  const v = document.getElementById("ccoc-live-video");
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext("2d");
  ctx.drawImage(v, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let lo = 255, hi = 0;
  for (let i = 0; i < d.length; i += 4 * 7) {
    const y = (d[i] + d[i + 1] + d[i + 2]) / 3;
    if (y < lo) { lo = y; }
    if (y > hi) { hi = y; }
  }
  return { w: c.width, h: c.height, spread: hi - lo };
}
"""


async def test_officer_watches_a_camera_live_and_the_owner_sees_it(
    browser: Any, make_hub: Any, federation_lab: FederationLab, tmp_path: Path, camera: IpyCam
) -> None:
    sub = camera.rtsp_url.replace("video_main", "video_sub")
    hub, station = await live_pair(
        make_hub, federation_lab, tmp_path, cameras={"gate": (camera.rtsp_url, "always", sub)}
    )
    await station.auth.add_user("officer1", "ccoc-shift-pass", "operator")
    await hub.auth.add_user("owner", "owner-pass-1234", "admin")

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(station.http.url + "/login?next=/ccoc/hubs/test-hub")
    await page.locator("#login-form [name=username]").fill("officer1")
    await page.locator("#login-form [name=password]").fill("ccoc-shift-pass")
    await page.locator("#login-form [type=submit]").click()

    # The camera list shows the stream's health; open it with a reason, then watch live.
    await page.locator('button.ccoc-view[data-entity-id="camera.gate"]').click()
    await page.locator("#ccoc-view-reason").fill("ติดตามคนร้ายหน้าตลาด")
    await page.locator("#ccoc-dialog-ok").click()
    await page.locator("a.ccoc-watch-live, #ccoc-dialog-result.text-error").first.wait_for(timeout=15_000)
    assert not await page.locator("#ccoc-dialog-result.text-error").count(), await page.locator(
        "#ccoc-dialog-result"
    ).inner_text()
    await page.locator("a.ccoc-watch-live").click()
    await page.locator("#ccoc-live-player[data-state=playing]").wait_for(timeout=20_000)

    first = await page.evaluate("document.getElementById('ccoc-live-video').currentTime")
    await page.wait_for_timeout(1500)
    later = await page.evaluate("document.getElementById('ccoc-live-video').currentTime")
    assert later > first, (first, later)
    frame = await page.evaluate(FRAME_SPREAD)
    assert frame["w"] > 0 and frame["h"] > 0
    assert frame["spread"] > 40, frame  # a picture, not a blank frame
    assert "ภาพสด" in await page.locator("#ccoc-live-state").inner_text()
    await page.screenshot(path=str(tmp_path / "live.png"), full_page=True)

    # The owner's camera page on the hub: who is watching, and why.
    owner_ctx = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    owner = await owner_ctx.new_page()
    await owner.goto(hub.http.url + "/login?next=/cameras/camera.gate")
    await owner.locator("#login-form [name=username]").fill("owner")
    await owner.locator("#login-form [name=password]").fill("owner-pass-1234")
    await owner.locator("#login-form [type=submit]").click()
    banner = owner.locator("#camera-watchers li.camera-watcher")
    await banner.first.wait_for(timeout=10_000)
    text = await banner.first.inner_text()
    assert "officer1" in text and "ติดตามคนร้ายหน้าตลาด" in text
    await owner.screenshot(path=str(tmp_path / "owner-banner.png"), full_page=True)

    # The officer leaves: the stream stops and the banner goes.
    await page.goto(station.http.url + "/ccoc")
    await until(lambda: not hub.data[LIVE_UPLINKS].active, 5)
    await owner.locator("#camera-watchers").wait_for(state="hidden", timeout=10_000)
    assert errors == []
    await owner_ctx.close()
    await context.close()


#: The smallest valid PNG (1×1, grey): enough for Leaflet to lay tiles.
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a4944415478da63680000008200815a1d1bb60000000049454e44ae426082"
)


async def test_click_a_camera_on_the_tile_map_and_watch_it_live(
    browser: Any, make_hub: Any, federation_lab: FederationLab, tmp_path: Path, camera: IpyCam
) -> None:
    tiles = tmp_path / "tiles"
    for z, x, y in ((17, 102353, 61345), (16, 51176, 30672)):
        (tiles / str(z) / str(x)).mkdir(parents=True, exist_ok=True)
        (tiles / str(z) / str(x) / f"{y}.png").write_bytes(PNG_1PX)
    hub, station = await live_pair(
        make_hub,
        federation_lab,
        tmp_path,
        cameras={"gate": (camera.rtsp_url, "always")},
        console={"map": {"tiles_dir": str(tiles), "attribution": "test tiles"}},
    )
    await station.auth.add_user("officer2", "ccoc-shift-pass", "operator")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(station.http.url + "/login?next=/ccoc/map")
    await page.locator("#login-form [name=username]").fill("officer2")
    await page.locator("#login-form [name=password]").fill("ccoc-shift-pass")
    await page.locator("#login-form [type=submit]").click()
    await page.locator("#ccoc-leaflet[data-ready=yes]").wait_for(timeout=15_000)
    assert await page.locator("#ccoc-map-svg").is_hidden()  # the SVG stays only as the fallback
    await page.locator("path.map-camera-always").first.click()
    form = page.locator(".ccoc-map-live")
    await form.locator("input[name=reason]").fill("ตรวจตลาดจากแผนที่")
    await form.locator("button[type=submit]").click()
    await page.locator("#ccoc-live-player[data-state=playing]").wait_for(timeout=20_000)
    await page.screenshot(path=str(tmp_path / "map-live.png"), full_page=True)
    assert errors == []
    await context.close()
