"""The sharing rule (DESIGN §9): who gets what, and when the on_alarm window is open."""

from __future__ import annotations

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.camera import CameraEntity
from integrations.camera.policy import Party, check_and_audit, explain_policy, may_share

ADMIN = Party.user("owner", "admin")
OPERATOR = Party.user("clerk", "operator")
VIEWER = Party.user("guard", "viewer")
LINK = Party.link("line:big6")
STATION = Party.station("angthong-mueang")


def cam(hub, object_id: str) -> CameraEntity:
    return hub.entities.get(f"camera.{object_id}", CameraEntity)


@pytest.mark.parametrize(
    ("camera", "party", "what", "allowed", "reason"),
    [
        ("never_cam", ADMIN, "snapshot", True, "hub_staff"),
        ("never_cam", OPERATOR, "stream", True, "hub_staff"),
        ("never_cam", VIEWER, "live", False, "policy_never"),
        ("never_cam", STATION, "registry", False, "policy_never"),
        ("registry_cam", STATION, "registry", True, "registry_shared"),
        ("registry_cam", STATION, "snapshot", False, "registry_only"),
        ("registry_cam", LINK, "snapshot", False, "registry_only"),
        ("demo_gate", STATION, "registry", True, "registry_shared"),
        ("demo_gate", STATION, "snapshot", False, "outside_alarm_window"),
        ("demo_gate", VIEWER, "live", False, "outside_alarm_window"),
        ("demo_gate", LINK, "stream", False, "outside_alarm_window"),
        ("always_cam", VIEWER, "live", True, "policy_always"),
        ("always_cam", STATION, "stream", True, "policy_always"),
    ],
)
async def test_rule_without_incident(cam_hub, camera, party, what, allowed, reason) -> None:
    decision = may_share(cam_hub, cam(cam_hub, camera), party, what)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert bool(decision) is allowed


async def test_on_alarm_window(cam_hub, clock) -> None:
    gate = cam(cam_hub, "demo_gate")
    incidents = cam_hub.data[INCIDENT_RUNTIME]
    inc = await incidents.open("sos", title="SOS")
    await cam_hub.block_till_done()  # the window follows incident events on the bus
    opened = may_share(cam_hub, gate, STATION, "snapshot")
    assert opened.reason == "alarm_window" and opened.incident_ids == (inc.id,)
    await clock.advance(600)
    await incidents.close(inc.id)
    await cam_hub.block_till_done()
    closed_at = clock.time()
    during = may_share(cam_hub, gate, LINK, "snapshot")
    assert during.allowed and during.until == closed_at + 30 * 60
    await clock.advance(30 * 60 - 1)
    assert may_share(cam_hub, gate, VIEWER, "live").allowed
    await clock.advance(1)
    refused = may_share(cam_hub, gate, VIEWER, "live")
    assert (refused.allowed, refused.reason) == (False, "outside_alarm_window")
    # Shorter owner setting.
    gate.on_alarm_minutes = 5
    second = await incidents.open("tip", title="ผู้ต้องสงสัย")
    await incidents.close(second.id)
    await cam_hub.block_till_done()
    await clock.advance(5 * 60 - 1)
    assert may_share(cam_hub, gate, STATION, "snapshot")
    await clock.advance(1)
    assert not may_share(cam_hub, gate, STATION, "snapshot")


async def test_forgotten_incident_window_is_bounded(cam_hub, clock) -> None:
    gate = cam(cam_hub, "demo_gate")
    await cam_hub.data[INCIDENT_RUNTIME].open("sos", title="left open")
    await cam_hub.block_till_done()
    await clock.advance(23 * 3600)
    assert may_share(cam_hub, gate, STATION, "snapshot")
    await clock.advance(3600)
    assert not may_share(cam_hub, gate, STATION, "snapshot")  # capped at on_alarm_max_hours (24)


async def test_window_survives_restart(make_hub, config_dir, clock) -> None:
    hub = await make_hub("demo: {}\n")
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    await hub.stop()
    again = await make_hub("demo: {}\n", folder=config_dir)
    decision = may_share(again, cam(again, "demo_gate"), STATION, "snapshot")
    assert decision.allowed and decision.incident_ids == (inc.id,)


async def test_station_refusal_is_audited(cam_hub) -> None:
    decision = await check_and_audit(
        cam_hub, cam(cam_hub, "demo_gate"), STATION, "snapshot", detail={"snapshot_id": "01TEST"}
    )
    assert not decision
    [entry] = await cam_hub.audit.query(action="camera.view", target="camera.demo_gate")
    assert (entry.actor, entry.role, entry.source, entry.result) == (
        "station:angthong-mueang",
        "station",
        "station",
        "refused",
    )
    assert entry.detail["reason"] == "outside_alarm_window" and entry.detail["snapshot_id"] == "01TEST"


async def test_registry_for_the_station(cam_hub) -> None:
    from integrations.camera import registry_info

    info = registry_info(cam_hub)
    ids = {c["entity_id"] for c in info["cameras"]}
    assert ids == {"camera.demo_gate", "camera.registry_cam", "camera.always_cam", "camera.ptz_cam"}
    assert "camera.never_cam" not in ids  # never: the station does not even learn it exists
    entry = next(c for c in info["cameras"] if c["entity_id"] == "camera.registry_cam")
    assert entry["owner"] == {"name": "ร้านทองทดสอบ", "phone": "02-000-0000"}
    assert "rtsp" not in str(info)


async def test_plain_thai_explanation(cam_hub) -> None:
    gate = cam(cam_hub, "demo_gate")
    text = explain_policy(gate, "th")
    assert "30 นาที" in text and "บันทึก" in text
    assert "30 minutes" in explain_policy(gate, "en")
    assert "ไม่ออกไปนอกฮับ" in explain_policy(cam(cam_hub, "never_cam"), "th")
