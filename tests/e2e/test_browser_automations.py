"""The automation pages in real Chromium on a phone: a blueprint's form, the editor's type switch, delete.

The page scripts matter here: changing a row's type redraws the editor (app.js
submits the form with its "change type" button), and delete asks first.
"""

from __future__ import annotations

from typing import Any

from hub.components.automation.const import RUNTIME as AUTOMATION_RUNTIME
from hub.testing import wait_for
from hub.testing_pages import browser_session

CONFIG = """
sos:
  - {id: gate, name: ปุ่มประตูตลาด, simulated: true}
light:
  - {id: lamp, name: ไฟหน้าร้าน, simulated: true}
"""


async def test_blueprint_form_editor_and_delete_in_chromium(make_hub: Any, browser: Any) -> None:
    hub = await make_hub(CONFIG)
    session = await browser_session(hub, "admin", lang="th")
    cookies = [{"name": c.key, "value": c.value, "url": hub.http.url} for c in session.cookie_jar]
    await session.close()
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        await context.add_cookies(cookies)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        base = hub.http.url.rstrip("/")

        # Use the SOS blueprint: the form's fields are labelled; pick the button and the lamp.
        await page.goto(base + "/automations/new")
        await page.locator('a[href="/automations/new/blueprint?path=sos_alert.yaml"]').click()
        await page.locator("#id").fill("gate_sos")
        await page.locator("#alias").fill("SOS ประตู")
        await page.locator('select[name="input.sos_button"]').select_option("sos.gate")
        await page.locator('input[name="input.lights"][value="light.lamp"]').check()
        await page.locator("#save").click()
        await page.wait_for_url("**/automations/gate_sos?saved=1")
        assert "บันทึกแล้ว" in (await page.locator("#saved").text_content() or "")
        assert hub.data[AUTOMATION_RUNTIME].get("gate_sos") is not None

        # The visual editor: choosing another trigger type redraws the row with its fields.
        await page.goto(base + "/automations/new/edit")
        assert await page.locator('[name="t-0-to"]').count() == 0
        await page.locator("#t-0-kind").select_option("state")
        await page.locator('[name="t-0-to"]').wait_for()
        # The no-script button is hidden once the script runs.
        assert not await page.locator('button[value="refresh"]').first.is_visible()

        # Delete asks first; accepted, the automation is gone from the config and the hub.
        await page.goto(base + "/automations/gate_sos")
        page.once("dialog", lambda dialog: dialog.accept())
        await page.locator("#delete").click()
        await page.wait_for_url("**/automations?deleted=1")
        await wait_for(
            lambda: hub.data[AUTOMATION_RUNTIME].get("gate_sos") is None, what="the automation removed"
        )
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390

        # An API refusal reads in Thai on a Thai page (the API's own words are English): open an
        # automation's page, have it removed meanwhile, then press "run now".
        item = {
            "id": "temp_one",
            "alias": "ชั่วคราว",
            "triggers": [{"trigger": "event", "event_type": "x"}],
            "actions": [{"delay": 1}],
        }
        await hub.ui_config.add_item("automation", item)
        await hub.data[AUTOMATION_RUNTIME].reload(["temp_one"])
        await page.goto(base + "/automations/temp_one")
        _items, etag = await hub.ui_config.list_items("automation")
        await hub.ui_config.remove_item("automation", "temp_one", etag=etag)
        await hub.data[AUTOMATION_RUNTIME].reload(["temp_one"])
        await page.locator('form[data-api$="/trigger"] button').click()
        result = page.locator('form[data-api$="/trigger"] .action-result')
        await result.filter(has_text="ไม่พบสิ่งที่ต้องการ").wait_for()
        assert "no such automation" not in (await result.text_content() or "")
        assert errors == []
    finally:
        await context.close()
