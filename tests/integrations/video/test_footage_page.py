"""The owner's footage page in a real browser on a phone: fits 390 px, Thai, approve with one tap."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from integrations.federation.protocol import ActorDoc, CommandDoc
from integrations.federation.testing import CAMERA_PASSWORD
from integrations.video.footage import FOOTAGE_DESK
from tests.e2e.conftest import browser  # noqa: F401

pytestmark = pytest.mark.browser

TESTCAMS = Path(__file__).resolve().parents[2] / "integrations" / "federation" / "testcams"
CONFIG = """
testcams:
  - {id: shop_registry, name: กล้องหน้าร้าน, share: registry, password: !secret cam_pw}
video: {}
"""
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "locale": "th-TH", "is_mobile": True}


async def test_owner_approves_on_a_phone(browser: Any, make_hub: Any, config_dir: Path, clock: Any) -> None:  # noqa: F811
    """The pending request is readable at 390 px and one tap on อนุญาต approves it."""
    shutil.copytree(TESTCAMS, config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    hub = await make_hub(CONFIG)
    await hub.auth.add_user("owner", "owner-pass-1234", "admin")
    t0 = clock.time() - 3600
    request_id = "01JD00000000000000000000AA"
    await hub.data[FOOTAGE_DESK].on_command(
        CommandDoc(
            v=1,
            id="01JD00000000000000000000AB",
            station="angthong-mueang",
            hub=hub.id,
            command="footage.request",
            data={
                "request_id": request_id,
                "cameras": ["camera.shop_registry"],
                "start": t0,
                "end": t0 + 900,
                "reason": "ชิงทรัพย์หน้าร้านทอง มีผู้เห็นเหตุการณ์ยืนยัน",
                "case_number": "123/2569",
                "upload_url": "http://127.0.0.1:9",
                "requested_at": t0,
            },
            by=ActorDoc(user="somchai", name="ร.ต.อ. สมชาย ใจกล้า", unit="สภ.เมืองอ่างทอง"),
            ts=t0,
        )
    )
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(hub.http.url + "/login?next=/video/footage")
    await page.locator("#login-form [name=username]").fill("owner")
    await page.locator("#login-form [name=password]").fill("owner-pass-1234")
    await page.locator("#login-form [type=submit]").click()
    card = page.locator(f"[data-request-id='{request_id}']")
    await card.wait_for()
    text = await card.inner_text()
    assert "123/2569" in text and "ร.ต.อ. สมชาย ใจกล้า" in text and "รอท่านอนุญาต" in text
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await card.locator("[data-action=approve]").click()
    await page.locator("#footage-message").wait_for()
    assert "อนุญาตแล้ว" in await page.locator("#footage-message").inner_text()
    found = await hub.data[FOOTAGE_DESK].get(request_id)
    assert found is not None and (found["state"], found["decided_by"], found["decided_via"]) == (
        "approved",
        "owner",
        "ui",
    )
    assert errors == []
    await context.close()
