"""Per-automation reload, enable/disable, services and the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.core.clock import FakeClock
from hub.testing import write_config
from tests.hub.components.automation.conftest import collect, manager, traces

TWO = """
automation:
  - id: slow
    trigger: {platform: event, event_type: go}
    action: [{delay: 60}, {event: slow_done}]
  - id: other
    trigger: {platform: event, event_type: other}
    action: [{event: other_v1}]
"""


async def test_reload_keeps_unchanged_runs_and_timers(
    make_hub: Any, config_dir: Path, clock: FakeClock
) -> None:
    hub = await make_hub(TWO, web=False)
    slow_done = collect(hub, "slow_done")
    hub.bus.fire("go", {})
    await clock.advance(30)
    write_config(
        config_dir,
        TWO.replace("other_v1", "other_v2")
        + """
  - id: added
    trigger: {platform: event, event_type: added}
    action: {event: added_ran}
""",
    )
    result = await manager(hub).reload()
    assert result.unchanged == ["slow"] and result.changed == ["other"] and result.added == ["added"]
    await clock.advance(31)
    assert len(slow_done) == 1  # the pending delay of "slow" survived the reload
    v2, added = collect(hub, "other_v2"), collect(hub, "added_ran")
    hub.bus.fire("other", {})
    hub.bus.fire("added", {})
    await hub.block_till_done()
    assert len(v2) == 1 and len(added) == 1


async def test_reload_one_automation_only(make_hub: Any, config_dir: Path, clock: FakeClock) -> None:
    hub = await make_hub(TWO, web=False)
    slow_done = collect(hub, "slow_done")
    hub.bus.fire("go", {})
    await clock.advance(10)
    # Both change on disk, but only "other" is reloaded.
    write_config(config_dir, TWO.replace("other_v1", "other_v2").replace("delay: 60", "delay: 5"))
    result = await manager(hub).reload(["other"])
    assert result.changed == ["other"] and result.unchanged == []
    await clock.advance(51)
    assert len(slow_done) == 1
    assert manager(hub).get("slow").spec.actions[0].conf["delay"] == 60.0


async def test_reload_removes_and_reports_invalid(make_hub: Any, config_dir: Path) -> None:
    hub = await make_hub(TWO, web=False)
    write_config(
        config_dir,
        """
automation:
  - id: slow
    trigger: {platform: event, event_type: go}
    action: [{delay: 60}, {event: slow_done}]
  - id: broken
    trigger: {platform: nosuch}
    action: []
""",
    )
    result = await manager(hub).reload()
    assert result.removed == ["other"] and result.failed == ["broken"]
    assert hub.states.get("automation.other") is None
    broken = hub.states.get("automation.broken")
    assert broken.state == "unavailable" and "unknown trigger platform 'nosuch'" in broken.attributes["error"]


async def test_enable_disable_persists_and_services(make_hub: Any, config_dir: Path) -> None:
    config = """
        automation:
          - id: lamp
            initial_state: true
            trigger: {platform: event, event_type: go}
            action: {event: ran}
    """
    hub = await make_hub(config, web=False)
    await hub.services.call("automation", "turn_off", {"entity_id": "automation.lamp"})
    assert hub.states.get("automation.lamp").state == "off"
    ran = collect(hub, "ran")
    hub.bus.fire("go", {})
    await hub.block_till_done()
    assert ran == []
    # automation.trigger runs it even while disabled, skipping conditions.
    await hub.services.call("automation", "trigger", {"entity_id": "automation.lamp"})
    await hub.block_till_done()
    assert len(ran) == 1
    await hub.stop()
    hub2 = await make_hub(config, web=False, folder=config_dir)
    # The admin's choice wins over initial_state after a restart (HA complaint #7).
    assert hub2.states.get("automation.lamp").state == "off"
    await hub2.services.call("automation", "toggle", {"entity_id": "automation.lamp"})
    assert hub2.states.get("automation.lamp").state == "on"
    result = await hub2.services.call("automation", "reload", {})
    assert result["unchanged"] == ["lamp"]


async def test_api_enable_trigger_reload_and_traces(make_hub: Any, client_for: Any, config_dir: Path) -> None:
    hub = await make_hub(TWO.replace("delay: 60", "delay: 0"))
    admin = await client_for("admin", target=hub)
    viewer = await client_for("viewer", target=hub)
    listing = await (await viewer.get("/api/automations")).json()
    assert [a["id"] for a in listing] == ["slow", "other"]
    assert (await viewer.post("/api/automations/other", json={"enabled": False})).status == 403
    response = await admin.post("/api/automations/other", json={"enabled": False})
    assert response.status == 200 and (await response.json())["state"] == "off"
    response = await admin.post("/api/automations/other/trigger")
    assert response.status == 200 and (await response.json())["run_id"]
    response = await admin.post("/api/automations/other/reload")
    assert (await response.json())["unchanged"] == ["other"]
    response = await admin.post("/api/automations/reload")
    assert (await response.json())["unchanged"] == ["slow", "other"]
    found = await (await viewer.get("/api/automations/other/traces")).json()
    assert found[0]["steps"][0]["result"] == {"event": "other_v1"}
    assert (await viewer.get("/api/automations/nosuch/traces")).status == 404
    for page in ("/automations", "/automations/other", "/blueprints"):
        response = await viewer.get(page)
        assert response.status == 200, page
    text = await (await admin.get("/automations")).text()
    assert "/api/automations/other/trigger" in text  # admins get the buttons
    assert "/api/automations/other/trigger" not in await (await viewer.get("/automations")).text()
    assert "other_v1" in await (await viewer.get("/automations/other")).text()


async def test_traces_are_pruned_to_stored_traces(make_hub: Any) -> None:
    hub = await make_hub(
        """
        automation:
          - id: chatty
            trace: {stored_traces: 3}
            trigger: {platform: event, event_type: go}
            action: {event: "n{{ trigger.event.data.n }}"}
          - id: quiet
            trigger: {platform: event, event_type: go}
            action: {event: q}
    """,
        web=False,
    )
    for n in range(8):
        hub.bus.fire("go", {"n": n})
        await hub.block_till_done()
    found = await traces(hub, "chatty")
    assert [t["steps"][0]["result"]["event"] for t in found] == ["n7", "n6", "n5"]
    assert len(await traces(hub, "quiet")) == 8
