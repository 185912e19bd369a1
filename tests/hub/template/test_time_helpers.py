"""HA's date and time template helpers, on the hub's clock (FakeClock starts 2026-01-01 00:00 UTC)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from hub.core.bus import EventBus
from hub.core.clock import FakeClock
from hub.core.state import StateMachine
from hub.template import TemplateEngine, TemplateError
from hub.template.helpers import describe_age


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[TemplateEngine]:
    bus = EventBus(asyncio.get_running_loop())
    clock = FakeClock(tz=ZoneInfo("Asia/Bangkok"))  # 2026-01-01 07:00 in Bangkok
    states = StateMachine(bus, clock.time)
    states.set("sensor.last_press", "2025-12-31T22:00:00+00:00", {"device_class": "timestamp"})
    yield TemplateEngine(states, clock)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ strptime('2026-01-01 06:30', '%Y-%m-%d %H:%M').hour }}", 6),
        ("{{ strptime('not a date', '%Y-%m-%d', 'bad') }}", "bad"),
        ("{{ '01/02/2026' | strptime('%d/%m/%Y') | string }}", "2026-02-01 00:00:00"),
        ("{{ as_timestamp('nonsense', default=-1) }}", -1),
        ("{{ as_timestamp(states('sensor.last_press')) }}", 1767218400.0),
        ("{{ as_datetime('2026-01-01T05:00:00+07:00').hour }}", 5),
        ("{{ as_datetime('garbage', None) is none }}", True),
        ("{{ (timedelta(hours=2, minutes=30)).total_seconds() }}", 9000.0),
        ("{{ (now() - timedelta(days=1)).day }}", 31),
        ("{{ today_at('06:00') < now() }}", True),
        ("{{ today_at('19:30').hour }}", 19),
        ("{{ relative_time(now() - timedelta(hours=3)) }}", "3 hours"),
        ("{{ relative_time(now() - timedelta(seconds=1)) }}", "1 second"),
        ("{{ relative_time('not a datetime') }}", "not a datetime"),
        ("{{ relative_time(as_datetime(states('sensor.last_press'))) }}", "2 hours"),
        ("{{ time_since(now() - timedelta(days=400), 2) }}", "1 year 1 month"),
        ("{{ time_since(now() - timedelta(minutes=90)) }}", "2 hours"),
        ("{{ time_since(now() - timedelta(minutes=90), 0) }}", "1 hour 30 minutes"),
        ("{{ time_until(now() + timedelta(minutes=5)) }}", "5 minutes"),
        ("{{ (now() + timedelta(hours=1)) | relative_time == (now() + timedelta(hours=1)) }}", True),
    ],
)
def test_helpers(engine: TemplateEngine, source: str, expected: object) -> None:
    assert engine.compile(source).render_native({}) == expected


def test_bad_input_is_an_error_without_default(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError, match="strptime"):
        engine.render("{{ strptime('x', '%Y') }}")
    with pytest.raises(TemplateError, match="today_at"):
        engine.render("{{ today_at('25:99') }}")
    with pytest.raises(TemplateError):
        engine.render("{{ timedelta(days=10**12) }}")  # OverflowError, bounded like every error


def test_describe_age_rounds_the_last_unit() -> None:
    assert describe_age(timedelta(seconds=0)) == "0 seconds"
    assert describe_age(timedelta(minutes=59, seconds=40)) == "1 hour"
    assert describe_age(timedelta(hours=1, minutes=29)) == "1 hour"
    assert describe_age(timedelta(days=2, hours=13), 2) == "2 days 13 hours"
