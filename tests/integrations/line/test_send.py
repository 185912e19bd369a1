"""``line.send`` against the fake LINE API validated by LINE's spec: cards, images, retries, errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import labelled
from hub.core.errors import ServiceValidationError
from integrations.line.const import RUNTIME as LINE_RUNTIME
from tests.integrations.line.conftest import BIG6, EYES, PUBLIC_URL


def _bubble(delivery):
    message = delivery.messages[0]
    assert message["type"] == "flex"
    return message["contents"]


def _buttons(bubble):
    return [c["action"] for c in bubble["footer"]["contents"] if c["type"] == "button"]


async def test_text_to_aliases_and_raw_ids(line_hub, fake_line) -> None:
    hub = await line_hub()
    result = await hub.services.call(
        "line", "send", {"to": ["big6", EYES, "big6"], "message": "ประชุม Big 6 20:00"}
    )
    assert [r["status"] for r in result["results"]] == ["sent", "sent"]
    assert {d.to for d in fake_line.pushes} == {BIG6, EYES}
    assert all(d.messages == [{"type": "text", "text": "ประชุม Big 6 20:00"}] for d in fake_line.pushes)
    # One retry key per logical send, and none shared between recipients.
    keys = [d.retry_key for d in fake_line.pushes]
    assert all(keys) and len(set(keys)) == 2
    log = await hub.data[LINE_RUNTIME].store.messages()
    assert {(r.alias, r.status) for r in log} == {("big6", "sent"), ("pineapple_eyes", "sent")}
    assert fake_line.violations == []


async def test_empty_targets_send_nothing(line_hub, fake_line) -> None:
    hub = await line_hub()
    assert await hub.services.call("line", "send", {"to": [], "message": "x"}) == {"results": []}
    assert fake_line.pushes == []


async def test_unknown_alias_is_reported_on_the_incident(line_hub, fake_line) -> None:
    hub = await line_hub()
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ประตู 1")
    result = await hub.services.call("line", "send", {"to": ["nobody", "big6"], "incident_id": inc.id})
    failed = result["results"][0]
    assert (failed["to"], failed["status"]) == ("nobody", "failed")
    assert "unknown group alias" in failed["error"]
    assert result["results"][1]["status"] == "sent"
    timeline = (await hub.data[INCIDENT_RUNTIME].get(inc.id)).timeline
    assert any(e.kind == "line" and "nobody" in e.text and "unknown" in e.text for e in timeline)


async def test_bad_service_data_is_refused(line_hub) -> None:
    hub = await line_hub()
    with pytest.raises(ServiceValidationError):
        await hub.services.call("line", "send", {"to": "big6"})  # nothing to send
    with pytest.raises(ServiceValidationError):
        await hub.services.call("line", "send", {"to": "big6", "message": "x" * 5001})


async def test_incident_card(line_hub, fake_line) -> None:
    hub = await line_hub()
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ตลาดสด ประตู 1", title="SOS ปุ่มประตูตลาด")
    result = await hub.services.call(
        "line",
        "send",
        {"to": "big6", "message": "มีผู้กด SOS", "incident_id": inc.id, "quick_replies": ["กำลังไป"]},
    )
    assert result["results"][0]["status"] == "sent"
    [delivery] = fake_line.pushes
    card = delivery.messages[0]
    assert card["quickReply"]["items"][0]["action"] == {
        "type": "message",
        "label": "กำลังไป",
        "text": "กำลังไป",
    }
    bubble = _bubble(delivery)
    texts = str(bubble)
    assert "SOS" in bubble["header"]["contents"][0]["text"]
    assert "ตลาดสด ประตู 1" in texts and "มีผู้กด SOS" in texts and "รอรับเรื่อง" in texts
    assert "2569" in texts  # Thai date (Buddhist era) in the hub's timezone
    ack, details = _buttons(bubble)
    assert ack["type"] == "postback" and ack["label"] == "รับทราบ / Acknowledge"
    assert parse_qs(ack["data"]) == {"a": ["ack"], "i": [inc.id]}
    assert details["type"] == "uri" and details["label"] == "ดูรายละเอียด / Details"
    url = urlsplit(details["uri"])
    assert f"{url.scheme}://{url.netloc}" == PUBLIC_URL and url.path == f"/line/incidents/{inc.id}"
    assert "hero" not in bubble  # no snapshot in this incident
    assert card["altText"].startswith("🚨 SOS")
    timeline = (await hub.data[INCIDENT_RUNTIME].get(inc.id)).timeline
    [entry] = [e for e in timeline if e.kind == "line"]
    assert entry.data["status"] == "sent" and entry.data["request_id"] == delivery.request_id
    assert fake_line.violations == []


async def test_card_with_snapshot_obeys_the_camera_policy(line_hub, fake_line) -> None:
    hub = await line_hub(more="demo: {}\n")
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ประตู 1")
    await hub.services.call("camera", "snapshot", {"entity_id": "camera.demo_gate", "incident_id": inc.id})
    await hub.services.call("line", "send", {"to": "big6", "incident_id": inc.id})
    hero = _bubble(fake_line.pushes[0])["hero"]
    image = urlsplit(hero["url"])
    assert f"{image.scheme}://{image.netloc}" == PUBLIC_URL and image.path.startswith("/api/snapshots/")
    query = parse_qs(image.query)
    assert query["for"] == ["line:big6"] and "sig" in query and "exp" in query
    # The hand-out to LINE is in the owner's audit log.
    views = await hub.audit.query(target="camera.demo_gate")
    assert any(v.actor == "link:line:big6" and v.result == "ok" for v in views)
    # The signed link really serves the JPEG (the hub, not LINE, checks it here).
    anon = hub.http.url + image.path + "?" + image.query
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(anon) as resp:
        assert resp.status == 200 and (await resp.read())[:3] == b"\xff\xd8\xff"
    # The card's Details page shows the camera's picture through a signed link too.
    details = urlsplit(_buttons(_bubble(fake_line.pushes[0]))[1]["uri"])
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{hub.http.url}{details.path}?{details.query}") as resp,
    ):
        assert resp.status == 200 and "/api/snapshots/" in await resp.text()
    assert fake_line.violations == []


async def test_image_without_public_https_url_sends_text(line_hub, fake_line, caplog) -> None:
    hub = await line_hub(more="demo: {}\n", public_url=None)
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ประตู 1")
    caplog.set_level(logging.WARNING)
    await hub.services.call(
        "line", "send", {"to": "big6", "message": "ภาพ", "image": "camera.demo_gate", "incident_id": inc.id}
    )
    bubble = _bubble(fake_line.pushes[0])
    assert "hero" not in bubble and len(_buttons(bubble)) == 1  # no image, no Details link
    assert "public_url is not set" in caplog.text
    # Without an incident: a plain text, no image message.
    await hub.services.call("line", "send", {"to": "big6", "message": "ภาพ", "image": "camera.demo_gate"})
    assert [m["type"] for m in fake_line.pushes[1].messages] == ["text"]


async def test_image_message_without_incident(line_hub, fake_line) -> None:
    hub = await line_hub(more="demo: {}\n")
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ประตู 1")  # opens the on_alarm window
    await hub.services.call("line", "send", {"to": "big6", "message": "ภาพล่าสุด", "image": "camera.demo_gate"})
    text, image = fake_line.pushes[0].messages
    assert text == {"type": "text", "text": "ภาพล่าสุด"}
    assert image["type"] == "image" and image["originalContentUrl"].startswith(PUBLIC_URL + "/api/snapshots/")
    await hub.data[INCIDENT_RUNTIME].close(inc.id)
    assert fake_line.violations == []


def _pushes(fake):
    return [r for r in fake.requests if r.path == "/v2/bot/message/push"]


async def _send_in_background(hub, data):
    return asyncio.ensure_future(hub.services.call("line", "send", data))


async def _asleep_or_done(clock, label: str, task: asyncio.Task[Any]) -> None:
    asleep = asyncio.ensure_future(clock.until_asleep(label))
    await asyncio.wait({asleep, task}, return_when=asyncio.FIRST_COMPLETED)
    if not asleep.done():
        asleep.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asleep
    else:
        asleep.result()


async def test_5xx_is_retried_with_the_same_key(line_hub, fake_line, clock) -> None:
    hub = await line_hub()
    fake_line.fail(500, times=2)
    with labelled("send"):
        task = await _send_in_background(hub, {"to": "big6", "message": "retry me"})
    first = True
    while not task.done():
        # Back in its backoff before time moves; or done: one advance may run a fast retry
        # and its next backoff too (the fake LINE answers within the clock's settle).
        await _asleep_or_done(clock, "send", task)
        if task.done():
            break
        if first:
            # Waiting out the backoff: the retry key is on disk, so a restart would resume the send.
            [row] = await hub.data[LINE_RUNTIME].store.pending()
            assert row[0].retry_key == _pushes(fake_line)[0].retry_key
            first = False
        await clock.advance(120)
    assert not first
    result = await asyncio.wait_for(task, 5)
    assert result["results"][0]["status"] == "sent" and result["results"][0]["attempts"] == 3
    pushes = [r for r in fake_line.requests if r.path == "/v2/bot/message/push"]
    assert [r.status for r in pushes] == [500, 500, 200]
    assert len({r.retry_key for r in pushes}) == 1
    assert len(fake_line.pushes) == 1


async def test_timeout_after_acceptance_is_not_a_duplicate(line_hub, fake_line, clock) -> None:
    hub = await line_hub("request_timeout: 0.3\n")
    fake_line.delay(2.0)  # LINE accepts, but answers after the client gave up
    with labelled("send"):
        task = await _send_in_background(hub, {"to": "big6", "message": "once only"})
    await fake_line.wait_for(lambda f: f.pushes)
    await clock.until_asleep("send")  # the client's real 0.3 s timeout, then its backoff
    await clock.advance(120)
    result = await asyncio.wait_for(task, 5)
    [res] = result["results"]
    assert res["status"] == "accepted_earlier" and res["attempts"] == 2
    assert res["request_id"] == fake_line.pushes[0].request_id
    pushes = [r for r in fake_line.requests if r.path == "/v2/bot/message/push"]
    assert [r.status for r in pushes][-1] == 409 and len({r.retry_key for r in pushes}) == 1
    assert len(fake_line.pushes) == 1  # delivered exactly once


async def test_429_waits_for_retry_after(line_hub, fake_line, clock) -> None:
    hub = await line_hub()
    fake_line.fail(429, retry_after=30, message="Too many requests")
    with labelled("send"):
        task = await _send_in_background(hub, {"to": "big6", "message": "slow down"})
    await fake_line.wait_for(lambda f: any(r.status == 429 for r in f.requests))
    # The 429 reached the fake server before the client read it: wait until it sleeps on it.
    await clock.until_asleep("send")
    await clock.advance(20)
    assert not task.done() and len(fake_line.pushes) == 0  # still honouring Retry-After: 30
    await clock.advance(15)
    result = await asyncio.wait_for(task, 5)
    assert result["results"][0]["status"] == "sent"


async def test_4xx_is_not_retried_and_details_reach_the_timeline(line_hub, fake_line) -> None:
    hub = await line_hub()
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", place="ประตู 1")
    fake_line.fail(
        400,
        message="The request body has 1 error(s)",
        details=[{"message": "May not be empty", "property": "messages[0].text"}],
    )
    result = await hub.services.call("line", "send", {"to": "big6", "incident_id": inc.id})
    [res] = result["results"]
    assert res["status"] == "failed" and res["http_status"] == 400 and res["attempts"] == 1
    assert res["details"] == [{"message": "May not be empty", "property": "messages[0].text"}]
    [entry] = [e for e in (await hub.data[INCIDENT_RUNTIME].get(inc.id)).timeline if e.kind == "line"]
    assert "messages[0].text: May not be empty" in entry.text and "HTTP 400" in entry.text
    [row] = await hub.data[LINE_RUNTIME].store.messages()
    assert row.status == "failed" and row.details[0]["property"] == "messages[0].text"


async def test_connection_refused_is_retried_then_failed(line_hub, fake_line, clock) -> None:
    hub = await line_hub("retry: {attempts: 2}\n")
    await fake_line.close()  # LINE unreachable
    with labelled("send"):
        task = await _send_in_background(hub, {"to": "big6", "message": "nobody home"})
    await clock.until_asleep("send")  # the first connect failed; in backoff
    await clock.advance(120)
    [res] = (await asyncio.wait_for(task, 5))["results"]
    assert res["status"] == "failed" and res["attempts"] == 2 and "Connect" in res["error"]


async def test_unfinished_send_is_resumed_with_its_key(line_hub, fake_line, make_hub, config_dir) -> None:
    hub = await line_hub()
    store = hub.data[LINE_RUNTIME].store
    message = [{"type": "text", "text": "ส่งไม่ทันก่อนดับ"}]
    key = "123e4567-e89b-12d3-a456-426614174000"
    await store.log_start(
        kind="push",
        purpose="message",
        to_id=BIG6,
        alias="big6",
        incident_id=None,
        retry_key=key,
        summary="x",
        payload=message,
    )
    await hub.stop()
    again = await line_hub()
    await fake_line.wait_for(lambda f: f.pushes)
    await again.block_till_done()
    assert fake_line.pushes[0].retry_key == key and fake_line.pushes[0].messages == message
    [row] = await again.data[LINE_RUNTIME].store.messages()
    assert row.status == "sent"
