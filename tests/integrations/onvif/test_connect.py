"""Connecting to cameras: a fake ONVIF camera on loopback speaking real SOAP."""

from __future__ import annotations

from hub.testing import wait_for
from integrations.onvif import CAMERAS
from integrations.onvif.const import AUTH_RETRY_SECONDS, WATCHDOG_SECONDS
from tests.integrations.onvif.conftest import camera_yaml


async def test_connects_and_publishes_entities(make_hub, fake_device) -> None:
    hub = await make_hub(
        "onvif:\n"
        + camera_yaml(
            "gate",
            fake_device.port,
            extra="share: on_alarm, "
            "owner: {name: เทศบาล, phone: '035-000000'}, location: {lat: 14.5, lon: 100.4}",
        )
    )
    camera = hub.data[CAMERAS]["camera.gate"]
    assert await camera.wait_connected(5)
    state = hub.states.get("camera.gate")
    assert state.state == "idle"
    assert state.attributes["share"] == "on_alarm"
    assert state.attributes["owner"] == "เทศบาล"
    assert state.attributes["manufacturer"] == "FakeVendor"
    assert "password" not in str(state.attributes) and "rtsp" not in str(state.attributes)
    assert camera.profile_token == "main"  # the first H.264 profile, not the MJPEG one listed before it
    assert camera.stream_uri() == "rtsp://127.0.0.1:554/main"
    assert camera.snapshot_uri == f"{fake_device.base}/snapshot.jpg"
    assert hub.states.get("binary_sensor.gate_motion").state == "off"
    assert fake_device.calls["GetSystemDateAndTime"] >= 1  # adjust_time asked the clock first


async def test_clock_skew_is_compensated(make_hub, make_device) -> None:
    device = await make_device(clock_offset=-3600)  # the camera lives an hour in the past
    hub = await make_hub("onvif:\n" + camera_yaml("gate", device.port))
    camera = hub.data[CAMERAS]["camera.gate"]
    assert await camera.wait_connected(5)
    assert -3602 < camera.clock_skew < -3598
    assert hub.states.get("camera.gate").attributes["clock_skew_s"] in (-3600, -3601, -3599)
    assert device.auth_failures == 0


async def test_wrong_password_no_retry_storm(make_hub, fake_device, clock) -> None:
    hub = await make_hub("onvif:\n" + camera_yaml("gate", fake_device.port, password="wrong"))
    camera = hub.data[CAMERAS]["camera.gate"]
    await wait_for(lambda: camera.retry_at is not None, what="auth failure")
    state = hub.states.get("camera.gate")
    assert state.state == "unavailable"
    assert state.attributes["error"] == "authentication failed"
    assert camera.retry_at - clock.time() == AUTH_RETRY_SECONDS
    assert hub.states.get("binary_sensor.gate_motion").state == "unavailable"
    failures = fake_device.auth_failures
    assert 1 <= failures <= 3  # one connect attempt's worth
    await clock.advance(AUTH_RETRY_SECONDS - 60)
    assert fake_device.auth_failures == failures  # nothing for half an hour
    await clock.advance(60)
    await wait_for(
        lambda: fake_device.auth_failures > failures and camera.retry_at is not None,
        what="the half-hourly retry",
    )
    assert camera.connect_attempts == 2


async def test_offline_camera_goes_unavailable_and_comes_back(make_hub, fake_device, clock) -> None:
    hub = await make_hub("onvif:\n" + camera_yaml("gate", fake_device.port))
    camera = hub.data[CAMERAS]["camera.gate"]
    assert await camera.wait_connected(5)
    await fake_device.stop()
    await clock.advance(WATCHDOG_SECONDS * 1.1)  # the watchdog's interval is jittered ±10 %
    await clock.advance(WATCHDOG_SECONDS * 1.1)
    await wait_for(lambda: camera.retry_at is not None, what="unavailable")
    assert hub.states.get("camera.gate").state == "unavailable"
    assert hub.states.get("camera.gate").attributes["error"] == "the camera stopped answering"
    assert hub.states.get("binary_sensor.gate_motion").state == "unavailable"
    await fake_device.start()  # same port
    assert 4 <= camera.retry_at - clock.time() <= 6  # the first backoff: 5 s ± 20 %
    await clock.advance(camera.retry_at - clock.time())
    assert await camera.wait_connected(5)
    assert hub.states.get("camera.gate").state == "idle"
    assert camera.connects == 2


async def test_never_reachable_backs_off(make_hub, clock) -> None:
    from tests.integrations.onvif.conftest import free_port

    hub = await make_hub("onvif:\n" + camera_yaml("gate", free_port()))
    camera = hub.data[CAMERAS]["camera.gate"]
    delays = []
    for attempt in range(1, 9):
        await wait_for(
            lambda a=attempt: camera.connect_attempts == a and camera.retry_at is not None,  # type: ignore[misc]  # mypy cannot type a lambda with a bound default
            what=f"attempt {attempt} failed",
        )
        assert hub.states.get("camera.gate").state == "unavailable"
        delays.append(camera.retry_at - clock.time())
        await clock.advance(delays[-1])
    # 5 s doubling, jittered ±20 %, capped at 5 minutes.
    for n, delay in enumerate(delays):
        nominal = min(300.0, 5.0 * 2**n)
        assert 0.8 * nominal <= delay <= 1.2 * nominal, (n, delay)


async def test_malformed_xml_marks_that_camera_only(make_hub, make_device) -> None:
    good = await make_device()
    bad = await make_device()
    bad.broken["GetProfiles"] = (
        "<s:Envelope><s:Body><trt:GetProfilesResponse>"  # truncated, undeclared prefixes
    )
    hub = await make_hub("onvif:\n" + camera_yaml("good", good.port) + camera_yaml("bad", bad.port))
    cameras = hub.data[CAMERAS]
    assert await cameras["camera.good"].wait_connected(5)
    await wait_for(lambda: cameras["camera.bad"].error not in (None, "connecting"), what="bad camera marked")
    assert "not valid ONVIF" in cameras["camera.bad"].error
    assert hub.states.get("camera.bad").state == "unavailable"
    assert hub.states.get("camera.good").state == "idle"


async def test_unanswered_call_times_out(make_hub) -> None:
    import asyncio

    from tests.integrations.onvif.conftest import free_port

    port = free_port()
    writers: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)  # accepts, never answers: a hung camera

    server = await asyncio.start_server(silent, "127.0.0.1", port)
    try:
        hub = await make_hub("onvif:\n" + camera_yaml("hung", port).replace("timeout: 3", "timeout: 1"))
        camera = hub.data[CAMERAS]["camera.hung"]
        await wait_for(lambda: camera.error not in (None, "connecting"), within=5, what="timeout")
        assert "no answer" in camera.error
        assert hub.states.get("camera.hung").state == "unavailable"
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()
