"""An ONVIF camera (ipycam) configured with ``record:``: main and sub streams found, recorded from config."""

from __future__ import annotations

from pathlib import Path

from hub.testing import BASE_CONFIG, wait_for
from integrations.onvif import CAMERAS
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from tests.integrations.onvif.conftest import camera_yaml
from tests.integrations.video.conftest import VIDEO_BLOCK

REPO = Path(__file__).resolve().parents[3]


async def test_onvif_camera_streams_and_records_from_config(make_hub, ipycam) -> None:
    hub = await make_hub(
        VIDEO_BLOCK
        + "onvif:\n"
        + camera_yaml("loop", ipycam.onvif_port, extra="record: {mode: continuous, retain_days: 2}"),
        real_clock=True,
    )
    camera = hub.data[CAMERAS]["camera.loop"]
    assert await camera.wait_connected(15), camera.error
    assert camera.record is not None and camera.record.mode == "continuous"
    # The main profile's URI and the smaller H.264 profile as the substream, with credentials for ffmpeg only.
    main, sub = camera.stream_source("main"), camera.stream_source("sub")
    assert main is not None and main.startswith("rtsp://admin:secret@127.0.0.1:")
    assert sub is not None and sub != main and sub.startswith("rtsp://admin:secret@")
    assert "secret" not in str(hub.states.get("camera.loop").attributes)
    runtime = hub.data[VIDEO_RUNTIME]
    await wait_for(lambda: "camera.loop" in runtime.recorders, 10, "the recorder (connected late)")
    recorder = runtime.recorders["camera.loop"]
    await wait_for(lambda: recorder.written >= 2, 30, "segments from the camera")
    assert hub.states.get("camera.loop").attributes["stream"] == "online"
    async with runtime.restream("camera.loop", "sub").subscribe() as live:
        init = await live.next_item()
        assert init.track.width == 160  # ipycam's substream


def test_record_and_video_blocks_are_checked(load_config) -> None:
    errors = load_config(
        "video: {segment_seconds: 0}\nonvif:\n  - {id: a, host: 127.0.0.1, record: {mode: sometimes}}\n"
    ).errors
    text = "\n".join(str(e) for e in errors)
    first = BASE_CONFIG.count("\n") + 1  # the snippet's first line
    assert f"config.yaml:{first}: video.segment_seconds" in text
    assert f"config.yaml:{first + 2}: onvif[0].record.mode: expected one of: continuous, events" in text


def test_the_cameras_example_config_loads(load_config, config_dir) -> None:
    example = (REPO / "docs" / "config-cameras.example.yaml").read_text(encoding="utf-8")
    (config_dir / "secrets.yaml").write_text("market_gate_cam_pw: a\ngold_shop_cam_pw: b\n", encoding="utf-8")
    loaded = load_config(example)
    assert [str(e) for e in loaded.errors] == []
    assert loaded.blocks["video"].segment_seconds == 4
    assert loaded.blocks["onvif"][0].record.mode == "events"
    assert loaded.blocks["onvif"][1].record.mode == "continuous"
