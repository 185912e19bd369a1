"""The hub enforces the share policy on every route that hands out an image or a stream, and audits it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.camera import CameraEntity, snapshot_link
from tests.integrations.camera.conftest import JPEG


async def _snapshot(hub, object_id: str) -> str:
    camera = hub.entities.get(f"camera.{object_id}", CameraEntity)
    return await camera.snapshot()


async def _views(hub, target: str) -> list[Any]:
    return await hub.audit.query(action="camera.view", target=target)


async def test_unauthenticated_gets_401_without_audit(cam_hub, client_for) -> None:
    snap = await _snapshot(cam_hub, "always_cam")
    anon = await client_for(anonymous=True)
    resp = await anon.get(f"/api/snapshots/{snap}.jpg")
    assert resp.status == 401
    assert await _views(cam_hub, "camera.always_cam") == []
    assert (await anon.get("/api/camera_proxy/camera.always_cam")).status == 401
    assert (await anon.get("/api/cameras/camera.always_cam/stream")).status == 401


async def test_viewer_refused_outside_window_and_audited(cam_hub, client_for) -> None:
    snap = await _snapshot(cam_hub, "demo_gate")
    viewer = await client_for("viewer")
    resp = await viewer.get(f"/api/snapshots/{snap}.jpg")
    assert resp.status == 403
    body = await resp.json()
    assert body["reason"] == "outside_alarm_window"
    [entry] = await _views(cam_hub, "camera.demo_gate")
    assert (entry.actor, entry.role, entry.result) == ("test-viewer", "viewer", "refused")
    assert entry.detail["snapshot_id"] == snap and entry.ip == "127.0.0.1"


async def test_staff_always_served_and_audited(cam_hub, client_for) -> None:
    snap = await _snapshot(cam_hub, "never_cam")
    operator = await client_for("operator")
    resp = await operator.get(f"/api/snapshots/{snap}.jpg")
    assert resp.status == 200 and await resp.read() == JPEG
    assert (await operator.get(f"/api/snapshots/{snap}.jpg")).status == 200
    [entry] = await _views(cam_hub, "camera.never_cam")  # staff re-views coalesce into one entry
    assert (entry.actor, entry.result, entry.detail["reason"]) == ("test-operator", "ok", "hub_staff")


async def test_links_expired_wrong_and_outside_window(cam_hub, client_for, clock) -> None:
    snap = await _snapshot(cam_hub, "demo_gate")
    anon = await client_for(anonymous=True)
    link = snapshot_link(cam_hub, snap, ttl=3600, party="line:big6")
    assert "for=line%3Abig6" in link
    # A valid link, but no incident: the owner's on_alarm policy refuses.
    resp = await anon.get(link)
    assert resp.status == 403 and (await resp.json())["reason"] == "outside_alarm_window"
    # A tampered "for" breaks the signature.
    assert (await anon.get(link.replace("big6", "pineapple"))).status == 403
    assert (await anon.get(link.replace("big6", "pineapple"))).status == 403  # same refusal again: coalesced
    assert (await anon.get(link.replace("sig=", "sig=x"))).status == 403
    await clock.advance(3601)
    assert (await anon.get(link)).status == 403  # expired
    entries = await _views(cam_hub, "camera.demo_gate")
    reasons = sorted(e.detail["reason"] for e in entries)
    # Each refusal is recorded; only identical repeats within a minute would coalesce.
    assert reasons == ["link_invalid", "link_invalid", "link_invalid", "outside_alarm_window"]
    assert all(e.result == "refused" and e.source == "signed_link" for e in entries)
    assert {e.actor for e in entries} == {"link:line:big6", "link:line:pineapple"}


async def test_link_during_incident_is_served_and_audited(cam_hub, client_for) -> None:
    inc = await cam_hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    await cam_hub.block_till_done()
    camera = cam_hub.entities.get("camera.demo_gate", CameraEntity)
    snap = await camera.snapshot(inc.id)
    anon = await client_for(anonymous=True)
    resp = await anon.get(snapshot_link(cam_hub, snap, party="station:angthong-mueang"))
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    [entry] = await _views(cam_hub, "camera.demo_gate")
    assert (entry.actor, entry.result, entry.detail["incident_id"]) == (
        "link:station:angthong-mueang",
        "ok",
        inc.id,
    )
    assert entry.detail["window_incidents"] == [inc.id]


async def test_old_style_link_still_verifies(cam_hub, client_for) -> None:
    snap = await _snapshot(cam_hub, "always_cam")
    anon = await client_for(anonymous=True)
    resp = await anon.get(snapshot_link(cam_hub, snap))
    assert resp.status == 200
    [entry] = await _views(cam_hub, "camera.always_cam")
    assert entry.actor == "link"


async def test_live_proxy(cam_hub, client_for) -> None:
    viewer = await client_for("viewer")
    resp = await viewer.get("/api/camera_proxy/camera.always_cam")
    assert resp.status == 200 and await resp.read() == JPEG
    assert (await viewer.get("/api/camera_proxy/camera.always_cam")).status == 200
    camera = cam_hub.entities.get("camera.always_cam", CameraEntity)
    assert camera.fetches == 1  # the second view reused the fresh frame
    assert len(await _views(cam_hub, "camera.always_cam")) == 1  # live views coalesce
    assert (await viewer.get("/api/camera_proxy/camera.never_cam")).status == 403
    assert (await viewer.get("/api/camera_proxy/camera.nope")).status == 404


async def test_live_proxy_falls_back_to_stored(cam_hub, client_for) -> None:
    camera = cam_hub.entities.get("camera.always_cam", CameraEntity)
    await camera.snapshot()

    async def broken() -> bytes:
        return b"<html>camera error</html>"

    camera.fetch_snapshot = broken
    admin = await client_for("admin")
    resp = await admin.get("/api/camera_proxy/camera.always_cam")
    assert resp.status == 200 and resp.headers["X-Camera-Stale"] == "1" and await resp.read() == JPEG


async def test_stream_uri(cam_hub, client_for) -> None:
    admin = await client_for("admin")
    resp = await admin.get("/api/cameras/camera.demo_gate/stream")
    assert resp.status == 404  # the demo has no stream (and the hand-out attempt is still audited)
    resp = await admin.get("/api/cameras/camera.never_cam/stream")
    assert resp.status == 200 and (await resp.json())["stream_uri"] == "rtsp://192.0.2.10:554/never_cam"
    viewer = await client_for("viewer")
    resp = await viewer.get("/api/cameras/camera.ptz_cam/stream")
    assert resp.status == 403
    streams = await cam_hub.audit.query(action="camera.stream")
    assert [(e.target, e.actor, e.result) for e in reversed(streams)] == [
        ("camera.demo_gate", "test-admin", "ok"),
        ("camera.never_cam", "test-admin", "ok"),
        ("camera.ptz_cam", "test-viewer", "refused"),
    ]


async def test_camera_list_and_audit_api(cam_hub, client_for) -> None:
    viewer = await client_for("viewer")
    cameras = {c["entity_id"]: c for c in (await (await viewer.get("/api/cameras")).json())["cameras"]}
    assert cameras["camera.always_cam"]["live"]["allowed"] is True
    assert cameras["camera.never_cam"]["live"]["reason"] == "policy_never"
    assert cameras["camera.demo_gate"]["owner"]["name"]
    detail = await (await viewer.get("/api/cameras/camera.ptz_cam")).json()
    assert detail["presets"] == [{"token": "1", "name": "Gate"}] and detail["ptz"] is True
    await viewer.get("/api/camera_proxy/camera.never_cam")
    assert (await viewer.get("/api/cameras/audit")).status == 403
    operator = await client_for("operator")
    entries = (await (await operator.get("/api/cameras/audit?entity_id=camera.never_cam")).json())["entries"]
    assert [(e["actor"], e["result"]) for e in entries] == [("test-viewer", "refused")]


async def test_pages(cam_hub, client_for) -> None:
    viewer = await client_for("viewer")
    wall = await (await viewer.get("/cameras")).text()
    assert 'src="/api/camera_proxy/camera.always_cam"' in wall
    assert 'src="/api/camera_proxy/camera.never_cam"' not in wall  # refused tiles carry no image URL
    assert "ไม่แชร์" in wall and "/static/camera/camera.js" in wall
    page = await (await viewer.get(f"/cameras/{quote('camera.demo_gate')}")).text()
    assert "30 นาที" in page and 'id="stream-uri"' not in page
    assert (await viewer.get("/cameras/audit")).status == 403
    admin = await client_for("admin")
    page = await (await admin.get("/cameras/camera.never_cam")).text()
    assert "rtsp://192.0.2.10:554/never_cam" in page
    page = await (await admin.get("/cameras/camera.ptz_cam")).text()
    assert 'data-api="/api/services/camera/ptz_preset"' in page and "Gate" in page
    audit = await (await admin.get("/cameras/audit")).text()
    assert "test-admin" in audit  # the stream URI shown on the page was audited
    assert (await admin.get("/cameras/camera.nope")).status == 404
    assert (await admin.get("/static/camera/camera.js")).status == 200


async def test_ptz_services(cam_hub, client_for, clock) -> None:
    camera = cam_hub.entities.get("camera.ptz_cam", CameraEntity)
    operator = await client_for("operator")
    resp = await operator.post(
        "/api/services/camera/ptz_preset", json={"entity_id": "camera.ptz_cam", "preset": "Gate"}
    )
    assert resp.status == 200
    assert (await resp.json())["service_response"]["moved"][0]["token"] == "1"
    await cam_hub.services.call(
        "camera", "ptz_move", {"entity_id": "camera.ptz_cam", "pan": -0.5, "duration": 2}
    )
    assert camera.ptz_calls[-1] == ("continuous", (-0.5, 0.0, 0.0))
    await clock.advance(2)
    assert camera.ptz_calls[-1] == ("stop", None)
    resp = await operator.post(
        "/api/services/camera/ptz_preset", json={"entity_id": "camera.always_cam", "preset": "1"}
    )
    assert resp.status >= 400 and "no pan/tilt/zoom" in (await resp.json())["error"]
    viewer = await client_for("viewer")
    resp = await viewer.post(
        "/api/services/camera/ptz_preset", json={"entity_id": "camera.ptz_cam", "preset": "1"}
    )
    assert resp.status == 403


async def test_incident_snapshot_service_still_works(cam_hub) -> None:
    inc = await cam_hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    result = await cam_hub.services.call(
        "camera", "snapshot", {"entity_id": ["camera.demo_gate", "camera.always_cam"], "incident_id": inc.id}
    )
    assert len(result["snapshot_ids"]) == 2 and result["errors"] == []
    timeline = (await cam_hub.data[INCIDENT_RUNTIME].get(inc.id)).timeline
    attached = [a for e in timeline for a in e.attachments]
    assert set(result["snapshot_ids"]) <= set(attached)


async def test_viewers_learn_nothing_of_a_never_camera(cam_hub, client_for) -> None:
    """docs/cameras.md: a ``never`` camera promises viewers nothing, not even its registry entry."""
    secret_facts = {
        "manufacturer": "Hikvision",
        "model": "DS-2CD2043",
        "serial": "SN-NEVER-42",
        "firmware": "V5.7",
    }
    for object_id in ("never_cam", "registry_cam"):
        camera = cam_hub.entities.get(f"camera.{object_id}", CameraEntity)
        camera.device_info = lambda: secret_facts
        await camera.snapshot()
    never = cam_hub.entities.get("camera.never_cam", CameraEntity)
    snap_id = never.last_snapshot_id
    assert snap_id
    viewer = await client_for("viewer")

    listed = {c["entity_id"]: c for c in (await (await viewer.get("/api/cameras")).json())["cameras"]}
    detail = await (await viewer.get("/api/cameras/camera.never_cam")).json()
    page = await (await viewer.get("/cameras/camera.never_cam")).text()
    wall = await (await viewer.get("/cameras")).text()
    for shown in (str(listed["camera.never_cam"]), str(detail), page, wall):
        for fact in (snap_id, "SN-NEVER-42", "DS-2CD2043", "V5.7", "02-000-0000"):
            assert fact not in shown
    assert listed["camera.never_cam"]["live"]["reason"] == "policy_never"  # it says why there is nothing

    # registry: the registry entry, but no device facts and no picture id
    registry = await (await viewer.get("/api/cameras/camera.registry_cam")).json()
    assert registry["owner"]["phone"] == "02-000-0000"
    assert "SN-NEVER-42" not in str(registry) and "last_snapshot_id" not in registry

    # the owner's staff still see everything
    admin = await client_for("admin")
    full = await (await admin.get("/api/cameras/camera.never_cam")).json()
    assert full["device"]["serial"] == "SN-NEVER-42" and full["last_snapshot_id"] == snap_id
