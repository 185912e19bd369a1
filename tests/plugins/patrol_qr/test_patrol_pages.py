"""The A4 sheet, the hub users' pages and forms, and what the station gets."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
import segno
from PIL import Image

from plugins.patrol_qr.sheet import A4, SheetText, render_sheet
from tests.plugins.patrol_qr.patrol_helpers import AT_SOI3, PATROL_YAML, sheet_link, volunteer_link


def qr_matrix_of(png: bytes) -> list[list[bool]]:
    """Read the QR modules back from a sheet: pure black pixels are the code (text is anti-aliased ink)."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    assert img.size == A4
    # Only the QR is drawn in pure black; the text is dark blue-grey ink.
    box = img.convert("L").point(lambda v: 255 if v == 0 else 0).getbbox()
    px = img.load()
    assert box is not None and px is not None
    x0, y0, x1, _y1 = box
    # The finder pattern's dark edge spans 7 modules; measure the module size from it.
    edge = x0
    while px[edge, y0 + 1] == (0, 0, 0):
        edge += 1
    module = (edge - x0) / 7
    count = round((x1 - x0) / module)
    return [
        [px[int(x0 + (c + 0.5) * module), int(y0 + (r + 0.5) * module)] == (0, 0, 0) for c in range(count)]
        for r in range(count)
    ]


def expected_matrix(url: str) -> list[list[bool]]:
    qr = segno.make(url, error="m", micro=False)
    return [[bool(v) for v in row] for row in qr.matrix]


def sheet_text(url: str) -> SheetText:
    return SheetText(
        "soi3",
        "ตู้แดงซอย 3 ตลาดสด",
        "ซอยมืด มีวิ่งราวกระเป๋า",
        url,
        "ตลาดทดสอบ",
        "test-zone",
        "31 ธ.ค. 2569",
        "abcdefghijkl",
    )


def test_sheet_carries_the_link_in_its_qr() -> None:
    url = "https://talat.example.org/patrol_qr/c/soi3/abcdefghijkl?exp=1798736399&sig=0123456789abcdefABCDEF-_0123456"
    png = render_sheet(sheet_text(url))
    assert qr_matrix_of(png) == expected_matrix(url)
    pdf = render_sheet(sheet_text(url), fmt="pdf")
    assert pdf.startswith(b"%PDF") and b"/MediaBox" in pdf


def test_sheet_without_a_thai_font_still_prints(caplog: pytest.LogCaptureFixture) -> None:
    url = "http://127.0.0.1/patrol_qr/c/soi3/x?exp=1&sig=y"
    with caplog.at_level(logging.WARNING):
        png = render_sheet(sheet_text(url), fonts=())
    assert "fonts-thai-tlwg" in caplog.text
    assert qr_matrix_of(png) == expected_matrix(url)


async def test_sheet_route_for_admins_only(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML)
    admin = await phones(hub, "admin1", role="admin")
    async with admin.session.get("/patrol_qr/checkpoints/soi3/sheet.png") as resp:
        assert resp.status == 200 and resp.content_type == "image/png"
        png = await resp.read()
    # No public_url configured: the QR points at the address the admin used.
    link = await sheet_link(hub, "soi3")
    assert qr_matrix_of(png) == expected_matrix(hub.http.url + link)
    async with admin.session.get("/patrol_qr/checkpoints/soi3/sheet.pdf") as resp:
        assert resp.status == 200 and (await resp.read()).startswith(b"%PDF")
    async with admin.session.get("/patrol_qr/checkpoints/nope/sheet.png") as resp:
        assert resp.status == 404
    operator = await phones(hub, "op1", role="operator")
    async with operator.session.get("/patrol_qr/checkpoints/soi3/sheet.png") as resp:
        assert resp.status == 403
    rows = await hub.storage.fetchall("SELECT action, target FROM audit_log WHERE action = 'patrol_qr.sheet'")
    assert [(r["action"], r["target"]) for r in rows] == [("patrol_qr.sheet", "soi3")] * 2


async def test_checkpoints_and_volunteers_from_the_ui(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML)
    admin = await phones(hub, "admin1", role="admin")
    page = await admin.get("/patrol_qr")
    assert page.status == 200 and "ตู้แดงซอย 3" in page.text and 'id="add-checkpoint"' in page.text
    added = await admin.post(
        "/patrol_qr/checkpoints",
        {"id": "temple", "name": "ตู้แดงหน้าวัด", "lat": "14.59", "lon": "100.46", "risk": "มืด"},
    )
    assert added.status == 303
    assert "ตู้แดงหน้าวัด" in (await admin.get("/patrol_qr")).text
    # Bad input: the id is taken, a lat without a lon; nothing changes.
    for data in (
        {"id": "soi3", "name": "ซ้ำ"},
        {"id": "x1", "name": "X", "lat": "14"},
        {"id": "Bad Id", "name": "X"},
    ):
        refused = await admin.post("/patrol_qr/checkpoints", data)
        assert refused.status == 400 and 'id="patrol-error"' in refused.text
    async with admin.session.get("/api/patrol_qr/checkpoints") as resp:
        assert [c["id"] for c in await resp.json()] == ["atm_gate", "soi3", "temple"]
    # Config checkpoints are edited in config.yaml, not here.
    yes = {"confirm": "yes"}
    assert (await admin.post("/patrol_qr/checkpoints/soi3/remove", yes)).status == 400
    assert (await admin.post("/patrol_qr/checkpoints/temple/remove", yes)).status == 303
    assert "ตู้แดงหน้าวัด" not in (await admin.get("/patrol_qr")).text

    issued = await admin.post("/patrol_qr/volunteers", {"name": "ป้าแดง", "phone": "081-111-2222"})
    assert issued.status == 200 and 'id="issued-url"' in issued.text and "data:image/svg+xml" in issued.text
    url = issued.text.split('id="issued-url">', 1)[1].split("<", 1)[0]
    phone = await phones(hub)
    assert (await phone.get(url.replace(hub.http.url, ""))).status == 200
    vid = (await hub.storage.fetchone("SELECT id FROM patrol_volunteers"))["id"]
    assert (await admin.post(f"/patrol_qr/volunteers/{vid}/revoke", yes)).status == 303
    assert (await admin.post(f"/patrol_qr/volunteers/{vid}/revoke", yes)).status == 400
    listing = await admin.get("/patrol_qr/volunteers")
    assert "ป้าแดง" in listing.text and "ยกเลิกแล้ว" in listing.text
    audit = await hub.storage.fetchall("SELECT action, detail FROM audit_log WHERE action LIKE 'patrol_qr.%'")
    assert {r["action"] for r in audit} >= {
        "patrol_qr.add_checkpoint",
        "patrol_qr.remove_checkpoint",
        "patrol_qr.issue_volunteer_link",
        "patrol_qr.revoke_volunteer",
    }
    assert all("081-111-2222" not in (r["detail"] or "") for r in audit)


async def test_pages_in_english_and_recent_patrols(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML.replace("patrol_qr:", "patrol_qr:\n  far_meters: 50"))
    volunteer = await phones(hub)
    await volunteer.get((await volunteer_link(hub, "Daeng"))[1])
    done = await volunteer.check_in(await sheet_link(hub, "soi3"), lat="14.5930", lon="100.4550")
    assert "ห่างจากตู้ 378 ม." in done.text  # ~380 m from the box: flagged, not counted
    viewer = await phones(hub, "viewer1", role="viewer")
    viewer.session.cookie_jar.update_cookies({"lang": "en"})
    page = await viewer.get("/patrol_qr")
    assert page.status == 200 and "Recent patrols" in page.text and "Flagged: Daeng" in page.text
    assert "378 m from the box" in page.text and "/accept" not in page.text  # viewers cannot accept
    assert "Daeng" in page.text and 'id="add-checkpoint"' not in page.text and "sheet.png" not in page.text
    assert 'href="/patrol_qr"' in page.text  # the nav link
    async with viewer.session.get("/api/patrol_qr/checkins") as resp:
        [row] = await resp.json()
    assert row["person_name"] == "Daeng" and row["distance_m"] > 300 and "sheet" not in row


async def test_station_facts(make_hub: Any, phones: Any) -> None:
    """What federation's registry and health messages carry from this plugin (built as federation builds them)."""
    from integrations.federation.collect import build_health, build_registry

    hub = await make_hub(PATROL_YAML)
    officer = await phones(hub, "officer1")
    await officer.check_in(await sheet_link(hub, "soi3"), **AT_SOI3)
    registry = await build_registry(hub, "test-station")
    assert registry["plugins"]["patrol_qr"] == {
        "checkpoints": [
            {"id": "atm_gate", "name": "ตู้แดงหน้าตู้ ATM", "location": None, "risk": ""},
            {
                "id": "soi3",
                "name": "ตู้แดงซอย 3",
                "location": {"lat": 14.5896, "lon": 100.455},
                "risk": "ซอยมืด มีวิ่งราว",
            },
        ]
    }
    assert "sig=" not in repr(registry)
    health = (await build_health(hub, {}))["info"]["patrol_qr"]
    assert health["checkpoints"] == 2 and health["last_checkin"] == hub.clock.time()
    assert (
        health["coverage"] == 1.0
    )  # only this morning has begun since the hub started, and soi3 was visited


async def test_routes_answer_404_when_not_configured(make_hub: Any, phones: Any) -> None:
    hub = await make_hub()
    phone = await phones(hub, "admin1", role="admin")
    assert (await phone.get("/patrol_qr")).status == 404
    anon = await phones(hub)
    # Without a patrol_qr: block the plugin has no routes at all, public or not.
    assert (await anon.get("/patrol_qr/c/soi3/x?exp=1&sig=y")).status == 404
    assert (await anon.get("/patrol_qr/v/whatever")).status == 404
    assert 'href="/patrol_qr"' not in (await phone.get("/")).text
    # Unconfigured built-ins are not even imported, so they contribute nothing.
    assert hub.plugins.get("patrol_qr").status == "discovered"
    assert await hub.plugins.async_call_each("registry_info", hub=hub, only=["patrol_qr"]) == []
