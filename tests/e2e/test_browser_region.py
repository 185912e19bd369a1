"""The region's ranking page in real Chromium, at a phone's width, from three real stations.

Three stations ingest their hubs' SOS incidents and cameras, send their month
up through the region link and a real Mosquitto, and the committee member opens
the ranking on a 390 px phone: the rows are in the order the documented
weighting gives (docs/region.md), the page fits the screen, and a station's
drill-down shows its points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integrations.federation.testing import until
from integrations.region.const import RUNTIME as REGION_RUNTIME
from integrations.region.testing import RegionLab, start_region
from integrations.region.testing import region_lab as region_lab  # the fixture

pytestmark = pytest.mark.browser

MONTH = "2026-01"


async def test_committee_reads_the_ranking_on_a_phone(
    browser: Any, region_lab: RegionLab, mosquitto: Any, make_hub: Any, tmp_path: Path, clock: Any
) -> None:
    region, _stations = await start_region(make_hub, region_lab, mosquitto, tmp_path, clock)
    rg = region.data[REGION_RUNTIME]
    await until(lambda: rg.ingest.stored >= 6, within=15)
    expected = [r["station_id"] for r in (await rg.ranking(MONTH))["rows"]]
    # The documented weighting over the stations' own data (worked out in docs/region.md).
    assert expected == ["st-lopburi", "st-angthong", "st-singburi"]
    await region.auth.add_user("committee", "committee-pass-1", "viewer")

    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(region.http.url + f"/login?next=/region?month={MONTH}")
    await page.locator("#login-form [name=username]").fill("committee")
    await page.locator("#login-form [name=password]").fill("committee-pass-1")
    await page.locator("#login-form [type=submit]").click()
    table = page.locator("#region-ranking")
    await table.wait_for()
    rows = page.locator("#region-ranking tbody tr")
    assert [await rows.nth(i).get_attribute("data-station") for i in range(await rows.count())] == expected
    assert [await rows.nth(i).get_attribute("data-rank") for i in range(3)] == ["1", "2", "3"]
    assert [await rows.nth(i).get_attribute("data-score") for i in range(3)] == ["41.84", "40.80", "26.45"]
    heading = await page.locator("h1").inner_text()
    assert "อันดับสถานีประจำเดือน" in heading and MONTH in heading
    # Thai first: the criteria and the "not reported" mark are in Thai.
    text = await table.inner_text()
    assert "เวลารับทราบ SOS (p90)" in text and "ไม่ได้รายงาน" in text
    # Fits a 390 px phone: no sideways scrolling.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    await page.screenshot(path=str(tmp_path / "region-ranking.png"), full_page=True)
    assert await page.locator("#region-csv").get_attribute("href") == f"/region/ranking.csv?month={MONTH}"

    await rows.nth(1).locator("a").first.click()
    await page.locator("#station-points").wait_for()
    assert await page.locator("#station-score").inner_text() == "40.80"
    assert "57" in await page.locator('#station-points tr[data-key="sos_ack_p90"]').inner_text()
    assert "50" in await page.locator('#station-points tr[data-key="patrol_coverage"]').inner_text()
    # The trend: a column per month of the last six, this month's score among them.
    assert await page.locator("#station-trend svg").count() == 1
    assert "40.8" in await page.locator("#station-trend svg").inner_html()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.screenshot(path=str(tmp_path / "region-station.png"), full_page=True)
    assert errors == []
    await context.close()
