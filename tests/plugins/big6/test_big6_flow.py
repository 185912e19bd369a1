"""Big 6 on a real hub: directory, CSV over HTTP, meetings, overdue resolutions and the LINE seam."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from hub.core.clock import FakeClock
from hub.hub import Hub
from plugins.big6.const import RUNTIME as BIG6_RUNTIME
from plugins.big6.line_link import LINKER, LineCode, member_ref

BKK = ZoneInfo("Asia/Bangkok")
CSV = (
    "ชื่อ,ภาคส่วน,หน่วยงาน,เบอร์โทร\n"
    "ร.ต.อ. สมชาย,ตำรวจ,สภ.เมือง,081-234-5678\n"
    "สมศรี,ภาคประชาชน,ชุมชนตลาดสด,\n"
    "นายกเทศมนตรี,local_government,เทศบาลเมือง,035-611111\n"
)
AUTOMATION = """\
automation:
  - id: big6_reminder
    alias: เตือนมติ Big 6 ที่เลยกำหนด
    triggers:
      - trigger: event
        event_type: big6_resolution_overdue
    actions:
      - event: big6_reminder_sent
        event_data:
          message: "{{ trigger.event.data.owner }}: {{ trigger.event.data.text }} (เลยกำหนด {{ trigger.event.data.days_overdue }} วัน)"
          group: "{{ trigger.event.data.line_group }}"
"""


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 1, day, hour, minute, tzinfo=BKK).timestamp()


async def count(hub: Hub, table: str) -> int:
    row = await hub.storage.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


async def test_directory_and_csv_over_http(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub("big6:\n")
    admin = await client_for("admin", target=hub)
    # An unknown sector is refused, from the API and from the form, and nothing is stored.
    async with admin.post("/api/services/big6/add_member", json={"name": "X", "sector": "army"}) as resp:
        assert resp.status == 400 and "unknown sector 'army'" in (await resp.json())["error"]
    async with admin.post("/big6/members", data={"name": "X", "sector": "army"}) as resp:
        assert resp.status == 400 and 'id="big6-error"' in await resp.text()
    assert await count(hub, "big6_members") == 0

    # A malformed upload lists every problem and stores nothing.
    bad = CSV + "คนที่สี่,ทหาร,,\nคนที่ห้า,media,,phone?\n"
    form = aiohttp.FormData()
    form.add_field("file", bad.encode(), filename="members.csv", content_type="text/csv")
    async with admin.post("/big6/members/import", data=form) as resp:
        page = await resp.text()
    assert resp.status == 400 and 'id="import-errors"' in page
    assert "แถว 5, ภาคส่วน: ไม่รู้จักภาคส่วน “ทหาร”" in page and "แถว 6, โทรศัพท์" in page
    assert await count(hub, "big6_members") == 0
    async with admin.post(
        "/api/services/big6/import_members", json={"csv": 'name,sector\n"open,police\n'}
    ) as resp:
        assert resp.status == 400 and "malformed CSV" in (await resp.json())["error"]
    assert await count(hub, "big6_members") == 0

    form = aiohttp.FormData()
    form.add_field("file", CSV.encode(), filename="members.csv", content_type="text/csv")
    async with admin.post("/big6/members/import", data=form) as resp:
        assert resp.status == 200 and 'id="big6-imported"' in await resp.text()
    async with admin.get("/big6") as resp:
        page = await resp.text()
    assert "ร.ต.อ. สมชาย" in page and 'data-sector="local_government"' in page
    # Sectors with nobody yet stand out.
    assert 'class="sector sector-media empty"' in page
    async with admin.get("/api/big6/members.csv") as resp:
        assert resp.content_type == "text/csv"
        body = await resp.read()
    assert body.startswith("\ufeff".encode()) and "สภ.เมือง" in body.decode("utf-8-sig")
    # The viewer role sees meetings, not the phone list.
    viewer = await client_for("viewer", target=hub)
    async with viewer.get("/api/big6/members.csv") as resp:
        assert resp.status == 403
    audit = await hub.storage.fetchall(
        "SELECT action, result, detail FROM audit_log WHERE action LIKE 'big6.%'"
    )
    assert [(r["action"], r["result"]) for r in audit] == [
        ("big6.import_members", "refused"),
        ("big6.import_members", "ok"),
    ]
    assert all("081-234-5678" not in (r["detail"] or "") for r in audit)


async def test_meetings_page_shows_each_month(make_hub: Any, client_for: Any, clock: FakeClock) -> None:
    hub = await make_hub("big6:\n")
    await clock.set_time(at(20, 10))
    operator = await client_for("operator", target=hub)
    form = {
        "date": "2026-01-15",
        "title": "ประชุมประจำเดือนมกราคม",
        "agenda": "1. ไฟส่องสว่าง\n2. CCTV",
        "attendance_police": "2",
        "attendance_citizens": "5",
        "attendance_media": "1",
        "res_0_text": "ติดไฟซอย 3",
        "res_0_owner": "เทศบาล",
        "res_0_due": "2026-01-31",
        "res_1_text": "ตรวจกล้องตลาด",
        "res_1_owner": "สภ.เมือง",
        "res_1_due": "2026-01-18",
    }
    async with operator.post("/big6/meetings", data=form, allow_redirects=False) as resp:
        assert resp.status == 303
    # Bad meetings are refused whole: a due date before the meeting, an unknown sector, a future date.
    for change in (
        {"res_0_due": "2026-01-01"},
        {"attendance_police": "many"},
        {"date": "2026-02-01"},
        {"res_1_owner": ""},
    ):
        async with operator.post("/big6/meetings", data={**form, **change}) as resp:
            assert resp.status == 400 and 'id="big6-error"' in await resp.text(), change
    async with operator.post(
        "/api/services/big6/record_meeting", json={"date": "2026-01-15", "attendance": {"army": 3}}
    ) as resp:
        assert resp.status == 400 and "unknown sector 'army'" in (await resp.json())["error"]
    assert await count(hub, "big6_meetings") == 1 and await count(hub, "big6_resolutions") == 2

    meeting = (await hub.data[BIG6_RUNTIME].store.meetings())[0]
    done = meeting.resolutions[1].id
    async with operator.post(
        f"/big6/resolutions/{done}/status",
        data={"status": "done", "note": "ซ่อมกล้อง 2 ตัว"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303
    viewer = await client_for("viewer", target=hub)
    async with viewer.get("/big6/meetings") as resp:
        page = await resp.text()
    jan = page.split('data-month="2026-01"', 1)[1].split("</li>\n", 1)[0]
    assert 'data-held="yes"' in page and "มา 3/6 ภาคส่วน" in jan and "ผู้เข้าร่วม 8 คน" in jan
    assert "มติ 2 · เสร็จ 1 · ค้าง 1 · เลยกำหนด 0" in jan and "ซ่อมกล้อง 2 ตัว" in jan
    # December was before the hub existed (it started on January 1st): no failure.
    assert 'data-month="2025-12" data-held="before"' in page and 'id="record-meeting"' not in page
    async with viewer.get("/api/big6/resolutions.csv") as resp:
        text = (await resp.read()).decode("utf-8-sig")
    assert (
        "2026-01-15,ติดไฟซอย 3,เทศบาล,2026-01-31,open" in text
        and "ตรวจกล้องตลาด,สภ.เมือง,2026-01-18,done" in text
    )
    async with viewer.get("/api/big6/meetings") as resp:
        months = await resp.json()
    assert months[0]["month"] == "2026-01" and months[0]["held"] and months[1]["held"] is False

    slots = {i.domain: r for i, r in await hub.plugins.async_call_each("kpi_slots", hub=hub, month="2026-01")}
    assert {s["key"]: s["value"] for s in slots["big6"]} == {
        "big6_meeting_held": 1,
        "big6_sectors_present": 3,
        "big6_resolutions": 2,
        "big6_resolutions_done": 50.0,
    }


async def test_overdue_resolutions_fire_an_event_for_automations(make_hub: Any, clock: FakeClock) -> None:
    hub = await make_hub("big6: {check_at: '08:00', line_group: big6}\n" + AUTOMATION)
    overdue: list[Any] = []
    reminders: list[Any] = []
    hub.bus.listen("big6_resolution_overdue", overdue.append)
    hub.bus.listen("big6_reminder_sent", reminders.append)
    mgr = hub.data[BIG6_RUNTIME]
    owner = await mgr.add_member(
        {"name": "นายกเทศมนตรี", "sector": "local_government", "line_user_id": "U" + "b" * 32}
    )
    meeting = await mgr.record_meeting(
        {
            "date": "2026-01-01",
            "resolutions": [
                {
                    "text": "ติดไฟซอย 3",
                    "owner": "เทศบาล",
                    "owner_member_id": owner.id,
                    "due_date": "2026-01-03",
                },
                {"text": "ประชาสัมพันธ์", "owner": "สื่อ", "due_date": "2026-01-10"},
            ],
        },
        "test",
    )
    # Due on the 3rd: not overdue on the 3rd, overdue from the 4th.
    await clock.set_time(at(3, 9))
    await hub.block_till_done()
    assert overdue == []
    await clock.set_time(at(4, 8, 1))
    await hub.block_till_done()
    [first] = [e.data for e in overdue]
    assert (
        first["text"] == "ติดไฟซอย 3" and first["days_overdue"] == 1 and first["meeting_date"] == "2026-01-01"
    )
    assert first["owner_line_user_id"] == "U" + "b" * 32 and first["line_group"] == "big6"
    assert [e.data["message"] for e in reminders] == ["เทศบาล: ติดไฟซอย 3 (เลยกำหนด 1 วัน)"]
    # Asking again the same day (or a restart) does not repeat it; the next day does, until it is done.
    await hub.services.call("big6", "check_overdue", {})
    await clock.set_time(at(5, 8, 1))
    await hub.block_till_done()
    assert [e.data["days_overdue"] for e in overdue] == [1, 2]
    await hub.services.call(
        "big6",
        "update_resolution",
        {"resolution_id": meeting.resolutions[0].id, "status": "done", "note": "ติดแล้ว"},
    )
    await clock.set_time(at(6, 8, 1))
    await hub.block_till_done()
    assert len(overdue) == 2
    health = {
        i.domain: r for i, r in await hub.plugins.async_call_each("health_info", hub=hub, only=["big6"])
    }
    assert health["big6"] == {
        "meeting_this_month": True,
        "meeting_last_month": None,  # December: before Big 6 ran on this hub
        "overdue_resolutions": 0,
    }


async def test_overdue_check_catches_up_at_start(make_hub: Any, clock: FakeClock) -> None:
    hub = await make_hub("big6:\n")
    await hub.data[BIG6_RUNTIME].record_meeting(
        {
            "date": "2026-01-01",
            "resolutions": [{"text": "ติดไฟ", "owner": "เทศบาล", "due_date": "2026-01-01"}],
        },
        "test",
    )
    await hub.stop()
    # Off for a few days, back after check_at has passed: the check runs at start.
    await clock.set_time(at(4, 12))
    again = await make_hub("big6:\n")
    await again.block_till_done()
    # Reminded today, although the next scheduled check is tomorrow at 08:00.
    res = (await again.data[BIG6_RUNTIME].store.meetings())[0].resolutions[0]
    assert res.last_reminded == "2026-01-04"


class FakeLinker:
    """Stands in for a messenger integration."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.links: dict[str, str] = {}

    async def issue_code(self, ref: str, name: str, sector: str, created_by: str) -> LineCode:
        self.codes[ref] = f"CODE-{len(self.codes) + 1}"
        return LineCode(self.codes[ref], None)

    async def linked_user(self, ref: str) -> str | None:
        return self.links.get(ref)


async def test_line_linking_seam(make_hub: Any, client_for: Any, clock: FakeClock) -> None:
    hub = await make_hub("big6:\n")
    mgr = hub.data[BIG6_RUNTIME]
    somchai = await mgr.add_member({"name": "สมชาย", "sector": "police"})
    somsri = await mgr.add_member({"name": "สมศรี", "sector": "citizens"})
    admin = await client_for("admin", target=hub)
    # Without the LINE integration, asking for a code says why it cannot.
    async with admin.post("/api/services/big6/line_code", json={"member_id": somchai.id}) as resp:
        assert resp.status == 400 and "LINE linking is unavailable" in (await resp.json())["error"]
    fake = FakeLinker()
    hub.data[LINKER] = fake
    async with admin.post(f"/big6/members/{somchai.id}/line_code", data={}) as resp:
        assert resp.status == 200 and "CODE-1" in await resp.text()
    assert fake.codes == {member_ref(somchai.id): "CODE-1"}
    # The member sends the code to the bot: the LINE integration fires line_member_linked.
    hub.bus.fire("line_member_linked", {"user_id": "U" + "c" * 32, "member_ref": member_ref(somchai.id)})
    hub.bus.fire("line_member_linked", {"user_id": "U" + "d" * 32, "member_ref": "someone-else:1"})
    await hub.block_till_done()
    assert (await mgr.store.member(somchai.id)).line_user_id == "U" + "c" * 32
    # Links made while the hub was busy are picked up by the daily job.
    fake.links[member_ref(somsri.id)] = "U" + "e" * 32
    await clock.set_time(at(2, 8, 1))
    await hub.block_till_done()
    assert (await mgr.store.member(somsri.id)).line_user_id == "U" + "e" * 32


async def test_real_line_registration_functions(make_hub: Any, fake_line_factory: Any) -> None:
    """The adapter against integrations.line.registration itself, with LINE configured (a fake API)."""
    from integrations.line.registration import redeem_code
    from plugins.big6.line_link import _LineRegistration

    fake = await fake_line_factory()  # no spec: this test is about the registration tables
    hub = await make_hub("big6:\n" + fake.config_yaml())
    member = await hub.data[BIG6_RUNTIME].add_member({"name": "สมชาย", "sector": "police"})
    adapter = _LineRegistration(hub)
    code = await adapter.issue_code(member_ref(member.id), member.name, member.sector, "admin")
    assert len(code.code) == 9 and code.expires_at == hub.clock.time() + 72 * 3600
    assert await adapter.linked_user(member_ref(member.id)) is None
    outcome, _linked = await redeem_code(hub, "U" + "f" * 32, code.code.replace("-", ""))
    assert outcome == "linked"
    assert await adapter.linked_user(member_ref(member.id)) == "U" + "f" * 32


async def test_database_refuses_an_unknown_sector_too(make_hub: Any) -> None:
    """Defence in depth: even code that skips the checks cannot store a seventh sector."""
    import sqlite3

    import pytest

    from plugins.big6.store import Member

    hub = await make_hub("big6:\n")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint"):
        await hub.data[BIG6_RUNTIME].store.add_members([Member("x", "X", "army", "", "", None, 0.0, 0.0)])
    assert await count(hub, "big6_members") == 0
