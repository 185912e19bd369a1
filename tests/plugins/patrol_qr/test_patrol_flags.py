"""A patrol must never be faked: far, too-fast and position-less check-ins are kept but flagged.

A flagged check-in is not a proven visit: it makes no joint or "police +
volunteer" patrol, covers no shift and counts in no KPI, until an admin
accepts it (audited).  The flags show to the admin and go to the station.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hub.core.clock import FakeClock
from hub.core.errors import ServiceValidationError
from plugins.patrol_qr.config import DEFAULT_SHIFTS
from plugins.patrol_qr.const import RUNTIME as PATROL_QR_RUNTIME
from plugins.patrol_qr.patrols import Patrol, Visit, coverage, speed_kmh
from tests.plugins.patrol_qr.patrol_helpers import AT_SOI3 as AT_BOX
from tests.plugins.patrol_qr.patrol_helpers import PATROL_YAML, sheet_link, volunteer_link
from tests.plugins.patrol_qr.test_patrol_coverage import BKK, at

PARIS = {"lat": "48.8566", "lon": "2.3522", "accuracy": "20"}
#: A box 1.26 km north of soi3.
FLAG_YAML = PATROL_YAML + "    - {id: market, name: ตู้แดงตลาดเหนือ, location: {lat: 14.6009, lon: 100.4550}}\n"


async def _events(hub: Any, event_type: str) -> list[Any]:
    seen: list[Any] = []
    hub.bus.listen(event_type, seen.append)
    return seen


async def test_far_volunteer_does_not_make_a_mixed_patrol(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(FLAG_YAML)
    checkins = await _events(hub, "patrol_checkin")
    link = await sheet_link(hub, "soi3")
    volunteer, officer = await phones(hub), await phones(hub, "officer1")
    await volunteer.get((await volunteer_link(hub, "สมชาย"))[1])

    paris = await volunteer.check_in(link, **PARIS)
    # Kept and told so, but not counted.
    assert paris.status == 200 and 'id="checkin-flagged"' in paris.text and 'data-flags="far"' in paris.text
    assert "ห่างจากตู้ 9,3" in paris.text and "กม." in paris.text
    done = await officer.check_in(link, **AT_BOX)
    assert done.status == 200 and 'id="checkin-flagged"' not in done.text
    assert (
        "ตำรวจ 1" in done.text and "อาสา" not in done.text.split('id="checkin-patrol"', 1)[1].split("</p>")[0]
    )
    await hub.block_till_done()
    first, second = (e.data for e in checkins)
    assert first["flags"] == ["far"] and first["proven"] is False and first["distance_m"] > 9_000_000
    assert second["flags"] == [] and second["proven"] is True
    assert (second["mixed"], second["joint"], second["composition"]) == (
        False,
        False,
        {"police": 1, "volunteer": 0},
    )
    mgr = hub.data[PATROL_QR_RUNTIME]
    month = hub.clock.now().strftime("%Y-%m")
    fig = await mgr.month_figures(month)
    assert (fig["patrols"], fig["mixed"], fig["checkins"], fig["flagged"]) == (1, 0, 1, 1)

    # The admin sees it with the reason, and may accept it (audited); then it counts.
    accepted = await _events(hub, "patrol_checkin_accepted")
    admin = await phones(hub, "admin1", role="admin")
    page = await admin.get("/patrol_qr")
    assert 'data-flags="far"' in page.text and "สมชาย" in page.text and "/accept" in page.text
    checkin_id = first["checkin_id"]
    assert (await admin.post(f"/patrol_qr/checkins/{checkin_id}/accept", {})).status == 303
    assert (await admin.post(f"/patrol_qr/checkins/{checkin_id}/accept", {})).status == 400  # once
    await hub.block_till_done()
    [event] = accepted
    assert event.data["checkin_id"] == checkin_id and event.data["accepted_by"] == "admin1"
    assert event.data["mixed"] is True and event.data["composition"] == {"police": 1, "volunteer": 1}
    fig = await mgr.month_figures(month)
    assert (fig["patrols"], fig["mixed"], fig["checkins"], fig["flagged"]) == (1, 1, 2, 0)
    rows = await hub.storage.fetchall("SELECT actor FROM audit_log WHERE action = 'patrol_qr.accept_checkin'")
    assert [r["actor"] for r in rows] == ["admin1"]
    # Operators may look, not accept.
    operator = await phones(hub, "op1", role="operator")
    async with operator.session.post(f"/patrol_qr/checkins/{checkin_id}/accept") as resp:
        assert resp.status == 403


async def test_impossible_travel_is_flagged(make_hub: Any, phones: Any, clock: FakeClock) -> None:
    hub = await make_hub(FLAG_YAML)
    checkins = await _events(hub, "patrol_checkin")
    officer = await phones(hub, "officer1")
    assert (await officer.check_in(await sheet_link(hub, "soi3"), **AT_BOX)).status == 200
    await clock.advance(11)
    # 1.26 km in 11 s is over 400 km/h: the phone is at the box, but the person cannot be.
    jump = await officer.check_in(
        await sheet_link(hub, "market"), lat="14.6009", lon="100.4551", accuracy="8"
    )
    assert jump.status == 200 and 'data-flags="speed"' in jump.text and "กม./ชม." in jump.text
    await clock.advance(20 * 60)
    # The same trip at a patrol's pace is fine.
    back = await officer.check_in(await sheet_link(hub, "soi3"), **AT_BOX)
    assert back.status == 200 and 'id="checkin-flagged"' not in back.text
    await hub.block_till_done()
    assert [e.data["flags"] for e in checkins] == [[], ["speed"], []]
    assert checkins[1].data["speed_kmh"] > 400 and checkins[2].data["speed_kmh"] < 10


async def test_checkin_without_a_position_is_flagged_in_coverage(
    make_hub: Any, phones: Any, clock: FakeClock
) -> None:
    hub = await make_hub(FLAG_YAML)
    officer = await phones(hub, "officer1")
    await clock.set_time(at(2, 9))
    nowhere = await officer.check_in(await sheet_link(hub, "soi3"))  # location refused
    assert nowhere.status == 200 and 'data-flags="no_position"' in nowhere.text
    await clock.set_time(at(3, 9))
    viewer = await phones(hub, "viewer1", role="viewer")
    async with viewer.session.get("/api/patrol_qr/coverage?days=2") as resp:
        data = await resp.json()
    [cell] = [
        c
        for c in data["cells"]
        if (c["checkpoint_id"], c["day"], c["shift"]) == ("soi3", "2026-01-02", "morning")
    ]
    assert (cell["status"], cell["patrols"], cell["flagged"]) == ("flagged", 0, 1)
    page = await viewer.get("/patrol_qr/coverage?days=2")
    assert 'data-status="flagged"' in page.text and 'data-flagged="1"' in page.text
    async with viewer.session.get("/api/patrol_qr/checkins") as resp:
        [row] = await resp.json()
    assert row["flags"] == ["no_position"] and row["proven"] is False
    # The station's health report counts what waits for review.
    health = await hub.plugins.async_call_each("health_info", hub=hub, only=["patrol_qr"])
    assert health[0][1]["flagged"] == 1


def test_flagged_visits_make_no_patrol_and_no_coverage() -> None:
    """The rules as pure functions: a flagged visit is shown, never counted."""
    police = Visit("a", at(1, 9), "user:1", "police", "p1", "ผู้กอง")
    paris = Visit("a", at(1, 9, 5), "volunteer:9", "volunteer", "p1", "สมชาย", proven=False, flags=("far",))
    patrol = Patrol("p1", "a", police.ts, [police, paris])
    assert patrol.people == {"user:1": "police"} and not patrol.mixed and not patrol.joint
    assert patrol.flagged == [paris] and patrol.composition == {"police": 1, "volunteer": 0}
    only_flagged = Patrol(
        "p2", "a", at(1, 15), [Visit("a", at(1, 15), "user:2", "police", "p2", proven=False)]
    )
    assert only_flagged.proven_started is None and not only_flagged.people
    grid = coverage(
        {"a": at(1, 0)},
        [patrol, only_flagged],
        first_day=date(2026, 1, 1),
        last_day=date(2026, 1, 1),
        shifts=list(DEFAULT_SHIFTS),
        tz=BKK,
        now=at(2, 7),
        gap_days=3,
    )
    morning, evening = (
        grid.cells[("a", date(2026, 1, 1), "morning")],
        grid.cells[("a", date(2026, 1, 1), "evening")],
    )
    assert (morning.status, morning.patrols, morning.mixed, morning.flagged) == ("visited", 1, 0, 1)
    assert (evening.status, evening.flagged) == ("flagged", 1)
    assert grid.ratio("a") == 1 / 3  # morning visited; evening (flagged only) and night missed
    assert speed_kmh(1260, 11) > 400 and speed_kmh(0, 0) == 0.0 and speed_kmh(10, 0) == float("inf")


async def test_volunteer_link_binds_to_the_first_phone(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(FLAG_YAML)
    vid, personal = await volunteer_link(hub, "ป้าแดง")
    link = await sheet_link(hub, "soi3")
    first, second = await phones(hub), await phones(hub)
    assert (await first.get(personal)).status == 200
    assert (await first.get(personal)).status == 200  # the same phone may open it again
    # The same link on a second phone is refused, and says what to do.
    other = await second.get(personal)
    assert other.status == 403 and "ผู้ดูแลย้ายลิงก์" in other.text
    # Copying the token cookie to another phone does not help either.
    token = personal.rsplit("/", 1)[1]
    second.session.cookie_jar.update_cookies({"patrol_volunteer": token})
    copied = await second.check_in(link, **AT_BOX)
    assert (copied.status, copied.reason) == (403, "device")
    # Nor does a made-up device cookie.
    second.session.cookie_jar.update_cookies({"patrol_device": "abc.9999999999.forged"})
    assert (await second.check_in(link, **AT_BOX)).reason == "device"
    assert (await first.check_in(link, **AT_BOX)).status == 200

    # The admin moves the link to the new phone: asked first, then a new link shown once.
    admin = await phones(hub, "admin1", role="admin")
    listing = await admin.get("/patrol_qr/volunteers")
    assert 'data-device="bound"' in listing.text
    ask = await admin.post(f"/patrol_qr/volunteers/{vid}/move", {})
    assert ask.status == 200 and 'id="confirm-question"' in ask.text and "ป้าแดง" in ask.text
    assert (await hub.storage.fetchone("SELECT device_hash FROM patrol_volunteers"))["device_hash"]
    moved = await admin.post(f"/patrol_qr/volunteers/{vid}/move", {"confirm": "yes"})
    assert moved.status == 200 and 'id="issued-url"' in moved.text
    new_url = moved.text.split('id="issued-url">', 1)[1].split("<", 1)[0].replace(hub.http.url, "")
    third = await phones(hub)
    assert (await third.get(personal)).status == 403  # the old link is void
    assert (await third.get(new_url)).status == 200
    assert (await first.check_in(await sheet_link(hub, "atm_gate"), **AT_BOX)).reason == "revoked"
    assert (await third.check_in(await sheet_link(hub, "atm_gate"), **AT_BOX)).status == 200
    audit = await hub.storage.fetchall(
        "SELECT action FROM audit_log WHERE action = 'patrol_qr.move_volunteer'"
    )
    assert len(audit) == 1


async def test_new_sheet_and_revoke_ask_first(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(FLAG_YAML)
    admin = await phones(hub, "admin1", role="admin")
    before = (await hub.data[PATROL_QR_RUNTIME].store.checkpoint("soi3")).sheet
    ask = await admin.post("/patrol_qr/checkpoints/soi3/new_sheet", {})
    assert ask.status == 200 and 'id="confirm-form"' in ask.text and "แผ่นที่พิมพ์ไว้ทั้งหมดจะใช้ลงชื่อไม่ได้" in ask.text
    assert (await hub.data[PATROL_QR_RUNTIME].store.checkpoint("soi3")).sheet == before
    assert (await admin.post("/patrol_qr/checkpoints/soi3/new_sheet", {"confirm": "yes"})).status == 303
    assert (await hub.data[PATROL_QR_RUNTIME].store.checkpoint("soi3")).sheet != before

    vid, _ = await volunteer_link(hub, "ป้าแดง")
    ask = await admin.post(f"/patrol_qr/volunteers/{vid}/revoke", {})
    assert ask.status == 200 and "ยกเลิกลิงก์ของ ป้าแดง" in ask.text
    row = await hub.storage.fetchone("SELECT revoked_at FROM patrol_volunteers")
    assert row["revoked_at"] is None
    assert (await admin.post(f"/patrol_qr/volunteers/{vid}/revoke", {"confirm": "yes"})).status == 303
    assert (await hub.storage.fetchone("SELECT revoked_at FROM patrol_volunteers"))["revoked_at"] is not None


async def test_a_flagged_checkin_may_be_redone_with_a_position(make_hub: Any, phones: Any) -> None:
    """Location refused, told it does not count, allowed and scanned again: not a replay."""
    hub = await make_hub(FLAG_YAML)
    officer = await phones(hub, "officer1")
    link = await sheet_link(hub, "soi3")
    first = await officer.check_in(link)
    assert first.status == 200 and 'data-flags="no_position"' in first.text
    # Another try still without a position is a replay: one flagged try per window.
    assert (await officer.check_in(link)).reason == "replay"
    again = await officer.check_in(link, **AT_BOX)
    assert again.status == 200 and 'id="checkin-flagged"' not in again.text and "ตำรวจ 1" in again.text
    # Once proven, the same person again inside the window is a replay as before.
    third = await officer.check_in(link, **AT_BOX)
    assert (third.status, third.reason) == (409, "replay")
    fig = await hub.data[PATROL_QR_RUNTIME].month_figures(hub.clock.now().strftime("%Y-%m"))
    assert (fig["patrols"], fig["checkins"], fig["flagged"]) == (1, 1, 1)


async def test_admin_errors_are_in_thai(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(FLAG_YAML)
    admin = await phones(hub, "admin1", role="admin")
    for data, thai in (
        ({"id": "soi3", "name": "ซ้ำ"}, "รหัส soi3 ถูกใช้แล้ว"),
        ({"id": "x1", "name": "X", "lat": "14"}, "กรอกทั้งละติจูดและลองจิจูด หรือเว้นว่างทั้งคู่"),
        ({"id": "Bad Id", "name": "X"}, "รหัส (a-z 0-9 _): ใช้ได้เฉพาะ a-z 0-9 และ _"),
        ({"id": "x2", "name": ""}, "ชื่อ: ต้องกรอก"),
        ({"id": "x3", "name": "X", "lat": "95", "lon": "100"}, "ละติจูด: ต้องเป็นตัวเลข -90 ถึง 90"),
    ):
        page = await admin.post("/patrol_qr/checkpoints", data)
        error = page.text.split('id="patrol-error">', 1)[1].split("</p>", 1)[0]
        assert page.status == 400 and thai in error, (data, error)
        assert "patrol_qr." not in error and "String should" not in error and "Input should" not in error
    removed = await admin.post("/patrol_qr/checkpoints/soi3/remove", {"confirm": "yes"})
    assert removed.status == 400 and "กำหนดไว้ใน config.yaml" in removed.text
    vid, _ = await volunteer_link(hub, "ป้าแดง")
    await hub.services.call("patrol_qr", "revoke_volunteer", {"volunteer_id": vid})
    again = await admin.post(f"/patrol_qr/volunteers/{vid}/revoke", {"confirm": "yes"})
    assert again.status == 400 and "ไม่พบอาสาสมัครนี้" in again.text
    # The API keeps its English.
    with pytest.raises(ServiceValidationError, match="already used"):
        await hub.services.call("patrol_qr", "add_checkpoint", {"id": "soi3", "name": "X"})
