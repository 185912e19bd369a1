"""The render budget: every loop, call and filter draws steps; strings are sized before they are built."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from hub.template import MAX_STEPS, TemplateEngine, TemplateError
from hub.template.engine import RenderBudget

#: Two nested loops over a long string: the discovery payload from the security review.
NESTED = "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"


@pytest.fixture
def engine() -> TemplateEngine:
    return TemplateEngine()


@pytest.mark.parametrize(
    "source",
    [
        NESTED,
        "{% for a in s | list %}{% for b in s | list %}{{ b }}{% endfor %}{% endfor %}",
        "{{ s | map('upper') | map('lower') | list | map('upper') | list | length }}"
        "{% for a in s %}{{ s | select('eq', 'x') | list | length }}{% endfor %}",
        # recursion through loop() and macros: each call is a step
        "{% for c in 'xx' recursive %}{% if loop.depth < 40 %}{{ loop('xx') }}{% endif %}{% endfor %}",
        "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}",
        "{% for a in s %}{{ s | unique | list | length }}{% endfor %}",
    ],
)
def test_loops_filters_and_calls_share_one_step_budget(engine: TemplateEngine, source: str) -> None:
    budget = RenderBudget()
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="step budget"):
        engine.compile(source).render({"s": "x" * 12000}, budget=budget)
    assert budget.used <= MAX_STEPS + 12000  # stopped at the budget, not at 144 million
    assert time.perf_counter() - started < 10


def test_a_time_budget_stops_a_render_early(engine: TemplateEngine) -> None:
    budget = RenderBudget(seconds=0.02)
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="time budget"):
        engine.compile(NESTED).render({"s": "x" * 12000}, budget=budget)
    assert budget.used < MAX_STEPS
    assert time.perf_counter() - started < 1.0


def test_small_templates_never_read_the_clock(engine: TemplateEngine) -> None:
    # fewer steps than one clock check: a slow machine cannot fail a normal template
    budget = RenderBudget(seconds=0.0)
    assert engine.compile("{% for a in s %}{{ a }}{% endfor %}").render({"s": "abc"}, budget=budget) == "abc"


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x'.center(10**9) }}",
        "{{ 'x'.ljust(10**9) }}",
        "{{ 'x'.rjust(10**9) }}",
        "{{ 'x'.zfill(10**9) }}",
        "{{ ('\\t' * 1000).expandtabs(10**6) }}",
        "{{ 'x' | center(10**9) }}",
        "{{ 'x' | indent(10**9, true) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '{:{}}'.format(1, 999999999) }}",
        "{{ '%999999999d' | format(1) }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '%*d' % (999999999, 1) }}",
        "{{ ('x' * 100000) | replace('x', 'y' * 100000) }}",
        "{{ ('x' * 100000).replace('x', 'y' * 100000) }}",
        "{{ ['x' * 200000] * 1000 }}",
        "{{ (['x' * 200000] * 1000) | join }}",
        "{{ ('x' * 200000) + ('y' * 200000) }}",
        "{% set a = 'x' * 1000 %}{% set b = [a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b] %}"
        "{% set d = [c, c, c, c, c, c, c, c] %}{{ d | string }}",
        "{% set a = 'x' * 100000 %}{% set a = a ~ a %}{% set a = a ~ a %}{% set a = a ~ a %}",
        "{{ [1] | batch(10**9, 'x') | list }}",
        "{{ ('x' * 100000) | regex_replace('x', 'y' * 100000) }}",
        "{{ [1] | slice(10**9, 'x') | list }}",
    ],
)
def test_strings_are_sized_before_they_are_built(engine: TemplateEngine, source: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError, match="too large|too long|budget"):
            engine.compile(source).render({})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # refused before a 200 MB string existed


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'ab'.center(6, '*') }}", "**ab**"),
        ("{{ '7'.zfill(3) }}", "007"),
        ("{{ '{:>5}'.format('a') }}", "    a"),
        ("{{ '%05.1f' | format(3.14159) }}", "003.1"),
        ("{{ '%s-%s' % ('a', 'b') }}", "a-b"),
        ("{{ 'a-b' | replace('-', '+') }}", "a+b"),
        ("{{ ['a', 'b'] | join(',') }}", "a,b"),
        ("{{ 'a' ~ 1 ~ 'b' }}", "a1b"),
        ("{{ 'ab' + 'cd' }}", "abcd"),
        ("{{ [1, 2] + [3] }}", "[1, 2, 3]"),
        ("{{ 3 + 4 }}", "7"),
        ("{{ [1, 2, 3, 4, 5] | batch(2, 0) | list }}", "[[1, 2], [3, 4], [5, 0]]"),
        ("{{ 'x\\ty'.expandtabs(4) }}", "x   y"),
        ("{{ 'a1b22' | regex_replace('(\\\\d+)', '<\\\\1>') }}", "a<1>b<22>"),
        ("{{ range(3) | map('string') | join('') }}", "012"),
        ("{% for i in range(3) %}{{ loop.index }}{% endfor %}", "123"),
    ],
)
def test_ordinary_templates_still_work(engine: TemplateEngine, source: str, expected: str) -> None:
    assert engine.compile(source).render({}) == expected


@pytest.mark.parametrize(
    "source",
    [
        # a container nested to share items, turned into text by an ordinary filter
        "{% set a = 'x' * 1000 %}{% set b = [a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b] %}"
        "{% set d = [c, c, c, c, c, c, c, c] %}{{ d | upper }}",
        "{% set a = 'x' * 1000 %}{% set b = [a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b] %}"
        "{% set d = [c, c, c, c, c, c, c, c] %}{{ d | e }}",
        "{{ [[[[[1, 2, 3]]]]] * 100 | tojson(indent=100000) }}",
        "{{ ('x ' * 50000) | wordwrap(1, wrapstring='y' * 100000) }}",
    ],
)
def test_every_filter_sizes_what_it_turns_into_text(engine: TemplateEngine, source: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError, match="too large|too long|budget|no filter"):
            engine.compile(source).render({})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


def test_urlize_and_lipsum_are_not_offered(engine: TemplateEngine) -> None:
    with pytest.raises(TemplateError):
        engine.compile("{{ 'http://a' | urlize(target='x' * 100000) }}").render({})
    with pytest.raises(TemplateError):
        engine.compile("{{ lipsum(100000) }}").render({})


_SHARED = (
    "{% set a = [1, 2, 3, 4, 5, 6, 7, 8] %}{% set b = [a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b] %}"
    "{% set d = [c, c, c, c, c, c, c, c] %}{% set e = [d, d, d, d, d, d, d, d] %}{% set f = [e, e, e, e, e, e, e, e] %}"
)


@pytest.mark.parametrize(
    "source",
    [
        _SHARED + "{{ flatten(f) | length }}",
        _SHARED + "{{ f | flatten | length }}",
        _SHARED + "{{ union(f, f) | length }}",
        # sizing a big list on every pass is charged: the loop runs out of steps, not of time
        "{% set big = range(60000) | list %}{% for i in range(100000) %}{{ big | tojson | length }}{% endfor %}",
    ],
)
def test_helpers_given_shared_or_big_lists_are_bounded(engine: TemplateEngine, source: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="too large|budget"):
        engine.compile(source).render({})
    assert time.perf_counter() - started < 5
