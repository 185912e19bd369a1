"""single, restart, queued and parallel, with max and max_exceeded."""

from __future__ import annotations

import logging

import pytest

from hub.core.clock import FakeClock
from tests.hub.components.automation.conftest import AutoHub, collect, traces


def _config(mode: str, extra: str = "") -> str:
    return f"""
automation:
  - id: m
    mode: {mode}
{extra}
    trigger: {{platform: event, event_type: go}}
    action:
      - event: started
        event_data: {{n: "{{{{ trigger.event.data.n }}}}"}}
      - delay: 10
      - event: ended
        event_data: {{n: "{{{{ trigger.event.data.n }}}}"}}
"""


async def _fire_three(hub, clock: FakeClock) -> tuple[list[int], list[int]]:
    started, ended = collect(hub, "started"), collect(hub, "ended")
    for n in (1, 2, 3):
        hub.bus.fire("go", {"n": n})
        await hub.block_till_done()
        await clock.advance(1)
    await clock.advance(40)
    return [e.data["n"] for e in started], [e.data["n"] for e in ended]


async def test_single_drops_and_logs_at_max_exceeded_level(
    auto_hub: AutoHub, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await auto_hub(_config("single", "    max_exceeded: info"))
    with caplog.at_level(logging.DEBUG, logger="hub.components.automation"):
        started, ended = await _fire_three(hub, clock)
    assert started == [1] and ended == [1]
    records = [r for r in caplog.records if "already running" in r.getMessage()]
    assert len(records) == 2 and all(r.levelno == logging.INFO for r in records)
    executions = [t["script_execution"] for t in await traces(hub, "m")]
    assert executions.count("failed_single") == 2


async def test_single_silent(auto_hub: AutoHub, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    hub = await auto_hub(_config("single", "    max_exceeded: silent"))
    with caplog.at_level(logging.DEBUG, logger="hub.components.automation"):
        await _fire_three(hub, clock)
    assert not [r for r in caplog.records if "already running" in r.getMessage()]


async def test_restart_cancels_the_running_one(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub(_config("restart"))
    started, ended = await _fire_three(hub, clock)
    assert started == [1, 2, 3] and ended == [3]
    executions = [t["script_execution"] for t in await traces(hub, "m")]
    assert executions.count("cancelled") == 2


async def test_queued_runs_one_after_another(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub(_config("queued", "    max: 2"))
    started, ended = await _fire_three(hub, clock)
    # max 2: the running one plus one waiting; the third is refused.
    assert started == [1, 2] and ended == [1, 2]
    executions = [t["script_execution"] for t in await traces(hub, "m")]
    assert "failed_max_runs" in executions


async def test_parallel_with_max(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub(_config("parallel", "    max: 2\n    max_exceeded: error"))
    started, ended = await _fire_three(hub, clock)
    assert started == [1, 2] and sorted(ended) == [1, 2]
    state = hub.states.get("automation.m")
    assert state.attributes["mode"] == "parallel" and state.attributes["max"] == 2


async def test_parallel_all_run(auto_hub: AutoHub, clock: FakeClock) -> None:
    hub = await auto_hub(_config("parallel"))
    started, ended = await _fire_three(hub, clock)
    assert started == [1, 2, 3] and sorted(ended) == [1, 2, 3]
