"""In a real browser: onboarding with the console code, login, the demo, an SOS press."""

import pytest

pytestmark = pytest.mark.browser


async def test_onboarding_login_overview_and_sos(browser, demo_process) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # A wrong code is refused; the console's code creates the admin.
    await page.goto(demo_process.url + "/onboarding")
    form = page.locator("#onboarding-form")
    await form.locator("[name=code]").fill("00000000")
    await form.locator("[name=username]").fill("admin")
    await form.locator("[name=password]").fill("market-admin-2026")
    await form.locator("[name=password2]").fill("market-admin-2026")
    await form.locator("[type=submit]").click()
    await page.wait_for_load_state()
    assert "/onboarding" in page.url
    form = page.locator("#onboarding-form")
    await form.locator("[name=code]").fill(demo_process.onboarding_code)
    await form.locator("[name=username]").fill("admin")
    await form.locator("[name=password]").fill("market-admin-2026")
    await form.locator("[name=password2]").fill("market-admin-2026")
    await form.locator("[type=submit]").click()
    await page.wait_for_url(demo_process.url + "/")

    # Log out, then log in with the new account.
    await page.locator("form[action='/logout'] [type=submit]").click()
    await page.wait_for_url("**/login**")
    await page.locator("#login-form [name=username]").fill("admin")
    await page.locator("#login-form [name=password]").fill("market-admin-2026")
    await page.locator("#login-form [type=submit]").click()
    await page.wait_for_url(demo_process.url + "/")

    # The overview lists the demo's entities.
    entities = page.locator("#entities")
    for entity_id in ("sos.demo_market", "camera.demo_gate", "light.demo_lamp", "binary_sensor.demo_motion"):
        await entities.locator(f"tr.entity-row[data-entity-id='{entity_id}']").wait_for()

    # The test button asks first (a stray tap sends nothing), and its press is a drill.
    assert await page.locator("#open-incidents .incident-row").count() == 0
    questions: list[str] = []

    async def cancel(dialog) -> None:
        questions.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", cancel)
    await page.locator("button.sos-press[data-entity-id='sos.demo_market']").click()
    await page.wait_for_timeout(500)
    assert len(questions) == 1 and "ฝึกซ้อม" in questions[0]
    assert await page.locator("#open-incidents .incident-row").count() == 0

    async def accept(dialog) -> None:
        await dialog.accept()

    # Confirmed: an incident opens, shown live without a reload, marked as a drill.
    page.once("dialog", accept)
    await page.locator("button.sos-press[data-entity-id='sos.demo_market']").click()
    row = page.locator("#open-incidents .incident-row").first
    await row.wait_for(timeout=10_000)
    assert (await row.locator(".badge-drill").text_content()).strip() == "ฝึกซ้อม"
    state = page.locator("tr.entity-row[data-entity-id='sos.demo_market'] [data-state]")
    assert await state.get_attribute("data-state") == "triggered"
    assert (await state.text_content()).strip() == "ถูกกด!"
    await page.screenshot(path=str(demo_process.cwd / "overview.png"))
    assert errors == []
    await context.close()
