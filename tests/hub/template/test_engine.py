"""The sandboxed template engine: HA's helpers, native results, caching, and escapes that fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, cast

import pytest
import pytest_asyncio

from hub.core.bus import EventBus
from hub.core.clock import FakeClock
from hub.core.state import StateMachine
from hub.template import (
    MAX_RANGE_BUDGET,
    RenderInfo,
    TemplateEngine,
    TemplateError,
    TemplateState,
    check_syntax,
)


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[TemplateEngine]:
    bus = EventBus(asyncio.get_running_loop())
    clock = FakeClock()
    states = StateMachine(bus, clock.time)
    states.set("sensor.temp", "21.5", {"unit_of_measurement": "°C", "friendly_name": "Temp"})
    states.set("input_boolean.armed", "on")
    states.set("sos.gate", "idle", {"battery": 80})
    states.set("light.a", "on")
    states.set("light.b", "off")
    yield TemplateEngine(states, clock)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ states('sensor.temp') }}", 21.5),
        ("{{ states('sensor.temp', with_unit=True) }}", "21.5 °C"),
        ("{{ states('sensor.none') }}", "unknown"),
        ("{{ states.sensor.temp.state }}", 21.5),
        ("{{ states.sensor.temp.name }}", "Temp"),
        ("{{ states.light | map(attribute='entity_id') | list }}", ["light.a", "light.b"]),
        ("{{ states.light | selectattr('state', 'eq', 'on') | list | count }}", 1),
        ("{{ is_state('input_boolean.armed', 'on') }}", True),
        ("{{ is_state('input_boolean.armed', ['off', 'on']) }}", True),
        ("{{ state_attr('sos.gate', 'battery') }}", 80),
        ("{{ is_state_attr('sos.gate', 'battery', 80) }}", True),
        ("{{ has_value('sensor.none') }}", False),
        ("{{ 'x' | float(1.5) }}", 1.5),
        ("{{ float('2') + int('3.9') }}", 5.0),
        ("{{ 'abc' | int(default=7) }}", 7),
        ("{{ iif(true, 'yes', 'no') }}", "yes"),
        ("{{ none | iif('y', 'n', 'none') }}", "none"),
        ("{{ now().hour }}", 7),
        ("{{ as_timestamp('2026-01-01T00:00:00+00:00') }}", 1767225600.0),
        ("{{ as_timestamp('nonsense', 0) }}", 0),
        ("{{ (as_datetime('2026-01-01T07:00:00') | as_timestamp) }}", 1767225600.0),
        ("{{ 1767225600 | timestamp_custom('%H:%M') }}", "07:00"),
        ("{{ 'A-B c' | slugify }}", "a_b_c"),
        ("{{ 'on' | bool }}", True),
        ("{{ '0123' }}", "0123"),
        ("{{ [1, 2] }}", [1, 2]),
        ("{{ {'a': 1} }}", {"a": 1}),
        ("{{ '12' is is_number }}", True),
        ("{{ 'sos-17' | regex_replace('[^0-9]', '') | int }}", 17),
        ("{{ expand('light.a', ['light.b']) | map(attribute='state') | join(',') }}", "on,off"),
        ("plain text", "plain text"),
    ],
)
def test_helpers(engine: TemplateEngine, source: str, expected: object) -> None:
    assert engine.compile(source).render_native({}) == expected


def test_this_and_trigger_variables(engine: TemplateEngine) -> None:
    state = cast(Any, engine.env.globals["states"])._sm.get("sos.gate")
    variables = {"this": TemplateState(state), "trigger": {"id": "press", "to_state": TemplateState(state)}}
    text = "{{ this.entity_id }} {{ trigger.id }} {{ trigger.to_state.attributes.battery }}"
    assert engine.render(text, variables) == "sos.gate press 80"
    assert isinstance(engine.compile("{{ this.last_changed }}").render_native(variables), str)
    assert engine.compile("{{ this.last_changed.year }}").render_native(variables) == 2026
    assert isinstance(TemplateState(state).last_changed, datetime)


def test_compiled_once_and_cached(engine: TemplateEngine) -> None:
    first = engine.compile("{{ 1 + 1 }}")
    assert engine.compile("{{ 1 + 1 }}") is first


def test_render_info_tracks_entities(engine: TemplateEngine) -> None:
    info = RenderInfo()
    engine.compile("{{ [is_state('sensor.temp', '1'), states('sos.gate'), now()] }}").render(info=info)
    assert info.entities == {"sensor.temp", "sos.gate"} and info.uses_time and not info.domains
    info = RenderInfo()
    engine.compile("{{ states.light | list | count }}").render(info=info)
    assert info.domains == {"light"}


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ states.__class__ }}",
        "{{ states._sm }}",
        "{{ states.sensor._sm }}",
        "{{ states.sensor.temp._state }}",
        "{{ is_state.__self__ }}",
        "{{ is_state.__globals__ }}",
        "{{ now.__self__._clock }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ (1).__class__.__base__.__subclasses__() }}",
        "{{ [].append(1) }}",
        "{{ {}.update({'a': 1}) }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ timedelta.__subclasses__() }}",
        "{{ range.__class__ }}",
        "{{ range(10**9) | list }}",
        "{% for i in range(50000) %}{% for j in range(50000) %}{% endfor %}{% endfor %}",
        "{{ 'x' * 10**9 }}",
        "{{ [0] * 10**9 }}",
        "{{ 9 ** 999999 }}",
        "{{ ('a' * 200000) ~ ('b' * 200000) }}",
    ],
)
def test_sandbox_escapes_and_dos_fail(engine: TemplateEngine, source: str) -> None:
    with pytest.raises(TemplateError):
        engine.compile(source).render({})


def test_range_budget_is_per_render(engine: TemplateEngine) -> None:
    template = engine.compile("{{ range(" + str(MAX_RANGE_BUDGET // 2) + ") | list | count }}")
    for _ in range(3):  # each render starts with a fresh budget
        assert template.render_native({}) == MAX_RANGE_BUDGET // 2


def test_syntax_check() -> None:
    assert check_syntax("{{ ok }}") is None
    assert "syntax error" in (check_syntax("{{ 1 + }}") or "")


def test_errors_are_template_errors(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError, match="UndefinedError"):
        engine.render("{{ x.y }}")
    with pytest.raises(TemplateError, match="float got invalid input"):
        engine.render("{{ 'x' | float }}")
    with pytest.raises(TemplateError, match="syntax"):
        engine.compile("{% if %}")
