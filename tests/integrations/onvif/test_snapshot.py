"""Snapshots: Digest/Basic, bad content, RTSP frame grabs, incident timelines and the pre-alarm buffer."""

from __future__ import annotations

import io

from PIL import Image

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.testing import wait_for
from integrations.onvif import CAMERAS
from tests.integrations.onvif.conftest import camera_yaml, free_port


async def _camera(make_hub, device, extra: str = ""):
    hub = await make_hub("onvif:\n" + camera_yaml("gate", device.port, extra=extra))
    camera = hub.data[CAMERAS]["camera.gate"]
    assert await camera.wait_connected(5), camera.error
    return hub, camera


async def test_digest_snapshot_into_incident(make_hub, fake_device) -> None:
    hub, camera = await _camera(make_hub, fake_device)
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ประตูตลาด")
    result = await hub.services.call(
        "camera", "snapshot", {"entity_id": "camera.gate", "incident_id": inc.id}
    )
    assert result["errors"] == [] and len(result["snapshot_ids"]) == 1
    snap_id = result["snapshot_ids"][0]
    row = await hub.storage.fetchone("SELECT * FROM snapshots WHERE id = ?", (snap_id,))
    assert row["incident_id"] == inc.id and row["entity_id"] == "camera.gate"
    assert (hub.data_dir / row["path"]).read_bytes() == fake_device.jpeg
    timeline = (await hub.data[INCIDENT_RUNTIME].get(inc.id)).timeline
    assert any(snap_id in entry.attachments for entry in timeline)
    assert camera.snapshot_auth == "digest"
    assert hub.states.get("camera.gate").attributes["last_snapshot_id"] == snap_id
    before = fake_device.snapshot_requests
    await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate"})
    assert (
        fake_device.snapshot_requests == before + 2
    )  # the remembered mode: challenge + answer, no Basic try


async def test_not_a_jpeg_is_rejected(make_hub, fake_device) -> None:
    hub, camera = await _camera(make_hub, fake_device)
    fake_device.snapshot_content = "html"
    result = await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate"})
    assert result["snapshot_ids"] == [] and "did not return a JPEG" in result["errors"][0]
    fake_device.snapshot_content = "huge"
    result = await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate"})
    assert result["snapshot_ids"] == [] and "limit" in result["errors"][0]
    assert (await hub.storage.fetchone("SELECT COUNT(*) AS n FROM snapshots"))["n"] == 0


async def test_snapshot_wrong_password(make_hub, fake_device) -> None:
    hub, camera = await _camera(make_hub, fake_device)
    fake_device.password = "changed-on-the-camera"
    result = await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate"})
    assert "authentication failed" in result["errors"][0]


async def test_frame_from_rtsp_when_no_snapshot_uri(make_hub, make_device, ipycam) -> None:
    # A camera without GetSnapshotUri whose stream is ipycam's real RTSP server on loopback.
    device = await make_device(with_snapshot_uri=False, stream_uri=ipycam.rtsp_url)
    hub, camera = await _camera(make_hub, device)
    assert camera.snapshot_uri is None
    result = await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate"})
    assert result["errors"] == []
    row = await hub.storage.fetchone("SELECT path FROM snapshots WHERE id = ?", (result["snapshot_ids"][0],))
    image = Image.open(io.BytesIO((hub.data_dir / row["path"]).read_bytes()))
    assert image.format == "JPEG" and image.size == (320, 240)


async def test_rtsp_failure_does_not_leak_the_password(make_hub, make_device) -> None:
    device = await make_device(with_snapshot_uri=False, stream_uri=f"rtsp://127.0.0.1:{free_port()}/x")
    hub, camera = await _camera(make_hub, device)
    result = await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate"})
    assert result["snapshot_ids"] == [] and result["errors"]
    assert "secret" not in result["errors"][0] and "ffmpeg" in result["errors"][0]


async def test_prebuffer_attaches_before_and_after_frames(make_hub, fake_device, clock) -> None:
    hub, camera = await _camera(make_hub, fake_device, "prebuffer: 3, prebuffer_interval: 2")
    from integrations.camera.prebuffer import PREBUFFERS

    buffer = hub.data[PREBUFFERS]["camera.gate"]
    for n in range(1, 5):
        await clock.advance(2)
        await wait_for(
            lambda n=n: len(buffer.frames) == min(n, 3) and buffer.captured == n,  # type: ignore[misc]  # mypy cannot type a lambda with a bound default
            what=f"frame {n}",
        )
    assert len(buffer.frames) == 3  # a ring: the oldest frame was dropped
    assert (await hub.storage.fetchone("SELECT COUNT(*) AS n FROM snapshots"))[
        "n"
    ] == 0  # nothing on disk yet
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    await hub.block_till_done()
    rows = await hub.storage.fetchall(
        "SELECT phase, ts FROM snapshots WHERE incident_id = ? ORDER BY ts", (inc.id,)
    )
    assert [r["phase"] for r in rows] == ["before"] * 3
    assert all(r["ts"] <= inc.opened_at for r in rows)
    for n in range(3):
        await clock.advance(2)
        await wait_for(
            lambda n=n: len(buffer._after) == 0 or buffer._after[0].remaining == 2 - n,  # type: ignore[misc]  # mypy cannot type a lambda with a bound default
            what=f"after frame {n}",
        )
    rows = await hub.storage.fetchall("SELECT phase FROM snapshots WHERE incident_id = ?", (inc.id,))
    assert sorted(r["phase"] for r in rows) == ["after"] * 3 + ["before"] * 3
    kinds = [
        e.data.get("phase")
        for e in (await hub.data[INCIDENT_RUNTIME].get(inc.id)).timeline
        if e.kind == "snapshot"
    ]
    assert kinds[0] == "before" and set(kinds) == {"before", "after"}
    # A manual incident does not attach pre-alarm frames.
    manual = await hub.data[INCIDENT_RUNTIME].open("manual", title="note")
    await hub.block_till_done()
    assert await hub.storage.fetchall("SELECT id FROM snapshots WHERE incident_id = ?", (manual.id,)) == []
