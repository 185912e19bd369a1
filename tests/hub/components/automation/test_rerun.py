"""Runs started by a durable event (an SOS press) are re-run if the hub stops in the middle of them.

The hub here stops gracefully while the run is blocked in a service call; a SIGKILL leaves the
same row behind (tests/chaos/test_sigkill_federation.py does that with a real process).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from hub.testing import wait_for
from tests.hub.components.automation.conftest import collect, traces

PRESSED = """
sos:
  - {id: gate, name: Gate, place: Gate 1, simulated: true}
automation:
  - id: alert
    trigger: {platform: event, event_type: sos_pressed}
    condition: "{{ trigger.event.data.action != 'ignored' }}"
    action:
      - service: incident.open
        data: {kind: sos, title: "SOS {{ trigger.event.data.action }}"}
        response_variable: incident
      - service: test.block
        continue_on_error: true
      - event: alerted
        event_data: {incident_id: "{{ incident.incident_id }}", resumed: "{{ trigger.resumed | default(false) }}"}
"""

PLAIN = PRESSED.replace("event_type: sos_pressed", "event_type: plain")


def _blocking_service(hub: Any) -> asyncio.Event:
    """Register ``test.block``: it waits until the returned event is set (a hung step)."""
    entered = asyncio.Event()

    async def block(call: Any) -> None:
        entered.set()
        await asyncio.Event().wait()

    hub.services.register("test", "block", block)
    return entered


async def _timer_rows(hub: Any) -> list[Any]:
    await hub.storage.flush()
    return await hub.storage.fetchall("SELECT key, kind FROM automation_timers")


async def test_run_cut_short_is_rerun_with_the_same_incident(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(PRESSED, web=False)
    entered = _blocking_service(hub)
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "first"})
    await asyncio.wait_for(entered.wait(), 5)
    [first] = await hub.data[INCIDENT_RUNTIME].find(kind="sos")
    assert [r["kind"] for r in await _timer_rows(hub)] == ["run"]  # in flight, on disk
    await hub.stop()  # mid-run: the row stays for the next start

    await clock.advance(30)
    hub2 = await make_hub(PRESSED, web=False, folder=config_dir)
    alerted = collect(hub2, "alerted")
    await wait_for(lambda: alerted, what="the re-run reaching its last step")
    # The same incident (the incident.open call repeated with its key), not a second one.
    assert [i.id for i in await hub2.data[INCIDENT_RUNTIME].find(kind="sos")] == [first.id]
    assert alerted[0].data == {"incident_id": first.id, "resumed": True}
    rerun, cut_short = await traces(hub2, "alert")
    assert rerun["resumed"] and rerun["script_execution"] == "finished"
    assert cut_short["script_execution"] == "cancelled" and "re-run at the next start" in cut_short["error"]
    await hub2.block_till_done()
    assert await _timer_rows(hub2) == []


async def test_old_run_is_not_rerun(make_hub: Any, config_dir: Path, clock: FakeClock) -> None:
    hub = await make_hub(PRESSED, web=False)
    entered = _blocking_service(hub)
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "first"})
    await asyncio.wait_for(entered.wait(), 5)
    await hub.stop()
    await clock.advance(3600)  # down for an hour: an alert that late would only confuse
    hub2 = await make_hub(PRESSED, web=False, folder=config_dir)
    alerted = collect(hub2, "alerted")
    await hub2.block_till_done()
    assert alerted == []
    assert await _timer_rows(hub2) == []


async def test_finished_runs_leave_no_row(make_hub: Any) -> None:
    hub = await make_hub(PRESSED, web=False)
    hub.services.register("test", "block", lambda call: None)
    alerted = collect(hub, "alerted")
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "quick"})
    await wait_for(lambda: alerted, what="the run")
    await hub.block_till_done()
    assert await _timer_rows(hub) == []


async def test_runs_of_ordinary_events_are_not_saved(make_hub: Any) -> None:
    hub = await make_hub(PLAIN, web=False)
    entered = _blocking_service(hub)
    hub.bus.fire("plain", {"action": "x"})
    await asyncio.wait_for(entered.wait(), 5)
    assert await _timer_rows(hub) == []  # no promise for these: no write per run either


async def test_press_is_answered_only_after_its_run_is_on_disk(make_hub: Any, config_dir: Path) -> None:
    hub = await make_hub(PRESSED, web=False)
    _blocking_service(hub)
    await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": "first"})
    # No flush, no waiting: read straight from the file, as the next process would after a crash.
    rows = await hub.storage.fetchall("SELECT kind FROM automation_timers")
    assert [r["kind"] for r in rows] == ["run"]


BLOCK_FIRST = """
sos:
  - {id: gate, name: Gate, place: Gate 1, simulated: true}
automation:
  - id: alert
    trigger: {platform: event, event_type: sos_pressed}
    action:
      - service: test.block
        continue_on_error: true
      - service: incident.open
        data: {kind: sos, title: "SOS {{ trigger.event.data.action }}"}
"""


async def test_drill_cut_short_before_its_incident_is_rerun_as_a_drill(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    """A drill press must not come back as a real alarm after a restart (DESIGN §13)."""
    hub = await make_hub(BLOCK_FIRST, web=False)
    entered = _blocking_service(hub)
    await hub.services.call("sos", "drill", {"entity_id": "sos.gate"})
    await asyncio.wait_for(entered.wait(), 5)
    await hub.stop()

    await clock.advance(30)
    # test.block is not registered now: the re-run goes past it (continue_on_error).
    hub2 = await make_hub(BLOCK_FIRST, web=False, folder=config_dir)

    async def opened() -> list[Any]:
        return await hub2.data[INCIDENT_RUNTIME].find(kind="sos")

    found: list[Any] = []
    for _ in range(200):
        found = await opened()
        if found:
            break
        await asyncio.sleep(0.02)
    assert [i.drill for i in found] == [True]
