"""Webhook events end to end: groups joining, acknowledgements, tips, Big 6 registration."""

from __future__ import annotations

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.line import registration
from integrations.line.cards import ack_postback, short_ref
from integrations.line.const import RUNTIME as LINE_RUNTIME
from tests.integrations.line.conftest import BIG6, EYES, POLICE, deliver

SOMCHAI = "U" + "a" * 32  # a member of the fake Big 6 group
PA_DAENG = "U" + "c" * 32  # a member of the fake ตาสับปะรด group


def _texts(deliveries):
    return [m.get("text", "") for d in deliveries for m in d.messages]


async def test_join_is_pending_until_an_admin_names_the_group(line_hub, fake_line, client_for) -> None:
    hub = await line_hub()
    events = []
    hub.bus.listen("line_group_joined", events.append)
    assert await deliver(fake_line, hub, fake_line.event_join(POLICE)) == 200
    await hub.block_till_done()
    row = hub.data[LINE_RUNTIME].group_row(POLICE)
    assert row is not None and row.status == "pending" and row.alias is None
    assert row.name == "สายตรวจ สภ." and row.member_count == 1
    assert events[0].data == {"group_id": POLICE, "alias": None, "status": "pending"}
    assert "ผู้ดูแลระบบต้องยืนยันกลุ่มนี้" in _texts(fake_line.replies)[0]
    # A pending group gets nothing.
    result = await hub.services.call("line", "send", {"to": POLICE, "message": "x"})
    assert result["results"][0]["status"] == "sent"  # raw ids still work for admins
    assert (await hub.services.call("line", "send", {"to": "police", "message": "x"}))["results"][0][
        "status"
    ] == "failed"
    admin = await client_for("admin", target=hub)
    resp = await admin.post(f"/api/line/groups/{POLICE}", json={"alias": "police"})
    assert resp.status == 200 and (await resp.json())["status"] == "active"
    assert (await hub.services.call("line", "send", {"to": "police", "message": "x"}))["results"][0][
        "status"
    ] == "sent"
    # Aliases are unique, and config.yaml's groups are changed in config.yaml only.
    resp = await admin.post(f"/api/line/groups/{POLICE}", json={"alias": "big6"})
    assert resp.status == 400 and "already used" in (await resp.json())["error"]
    resp = await admin.post(f"/api/line/groups/{BIG6}", json={"alias": "x"})
    assert resp.status == 400
    operator = await client_for("operator", target=hub)
    assert (await operator.post(f"/api/line/groups/{POLICE}", json={"alias": "p2"})).status == 403
    audit = await hub.audit.query(action="line.group_alias")
    assert audit and audit[0].target == POLICE
    # The bot is removed: the alias stops working.
    await deliver(fake_line, hub, fake_line.event_leave(POLICE))
    result = await hub.services.call("line", "send", {"to": "police", "message": "x"})
    assert result["results"][0]["status"] == "failed"


async def test_postback_acknowledges_and_replies_with_latency(line_hub, fake_line, clock) -> None:
    hub = await line_hub()
    mgr = hub.data[INCIDENT_RUNTIME]
    inc = await mgr.open("sos", place="ตลาดสด ประตู 1", title="SOS ประตูตลาด")
    await hub.services.call("line", "send", {"to": ["big6", "pineapple_eyes"], "incident_id": inc.id})
    # One timeline entry for the two recipients of the card.
    [sent] = [e for e in (await mgr.get(inc.id)).timeline if e.kind == "line"]
    assert sent.data["to"] == ["big6", "pineapple_eyes"] and sent.data["status"] == "sent"
    assert [r["status"] for r in sent.data["results"]] == ["sent", "sent"] and "request id" in sent.text
    await clock.advance(45)
    button = fake_line.pushes[0].messages[0]["contents"]["footer"]["contents"][0]["action"]
    await deliver(fake_line, hub, fake_line.event_postback(button["data"], user_id=SOMCHAI, group_id=BIG6))
    acked = await mgr.get(inc.id)
    assert acked.status == "acknowledged" and acked.acknowledged_by == "line:สมชาย ใจดี"
    entry = next(e for e in acked.timeline if e.kind == "acknowledged")
    assert (
        entry.data["latency_s"] == 45
        and entry.data["line_user_id"] == SOMCHAI
        and entry.data["chat"] == "big6"
    )
    [reply] = fake_line.replies
    assert reply.messages[0]["text"].startswith("✅ รับทราบโดย สมชาย ใจดี ภายใน 45 วินาที")
    # The other group that got the card hears about it (a push).
    notice = [d for d in fake_line.pushes if d.to == EYES][-1]
    assert "รับทราบโดย สมชาย ใจดี (กลุ่ม big6) ภายใน 45 วินาที" in notice.messages[0]["text"]
    # A second press: no second acknowledgement, a friendly reply.
    await deliver(fake_line, hub, fake_line.event_postback(button["data"], user_id=PA_DAENG, group_id=EYES))
    assert "รับทราบแล้วโดย สมชาย ใจดี" in _texts(fake_line.replies)[-1]
    assert [e.kind for e in (await mgr.get(inc.id)).timeline].count("acknowledged") == 1
    assert fake_line.violations == []


async def test_ack_only_from_chats_that_got_the_card(line_hub, fake_line) -> None:
    hub = await line_hub()
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="x")
    await hub.services.call("line", "send", {"to": "big6", "incident_id": inc.id})
    outsider = fake_line.add_user("คนนอก")
    await deliver(fake_line, hub, fake_line.event_postback(ack_postback(inc.id), user_id=outsider))
    assert (await hub.data[INCIDENT_RUNTIME].get(inc.id)).status == "open"
    assert "ใช้ได้เฉพาะในกลุ่มที่ได้รับ" in _texts(fake_line.replies)[-1]


async def test_ack_in_the_console_is_told_to_the_groups(line_hub, fake_line, client_for) -> None:
    hub = await line_hub()
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="x", title="SOS x")
    await hub.services.call("line", "send", {"to": ["big6", "pineapple_eyes"], "incident_id": inc.id})
    operator = await client_for("operator", target=hub)
    assert (await operator.post(f"/api/incidents/{inc.id}/ack", json={})).status == 200
    await hub.block_till_done()
    notices = [d for d in fake_line.pushes if "รับทราบโดย test-operator" in str(d.messages)]
    assert {d.to for d in notices} == {BIG6, EYES}


async def test_unknown_incident_postback(line_hub, fake_line) -> None:
    hub = await line_hub()
    await deliver(
        fake_line, hub, fake_line.event_postback(ack_postback("01NOPE"), user_id=SOMCHAI, group_id=BIG6)
    )
    assert "ไม่พบเหตุนี้" in _texts(fake_line.replies)[-1]


async def test_tip_with_trigger_word_opens_an_incident(line_hub, fake_line) -> None:
    hub = await line_hub()
    tips = []
    hub.bus.listen("line_tip", tips.append)
    await deliver(
        fake_line, hub, fake_line.event_text("มีคนขโมยมอเตอร์ไซค์หน้าตลาด", user_id=PA_DAENG, group_id=EYES)
    )
    [inc] = await hub.data[INCIDENT_RUNTIME].find(kind="tip")
    assert inc.status == "open" and "ขโมย" in inc.title and inc.data["trigger_words"] == ["ขโมย"]
    assert inc.data["display_name"] == "ป้าแดง" and inc.data["chat"] == "pineapple_eyes"
    [tip] = tips
    assert tip.data["incident_id"] == inc.id and tip.data["text"] == "มีคนขโมยมอเตอร์ไซค์หน้าตลาด"
    assert short_ref(inc.id) in _texts(fake_line.replies)[-1]
    # The photo that follows joins the same incident.
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
    await deliver(fake_line, hub, fake_line.event_image(jpeg, user_id=PA_DAENG, group_id=EYES))
    full = await hub.data[INCIDENT_RUNTIME].get(inc.id)
    [photo] = [e for e in full.timeline if e.kind == "snapshot"]
    assert photo.attachments and tips[-1].data["snapshot_id"] == photo.attachments[0]
    assert len(await hub.data[INCIDENT_RUNTIME].find(kind="tip")) == 1
    assert fake_line.violations == []


async def test_location_opens_an_incident_where_it_is(line_hub, fake_line) -> None:
    hub = await line_hub()
    await deliver(
        fake_line, hub, fake_line.event_location(14.5901, 100.4561, user_id=PA_DAENG, address="ซอยตลาดสด 3")
    )
    [inc] = await hub.data[INCIDENT_RUNTIME].find(kind="tip")
    assert (inc.lat, inc.lon) == (14.5901, 100.4561) and inc.place == "ซอยตลาดสด 3"


async def test_chatter_is_a_tip_event_but_no_incident(line_hub, fake_line) -> None:
    hub = await line_hub()
    tips = []
    hub.bus.listen("line_tip", tips.append)
    await deliver(fake_line, hub, fake_line.event_text("สวัสดีตอนเช้าครับ", user_id=SOMCHAI, group_id=BIG6))
    assert await hub.data[INCIDENT_RUNTIME].find(kind="tip") == []
    assert tips[0].data["incident_id"] is None and tips[0].data["chat"] == "big6"
    assert fake_line.replies == []  # the bot does not chatter back in groups
    # A photo shared in a group without a tip is not copied to the hub.
    await deliver(fake_line, hub, fake_line.event_image(b"\xff\xd8\xff\xd9", user_id=SOMCHAI, group_id=BIG6))
    assert tips[-1].data["snapshot_id"] is None
    assert not [r for r in fake_line.requests if r.path.endswith("/content")]


async def test_registration_links_a_big6_member(line_hub, fake_line, client_for) -> None:
    hub = await line_hub()
    admin = await client_for("admin", target=hub)
    resp = await admin.post(
        "/api/line/registration_codes",
        json={"member_ref": "big6-police-03", "name": "ร.ต.อ. สมศักดิ์", "sector": "police"},
    )
    assert resp.status == 201
    code = (await resp.json())["code"]
    user = fake_line.add_user("Somsak")
    await deliver(fake_line, hub, fake_line.event_follow(user))
    assert "รหัสลงทะเบียน" in _texts(fake_line.replies)[-1]
    await deliver(fake_line, hub, fake_line.event_text(code.lower().replace("-", " "), user_id=user))
    assert "ลงทะเบียนสำเร็จ: ร.ต.อ. สมศักดิ์" in _texts(fake_line.replies)[-1]
    member = await registration.member_for_line_user(hub, user)
    assert member is not None and member.member_ref == "big6-police-03" and member.display_name == "Somsak"
    assert await registration.line_user_for_member(hub, "big6-police-03") == user
    assert [m.user_id for m in await registration.linked_members(hub)] == [user]
    # One time only.
    other = fake_line.add_user("Mallory")
    await deliver(fake_line, hub, fake_line.event_text(code, user_id=other))
    assert "รหัสไม่ถูกต้อง" in _texts(fake_line.replies)[-1]
    assert await registration.member_for_line_user(hub, other) is None
    # Blocking the account marks the member unreachable.
    await deliver(fake_line, hub, fake_line.event_unfollow(user))
    assert await registration.line_user_for_member(hub, "big6-police-03") is None


async def test_guessing_codes_is_throttled(line_hub, fake_line) -> None:
    hub = await line_hub()
    code = await registration.create_code(hub, member_ref="m1", name="A")
    user = fake_line.add_user("Guesser")
    for _ in range(5):
        await deliver(fake_line, hub, fake_line.event_text("AAAA-AAAA", user_id=user))
    replies = len(fake_line.replies)
    await deliver(fake_line, hub, fake_line.event_text(code, user_id=user))
    assert len(fake_line.replies) == replies  # ignored, even with the right code
    assert await registration.member_for_line_user(hub, user) is None


async def test_expired_code(line_hub, fake_line, clock) -> None:
    hub = await line_hub()
    code = await registration.create_code(hub, member_ref="m1", name="A", ttl_hours=1)
    await clock.advance(3601)
    user = fake_line.add_user("Late")
    await deliver(fake_line, hub, fake_line.event_text(code, user_id=user))
    assert await registration.member_for_line_user(hub, user) is None


async def test_a_flood_of_other_users_does_not_lift_a_code_lockout(line_hub, fake_line) -> None:
    """The old counter cleared every entry past 10,000 users: a flood reset everyone's lockout."""
    hub = await line_hub()
    code = await registration.create_code(hub, member_ref="m1", name="A")
    user = fake_line.add_user("Guesser")
    for _ in range(5):
        assert (await registration.redeem_code(hub, user, "AAAA-AAAA"))[0] == "invalid"
    now = hub.clock.time()
    throttle = registration.code_throttle(hub)
    for i in range(10_001):  # what each wrong code from another LINE account records
        throttle.fail(f"U{i:032x}", now)
    assert (await registration.redeem_code(hub, user, code))[0] == "throttled"
