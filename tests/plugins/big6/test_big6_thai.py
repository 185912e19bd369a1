"""Big 6 on Thai pages: errors in plain Thai naming the field or row, and no false "no meeting"."""

from __future__ import annotations

from typing import Any

import aiohttp

from hub.core.clock import FakeClock
from plugins.big6.const import RUNTIME as BIG6_RUNTIME
from tests.plugins.big6.test_big6_flow import CSV, at

GOOD_MEETING = {
    "date": "2026-01-15",
    "attendance_police": "2",
    "res_0_text": "ติดไฟซอย 3",
    "res_0_owner": "เทศบาล",
    "res_0_due": "2026-01-31",
}


async def _import(session: aiohttp.ClientSession, text: str) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("file", text.encode(), filename="members.csv", content_type="text/csv")
    async with session.post("/big6/members/import", data=form) as resp:
        return resp.status, await resp.text()


async def test_import_errors_are_in_thai(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub("big6:\n")
    admin = await client_for("admin", target=hub)
    status, page = await _import(admin, CSV + "คนที่สี่,ทหาร,,\nคนที่ห้า,media,,phone?\n,police,,\n")
    assert status == 400 and 'id="import-errors"' in page
    assert "ไม่ได้นำเข้า: พบปัญหา 3 รายการ" in page
    assert "แถว 5, ภาคส่วน: ไม่รู้จักภาคส่วน" in page and "ทหาร" in page
    assert "แถว 6, โทรศัพท์: ไม่ใช่เบอร์โทรศัพท์" in page
    assert "แถว 7, ชื่อ-สกุล: ต้องกรอก" in page
    listed = page.split('id="import-errors"', 1)[1].split("</div>", 1)[0]
    for english in ("unknown sector", "row ", "not a phone number", "required"):
        assert english not in listed, english
    status, page = await _import(admin, "ชื่อ,ภาคส่วน,ยศ\nสมชาย,ตำรวจ,ร.ต.อ.\n")
    assert status == 400 and "แถว 1: ไม่รู้จักคอลัมน์ ยศ" in page
    status, page = await _import(admin, 'name,sector\n"open,police\n')
    assert status == 400 and "ไฟล์ CSV ผิดรูปแบบ" in page and "malformed" not in page
    # The same problems in English for an English page; the API keeps its English messages.
    admin.cookie_jar.update_cookies({"lang": "en"})
    status, page = await _import(admin, CSV + "คนที่สี่,ทหาร,,\n")
    assert "row 5, sector: unknown sector" in page
    async with admin.post("/api/services/big6/import_members", json={"csv": "name,sector\nX,army\n"}) as resp:
        assert resp.status == 400 and "row 2, sector: unknown sector 'army'" in (await resp.json())["error"]


async def test_member_form_errors_are_in_thai(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub("big6:\n")
    admin = await client_for("admin", target=hub)
    for data, thai in (
        ({"name": "X", "sector": "army"}, "ภาคส่วน: ไม่รู้จักภาคส่วน “army”"),
        ({"name": "", "sector": "police"}, "ชื่อ-สกุล: ต้องกรอก"),
        ({"name": "X", "sector": "police", "phone": "call me"}, "โทรศัพท์: ไม่ใช่เบอร์โทรศัพท์"),
        ({"name": "ก" * 121, "sector": "police"}, "ชื่อ-สกุล: ยาวเกิน 120 ตัวอักษร"),
    ):
        async with admin.post("/big6/members", data=data) as resp:
            page = await resp.text()
        assert resp.status == 400 and thai in page, (data, page.split('id="big6-error"')[1][:300])
        assert "Input should" not in page and "String should" not in page and "unknown sector" not in page


async def test_meeting_errors_are_in_thai(make_hub: Any, client_for: Any, clock: FakeClock) -> None:
    hub = await make_hub("big6:\n")
    await clock.set_time(at(20, 10))
    operator = await client_for("operator", target=hub)
    for change, thai in (
        ({"date": ""}, "วันที่ประชุม: ต้องกรอก"),
        ({"date": "15/01/2026"}, "วันที่ประชุม: ต้องเป็นวันที่ เช่น 2026-01-31"),
        ({"date": "2026-02-01"}, "วันที่ประชุม: 2026-02-01 ยังมาไม่ถึง"),
        ({"attendance_police": "many"}, "ผู้เข้าร่วม (ตำรวจ): ต้องเป็นจำนวนคน 0–1000"),
        ({"res_0_owner": ""}, "มติข้อที่ 1 · ผู้รับผิดชอบ: ต้องกรอก"),
        ({"res_0_due": "2026-01-01"}, "มติข้อที่ 1 · กำหนดเสร็จ: ก่อนวันประชุม (2026-01-15)"),
        ({"res_0_due": "พรุ่งนี้"}, "มติข้อที่ 1 · กำหนดเสร็จ: ต้องเป็นวันที่ เช่น 2026-01-31"),
    ):
        async with operator.post("/big6/meetings", data={**GOOD_MEETING, **change}) as resp:
            page = await resp.text()
        error = page.split('id="big6-error"', 1)[1].split("</p>", 1)[0]
        assert resp.status == 400 and thai in error, (change, error)
        assert "Input should" not in error and "resolutions[" not in error and "expected" not in error
    assert await hub.storage.fetchone("SELECT COUNT(*) AS n FROM big6_meetings") is not None
    assert (await hub.storage.fetchone("SELECT COUNT(*) AS n FROM big6_meetings"))["n"] == 0


async def test_months_before_the_hub_existed_are_not_failures(
    make_hub: Any, client_for: Any, clock: FakeClock
) -> None:
    # The hub starts on January 1st, 2026 (the test clock).
    hub = await make_hub("big6:\n")
    viewer = await client_for("viewer", target=hub)
    async with viewer.get("/big6/meetings") as resp:
        page = await resp.text()
    assert (
        'data-month="2025-12" data-held="before"' in page
        and 'data-month="2025-02" data-held="before"' in page
    )
    assert 'data-month="2026-01" data-held="pending"' in page  # this month: not over yet
    assert "✗" not in page and "ก่อนเริ่มใช้ระบบ" in page
    health = await hub.plugins.async_call_each("health_info", hub=hub, only=["big6"])
    assert health[0][1]["meeting_last_month"] is None and health[0][1]["meeting_this_month"] is False
    slots = await hub.plugins.async_call_each("kpi_slots", hub=hub, month="2025-11")
    assert {s["key"]: s["value"] for s in slots[0][1]}["big6_meeting_held"] is None

    # A month later January is a real miss; a meeting entered for a month before the hub
    # (typed in from paper) shows as held. The hub is off while the clock jumps (a month of
    # minute timers would run otherwise); it keeps the day Big 6 started across the restart.
    await hub.stop()
    await clock.set_time(at(20, 10) + 31 * 86400)
    again = await make_hub("big6:\n")
    await again.data[BIG6_RUNTIME].record_meeting({"date": "2025-11-20", "attendance": {"police": 1}}, "test")
    viewer = await client_for("viewer", target=again)
    async with viewer.get("/big6/meetings") as resp:
        page = await resp.text()
    assert (
        'data-month="2026-01" data-held="no"' in page and 'data-month="2026-02" data-held="pending"' in page
    )
    assert (
        'data-month="2025-11" data-held="yes"' in page and 'data-month="2025-12" data-held="before"' in page
    )
    assert [r.status for r in await again.data[BIG6_RUNTIME].months(4)] == [
        "pending",
        "missed",
        "before",
        "held",
    ]
