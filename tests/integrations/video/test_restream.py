"""The restream: one RTSP pull per camera (ipycam's real H.264 server), fMP4 out, fan-out, failures."""

from __future__ import annotations

import asyncio

from hub.testing import wait_for
from integrations.video import VIDEO, Subscription
from integrations.video.mp4 import BoxReader, parse_fragment, parse_init
from tests.integrations.video.conftest import VIDEO_BLOCK, add_stream_camera, probe


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
    restream = hub.data[VIDEO].restream("camera.gate")
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
