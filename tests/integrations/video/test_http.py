"""HTTP: the hub's live view (fMP4 for admins, audited), status, and the video page."""

from __future__ import annotations

import asyncio

from hub.testing import wait_for
from integrations.camera.config import RecordConfig
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from integrations.video.mp4 import BoxReader
from tests.integrations.video.conftest import VIDEO_BLOCK, add_stream_camera, make_h264


async def test_admin_live_view_streams_mp4_and_is_audited(make_hub, ipycam, client_of) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", ipycam.rtsp_url)
    admin = await client_of(hub, "admin")
    async with admin.get("/api/video/camera.gate/live.mp4") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
        data = b""
        while data.count(b"moof") < 2:
            data += await asyncio.wait_for(resp.content.read(65536), 15)
    kinds = [k for k, _ in BoxReader().feed(data)]
    assert kinds[:3] == [b"ftyp", b"moov", b"moof"]
    entries = await hub.audit.query(action="camera.view", target="camera.gate")
    assert entries and entries[0].detail["what"] == "live" and entries[0].actor == "test-admin"
    status = await (await admin.get("/api/video/camera.gate/status?lang=th")).json()
    assert status["streams"]["main"]["codec"].startswith("avc1.")
    assert status["state_text"] in ("ออนไลน์", "พัก")  # Thai, never the state code
    page = await admin.get("/video/camera.gate")
    assert page.status == 200 and "video-player" in await page.text()
    camera_page = await (await admin.get("/cameras/camera.gate")).text()
    assert "/video/camera.gate" in camera_page
    assert 'data-status-url="/api/video/camera.gate/status?lang=th"' in camera_page


async def test_viewers_get_no_live_view(make_hub, client_of) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", "rtsp://127.0.0.1:9/none")
    viewer = await client_of(hub, "viewer")
    assert (await viewer.get("/api/video/camera.gate/live.mp4")).status == 403
    assert (await viewer.get("/api/video/camera.nope/status")).status == 404
    page = await (await viewer.get("/video/camera.gate")).text()
    assert "video-player" not in page  # the live player is for admins
    assert "video-timeline" not in page  # recordings are for operators and up


async def test_recordings_are_listed_and_played_by_staff_audited(make_hub, client_of, tmp_path) -> None:
    clip = make_h264(tmp_path / "cam.mp4", 6, gop=10)
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "till", f"file:{clip}", record=RecordConfig(mode="continuous"))
    runtime = hub.data[VIDEO_RUNTIME]
    runtime.start_recorders()
    await wait_for(lambda: runtime.recorders["camera.till"].written >= 2, 20, "segments")
    operator = await client_of(hub, "operator")
    listing = await (await operator.get("/api/video/camera.till/recordings")).json()
    assert len(listing["segments"]) >= 2 and "path" not in listing["segments"][0]
    seg = listing["segments"][0]
    resp = await operator.get(f"/api/video/segments/{seg['id']}.mp4")
    assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
    body = await resp.read()
    assert body[4:8] == b"ftyp" and len(body) == seg["size"]
    entries = await hub.audit.query(action="camera.view", target="camera.till")
    assert entries[0].detail["what"] == "recording" and entries[0].detail["segment"] == seg["id"]
    viewer = await client_of(hub, "viewer")
    assert (await viewer.get("/api/video/camera.till/recordings")).status == 403
    assert (await viewer.get(f"/api/video/segments/{seg['id']}.mp4")).status == 403
    assert (await operator.get("/api/video/segments/999999.mp4")).status == 404
    bad = await operator.get("/api/video/camera.till/recordings?start=10&end=5")
    assert bad.status == 400
    page = await (await operator.get("/video/camera.till")).text()
    assert "video-timeline" in page and "บันทึกต่อเนื่อง" in page  # Thai by default
