"""The fake LINE API itself: spec validation with binding discriminators, retry keys, faults.

These checks keep the fake honest, since every other LINE test trusts it.
"""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from integrations.line.testing import FAKE_TOKEN, enforce_discriminators, load_line_spec, sign_line_body
from tests.integrations.line.conftest import BIG6

AUTH = {"Authorization": f"Bearer {FAKE_TOKEN}"}


async def _post(fake, path, body, headers=None):
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.base_url + path, json=body, headers={**AUTH, **(headers or {})}) as resp,
    ):
        return resp.status, await resp.json(), resp.headers


def test_discriminators_become_binding(line_spec_dir) -> None:
    spec = load_line_spec(line_spec_dir)
    schemas = spec["components"]["schemas"]
    assert "oneOf" in schemas["Message"] and "Message__Base" in schemas
    assert schemas["Message"]["discriminator"]["mapping"]["text"].endswith("/TextMessage")
    text_parts = schemas["TextMessage"]["allOf"]
    assert {"$ref": "#/components/schemas/Message__Base"} in text_parts
    # Pure function: the input is left alone.
    raw: dict[str, Any] = {
        "components": {
            "schemas": {
                "A": {
                    "type": "object",
                    "discriminator": {"propertyName": "type", "mapping": {"b": "#/components/schemas/B"}},
                },
                "B": {"allOf": [{"$ref": "#/components/schemas/A"}]},
            }
        }
    }
    out = enforce_discriminators(raw)
    assert "discriminator" in raw["components"]["schemas"]["A"]
    assert out["components"]["schemas"]["A"]["oneOf"] == [{"$ref": "#/components/schemas/B"}]


@pytest.mark.parametrize(
    ("message", "accepted"),
    [
        ({"type": "text", "text": "ทดสอบ"}, True),
        ({"type": "text"}, False),  # passes the published spec; LINE answers 400
        ({"type": "bogus", "text": "x"}, False),
        (
            {
                "type": "image",
                "originalContentUrl": "https://a.example/x.jpg",
                "previewImageUrl": "https://a.example/x.jpg",
            },
            True,
        ),
        (
            {
                "type": "image",
                "originalContentUrl": "http://a.example/x.jpg",
                "previewImageUrl": "http://a.example/x.jpg",
            },
            False,
        ),  # LINE wants HTTPS
        (
            {
                "type": "flex",
                "altText": "x",
                "contents": {
                    "type": "bubble",
                    "footer": {"type": "box", "layout": "vertical", "contents": [{"type": "button"}]},
                },
            },
            False,
        ),  # button w/o action
        ({"type": "flex", "altText": "x" * 401, "contents": {"type": "bubble"}}, False),
        (
            {
                "type": "text",
                "text": "x",
                "quickReply": {
                    "items": [
                        {
                            "type": "action",
                            "action": {
                                "type": "postback",
                                "label": "รับทราบ",
                                "data": "a=ack",
                                "displayText": "รับทราบ",
                            },
                        }
                    ]
                },
            },
            True,
        ),
    ],
)
async def test_messages_are_checked_against_the_spec(fake_line, message, accepted) -> None:
    status, body, _ = await _post(fake_line, "/v2/bot/message/push", {"to": BIG6, "messages": [message]})
    assert (status == 200) is accepted, body
    assert bool(fake_line.violations) is not accepted
    if not accepted:
        assert status == 400 and body["details"], body


async def test_retry_key_is_accepted_once(fake_line) -> None:
    key = str(uuid.uuid4())
    msg = {"to": BIG6, "messages": [{"type": "text", "text": "hi"}]}
    first = await _post(fake_line, "/v2/bot/message/push", msg, {"X-Line-Retry-Key": key})
    again = await _post(fake_line, "/v2/bot/message/push", msg, {"X-Line-Retry-Key": key})
    assert first[0] == 200 and again[0] == 409
    assert again[2]["x-line-accepted-request-id"] == first[2]["x-line-request-id"]
    assert len(fake_line.pushes) == 1
    assert fake_line.violations == []  # the 409 body matches the spec (sentMessages non-empty)


async def test_failed_attempt_does_not_burn_the_key(fake_line) -> None:
    key = str(uuid.uuid4())
    msg = {"to": BIG6, "messages": [{"type": "text", "text": "hi"}]}
    fake_line.fail(500)
    assert (await _post(fake_line, "/v2/bot/message/push", msg, {"X-Line-Retry-Key": key}))[0] == 500
    assert (await _post(fake_line, "/v2/bot/message/push", msg, {"X-Line-Retry-Key": key}))[0] == 200
    assert len(fake_line.pushes) == 1


async def test_bad_token_and_bad_retry_key(fake_line) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(fake_line.base_url + "/v2/bot/info", headers={"Authorization": "Bearer nope"}) as resp,
    ):
        assert resp.status == 401
    msg = {"to": BIG6, "messages": [{"type": "text", "text": "hi"}]}
    status, body, _ = await _post(fake_line, "/v2/bot/message/push", msg, {"X-Line-Retry-Key": "not-a-uuid"})
    assert status == 400 and "UUID" in str(body)


async def test_quota_is_counted_per_member(fake_line) -> None:
    fake_line.quota_limit = 3
    msg = {"to": BIG6, "messages": [{"type": "text", "text": "hi"}]}  # Big 6 fake group: 2 members
    assert (await _post(fake_line, "/v2/bot/message/push", msg))[0] == 200
    status, body, _ = await _post(fake_line, "/v2/bot/message/push", msg)
    assert status == 429 and "monthly limit" in body["message"]
    assert fake_line.quota_used == 2


def test_signature_is_hmac_sha256_base64() -> None:
    # Known answer computed independently: base64(HMAC-SHA256("secret", b"{}")).
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"secret", b"{}", hashlib.sha256).digest()).decode()
    assert sign_line_body(b"{}", "secret") == expected


async def test_fake_events_match_webhook_spec(fake_line) -> None:
    user = fake_line.add_user("ป้าแดง")
    events = [
        fake_line.event_join(BIG6),
        fake_line.event_text("ช่วยด้วย", user_id=user, group_id=BIG6),
        fake_line.event_postback("a=ack&i=X", user_id=user, group_id=BIG6),
        fake_line.event_location(14.5, 100.4, user_id=user),
        fake_line.event_follow(user),
        fake_line.event_image(b"\xff\xd8\xff\xd9", user_id=user),
        fake_line.event_leave(BIG6),
    ]
    assert fake_line.webhook_body(events)  # raises if webhook.yml rejects one
