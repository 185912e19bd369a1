"""Template benchmark: what the render budget costs an ordinary template, and what it saves.

- ``ordinary/<name>``: µs per render of everyday templates (an MQTT
  ``value_json`` pick, a condition over states, a loop over 50 items, a
  LINE message with filters) through the hub's metered engine, and the same
  source through plain jinja2 ``ImmutableSandboxedEnvironment`` (no budget):
  the ratio is the metering's overhead.
- ``hostile``: ms until the engine stops two nested loops over ``'x'*12000``
  (144 million iterations unbudgeted, about 5 s on this machine per the
  security review): on the default step budget and on the device time budget
  that MQTT-discovery templates get.

Usage: ``python -m bench.templates [--quick]``; ``collect(quick)`` gives the same
figures to ``python -m bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from bench.runner import Result
from hub.core.bus import EventBus
from hub.core.clock import FakeClock
from hub.core.state import StateMachine
from hub.template import RenderBudget, TemplateEngine, TemplateError
from integrations.mqtt.templating import DEVICE_RENDER_SECONDS

ORDINARY = {
    "value_json": (
        "{{ value_json.temperature | float(0) | round(1) }}",
        {"value_json": {"temperature": "21.54"}},
    ),
    "condition": ("{{ is_state('sos.gate', 'triggered') and states('sensor.temp') | float(0) > 20 }}", {}),
    "loop_50": (
        "{% for i in items %}{{ i.name | upper }}{% if not loop.last %}, {% endif %}{% endfor %}",
        None,
    ),
    "message": (
        "🚨 SOS {{ place | default('?') }} {{ '%.4f' | format(lat) }} {{ names | join(', ') | truncate(40) }}",
        {"place": "ประตู 1", "lat": 14.5896, "names": ["a", "b", "c"]},
    ),
}
HOSTILE = "{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"


def _engine() -> TemplateEngine:
    states = StateMachine(EventBus(asyncio.new_event_loop()), FakeClock().time)
    states.set("sos.gate", "idle")
    states.set("sensor.temp", "21.5")
    return TemplateEngine(states, FakeClock())


def _per_render_us(render: Any, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        render()
    return (time.perf_counter() - start) / n * 1e6


def measure(renders: int, repeats: int) -> dict[str, dict[str, list[float]]]:
    engine = _engine()
    plain = ImmutableSandboxedEnvironment()
    items = [{"name": f"item{i}"} for i in range(50)]
    out: dict[str, dict[str, list[float]]] = {}
    for name, (source, variables) in ORDINARY.items():
        values = variables if variables is not None else {"items": items}
        metered = engine.compile(source)
        bare = plain.from_string(source) if name != "condition" else None
        row: dict[str, list[float]] = {"metered": [], "plain": []}
        for _ in range(repeats):
            row["metered"].append(_per_render_us(lambda m=metered, v=values: m.render(v), renders))
            if bare is not None:
                row["plain"].append(_per_render_us(lambda b=bare, v=values: b.render(**v), renders))
        out[name] = row
    hostile = engine.compile(HOSTILE)
    stops: dict[str, list[float]] = {"steps": [], "device": []}
    for _ in range(repeats):
        for kind, seconds in (("steps", None), ("device", DEVICE_RENDER_SECONDS)):
            budget = RenderBudget(seconds=seconds)  # the time budget starts when it is made
            start = time.perf_counter()
            with contextlib.suppress(TemplateError):
                hostile.render({"s": "x" * 12000}, budget=budget)
            stops[kind].append((time.perf_counter() - start) * 1000)
    out["hostile"] = stops
    return out


def collect(quick: bool) -> list[Result]:
    """Return the figures for ``python -m bench``."""
    renders, repeats = (2_000, 3) if quick else (20_000, 5)
    data = measure(renders, repeats)
    results = []
    for name, row in data.items():
        if name == "hostile":
            results.append(
                Result("hostile/step budget", "ms", row["steps"], note="nested loops over 'x'*12000")
            )
            results.append(
                Result("hostile/device budget", "ms", row["device"], note="MQTT discovery template")
            )
            continue
        results.append(Result(f"ordinary/{name}", "µs/render", row["metered"], note="metered engine"))
        if row["plain"]:
            results.append(
                Result(
                    f"ordinary/{name} (plain)", "µs/render", row["plain"], note="jinja2 sandbox, no budget"
                )
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    renders, repeats = (2_000, 3) if args.quick else (20_000, 5)
    data = measure(renders, repeats)
    print(f"templates, {renders:,} renders × {repeats} runs (median µs/render)")
    print(f"{'template':<14}{'metered':>10}{'plain':>10}{'ratio':>8}")
    for name, row in data.items():
        if name == "hostile":
            continue
        metered = statistics.median(row["metered"])
        plain = statistics.median(row["plain"]) if row["plain"] else None
        ratio = f"{metered / plain:.2f}×" if plain else "-"
        print(f"{name:<14}{metered:>10.1f}{plain if plain is None else round(plain, 1)!s:>10}{ratio:>8}")
    hostile = data["hostile"]
    print(
        f"hostile template stopped after {statistics.median(hostile['steps']):.0f} ms (step budget), "
        f"{statistics.median(hostile['device']):.0f} ms (device time budget)"
    )


if __name__ == "__main__":
    main()
