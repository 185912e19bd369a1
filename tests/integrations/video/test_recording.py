"""Recording: keyframe-aligned segments, the index, clips, pre-roll, evidence locks, retention, a full disk."""

from __future__ import annotations

import asyncio

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.errors import ServiceError
from hub.testing import wait_for
from integrations.camera.config import RecordConfig
from integrations.notify.const import RUNTIME as NOTIFY_RUNTIME
from integrations.video import NoFootage
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from integrations.video.mp4 import BoxReader, parse_fragment, parse_init
from tests.integrations.video.conftest import (
    VIDEO_BLOCK,
    add_stream_camera,
    ffmpeg_children,
    make_h264,
    probe,
)

pytestmark = pytest.mark.usefixtures("ffprobe")


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory):
    """10 s of H.264 test pattern, 10 fps, a keyframe every second (looped by the camera)."""
    return make_h264(tmp_path_factory.mktemp("media") / "cam.mp4", 10, gop=10)


def _starts_on_keyframe(data: bytes) -> bool:
    boxes = BoxReader().feed(data)
    track = parse_init(boxes[0][1] + boxes[1][1])
    assert boxes[2][0] == b"moof"
    return parse_fragment(boxes[2][1], boxes[3][1], track).keyframe


async def test_continuous_recording_segments_and_clip(make_hub, clip_file, ffprobe, tmp_path) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "till", f"file:{clip_file}", record=RecordConfig(mode="continuous"))
    runtime = hub.data[VIDEO_RUNTIME]
    runtime.start_recorders()
    recorder = runtime.recorders["camera.till"]
    await wait_for(lambda: recorder.written >= 4, 20, "four segments")
    segments = await runtime.recordings.segments("camera.till", 0, hub.clock.time() + 60)
    assert len(segments) >= 4
    for seg in segments:
        assert seg.path.is_file() and seg.size == seg.path.stat().st_size
        assert 0.9 <= seg.duration <= 2.5  # segment_seconds: 1, cut on the next keyframe
        assert _starts_on_keyframe(seg.path.read_bytes())
        assert seg.trigger == "continuous" and not seg.locked
    assert all(a.end <= b.start + 0.2 for a, b in zip(segments, segments[1:], strict=False))
    info = await probe(ffprobe, segments[0].path)
    assert info["streams"][0]["codec_name"] == "h264"
    state = hub.states.get("camera.till").attributes
    assert state["recording"] is True and state["record_mode"] == "continuous"
    # A clip over the middle segments: joined without re-encoding, keyframe-aligned.
    start, end = segments[1].start + 0.1, segments[3].end - 0.1
    dest = await runtime.recordings.clip("camera.till", start, end, tmp_path / "out" / "clip.mp4")
    clip = await probe(ffprobe, dest)
    duration = float(clip["format"]["duration"])
    expected = segments[3].end - segments[1].start
    assert abs(duration - expected) < 0.6, (duration, expected)
    assert int(clip["streams"][0]["nb_read_packets"]) >= 10 * (expected - 0.5)
    with pytest.raises(NoFootage):
        await runtime.recordings.clip("camera.till", 1000, 2000, tmp_path / "none.mp4")
    with pytest.raises(ValueError, match="after start"):
        await runtime.recordings.clip("camera.till", end, start, tmp_path / "bad.mp4")
    with pytest.raises(ValueError, match="at most"):
        await runtime.recordings.clip("camera.till", 0, 3 * 3600, tmp_path / "long.mp4")


async def test_events_mode_keeps_pre_roll_and_locks_until_released(make_hub, clip_file) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    camera = add_stream_camera(
        hub, "gate", f"file:{clip_file}", record=RecordConfig(mode="events", pre_roll=3, post_roll=1)
    )
    runtime = hub.data[VIDEO_RUNTIME]
    recorder = runtime.record(camera)
    # Nothing is written without an event, but the rolling buffer fills.
    await wait_for(lambda: sum(s.end - s.start for s in recorder.pre_roll) >= 2, 20, "the pre-roll buffer")
    assert recorder.written == 0
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    await wait_for(lambda: recorder.written >= 4, 20, "event segments")
    segments = await runtime.recordings.segments("camera.gate", 0, hub.clock.time() + 60)
    assert segments[0].start < inc.opened_at - 1.5  # footage from before the press
    assert all(s.trigger == "event" and s.locked for s in segments)
    await hub.data[INCIDENT_RUNTIME].close(inc.id, by="test")
    written = recorder.written
    await wait_for(lambda: not recorder.recording, 10, "post-roll to end")
    closed = (await hub.data[INCIDENT_RUNTIME].get(inc.id)).closed_at
    final = await runtime.recordings.segments("camera.gate", 0, hub.clock.time() + 60)
    assert final[-1].start <= closed + 1 + 2.5 and recorder.written >= written
    # Closed but not released: still locked, retention cannot delete it.
    await wait_for(lambda: runtime.recordings.total_bytes > 0, 5, "bytes counted")
    assert await runtime.recordings.oldest_unlocked() == [] or all(
        s.start > closed + 1 for s in await runtime.recordings.oldest_unlocked()
    )
    assert (await runtime.recordings.lock_info(inc.id)).released_at is None
    # Releasing needs a supervisor; an open incident cannot be released.
    inc2 = await hub.data[INCIDENT_RUNTIME].open("manual", title="ยังเปิดอยู่")
    with pytest.raises(ServiceError, match="still open"):
        await hub.services.call("video", "release", {"incident_id": inc2.id})
    await hub.services.call("video", "release", {"incident_id": inc.id})
    assert (await runtime.recordings.lock_info(inc.id)).released_at is not None
    entries = await hub.audit.query(action="video.release", target=inc.id)
    assert len(entries) == 1
    await hub.data[INCIDENT_RUNTIME].close(inc2.id, by="test")
    await hub.services.call("video", "release", {"incident_id": inc2.id})
    after = await runtime.recordings.segments("camera.gate", 0, hub.clock.time() + 60)
    assert not any(s.locked for s in after)


async def test_disk_budget_deletes_oldest_and_alarms_when_all_is_locked(make_hub, clip_file) -> None:
    # A budget of about six segments (a segment of this test pattern is ~7 KB).
    hub = await make_hub(
        VIDEO_BLOCK.replace("segment_seconds: 1", "segment_seconds: 1, disk_budget_gb: 0.00004"),
        real_clock=True,
    )
    add_stream_camera(hub, "till", f"file:{clip_file}", record=RecordConfig(mode="continuous"))
    runtime = hub.data[VIDEO_RUNTIME]
    runtime.start_recorders()
    recorder = runtime.recorders["camera.till"]
    budget = runtime.retention.budget_bytes
    await wait_for(lambda: runtime.retention.deleted >= 2, 30, "retention to delete")
    assert runtime.recordings.total_bytes <= budget
    rows = await runtime.recordings.segments("camera.till", 0, hub.clock.time() + 60)
    assert sum(s.size for s in rows) == runtime.recordings.total_bytes
    assert rows[0].start > 0 and all(s.path.is_file() for s in rows)
    first_kept = rows[0].start
    # An SOS locks everything from now on: once the budget is all locked, the alarm is raised,
    # and the SOS itself is unaffected.
    alarms: list[object] = []
    hub.bus.listen("video_disk_alarm", lambda e: alarms.append(e.data["reason"]))
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ตู้ทอง")
    assert (await hub.data[INCIDENT_RUNTIME].get(inc.id)).status == "open"
    await wait_for(lambda: runtime.retention.alarm == "budget", 30, "the disk alarm")
    assert alarms == ["budget"]
    await wait_for(
        lambda: hub.states.get("camera.till").attributes.get("recording_alarm") == "budget", 5, "camera attr"
    )
    assert recorder.failed >= 1 and "evidence-locked" in (recorder.last_error or "")
    assert runtime.recordings.total_bytes <= budget
    kept = await runtime.recordings.segments("camera.till", 0, hub.clock.time() + 60)
    assert kept[0].start >= first_kept  # oldest first: only unlocked, older footage went
    # Close and release: retention makes room again and the alarm clears.
    await hub.data[INCIDENT_RUNTIME].close(inc.id, by="test")
    await hub.services.call("video", "release", {"incident_id": inc.id})
    await wait_for(lambda: recorder.last_error is None, 20, "recording to resume")
    assert runtime.retention.alarm is None
    await wait_for(lambda: alarms[-1] is None, 5, "the all-clear event")
    await wait_for(lambda: "recording_alarm" not in hub.states.get("camera.till").attributes, 5, "attr")


async def test_retention_by_days_spares_locked_segments(make_hub, clip_file) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "till", f"file:{clip_file}", record=RecordConfig(mode="continuous", retain_days=1))
    runtime = hub.data[VIDEO_RUNTIME]
    runtime.start_recorders()
    recorder = runtime.recorders["camera.till"]
    await wait_for(lambda: recorder.written >= 4, 20, "segments")
    await recorder.stop()
    segments = await runtime.recordings.segments("camera.till", 0, hub.clock.time() + 60)
    # Age the first two by two days; lock the second with an old incident that is still open.
    old = segments[:2]
    await hub.storage.executemany(
        "UPDATE video_segments SET start = start - 172800, end = end - 172800 WHERE id = ?",
        [(s.id,) for s in old],
    )
    # (Inside the second segment: a lock that touches a segment's edge locks it too.)
    await runtime.recordings.lock("INC-OLD", old[1].start - 172800 + 0.2)
    await hub.storage.execute(
        "UPDATE video_locks SET end = ? WHERE incident_id = 'INC-OLD'", (old[1].end - 172800 - 0.2,)
    )
    deleted = await runtime.expire()
    assert deleted == 1 and not old[0].path.exists() and old[1].path.exists()
    left = {s.id for s in await runtime.recordings.segments("camera.till", 0, hub.clock.time() + 60)}
    assert old[0].id not in left and old[1].id in left


async def test_motion_records_until_it_ends_plus_post_roll(make_hub, clip_file) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    camera = add_stream_camera(
        hub, "gate", f"file:{clip_file}", record=RecordConfig(mode="events", pre_roll=1, post_roll=1)
    )
    recorder = hub.data[VIDEO_RUNTIME].record(camera)
    await wait_for(lambda: len(recorder.pre_roll) >= 1, 20, "the pre-roll buffer")
    hub.states.set("binary_sensor.gate_motion", "on")
    hub.bus.fire(
        "camera_motion", {"entity_id": "camera.gate", "sensor": "binary_sensor.gate_motion", "kind": "motion"}
    )
    await wait_for(lambda: recorder.written >= 2, 20, "motion segments")
    assert recorder.recording
    hub.states.set("binary_sensor.gate_motion", "off")
    await wait_for(lambda: not recorder.recording, 10, "post-roll to end")
    written = recorder.written
    segments = await hub.data[VIDEO_RUNTIME].recordings.segments("camera.gate", 0, hub.clock.time() + 60)
    assert segments and all(s.trigger == "event" and not s.locked for s in segments)
    await asyncio.sleep(3)
    assert recorder.written <= written + 1  # at most the segment that was open when post-roll ended


async def test_full_disk_raises_the_alarm_and_never_blocks_an_sos(make_hub, clip_file) -> None:
    # min_free_gb larger than any disk: there is never room, whatever is deleted.
    hub = await make_hub(
        VIDEO_BLOCK.replace("segment_seconds: 1", "segment_seconds: 1, min_free_gb: 1000"), real_clock=True
    )
    add_stream_camera(hub, "till", f"file:{clip_file}", record=RecordConfig(mode="continuous"))
    runtime = hub.data[VIDEO_RUNTIME]
    runtime.start_recorders()
    await wait_for(lambda: runtime.retention.alarm == "disk", 20, "the disk alarm")
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    assert (await hub.data[INCIDENT_RUNTIME].get(inc.id)).status == "open"
    assert runtime.recorders["camera.till"].written == 0
    assert "disk is full" in (runtime.recorders["camera.till"].last_error or "")
    # The alarm is on the hub's notifications page, in Thai and English.
    notes = hub.data[NOTIFY_RUNTIME].notifications
    await wait_for(lambda: "video_disk_alarm" in notes, 5, "the notification")
    assert (
        "ดิสก์ของฮับเต็ม" in (notes["video_disk_alarm"].title or "")
        and "SOS" in notes["video_disk_alarm"].message
    )
    health = {info.domain: value for info, value in hub.plugins.call_each("health_info", hub=hub)}
    assert health["video"]["disk_alarm"] == "disk"


async def test_after_a_restart_locks_of_incidents_closed_meanwhile_are_closed(make_hub, tmp_path) -> None:
    folder = tmp_path / "site"
    hub = await make_hub(VIDEO_BLOCK, real_clock=True, folder=folder)
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    await hub.data[VIDEO_RUNTIME].locks_settled()
    await hub.data[INCIDENT_RUNTIME].close(inc.id, by="test")
    await hub.data[VIDEO_RUNTIME].locks_settled()
    # As if the hub had stopped before it stored the close.
    await hub.storage.execute(
        "UPDATE video_locks SET end = NULL, closed_at = NULL WHERE incident_id = ?", (inc.id,)
    )
    await hub.stop()
    again = await make_hub(VIDEO_BLOCK, real_clock=True, folder=folder)
    lock = await again.data[VIDEO_RUNTIME].recordings.lock_info(inc.id)
    closed = (await again.data[INCIDENT_RUNTIME].get(inc.id)).closed_at
    assert lock is not None and lock.closed_at == closed and lock.end is not None
    assert lock.released_at is None  # closed, but the footage stays locked until released


async def test_hub_stop_ends_every_ffmpeg_and_keeps_the_last_segment(make_hub, clip_file) -> None:
    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "till", f"file:{clip_file}", record=RecordConfig(mode="continuous"))
    runtime = hub.data[VIDEO_RUNTIME]
    runtime.start_recorders()
    recorder = runtime.recorders["camera.till"]
    await wait_for(lambda: recorder.written >= 2, 20, "segments")
    assert ffmpeg_children(str(clip_file))
    await hub.stop()
    assert ffmpeg_children(str(clip_file)) == []
    assert recorder.written >= 3  # the open segment was written at shutdown
