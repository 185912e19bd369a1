"""The CCOC command panel in real Chromium on a phone-sized screen: pick a light and a duration, no JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until
from integrations.federation.testing import federation_lab as federation_lab  # the fixture

pytestmark = pytest.mark.browser


async def test_officer_flashes_a_light_from_the_form(
    browser: Any, make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        hub_extra="light:\n  - {id: gate_lamp, name: ไฟประตูตลาด, simulated: true}\n",
    )
    await station.auth.add_user("officer1", "ccoc-shift-pass", "operator")
    console = station.data[CCOC_RUNTIME]

    async def listed() -> bool:
        one = await console.hubs.get("test-hub")
        return bool(((one or {}).get("registry") or {}).get("devices"))

    await until(listed)

    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(station.http.url + "/login?next=/ccoc/hubs/test-hub")
    await page.locator("#login-form [name=username]").fill("officer1")
    await page.locator("#login-form [name=password]").fill("ccoc-shift-pass")
    await page.locator("#login-form [type=submit]").click()
    form = page.locator("#ccoc-command-form")
    await form.wait_for()
    assert (
        await form.locator("textarea[name=data]").count() == 0
        or not await form.locator("textarea[name=data]").first.is_visible()
    )
    await form.locator("select[name=command]").select_option("light.flash")
    fields = form.locator('.command-fields[data-command="light.flash"]')
    assert await fields.is_visible()
    assert not await form.locator('.command-fields[data-command="light.turn_on"]').is_visible()
    await fields.locator("select[name=entity_id]").select_option("light.gate_lamp")
    await fields.locator("input[name=seconds]").fill("15")
    await page.screenshot(path=str(tmp_path / "command-panel.png"), full_page=True)
    await form.locator("button[type=submit]").click()
    await form.locator(".action-result.text-ok").wait_for()

    async def done() -> bool:
        rows = await console.delivery.commands(hub_id="test-hub")
        return (
            bool(rows)
            and rows[0]["state"] == "ok"
            and rows[0]["data"]
            == {
                "entity_id": "light.gate_lamp",
                "seconds": 15,
            }
        )

    await until(done, within=15)
    # The page fits a phone: nothing wider than the screen.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    assert errors == []
    await context.close()
