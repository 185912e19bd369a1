"""The shipped ``sos_alert`` blueprint: its input contract, the demo, and the SOS path to LINE and back."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from hub.components.automation.blueprints import SHIPPED_DIR, load_blueprint
from hub.components.automation.trace import load_traces
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from hub.hub import Hub
from integrations.demo.const import DEMO_CONFIG
from tests.integrations.line.conftest import BIG6, EYES, PUBLIC_URL, deliver

SOMCHAI = "U" + "a" * 32


def _automation(targets: str, flash: int = 30) -> str:
    return f"""\
demo: {{place: ตลาดสาธิต ประตู 1}}
automation:
  - id: sos_demo
    alias: SOS ตลาดสาธิต
    use_blueprint:
      path: sos_alert.yaml
      input:
        sos_button: sos.demo_market
        cameras: [camera.demo_gate]
        lights: [light.demo_lamp]
        line_targets: {targets}
        flash_seconds: {flash}
"""


def _base(public_url: str | None = PUBLIC_URL) -> str:
    from hub.testing import BASE_CONFIG

    if public_url is None:
        return BASE_CONFIG
    return BASE_CONFIG.replace(
        "web: {host: 127.0.0.1, port: 0}", f"web: {{host: 127.0.0.1, port: 0, public_url: '{public_url}'}}"
    )


async def _trace(hub, automation_id: str) -> dict[str, Any]:
    """Wait (real time) for the automation's latest finished trace.

    Not ``block_till_done``: a light flash is a hub task sleeping on the
    FakeClock, so waiting for every task would wait for ever.
    """
    for _ in range(200):
        traces = await load_traces(hub.storage, automation_id, limit=1)
        if traces and traces[0]["state"] == "stopped":
            return traces[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no finished trace for {automation_id}")


def test_input_names_are_the_contract() -> None:
    file = SHIPPED_DIR / "sos_alert.yaml"
    bp = load_blueprint(file, SHIPPED_DIR, "shipped", "sos_alert.yaml")
    assert bp.errors == []
    inputs = bp.inputs
    assert list(inputs) == ["sos_button", "cameras", "lights", "line_targets", "message", "flash_seconds"]
    assert inputs["sos_button"].selector == {"entity": {"domain": "sos"}}
    assert inputs["cameras"].selector == {"entity": {"domain": "camera", "multiple": True}}
    assert inputs["lights"].selector == {"entity": {"domain": "light", "multiple": True}}
    assert inputs["cameras"].default == [] and inputs["lights"].default == []
    assert inputs["line_targets"].selector == {"text": {"multiple": True}}
    assert inputs["flash_seconds"].default == 60
    assert any("\u0e00" <= c <= "\u0e7f" for c in inputs["message"].default)  # Thai by default
    assert bp.body["mode"] == "parallel"


async def test_demo_press_without_line(tmp_path: Path) -> None:
    """The embedded demo: press → incident at the button's place, snapshot, lamp; LINE skipped cleanly."""
    folder = tmp_path / "demo"
    folder.mkdir()
    shutil.copy(DEMO_CONFIG, folder / "config.yaml")
    hub = Hub(folder / "config.yaml", clock=FakeClock(), web=False)
    await hub.start()
    try:
        assert hub.config_errors == []
        await hub.services.call("sos", "press", {"entity_id": "sos.demo_market", "drill": False})
        trace = await _trace(hub, "demo_sos_alert")
        assert trace["error"] is None and trace["script_execution"] == "finished"
        [inc] = await hub.data[INCIDENT_RUNTIME].find()
        full = await hub.data[INCIDENT_RUNTIME].get(inc.id)
        assert full.kind == "sos" and full.place == "ตลาดสาธิต ประตู 1" and full.severity == "critical"
        assert [e.kind for e in full.timeline] == ["opened", "snapshot"]
        assert hub.states.get("light.demo_lamp").state == "on"
        assert not any("line.send" in str(s.get("result")) for s in trace["steps"])
    finally:
        await hub.stop()


async def test_sos_to_line_and_back(make_hub, fake_line) -> None:
    """Demo SOS press → Flex card at the fake API → postback ack → incident acknowledged → reply sent.

    On the real clock with a 1 s flash: the demo lamp's flash runs on the hub's clock.
    """
    hub = await make_hub(
        _automation("[big6, pineapple_eyes]", flash=1)
        + fake_line.config_yaml({"big6": BIG6, "pineapple_eyes": EYES}),
        base=_base(),
        real_clock=True,
    )
    await hub.services.call("sos", "press", {"entity_id": "sos.demo_market", "drill": False})
    trace = await _trace(hub, "sos_demo")
    assert trace["error"] is None, trace
    assert {d.to for d in fake_line.pushes} == {BIG6, EYES}
    card = fake_line.pushes[0].messages[0]
    bubble = card["contents"]
    assert card["type"] == "flex" and "SOS" in bubble["header"]["contents"][0]["text"]
    assert "ตลาดสาธิต ประตู 1" in str(bubble["body"])
    assert bubble["hero"]["url"].startswith(PUBLIC_URL + "/api/snapshots/")  # the demo camera's snapshot
    ack = bubble["footer"]["contents"][0]["action"]
    [incident_id] = parse_qs(ack["data"])["i"]
    await deliver(fake_line, hub, fake_line.event_postback(ack["data"], user_id=SOMCHAI, group_id=BIG6))
    inc = await hub.data[INCIDENT_RUNTIME].get(incident_id)
    assert inc.status == "acknowledged" and inc.acknowledged_by == "line:สมชาย ใจดี"
    assert re.match(r"✅ รับทราบโดย สมชาย ใจดี ภายใน \d+ วินาที", fake_line.replies[-1].messages[0]["text"])
    kinds = [e.kind for e in inc.timeline]
    assert kinds[:2] == ["opened", "snapshot"] and "line" in kinds and "acknowledged" in kinds
    assert fake_line.violations == []


async def test_every_press_counts(make_hub, fake_line) -> None:
    hub = await make_hub(_automation("[big6]") + fake_line.config_yaml({"big6": BIG6}), base=_base())
    for _ in range(3):
        await hub.services.call("sos", "press", {"entity_id": "sos.demo_market", "drill": False})
    await fake_line.wait_for(lambda f: len(f.pushes) >= 3)
    incidents = await hub.data[INCIDENT_RUNTIME].find(kind="sos")
    assert len(incidents) == 3
    assert {
        parse_qs(d.messages[0]["contents"]["footer"]["contents"][0]["action"]["data"])["i"][0]
        for d in fake_line.pushes
    } == {i.id for i in incidents}


@pytest.mark.parametrize("case", ["broken_token", "no_line_block"])
async def test_line_not_set_up_is_skipped(make_hub, fake_line, case) -> None:
    line = fake_line.config_yaml({"big6": BIG6})
    line = line.replace(fake_line.token, "revoked-token-0000") if case == "broken_token" else ""
    hub = await make_hub(_automation("[big6]") + line, base=_base())
    await hub.services.call("sos", "press", {"entity_id": "sos.demo_market", "drill": False})
    trace = await _trace(hub, "sos_demo")
    assert trace["error"] is None and trace["script_execution"] == "finished"
    assert len(await hub.data[INCIDENT_RUNTIME].find(kind="sos")) == 1
    assert fake_line.pushes == []
