"""In a real browser on a phone-sized screen: a patrol check-in from a scanned QR, and the People Poll."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plugins.people_poll.const import RUNTIME as PEOPLE_POLL_RUNTIME

pytestmark = pytest.mark.browser

PATROL = """\
patrol_qr:
  checkpoints:
    - {id: soi3, name: ตู้แดงซอย 3 ตลาดสด, location: {lat: 14.5896, lon: 100.4550}, risk: ซอยมืด มีวิ่งราวกระเป๋า}
"""
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "locale": "th-TH",
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


async def _phone(browser: Any, **extra: Any) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(**PHONE, **extra)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


async def test_scan_link_to_joint_checkin(browser: Any, make_hub: Any, tmp_path: Path) -> None:
    hub = await make_hub(PATROL)
    await hub.auth.add_user("officer1", "patrol-pass-1", "operator")
    link = hub.http.url + (await hub.services.call("patrol_qr", "sheet_link", {"id": "soi3"}))["path"]
    volunteer = await hub.services.call("patrol_qr", "issue_volunteer_link", {"name": "สมชาย อาสา"})

    # The volunteer opens the personal link once, then scans the red box's QR.
    position = {
        "geolocation": {"latitude": 14.5897, "longitude": 100.4551, "accuracy": 15},
        "permissions": ["geolocation"],
    }
    context, page, errors = await _phone(browser, **position)
    await page.goto(hub.http.url + volunteer["path"])
    await page.locator("#volunteer[data-ok='yes']").wait_for()
    await page.goto(link)
    await page.locator("#checkin-as").wait_for()
    assert "สมชาย อาสา" in await page.locator("#checkin-as").inner_text()
    await page.locator("#checkin-form textarea[name=note]").fill("ไฟซอยดับ 1 ดวง")
    await page.screenshot(path=str(tmp_path / "checkin-form.png"), full_page=True)
    await page.locator(".checkin-submit").click()
    await page.locator("#checkin-done").wait_for()
    row = await hub.storage.fetchone("SELECT * FROM patrol_checkins")
    # The browser's position came with the check-in.
    assert (row["role"], row["lat"], row["lon"], row["accuracy_m"], row["note"]) == (
        "volunteer",
        14.5897,
        100.4551,
        15.0,
        "ไฟซอยดับ 1 ดวง",
    )
    assert errors == []
    await context.close()

    # An officer scans the same QR a few minutes later: asked to log in, then back to the check-in.
    context, page, errors = await _phone(browser, **position)
    await page.goto(link)
    await page.locator("#officer-login").click()
    await page.locator("#login-form [name=username]").fill("officer1")
    await page.locator("#login-form [name=password]").fill("patrol-pass-1")
    await page.locator("#login-form [type=submit]").click()
    await page.locator("#checkin-form").wait_for()
    await page.locator(".checkin-submit").click()
    done = page.locator("#checkin-patrol")
    await done.wait_for()
    # One joint patrol: "1 officer + 1 volunteer".
    assert "ตำรวจ 1 + อาสา 1" in await done.inner_text()
    await page.screenshot(path=str(tmp_path / "checkin-done.png"), full_page=True)
    # Scanning again inside the window is a replay, and is refused.
    await page.goto(link)
    assert await page.locator("#checkin-error").get_attribute("data-reason") == "replay"
    assert errors == []
    await context.close()


async def test_poll_form_submission(browser: Any, make_hub: Any, tmp_path: Path) -> None:
    hub = await make_hub("people_poll:\n")
    link = hub.http.url + hub.data[PEOPLE_POLL_RUNTIME].link()
    context, page, errors = await _phone(browser)
    await page.goto(link)
    await page.locator("[data-question=fear_of_crime] .scale-option").nth(1).click()
    await page.locator("[data-question=trust_police] .scale-option").nth(3).click()
    await page.locator("[data-question=safe_at_night] input[value=no]").check()
    await page.locator("[data-question=comment] textarea").fill("อยากให้มีไฟส่องสว่างหน้าตลาดมากขึ้น")
    await page.screenshot(path=str(tmp_path / "poll-form.png"), full_page=True)
    await page.locator(".poll-submit").click()
    await page.locator("#poll-done").wait_for()
    rows = await hub.storage.fetchall("SELECT answers FROM poll_responses")
    assert [r["answers"] for r in rows] == [
        '{"fear_of_crime": 2, "trust_police": 4, "safe_at_night": "no", '
        '"comment": "อยากให้มีไฟส่องสว่างหน้าตลาดมากขึ้น"}'
    ]
    # Opening the link again on this phone: already answered this month.
    await page.goto(link)
    assert await page.locator("#poll-refused").get_attribute("data-reason") == "already"
    # The same form in English, from the language switch.
    await page.context.clear_cookies()
    await page.goto(link)
    await page.locator("form.lang-form button[value=en]").click()
    await page.locator("#poll-form").wait_for()
    assert "Would you feel safe walking alone here at night?" in await page.locator("#poll-form").inner_text()
    assert errors == []
    await context.close()
