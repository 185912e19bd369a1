"""The station's monthly KPIs and its ตู้แดง map in real Chromium on a phone: three hubs, two zones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.core.clock import FakeClock
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.testing import FederationLab
from tests.e2e.test_browser_live import PNG_1PX
from tests.integrations.station.kpi_helpers import (
    HUBS,
    MONTH,
    PASSWORDS,
    do_the_month,
    health_in,
    settled,
    start_station_and_hubs,
)

pytestmark = pytest.mark.browser


async def test_kpis_and_patrol_boxes_on_a_phone(
    browser: Any, make_hub: Any, mosquitto_factory: Any, tmp_path: Path, clock: FakeClock
) -> None:
    tiles = tmp_path / "tiles"
    for z, x, y in ((17, 102353, 61345), (16, 51176, 30672)):
        (tiles / str(z) / str(x)).mkdir(parents=True, exist_ok=True)
        (tiles / str(z) / str(x) / f"{y}.png").write_bytes(PNG_1PX)
    lab = FederationLab(tmp_path / "lab", mosquitto_factory, hubs=PASSWORDS)
    station, hubs = await start_station_and_hubs(
        make_hub, lab, tmp_path, console={"map": {"tiles_dir": str(tiles), "attribution": "test tiles"}}
    )
    await do_the_month(hubs, clock)
    await settled(station, hubs)
    await health_in(station, hubs)
    station.data[CCOC_RUNTIME].hubs.invalidate()
    await station.auth.add_user("officer1", "ccoc-shift-pass", "viewer")

    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(station.http.url + f"/login?next=/ccoc/kpi%3Fmonth%3D{MONTH}")
    await page.locator("#login-form [name=username]").fill("officer1")
    await page.locator("#login-form [name=password]").fill("ccoc-shift-pass")
    await page.locator("#login-form [type=submit]").click()
    by_hub = page.locator("#kpi-by-hub")
    await by_hub.wait_for()
    assert await page.locator("#kpi-fig-patrols").inner_text() == "13"
    assert await by_hub.locator("tbody tr").count() == len(HUBS)
    assert await page.locator("#kpi-by-zone tbody tr").count() == 2
    assert "ตัวชี้วัดโครงการ แยกตามฮับ" in await by_hub.locator("h2").inner_text()
    first = by_hub.locator('tr[data-hub="test-hub"]')
    assert "ตลาดเทศบาล" in await first.inner_text() and "7" in await first.locator("td").first.inner_text()
    await page.screenshot(path=str(tmp_path / "kpi-phone.png"), full_page=True)
    # The wide tables scroll inside their cards: the page itself fits the phone.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    await page.goto(station.http.url + "/ccoc/map")
    await page.locator("#ccoc-leaflet[data-ready=yes]").wait_for(timeout=15_000)
    boxes = page.locator(".leaflet-marker-icon.map-checkpoint")
    assert await boxes.count() == len(HUBS)
    assert await page.locator(".map-checkpoint-fresh").count() == len(HUBS)
    title = await boxes.first.get_attribute("title") or ""
    assert "ตรวจล่าสุด" in title
    assert await page.locator("#ccoc-checkpoints tbody tr").count() == len(HUBS)
    await page.screenshot(path=str(tmp_path / "map-phone.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
    await context.close()
