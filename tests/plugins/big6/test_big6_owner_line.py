"""A resolution's owner is a member, and the overdue reminder reaches them in LINE (fake LINE API)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.core.clock import FakeClock
from plugins.big6.const import RUNTIME as BIG6_RUNTIME
from tests.plugins.big6.test_big6_flow import at

SPEC_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "line-openapi"
SOMCHAI = "U" + "a" * 32
MAYOR = "U" + "b" * 32


@pytest.fixture
async def line_hub(make_hub: Any, fake_line_factory: Any) -> tuple[Any, Any]:
    spec = SPEC_DIR if (SPEC_DIR / "messaging-api.yml").is_file() else None
    fake = await fake_line_factory(spec)
    fake.add_user("สมชาย", SOMCHAI)
    fake.add_user("นายก", MAYOR)
    group = fake.add_group("Big 6", {SOMCHAI: "สมชาย"})
    hub = await make_hub("big6: {check_at: '08:00'}\n" + fake.config_yaml(groups={"big6": group}))
    return hub, fake


async def test_owner_is_linked_by_name_and_reminded_in_line(
    line_hub: tuple[Any, Any], client_for: Any, clock: FakeClock
) -> None:
    hub, fake = line_hub
    mgr = hub.data[BIG6_RUNTIME]
    somchai = await mgr.add_member({"name": "ร.ต.อ. สมชาย ใจดี", "sector": "police", "line_user_id": SOMCHAI})
    mayor = await mgr.add_member({"name": "นายกเทศมนตรี", "sector": "local_government", "line_user_id": MAYOR})
    operator = await client_for("operator", target=hub)
    # The form offers the members' names; the owner typed (with stray spaces) is linked to the member.
    async with operator.get("/big6/meetings") as resp:
        page = await resp.text()
    assert 'id="big6-owners"' in page and "ร.ต.อ. สมชาย ใจดี" in page
    form = {
        "date": "2026-01-01",
        "res_0_text": "ตรวจกล้องตลาด",
        "res_0_owner": " ร.ต.อ.  สมชาย ใจดี ",
        "res_0_due": "2026-01-03",
        "res_1_text": "ประชาสัมพันธ์",
        "res_1_owner": "สื่อท้องถิ่น",  # nobody in the directory: kept as text, no LINE
        "res_1_due": "2026-01-03",
    }
    async with operator.post("/big6/meetings", data=form, allow_redirects=False) as resp:
        assert resp.status == 303
    # By id through the API too (the owner's name is taken from the directory).
    meeting = (await mgr.store.meetings())[0]
    async with operator.post(
        "/api/services/big6/add_resolution",
        json={
            "meeting_id": meeting.id,
            "text": "ซ่อมไฟ",
            "owner_member_id": mayor.id,
            "due_date": "2026-01-02",
        },
    ) as resp:
        assert resp.status == 200, await resp.text()
        added = (await resp.json())["service_response"]
    assert added["owner"] == "นายกเทศมนตรี" and added["owner_member_id"] == mayor.id
    resolutions = (await mgr.store.meetings())[0].resolutions
    assert [r.owner_member_id for r in resolutions] == [somchai.id, None, mayor.id]
    assert resolutions[0].owner == "ร.ต.อ. สมชาย ใจดี"

    await clock.set_time(at(4, 8, 1))
    await hub.block_till_done()
    pushes = await fake.wait_for(lambda f: len(f.pushes) >= 2 and f.pushes)
    by_user = {p.to: p.messages[0]["text"] for p in pushes}
    assert set(by_user) == {SOMCHAI, MAYOR}
    assert "ตรวจกล้องตลาด" in by_user[SOMCHAI] and "เลยกำหนด 1 วัน" in by_user[SOMCHAI]
    assert "ซ่อมไฟ" in by_user[MAYOR] and "เลยกำหนด 2 วัน" in by_user[MAYOR]
    assert fake.violations == []
    # The next day's reminder goes again; a member added later is linked by name then.
    await mgr.add_member({"name": "สื่อท้องถิ่น", "sector": "media", "line_user_id": "U" + "c" * 32})
    await clock.set_time(at(5, 8, 1))
    await hub.block_till_done()
    pushes = await fake.wait_for(lambda f: len(f.pushes) >= 5 and f.pushes)
    assert {p.to for p in pushes[2:]} == {SOMCHAI, MAYOR, "U" + "c" * 32}


async def test_an_unknown_owner_id_is_refused(line_hub: tuple[Any, Any], client_for: Any) -> None:
    hub, _fake = line_hub
    operator = await client_for("operator", target=hub)
    async with operator.post(
        "/api/services/big6/record_meeting",
        json={
            "date": "2026-01-01",
            "resolutions": [{"text": "x", "owner_member_id": "nobody", "due_date": "2026-01-02"}],
        },
    ) as resp:
        assert resp.status == 400 and "no such member" in (await resp.json())["error"]
