"""The webhook's safety: real HMAC signatures over the raw body, refusals that change nothing, dedupe."""

from __future__ import annotations

import json

import aiohttp

from integrations.line.const import RUNTIME as LINE_RUNTIME
from integrations.line.testing import sign_line_body
from tests.integrations.line.conftest import BIG6, deliver, webhook_url


async def _post(hub, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            webhook_url(hub), data=body, headers={"Content-Type": "application/json", **headers}
        ) as resp,
    ):
        await resp.read()
        return resp.status


async def _groups(hub):
    return await hub.data[LINE_RUNTIME].store.groups()


async def test_signed_delivery_is_accepted(line_hub, fake_line) -> None:
    hub = await line_hub(groups={})
    assert await deliver(fake_line, hub, fake_line.event_join(BIG6)) == 200
    [group] = await _groups(hub)
    assert group.group_id == BIG6 and group.status == "pending"


async def test_missing_signature_is_401_and_changes_nothing(line_hub, fake_line) -> None:
    hub = await line_hub(groups={})
    body = fake_line.webhook_body([fake_line.event_join(BIG6)])
    assert await _post(hub, body, {}) == 401
    await hub.block_till_done()
    assert await _groups(hub) == []


async def test_wrong_signature_is_401(line_hub, fake_line) -> None:
    hub = await line_hub(groups={})
    body = fake_line.webhook_body([fake_line.event_join(BIG6)])
    assert await _post(hub, body, {"X-Line-Signature": sign_line_body(body, "another-channel-secret")}) == 401
    assert await _post(hub, body, {"X-Line-Signature": "not base64 at all"}) == 401
    # The right signature over a different body (one byte changed) fails too.
    tampered = body.replace(b"join", b"JOIN")
    assert (
        await _post(hub, tampered, {"X-Line-Signature": sign_line_body(body, fake_line.channel_secret)})
        == 401
    )
    await hub.block_till_done()
    assert await _groups(hub) == []
    assert hub.data[LINE_RUNTIME].webhook.rejected == 3


async def test_signature_is_checked_on_the_raw_body(line_hub, fake_line) -> None:
    """LINE escapes emoji as \\uD83D\\uDEA8; re-serialising the JSON would break the HMAC."""
    hub = await line_hub(groups={})
    user = fake_line.add_user("ป้าแดง")
    event = fake_line.event_text("ช่วยด้วย 🚨", user_id=user)
    body = json.dumps({"destination": "U" + "0" * 32, "events": [event]}, ensure_ascii=True).encode()
    assert b"\\ud83d\\udea8" in body
    assert await deliver(fake_line, hub, body=body) == 200
    assert any("ช่วยด้วย" in str(d.messages) or "รับแจ้ง" in str(d.messages) for d in fake_line.replies)


async def test_oversized_body_is_413(line_hub, fake_line) -> None:
    hub = await line_hub("webhook_max_bytes: 4096\n", groups={})
    body = json.dumps({"destination": "U", "events": [], "pad": "x" * 5000}).encode()
    assert await _post(hub, body, {"X-Line-Signature": sign_line_body(body, fake_line.channel_secret)}) == 413


async def test_signed_garbage_is_400(line_hub, fake_line) -> None:
    hub = await line_hub(groups={})
    for body in (b"{not json", b'{"events": "nope"}', b"[]"):
        assert (
            await _post(hub, body, {"X-Line-Signature": sign_line_body(body, fake_line.channel_secret)})
            == 400
        )


async def test_verify_button_and_unknown_events(line_hub, fake_line) -> None:
    hub = await line_hub(groups={})
    assert await deliver(fake_line, hub, body=b'{"destination":"U1","events":[]}') == 200
    odd = {
        "type": "somethingNew",
        "mode": "active",
        "timestamp": 1,
        "webhookEventId": "01J0000000000000000000000A",
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "group", "groupId": BIG6},
    }
    broken = {
        "type": "message",
        "mode": "active",
        "timestamp": 1,
        "webhookEventId": "01J0000000000000000000000B",
        "deliveryContext": {"isRedelivery": False},
    }  # a message event without a message
    body = json.dumps({"destination": "U1", "events": [odd, broken, fake_line.event_leave(BIG6), 7]}).encode()
    assert await deliver(fake_line, hub, body=body) == 200
    [group] = await _groups(hub)
    assert group.status == "left"  # the good event after the bad ones was still handled


async def test_redelivered_events_are_handled_once(line_hub, fake_line) -> None:
    hub = await line_hub()
    user = fake_line.add_user("ลุงเสริม")
    event = fake_line.event_text("แจ้งเหตุ ขโมยรถ", user_id=user)
    assert await deliver(fake_line, hub, event) == 200
    again = dict(event, deliveryContext={"isRedelivery": True})
    assert await deliver(fake_line, hub, again) == 200
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

    assert len(await hub.data[INCIDENT_RUNTIME].find(kind="tip")) == 1
    assert hub.data[LINE_RUNTIME].webhook.duplicates == 1


async def test_webhook_needs_no_login_but_other_line_routes_do(line_hub, client_for) -> None:
    hub = await line_hub()
    anon = await client_for(anonymous=True, target=hub)
    assert (await anon.get("/api/line/status")).status == 401
    viewer = await client_for("viewer", target=hub)
    assert (await viewer.get("/api/line/status")).status == 403
    operator = await client_for("operator", target=hub)
    assert (await operator.get("/api/line/status")).status == 200


async def test_events_older_than_the_dedupe_window_are_refused(line_hub, fake_line) -> None:
    """A captured signed delivery replayed after its id was forgotten must not act again (item 17)."""
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
    from integrations.line.const import DEDUPE_KEEP

    hub = await line_hub()
    user = fake_line.add_user("ลุงเสริม")
    old = fake_line.event_text("แจ้งเหตุ ขโมยรถ", user_id=user)
    old["timestamp"] = int((hub.clock.time() - DEDUPE_KEEP - 60) * 1000)
    fresh = fake_line.event_text("แจ้งเหตุ ขโมยรถ อีกคัน", user_id=user)
    fresh["timestamp"] = int((hub.clock.time() - 60) * 1000)
    assert await deliver(fake_line, hub, old, fresh) == 200
    tips = await hub.data[INCIDENT_RUNTIME].find(kind="tip")
    assert len(tips) == 1 and "อีกคัน" in tips[0].title
    assert hub.data[LINE_RUNTIME].webhook.stale == 1


async def test_a_deeply_nested_signed_body_is_400(line_hub, fake_line) -> None:
    hub = await line_hub(groups={})
    body = b'{"events": [], "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert await _post(hub, body, {"X-Line-Signature": sign_line_body(body, fake_line.channel_secret)}) == 400
