"""A camera without a snapshot URL takes its snapshots from the restream the hub already pulls."""

from __future__ import annotations

from hub.testing import wait_for
from integrations.onvif import CAMERAS
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from tests.integrations.onvif.conftest import camera_yaml
from tests.integrations.video.conftest import VIDEO_BLOCK


async def test_snapshot_comes_from_the_running_restream(make_hub, make_device, ipycam) -> None:
    device = await make_device(with_snapshot_uri=False, stream_uri=ipycam.rtsp_url)
    hub = await make_hub(
        VIDEO_BLOCK + "onvif:\n" + camera_yaml("gate", device.port, extra="record: {mode: continuous}"),
        real_clock=True,
    )
    camera = hub.data[CAMERAS]["camera.gate"]
    assert await camera.wait_connected(10), camera.error
    runtime = hub.data[VIDEO_RUNTIME]
    await wait_for(lambda: "camera.gate" in runtime.recorders, 10, "the recorder")
    restream = runtime.restream("camera.gate")
    await wait_for(lambda: restream.status.online, 20, "the restream")
    result = await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate"})
    assert result["errors"] == []
    row = await hub.storage.fetchone("SELECT path FROM snapshots WHERE id = ?", (result["snapshot_ids"][0],))
    stored = (hub.data_dir / row["path"]).read_bytes()
    assert restream._jpeg is not None and stored == restream._jpeg[1]  # decoded from the restream's keyframe
    assert restream.pulls == 1
