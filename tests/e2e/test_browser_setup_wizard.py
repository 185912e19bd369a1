"""A new admin on a phone: first admin, then the setup wizard, in real Chromium at 390 px, in Thai."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.testing import BASE_CONFIG

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "th-TH", "has_touch": True}
NO_SCROLL = "document.documentElement.scrollWidth"


async def test_new_admin_sets_up_the_hub_on_a_phone(browser: Any, make_hub: Any, config_dir: Path) -> None:
    hub = await make_hub(real_clock=True)
    code = hub.onboarding_code
    assert code is not None
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(hub.http.url + "/onboarding")
        await page.fill("input[name=code]", code)
        await page.fill("input[name=username]", "somchai")
        await page.fill("input[name=password]", "gold-shop-2026")
        await page.fill("input[name=password2]", "gold-shop-2026")
        await page.click("#onboarding-form button[type=submit]")
        await page.wait_for_url("**/setup")
        assert await page.inner_text("h1") == "ตั้งค่าศูนย์ของคุณ"
        assert await page.evaluate(NO_SCROLL) <= 390

        # Step 1: name and zone.  Only this step shows.
        assert await page.is_visible("fieldset[data-step='1']")
        assert not await page.is_visible("fieldset[data-step='2']")
        await page.fill("input[name=name]", "ร้านทองกำแพง")
        await page.fill("input[name=zone]", "satun-langu")
        await page.click("#wizard-next")

        # Step 2: the offline map (no tiles on this hub: the SVG grid); tap to pin.
        assert await page.is_visible("#wizard-map svg")
        assert await page.is_visible("#map-offline")
        await page.fill("input[name=lat]", "6.8700")
        await page.fill("input[name=lon]", "99.7800")
        await page.dispatch_event("input[name=lon]", "change")
        box = await page.locator("#wizard-map svg").bounding_box()
        assert box is not None and box["width"] <= 390
        await page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
        lat = float(await page.input_value("input[name=lat]"))
        lon = float(await page.input_value("input[name=lon]"))
        assert 6.8700 < lat < 6.8720 and 99.7800 < lon < 99.7820  # a tap north-east of the pin
        assert await page.is_visible("#wizard-pin")
        assert await page.evaluate(NO_SCROLL) <= 390
        await page.click("#wizard-next")

        # Step 3: language and time zone, then save.
        assert await page.is_checked("input[name=language][value=th]")
        await page.click("#wizard-save")
        await page.wait_for_selector("#wizard-have:not([hidden])")
        assert "บันทึกแล้ว" in await page.inner_text("#wizard-result")
        links = await page.eval_on_selector_all(
            "#wizard-have a", "els => els.map(e => e.getAttribute('href'))"
        )
        assert links == ["/setup/devices", "/setup/cameras", "/setup/line", "/automations", "/repairs"]
        assert await page.evaluate(NO_SCROLL) <= 390

        assert hub.name == "ร้านทองกำแพง" and hub.core.zone == "satun-langu"
        assert hub.core.location is not None and abs(hub.core.location.lat - lat) < 1e-6
        assert (config_dir / "config.yaml").read_text(encoding="utf-8").startswith(BASE_CONFIG)

        # The Repairs and Users pages fit the phone too.
        for path in ("/repairs", "/users"):
            await page.goto(hub.http.url + path)
            assert await page.evaluate(NO_SCROLL) <= 390, path
    finally:
        await context.close()


async def test_wizard_says_in_thai_when_someone_else_saved_first(browser: Any, make_hub: Any) -> None:
    hub = await make_hub(real_clock=True)
    await hub.auth.add_user("somchai", "gold-shop-2026", "admin")
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(hub.http.url + "/login")
        await page.fill("input[name=username]", "somchai")
        await page.fill("input[name=password]", "gold-shop-2026")
        await page.click("#login-form button[type=submit]")
        await page.goto(hub.http.url + "/setup")
        # Another admin saves while this form is open.
        assert hub.ui_config is not None
        _block, etag = await hub.ui_config.get_block("hub")
        await hub.ui_config.set_block("hub", {"name": "ชื่อของอีกคน"}, etag=etag)
        await page.fill("input[name=name]", "ร้านทองกำแพง")
        await page.click("#wizard-next")
        await page.click("#wizard-next")
        await page.click("#wizard-save")
        await page.wait_for_selector("#wizard-result.alert-error")
        assert "มีผู้ดูแลคนอื่นแก้ไข" in await page.inner_text("#wizard-result")
        assert hub.name == "ชื่อของอีกคน"
    finally:
        await context.close()


async def test_with_offline_tiles_the_pin_is_set_on_a_leaflet_map(
    browser: Any, make_hub: Any, config_dir: Path
) -> None:
    tile = config_dir / "tiles" / "6" / "50" / "30.png"
    tile.parent.mkdir(parents=True)
    # A 1x1 PNG: the tile route serves what the folder holds, nothing else.
    tile.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360f8cf000000030101006b3f4f1b0000000049454e44ae426082"
        )
    )
    hub = await make_hub(real_clock=True)
    await hub.auth.add_user("somchai", "gold-shop-2026", "admin")
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(hub.http.url + "/login")
        await page.fill("input[name=username]", "somchai")
        await page.fill("input[name=password]", "gold-shop-2026")
        await page.click("#login-form button[type=submit]")
        await page.goto(hub.http.url + "/setup")
        await page.fill("input[name=name]", "ร้านทอง")
        await page.click("#wizard-next")
        await page.wait_for_selector("#wizard-map.leaflet-container")
        assert not await page.is_visible("#map-offline")
        box = await page.locator("#wizard-map").bounding_box()
        assert box is not None
        await page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2)
        assert await page.input_value("input[name=lat]") != ""
        assert -180 <= float(await page.input_value("input[name=lon]")) <= 180
        assert await page.evaluate(NO_SCROLL) <= 390
        answer = await context.request.get(hub.http.url + "/setup/tiles/6/50/30.png")
        assert answer.status == 200 and answer.headers["content-type"] == "image/png"
        assert (await context.request.get(hub.http.url + "/setup/tiles/6/50/..%2F..%2Fx.png")).status == 404
    finally:
        await context.close()
