"""Webhook bodies generated from LINE's webhook.yml all parse, and the hub handles them without crashing."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from integrations.line.const import RUNTIME as LINE_RUNTIME
from integrations.line.testing import load_line_spec
from integrations.line.webhook import parse_event
from tests.integrations.line.conftest import deliver
from tests.integrations.line.openapi_data import body_strategy


@pytest.fixture(scope="module")
def callback_bodies(line_spec_dir):
    return body_strategy(load_line_spec(line_spec_dir, "webhook.yml"), "CallbackRequest")


def test_generated_bodies_parse(line_spec_dir, callback_bodies) -> None:
    from linebot.v3.webhooks import Event

    seen: set[str] = set()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(callback_bodies)
    def check(body) -> None:
        # What LINE sends is JSON text; go through it as the webhook does.
        for raw in json.loads(json.dumps(body))["events"]:
            event = parse_event(raw, Event)
            assert event is not None, raw
            assert event.type == raw["type"]
            seen.add(raw["type"])

    check()
    # The generator reaches (nearly) every event type webhook.yml knows.
    spec = load_line_spec(line_spec_dir, "webhook.yml")
    known = set(spec["components"]["schemas"]["Event"]["discriminator"]["mapping"])
    assert len(seen) >= len(known) - 3 and seen <= known, sorted(known - seen)


async def test_hub_handles_generated_deliveries(line_hub, fake_line, callback_bodies, caplog) -> None:
    hub = await line_hub()
    bodies: list[dict[str, Any]] = []

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(callback_bodies)
    def collect(body) -> None:
        bodies.append(json.loads(json.dumps(body)))

    collect()
    caplog.set_level(logging.ERROR, logger="integrations.line")
    for body in bodies:
        raw = json.dumps(body, ensure_ascii=False).encode()
        assert await deliver(fake_line, hub, body=raw) == 200
    assert "failed" not in " ".join(
        r.getMessage() for r in caplog.records if r.name == "integrations.line.webhook"
    )
    assert hub.data[LINE_RUNTIME].webhook.received == len(bodies)
