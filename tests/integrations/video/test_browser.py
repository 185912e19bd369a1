"""In real Chromium: the hub's local live view plays the camera (MSE), and shows "camera offline"."""

from __future__ import annotations

from typing import Any

import pytest

from hub.testing import wait_for
from integrations.camera.config import RecordConfig
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from tests.e2e.conftest import browser  # noqa: F401 - the Chromium fixture
from tests.integrations.onvif.conftest import _stop
from tests.integrations.video.conftest import VIDEO_BLOCK, add_stream_camera, make_h264, start_private_ipycam

pytestmark = pytest.mark.browser

_FRAME = """() => {
  const v = document.getElementById('video-player');
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let lo = 255, hi = 0;
  for (let i = 0; i < d.length; i += 4) { const y = d[i] + d[i + 1] + d[i + 2]; lo = Math.min(lo, y); hi = Math.max(hi, y); }
  return {w: c.width, h: c.height, spread: hi - lo, t: v.currentTime};
}"""


async def test_admin_watches_the_live_view_in_chromium(browser: Any, make_hub, private_ipycam) -> None:  # noqa: F811
    cam = start_private_ipycam()
    private_ipycam.append(cam)
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", cam.rtsp_url)
    await hub.auth.add_user("owner", "market-admin-2026", "admin")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(hub.http.url + "/login?next=/video/camera.gate")
    await page.locator("#login-form [name=username]").fill("owner")
    await page.locator("#login-form [name=password]").fill("market-admin-2026")
    await page.locator("#login-form [type=submit]").click()
    await page.locator("#video-play").wait_for()
    await page.locator("#video-play").click()
    await page.wait_for_function(
        "() => document.getElementById('video-player').currentTime > 1.0", timeout=20_000
    )
    first = await page.evaluate(_FRAME)
    await page.wait_for_function(
        f"() => document.getElementById('video-player').currentTime > {first['t'] + 1.0}", timeout=10_000
    )
    frame = await page.evaluate(_FRAME)
    assert (frame["w"], frame["h"]) == (320, 240)
    assert frame["spread"] > 60  # a real picture: the test pattern's box on its background
    await page.locator(".video-state[data-state=online]").wait_for(timeout=5_000)
    # The page fits a phone.
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # The camera goes away: the page says so within seconds (offline_after + one status poll).
    _stop(cam)
    await page.locator(".video-state[data-state=offline]").wait_for(timeout=5_000)
    assert "กล้องออฟไลน์" in await page.locator(".video-reason").text_content()
    assert errors == []
    await context.close()


async def test_a_recording_plays_from_the_timeline(browser: Any, make_hub, tmp_path) -> None:  # noqa: F811
    clip = make_h264(tmp_path / "cam.mp4", 6, gop=10)
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "till", f"file:{clip}", record=RecordConfig(mode="continuous"))
    runtime = hub.data[VIDEO_RUNTIME]
    runtime.start_recorders()
    await wait_for(lambda: runtime.recorders["camera.till"].written >= 3, 20, "segments")
    await hub.auth.add_user("staff", "market-staff-2026", "operator")
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(hub.http.url + "/login?next=/video/camera.till")
    await page.locator("#login-form [name=username]").fill("staff")
    await page.locator("#login-form [name=password]").fill("market-staff-2026")
    await page.locator("#login-form [type=submit]").click()
    await page.locator("#video-list li a").first.click()
    await page.wait_for_function(
        "() => document.getElementById('video-playback').currentTime > 0.5", timeout=10_000
    )
    assert await page.locator("#video-player").count() == 0  # the live view is for admins
    assert await page.locator("#video-timeline button").count() >= 3
    assert errors == []
    await context.close()
