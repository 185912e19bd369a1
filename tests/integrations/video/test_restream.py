"""The restream: one RTSP pull per camera (ipycam's real H.264 server), fMP4 out, fan-out, failures."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import time

import pytest
from aiohttp import web
from PIL import Image

from hub.testing import wait_for
from integrations.video import StreamError, Subscription
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from integrations.video.mp4 import BoxReader, Fragment, parse_fragment, parse_init
from tests.integrations.onvif.conftest import _stop, free_port
from tests.integrations.video.conftest import (
    VIDEO_BLOCK,
    add_stream_camera,
    ffmpeg_children,
    make_h264,
    probe,
    start_private_ipycam,
)


async def _collect(sub: Subscription, fragments: int) -> bytes:
    out = bytearray()
    seen = 0
    async for chunk in sub:
        out += chunk
        if chunk[4:8] == b"moof":
            seen += 1
            if seen >= fragments:
                break
    return bytes(out)


async def test_ipycam_restream_is_fragmented_mp4_that_ffprobe_reads(
    make_hub, ipycam, ffprobe, tmp_path
) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", ipycam.rtsp_url)
    restream = hub.data[VIDEO_RUNTIME].restream("camera.gate")
    assert not restream.running  # nothing is pulled before someone asks
    async with restream.subscribe() as sub:
        data = await asyncio.wait_for(_collect(sub, 4), 20)
    boxes = BoxReader().feed(data)
    kinds = [k for k, _ in boxes]
    assert kinds[:2] == [b"ftyp", b"moov"] and kinds[2] == b"moof"
    track = parse_init(boxes[0][1] + boxes[1][1])
    assert track.is_h264 and (track.width, track.height) == (320, 240)
    first = parse_fragment(boxes[2][1], boxes[3][1], track)
    assert first.keyframe  # a subscriber starts on a keyframe
    status = restream.status
    assert status.online and status.fps and status.bitrate_kbps and status.codec.startswith("avc1.")
    path = tmp_path / "live.mp4"
    path.write_bytes(data)
    stream = (await probe(ffprobe, path))["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 320, 240)
    # The pull stops shortly after the last subscriber leaves.
    await wait_for(lambda: not restream.running, 5, "the pull to stop")
    assert restream.status.state == "idle"
    assert hub.states.get("camera.gate").attributes["stream"] == "idle"


async def test_fifty_subscribers_share_one_pull(make_hub, ipycam) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", ipycam.rtsp_url)
    restream = hub.data[VIDEO_RUNTIME].restream("camera.gate")
    subs = [restream.subscribe() for _ in range(50)]
    try:
        await asyncio.wait_for(asyncio.gather(*(_collect(s, 2) for s in subs)), 30)
        marker = f":{ipycam.rtsp_port}/"
        assert len(ffmpeg_children(marker)) == 1  # one RTSP session to the camera
        assert restream.pulls == 1 and restream.status.subscribers == 50
        assert hub.data[VIDEO_RUNTIME].restream("camera.gate") is restream
    finally:
        for sub in subs:
            sub.close()
    await wait_for(lambda: not ffmpeg_children(f":{ipycam.rtsp_port}/"), 5, "ffmpeg to end")


async def test_a_laggard_drops_to_the_next_keyframe_without_slowing_others(make_hub, ipycam) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", ipycam.rtsp_url)
    restream = hub.data[VIDEO_RUNTIME].restream("camera.gate")
    async with restream.subscribe(max_fragments=3) as slow, restream.subscribe() as fast:
        # The fast one keeps reading while the slow one reads nothing.
        await asyncio.wait_for(_collect(fast, 12), 30)
        assert slow.dropped > 0
        assert len(slow._items) <= 4  # bounded: at most the init and three fragments
        # It was never handed anything, so it gets the init segment again, then a keyframe.
        first = await asyncio.wait_for(slow.next_item(), 10)
        assert first.data[4:8] == b"ftyp"
        frag = await asyncio.wait_for(slow.next_item(), 10)
        assert isinstance(frag, Fragment) and frag.keyframe
        assert fast.dropped == 0


async def test_frame_grab_decodes_one_keyframe(make_hub, ipycam) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", ipycam.rtsp_url)
    jpeg = await hub.data[VIDEO_RUNTIME].latest_jpeg("camera.gate", within=15)
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG" and image.size == (320, 240)
    restream = hub.data[VIDEO_RUNTIME].restream("camera.gate")
    await wait_for(lambda: not restream.running, 5, "the grab's pull to stop")


async def test_substream_profile(make_hub, ipycam) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", ipycam.rtsp_url, ipycam.rtsp_url.replace("video_main", "video_sub"))
    add_stream_camera(hub, "nosub", ipycam.rtsp_url)
    runtime = hub.data[VIDEO_RUNTIME]
    async with runtime.restream("camera.gate", "sub").subscribe() as sub:
        init = await asyncio.wait_for(sub.next_item(), 15)
        assert (init.track.width, init.track.height) == (160, 120)
    nosub = runtime.restream("camera.nosub", "sub")
    async with nosub.subscribe():
        await wait_for(lambda: nosub.status.reason == "no_sub", 5, "no substream reason")
    assert "substream" in nosub.status.text("en") and nosub.status.text("th")
    with pytest.raises(ValueError, match="profile"):
        runtime.restream("camera.gate", "4k")
    with pytest.raises(KeyError):
        runtime.restream("camera.nope")


async def test_camera_dropped_mid_stream_shows_offline_and_resumes(make_hub, private_ipycam) -> None:
    cam = start_private_ipycam()
    private_ipycam.append(cam)
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", cam.rtsp_url)
    restream = hub.data[VIDEO_RUNTIME].restream("camera.gate")
    async with restream.subscribe() as sub:
        await asyncio.wait_for(_collect(sub, 2), 20)
        _stop(cam)
        t0 = time.monotonic()
        await wait_for(lambda: restream.status.state == "offline", 5, "offline")
        assert time.monotonic() - t0 < 5
        attrs = hub.states.get("camera.gate").attributes
        assert attrs["stream"] == "offline" and attrs["stream_error"]
        assert restream.status.text("th").startswith("กล้องออฟไลน์")
        # The camera comes back on the same address: the stream resumes by itself.
        private_ipycam.append(start_private_ipycam(cam.onvif_port, cam.rtsp_port))
        await wait_for(lambda: restream.status.online, 30, "the stream to resume")
        assert restream.pulls >= 2
        # The subscriber gets a new init segment, then fragments from a keyframe.
        item = await asyncio.wait_for(sub.next_item(), 10)
        while isinstance(item, Fragment):
            item = await asyncio.wait_for(sub.next_item(), 10)
        assert item.data[4:8] == b"ftyp"
        frag = await asyncio.wait_for(sub.next_item(), 10)
        assert isinstance(frag, Fragment) and frag.keyframe


async def test_a_frozen_camera_is_restarted(make_hub, private_ipycam) -> None:
    cam = start_private_ipycam()
    private_ipycam.append(cam)
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", cam.rtsp_url)
    restream = hub.data[VIDEO_RUNTIME].restream("camera.gate")
    async with restream.subscribe() as sub:
        await asyncio.wait_for(_collect(sub, 2), 20)
        os.killpg(cam.proc.pid, signal.SIGSTOP)  # the connection stays open, no data comes
        try:
            await wait_for(lambda: restream.status.state == "offline", 5, "offline")
            await wait_for(lambda: restream.status.restarts >= 1, 10, "a restart")
        finally:
            os.killpg(cam.proc.pid, signal.SIGCONT)
        await wait_for(lambda: restream.status.online, 40, "the stream to resume")


async def test_h265_camera_gets_a_clear_message(make_hub, tmp_path) -> None:
    clip = make_h264(tmp_path / "hevc.mp4", 2, codec="libx265")
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "hevc", f"file:{clip}")
    restream = hub.data[VIDEO_RUNTIME].restream("camera.hevc")
    async with restream.subscribe():
        await wait_for(lambda: restream.status.reason == "h265", 10, "the H.265 reason")
    assert restream.status.text("en") == "H.265 is not supported: set the camera to H.264"
    assert restream.status.text("th") == "ไม่รองรับ H.265: กรุณาตั้งกล้องเป็น H.264"
    assert hub.states.get("camera.hevc").attributes["stream_reason"] == "h265"
    assert restream.status.retry_at is not None  # retried rarely, not in a tight loop
    t0 = time.monotonic()
    with pytest.raises(StreamError) as err:
        await restream.latest_jpeg(within=10)
    assert err.value.reason == "h265"
    assert time.monotonic() - t0 < 5  # no waiting for a keyframe that an H.265 stream never gives


async def test_no_keyframe_for_too_long_restarts(make_hub, tmp_path) -> None:
    # One keyframe at the start, then 30 s of P-frames only.
    clip = make_h264(tmp_path / "onekey.mp4", 30, gop=1000)
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "cam", f"file:{clip}")
    restream = hub.data[VIDEO_RUNTIME].restream("camera.cam")
    async with restream.subscribe():
        await wait_for(lambda: restream.status.online, 10, "online")
        await wait_for(lambda: restream.status.reason == "no_keyframe", 10, "no-keyframe restart")
    assert "keyframe" in restream.status.text("en")


async def test_corrupt_stream_is_reported_and_retried(make_hub, tmp_path) -> None:
    garbage = tmp_path / "garbage.ts"
    garbage.write_bytes(bytes(range(256)) * 4000)

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(garbage)

    app = web.Application()
    app.router.add_get("/stream.ts", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        hub = await make_hub(VIDEO_BLOCK, real_clock=True)
        add_stream_camera(hub, "bad", f"http://127.0.0.1:{port}/stream.ts")
        restream = hub.data[VIDEO_RUNTIME].restream("camera.bad")
        reasons: list[str] = []
        hub.bus.listen("video_stream", lambda event: reasons.append(event.data["reason"]))
        async with restream.subscribe():
            await wait_for(lambda: restream.status.restarts >= 2, 15, "two restarts")
            assert restream.status.reason == "corrupt"
            assert hub.states.get("camera.bad").attributes["stream_reason"] == "corrupt"
        assert "corrupt" in reasons
        assert "cannot be read" in restream.status.text("en")
    finally:
        await runner.cleanup()


async def test_a_failing_camera_never_leaks_its_password(make_hub, caplog) -> None:
    dead = f"rtsp://admin:hunter2@127.0.0.1:{free_port()}/stream"
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", dead)
    restream = hub.data[VIDEO_RUNTIME].restream("camera.gate")
    with caplog.at_level(logging.DEBUG):
        async with restream.subscribe():
            await wait_for(lambda: restream.status.restarts >= 1, 10, "a failed pull")
    assert restream.status.reason == "offline"
    assert "hunter2" not in caplog.text
    assert "hunter2" not in str(hub.states.get("camera.gate").attributes)
    assert "hunter2" not in str(restream.status.as_dict())
