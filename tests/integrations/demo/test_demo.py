"""The embedded demo's simulated devices (the press → incident walk is in tests/blueprints)."""

from __future__ import annotations

import io

from PIL import Image

from integrations.camera.const import EVENT_CAMERA_MOTION


async def test_devices_exist_with_thai_names(make_hub) -> None:
    hub = await make_hub("demo: {place: ตลาดทดสอบ}\n", web=False)
    sos = hub.states.get("sos.demo_market")
    assert sos.state == "idle" and sos.attributes["friendly_name"] == "ปุ่ม SOS ตลาดสาธิต"
    assert hub.states.get("light.demo_lamp").state == "off"
    assert hub.states.get("binary_sensor.demo_motion").attributes["device_class"] == "motion"
    assert hub.states.get("camera.demo_gate") is not None


async def test_motion_service_sets_the_sensor_and_tells_the_camera(make_hub) -> None:
    hub = await make_hub("demo: {}\n", web=False)
    seen: list[dict[str, object]] = []
    hub.bus.listen(EVENT_CAMERA_MOTION, lambda event: seen.append(dict(event.data)))
    await hub.services.call("demo", "motion", {"on": True})
    await hub.block_till_done()
    assert hub.states.get("binary_sensor.demo_motion").state == "on"
    assert seen == [
        {"entity_id": "camera.demo_gate", "sensor": "binary_sensor.demo_motion", "kind": "motion"}
    ]
    await hub.services.call("demo", "motion", {"on": False})
    await hub.block_till_done()
    assert hub.states.get("binary_sensor.demo_motion").state == "off"
    assert len(seen) == 1  # motion ending is not a new motion event


async def test_motion_blips_follow_the_clock(make_hub, clock) -> None:
    hub = await make_hub("demo: {motion_every: 60}\n", web=False)
    assert hub.states.get("binary_sensor.demo_motion").state == "off"
    await clock.advance(60)
    await hub.block_till_done()
    assert hub.states.get("binary_sensor.demo_motion").state == "on"
    await clock.advance(5)
    await hub.block_till_done()
    assert hub.states.get("binary_sensor.demo_motion").state == "off"


async def test_camera_draws_a_fresh_jpeg_each_time(make_hub, clock) -> None:
    hub = await make_hub("demo: {}\n", web=False)
    camera = hub.entities.get("camera.demo_gate")
    first = await camera.fetch_snapshot()
    await clock.advance(1)
    second = await camera.fetch_snapshot()
    for frame in (first, second):
        image = Image.open(io.BytesIO(frame))
        assert image.format == "JPEG" and image.width >= 320
    assert first != second  # the time is drawn on the frame
