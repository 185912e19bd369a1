"""Fuzzing in the suite: the five input surfaces, a few hundred cases each (``bench/fuzz.py`` runs 100k+).

Every case must be accepted or refused with a clear error; see ``targets.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings

from hub.testing import BASE_CONFIG, free_port
from integrations.line.testing import FAKE_SECRET
from tests.fuzz.targets import (
    LINE_SECRET,
    MQTT_CONFIG,
    ConfigTarget,
    HubRig,
    SiaTarget,
    billion_laughs,
    config_texts,
    federation_check,
    federation_messages,
    line_bodies,
    line_check,
    mqtt_check,
    mqtt_payloads,
)

FAST = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_config = ConfigTarget(full_every=10)
_sia = SiaTarget()


@FAST
@given(config_texts())
def test_config_loader(text: str) -> None:
    _config(text)


@pytest.mark.parametrize("depth", [3, 6, 9])
def test_config_alias_bomb_is_refused_or_bounded(depth: int) -> None:
    # 9**9 list items if expanded: the loader must answer (an error, or the aliases as they are) at once.
    _config(billion_laughs(depth))


@settings(max_examples=400, deadline=None, database=None)
@given(_sia.strategy())
def test_sia_frames(data: bytes) -> None:
    _sia(data)


@settings(max_examples=300, deadline=None, database=None)
@given(federation_messages())
def test_federation_messages(payload: bytes) -> None:
    federation_check(payload)


@pytest_asyncio.fixture
async def rig(make_hub: Any, fake_line_factory: Any) -> AsyncIterator[HubRig]:
    """A hub with every MQTT device kind (its broker never there) and LINE pointed at the fake."""
    assert FAKE_SECRET == LINE_SECRET
    fake = await fake_line_factory()
    port = free_port()
    hub = await make_hub(
        f"mqtt: {{broker: 'mqtt://127.0.0.1:{port}', reconnect_min: 30, reconnect_max: 60}}\n"
        + MQTT_CONFIG
        + fake.config_yaml({"big6": "C" + "1" * 32}),
        base=BASE_CONFIG,
    )
    rig = HubRig(hub)
    undo = rig.install()
    yield rig
    undo()


@FAST
@given(case=mqtt_payloads())
async def test_mqtt_payloads(rig: HubRig, case: tuple[str, bytes, bool]) -> None:
    await mqtt_check(rig, case)


@FAST
@given(case=line_bodies())
async def test_line_webhook(rig: HubRig, case: tuple[bytes, bool]) -> None:
    async with aiohttp.ClientSession(base_url=rig.hub.http.url) as session:
        await line_check(rig, session, case)


def test_strategies_reach_both_outcomes() -> None:
    """The generators are not all-garbage: some cases pass the parsers, some are refused."""
    from integrations.federation.protocol import parse_envelope

    accepted = refused = 0

    @settings(max_examples=200, deadline=None, database=None)
    @given(federation_messages())
    def count(payload: bytes) -> None:
        nonlocal accepted, refused
        try:
            parse_envelope(payload)
            accepted += 1
        except ValueError:
            refused += 1

    count()
    assert accepted and refused, (accepted, refused)
    verdicts: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(_sia.strategy())
    def judge(data: bytes) -> None:
        verdict = _sia.receiver.judge(data)
        if verdict is not None:
            verdicts.add(verdict.kind)

    judge()
    assert "ACK" in verdicts and verdicts & {"NAK", "DUH"}, verdicts
