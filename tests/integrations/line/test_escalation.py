"""Escalation on the hub's clock: no acknowledgement in time → the next alias of the chain."""

from __future__ import annotations

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.line.cards import ack_postback
from tests.integrations.line.conftest import BIG6, POLICE, deliver

GROUPS = {"big6": BIG6, "police_desk": POLICE}
CHAIN = "escalation: {sos: {after: 60, chain: [big6, police_desk]}}\n"


async def test_unacknowledged_card_goes_to_the_next_alias(line_hub, fake_line, clock) -> None:
    hub = await line_hub(CHAIN, groups=GROUPS)
    mgr = hub.data[INCIDENT_RUNTIME]
    steps = []
    hub.bus.listen("line_escalated", steps.append)
    inc = await mgr.open("sos", place="ประตู 1")
    await hub.services.call("line", "send", {"to": "big6", "message": "SOS!", "incident_id": inc.id})
    await clock.advance(59)
    assert {d.to for d in fake_line.pushes} == {BIG6}
    await clock.advance(2)
    await hub.block_till_done()
    escalated = [d for d in fake_line.pushes if d.to == POLICE]
    assert len(escalated) == 1
    bubble = escalated[0].messages[0]["contents"]
    assert "ยังไม่มีผู้รับทราบ" in bubble["header"]["contents"][0]["text"]
    assert "SOS!" in str(bubble["body"])  # the original message goes along
    assert steps[0].data == {"incident_id": inc.id, "level": 1, "to": "police_desk"}
    timeline = (await mgr.get(inc.id)).timeline
    [entry] = [e for e in timeline if e.kind == "escalated"]
    assert "police_desk" in entry.text and "1 นาที" in entry.text and entry.data["level"] == 1
    # Nobody left in the chain: one more note, and no more sends.
    await clock.advance(61)
    await hub.block_till_done()
    assert len(fake_line.pushes) == 2
    notes = [e for e in (await mgr.get(inc.id)).timeline if e.kind == "escalated"]
    assert len(notes) == 2 and "ไม่มีกลุ่มถัดไป" in notes[1].text
    assert fake_line.violations == []


async def test_acknowledgement_stops_escalation(line_hub, fake_line, clock) -> None:
    hub = await line_hub(CHAIN, groups=GROUPS)
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ประตู 1")
    await hub.services.call("line", "send", {"to": "big6", "incident_id": inc.id})
    await clock.advance(30)
    await deliver(
        fake_line, hub, fake_line.event_postback(ack_postback(inc.id), user_id="U" + "a" * 32, group_id=BIG6)
    )
    await clock.advance(120)
    await hub.block_till_done()
    assert {d.to for d in fake_line.pushes} == {BIG6}
    assert not [e for e in (await hub.data[INCIDENT_RUNTIME].get(inc.id)).timeline if e.kind == "escalated"]


async def test_other_kinds_follow_their_own_rule(line_hub, fake_line, clock) -> None:
    hub = await line_hub(
        "escalation: {default: {after: 300, chain: [police_desk]}, tip: {chain: []}}\n", groups=GROUPS
    )
    mgr = hub.data[INCIDENT_RUNTIME]
    tip = await mgr.open("tip", place="x")
    alarm = await mgr.open("alarm", place="y")
    await hub.services.call("line", "send", {"to": "big6", "incident_id": tip.id})
    await hub.services.call("line", "send", {"to": "big6", "incident_id": alarm.id})
    await clock.advance(301)
    await hub.block_till_done()
    police = [d for d in fake_line.pushes if d.to == POLICE]
    assert len(police) == 1 and alarm.id in str(police[0].messages)


async def test_escalation_survives_a_restart(line_hub, fake_line, clock) -> None:
    hub = await line_hub(CHAIN, groups=GROUPS)
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ประตู 1")
    await hub.services.call("line", "send", {"to": "big6", "incident_id": inc.id})
    await hub.stop()
    await clock.advance(90)  # the hub was down past the deadline
    again = await line_hub(CHAIN, groups=GROUPS)
    await clock.advance(1)
    await again.block_till_done()
    assert [d.to for d in fake_line.pushes] == [BIG6, POLICE]
