"""The CCOC console in real Chromium, against a real hub through a real Mosquitto.

One officer's shift in one test: log in, see an SOS arrive on the board
without reloading (with its alarm), acknowledge it (the hub's incident shows
it), then open a camera with a reason (audited at the station and on the
camera owner's hub).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.federation.testing import CAMERA_PASSWORD, FederationLab, start_pair, until
from integrations.federation.testing import federation_lab as federation_lab  # the fixture
from integrations.station.const import RUNTIME as STATION_RUNTIME

pytestmark = pytest.mark.browser

TESTCAMS = Path(__file__).parents[1] / "integrations" / "federation" / "testcams"
CAMS = """
testcams:
  - {id: gate_always, name: กล้องประตูตลาด, share: always, password: !secret cam_pw}
"""


async def test_officer_takes_an_sos_and_views_a_camera(
    browser: Any, make_hub: Any, federation_lab: FederationLab, tmp_path: Path, config_dir: Path
) -> None:
    shutil.copytree(TESTCAMS, config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        hub_extra=CAMS,
        station_extra={"console": {"units": ["สายตรวจ 1"]}},
    )
    await station.auth.add_user("officer1", "ccoc-shift-pass", "operator")
    st = station.data[STATION_RUNTIME]

    async def registry() -> bool:
        item = await st.store.hub("test-hub")
        return bool(item and (item.get("registry") or {}).get("cameras"))

    await until(registry)

    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="th-TH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(station.http.url + "/login?next=/ccoc")
    await page.locator("#login-form [name=username]").fill("officer1")
    await page.locator("#login-form [name=password]").fill("ccoc-shift-pass")
    await page.locator("#login-form [type=submit]").click()
    await page.locator("#ccoc-board").wait_for(state="attached")
    await page.locator("#ccoc-live[data-state=live]").wait_for()
    assert await page.locator("#ccoc-empty").is_visible()

    # An SOS at the market, with a picture: it reaches the board without a reload, alarm on.
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ร้านทอง", place="ร้านทองแผง 3")
    await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate_always", "incident_id": inc.id})
    card = page.locator(f'article.ccoc-card[data-incident-id="{inc.id}"]')
    await card.wait_for(timeout=15_000)
    assert "SOS ร้านทอง" in await card.inner_text()
    await page.locator("#ccoc-alert:not([hidden])").wait_for()
    await card.locator(".ccoc-thumbs img").first.wait_for(timeout=15_000)
    await page.screenshot(path=str(tmp_path / "board-sos.png"), full_page=True)

    # Acknowledge: the hub's incident shows it; the board and the alarm follow.
    await card.locator("button.ccoc-act[data-action=ack]").click()
    await until(lambda: _status(hub, inc.id, "acknowledged"), within=15)
    got = await hub.data[INCIDENT_RUNTIME].get(inc.id)
    assert "officer1" in (got.acknowledged_by or "")
    await page.locator(
        f'article.ccoc-card[data-incident-id="{inc.id}"][data-status="acknowledged"]'
    ).wait_for(timeout=15_000)
    await page.locator("#ccoc-alert[hidden]").wait_for(state="attached")

    # Open the camera from the incident page: a reason first, then the picture.
    await card.locator(".ccoc-card-title a").click()
    await page.locator("#ccoc-incident").wait_for()
    await page.locator('button.ccoc-view[data-entity-id="camera.gate_always"]').click()
    await page.locator("#ccoc-view-reason").fill("ยืนยันตัวคนร้ายเหตุ SOS")
    await page.locator("#ccoc-dialog-ok").click()
    await page.locator(".ccoc-view-images img.ccoc-view-image").first.wait_for(timeout=15_000)
    # The test camera's frames are tiny stand-ins, not decodable pictures: check what was served.
    src = await page.locator(".ccoc-view-images img").first.get_attribute("src")
    assert await page.evaluate(
        "src => fetch(src).then(r => r.status + ' ' + r.headers.get('content-type'))", src
    ) == ("200 image/jpeg")
    await page.screenshot(path=str(tmp_path / "camera-view.png"), full_page=True)

    station_view = [
        e
        for e in await station.audit.query(action="station.camera.view")
        if e.detail.get("reason") == "ยืนยันตัวคนร้ายเหตุ SOS"
    ]
    assert station_view and station_view[0].actor == "officer1"

    async def on_hub() -> list[Any]:
        return [
            e
            for e in await hub.audit.query(action="camera.view")
            if e.source == "station" and e.detail.get("reason") == "ยืนยันตัวคนร้ายเหตุ SOS"
        ]

    mirrored = (await until(on_hub, within=15))[0]
    assert mirrored.actor == "station:test-station/officer1" and mirrored.target == "camera.gate_always"
    # The map and the KPIs render in the browser without a script error.
    await page.goto(station.http.url + "/ccoc/map")
    await page.locator("#ccoc-map .map-camera").first.wait_for()
    await page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
    await page.goto(station.http.url + "/ccoc/kpi")
    await page.locator("#kpi-sos svg").wait_for()
    await page.screenshot(path=str(tmp_path / "kpi.png"), full_page=True)
    assert errors == []
    await context.close()


async def _status(hub: Any, incident_id: str, status: str) -> bool:
    return (await hub.data[INCIDENT_RUNTIME].get(incident_id, timeline=False)).status == status
