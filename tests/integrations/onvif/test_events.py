"""Motion events: PullPoint lifecycle against the fake camera, vendor payloads, webhooks."""

from __future__ import annotations

import aiohttp

from hub.testing import BASE_CONFIG, wait_for
from integrations.onvif import CAMERAS
from integrations.onvif.const import SUBSCRIPTION_RESTART_DELAY
from integrations.onvif.events import kind_for, normalize_topic
from tests.integrations.onvif import payloads
from tests.integrations.onvif.conftest import camera_yaml, free_port


async def _subscribed(make_hub, device, extra: str = "", base: str = BASE_CONFIG):
    hub = await make_hub("onvif:\n" + camera_yaml("gate", device.port, extra=extra), base=base)
    camera = hub.data[CAMERAS]["camera.gate"]
    assert await camera.wait_connected(5), camera.error
    await wait_for(
        lambda: device.active_subscriptions == 1 and device.calls["PullMessages"] >= 1,
        what="a pulling subscription",
    )
    return hub, camera


def test_topic_cleaning() -> None:
    assert (
        normalize_topic("\n  tns1:RuleEngine/CellMotionDetector/Motion/ \n")
        == "tns1:RuleEngine/CellMotionDetector/Motion"
    )
    assert normalize_topic("tns1:VideoSource/MotionAlarm.") == "tns1:VideoSource/MotionAlarm"
    assert kind_for("Cell Motion Detection") == "motion" and kind_for("Tamper Detection") == "tamper"
    assert kind_for("Line Detector Crossed") == "line_detector_crossed"


async def test_motion_drives_sensor_and_event(make_hub, fake_device) -> None:
    hub, camera = await _subscribed(make_hub, fake_device)
    assert fake_device.calls["SetSynchronizationPoint"] == 1  # current state asked for at subscribe
    events = []
    hub.bus.listen("camera_motion", events.append)
    fake_device.push(payloads.generic_motion(True))
    await wait_for(lambda: hub.states.get("binary_sensor.gate_motion").state == "on", what="motion on")
    await hub.block_till_done()
    assert [e.data["entity_id"] for e in events] == ["camera.gate"]
    assert events[0].data["sensor"] == "binary_sensor.gate_motion" and events[0].data["kind"] == "motion"
    fake_device.push(payloads.generic_motion(True))  # repeated "on": no second event
    fake_device.push(payloads.generic_motion(False))
    await wait_for(lambda: hub.states.get("binary_sensor.gate_motion").state == "off", what="motion off")
    assert len(events) == 1
    assert "binary_sensor.gate_motion" in camera.sensor_ids()


async def test_vendor_payloads(make_hub, fake_device) -> None:
    hub, camera = await _subscribed(make_hub, fake_device)
    router = camera.router
    cases = [
        (payloads.hikvision_motion_alarm, "binary_sensor.gate_motion"),
        (payloads.hikvision_alarm_in, "binary_sensor.gate_motion"),
        (payloads.padded_topic_motion, "binary_sensor.gate_motion"),
        (payloads.aliased_prefix_motion, "binary_sensor.gate_motion"),
        (payloads.tapo_person, "binary_sensor.gate_person_detection"),
        (payloads.tapo_vehicle, "binary_sensor.gate_vehicle_detection"),
        (payloads.reolink_person, "binary_sensor.gate_person_detection"),
        (payloads.tamper, "binary_sensor.gate_tamper"),
        (payloads.field_intrusion, "binary_sensor.gate_field_detection"),
    ]
    for make, sensor in cases:
        before = router.handled
        fake_device.push(make(True))
        await wait_for(
            lambda s=sensor: hub.states.get(s) is not None and hub.states.get(s).state == "on",  # type: ignore[misc]  # mypy cannot type a lambda with a bound default
            what=f"{make.__name__} on",
        )
        fake_device.push(make(False))
        await wait_for(lambda s=sensor: hub.states.get(s).state == "off", what=f"{make.__name__} off")  # type: ignore[misc]  # mypy cannot type a lambda with a bound default
        assert router.handled == before + 2
    # The padded topic was cleaned before parsing: the sensor remembers the clean topic.
    assert hub.states.get("binary_sensor.gate_tamper").attributes["device_class"] == "tamper"
    fake_device.push(payloads.unknown_topic())
    fake_device.push(payloads.unknown_topic())
    fake_device.push(payloads.motion_without_data())
    fake_device.push(payloads.generic_motion(True))  # the stream goes on after bad messages
    await wait_for(
        lambda: hub.states.get("binary_sensor.gate_motion").state == "on", what="motion after junk"
    )
    assert router.unknown_topics == {"tns1:Device/tnsaxis:Sensor/PIR"}  # logged once, ignored
    assert router.bad_messages == 1
    assert hub.states.get("camera.gate").state == "idle"


async def test_renewed_at_eight_minutes(make_hub, fake_device, clock) -> None:
    hub, camera = await _subscribed(make_hub, fake_device)
    sub = next(iter(fake_device.subscriptions.values()))
    assert round(sub.expires - fake_device.now()) in (599, 600)  # a 10-minute subscription
    await clock.advance(479)
    assert fake_device.calls["Renew"] == 0
    await clock.advance(1)
    await wait_for(lambda: camera.pullpoint.renewals == 1, what="first renewal")
    await clock.advance(480)
    await wait_for(lambda: camera.pullpoint.renewals == 2, what="second renewal")
    assert fake_device.calls["Renew"] == 2
    assert fake_device.calls["CreatePullPointSubscription"] == 1


async def test_short_grant_renews_earlier(make_hub, make_device, clock) -> None:
    device = await make_device(term_seconds=120)  # the camera grants only 2 minutes of the 10 asked
    hub, camera = await _subscribed(make_hub, device)
    # Taken for firmware that misreads relative terms: renewed at once with an absolute time...
    assert device.calls["Renew"] == 1 and camera.pullpoint.renewals == 1
    await clock.advance(95)
    assert device.calls["Renew"] == 1
    await clock.advance(1)  # ...and, still granted 2 minutes, renewed at 80 % of that
    await wait_for(lambda: camera.pullpoint.renewals == 2, what="renewal at 80 %")


async def test_resubscribes_after_camera_reboot(make_hub, fake_device, clock) -> None:
    hub, camera = await _subscribed(make_hub, fake_device)
    fake_device.reboot()  # the camera forgets the subscription: the next pull faults
    await wait_for(lambda: camera.pullpoint.status == "restarting", what="subscription lost")
    assert fake_device.calls["CreatePullPointSubscription"] == 1
    await clock.advance(SUBSCRIPTION_RESTART_DELAY)
    await wait_for(
        lambda: (
            fake_device.calls["CreatePullPointSubscription"] == 2 and fake_device.active_subscriptions == 1
        ),
        what="re-subscribed",
    )
    fake_device.push(payloads.generic_motion(True))
    await wait_for(lambda: hub.states.get("binary_sensor.gate_motion").state == "on", what="events again")
    await clock.advance(480)  # the new subscription's own renewal schedule
    await wait_for(lambda: fake_device.calls["Renew"] == 1, what="renewal of the new subscription")


async def test_renewal_failure_restarts(make_hub, fake_device, clock) -> None:
    hub, camera = await _subscribed(make_hub, fake_device)
    fake_device.broken["Renew"] = "<oops"  # garbage instead of a RenewResponse
    await clock.advance(480)
    await wait_for(lambda: camera.pullpoint.status == "restarting", what="renew failure noticed")
    del fake_device.broken["Renew"]
    await clock.advance(SUBSCRIPTION_RESTART_DELAY)
    await wait_for(lambda: fake_device.calls["CreatePullPointSubscription"] == 2, what="restarted")
    assert fake_device.active_subscriptions == 1  # the old one was unsubscribed, not left to fill a slot


async def test_unsubscribes_on_shutdown(make_hub, fake_device) -> None:
    hub, camera = await _subscribed(make_hub, fake_device)
    await hub.stop()
    assert fake_device.calls["Unsubscribe"] == 1
    assert fake_device.active_subscriptions == 0


async def test_camera_without_events(make_hub, make_device) -> None:
    device = await make_device(with_events=False)
    hub = await make_hub("onvif:\n" + camera_yaml("gate", device.port))
    camera = hub.data[CAMERAS]["camera.gate"]
    assert await camera.wait_connected(5)
    await wait_for(lambda: camera.events_status == "unsupported", what="no events noted")
    assert hub.states.get("camera.gate").attributes["events"] == "unsupported"
    assert hub.states.get("camera.gate").state == "idle"
    # No events: the motion sensor says it cannot know, rather than a reassuring "off".
    assert hub.states.get("binary_sensor.gate_motion").state == "unavailable"


async def test_webhook_notifications(make_hub, fake_device) -> None:
    port = free_port()
    base = BASE_CONFIG.replace("port: 0", f"port: {port}")
    hub = await make_hub(
        "onvif:\n"
        + camera_yaml(
            "gate", fake_device.port, extra=f"events: webhook, webhook_url: 'http://127.0.0.1:{port}'"
        ),
        base=base,
    )
    camera = hub.data[CAMERAS]["camera.gate"]
    assert await camera.wait_connected(5)
    await wait_for(lambda: camera.events_status == "webhook", what="webhook subscribed")
    assert fake_device.calls["Subscribe"] == 1 and fake_device.calls["CreatePullPointSubscription"] == 0
    consumer = next(iter(fake_device.subscriptions.values())).consumer
    assert consumer.startswith(f"http://127.0.0.1:{port}/api/onvif/notify/")
    fake_device.push(payloads.tapo_person(True))
    await wait_for(
        lambda: (s := hub.states.get("binary_sensor.gate_person_detection")) is not None and s.state == "on",
        what="webhook event",
    )
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"http://127.0.0.1:{port}/api/onvif/notify/not-a-token", data=b"<x/>"
        ) as resp:
            assert resp.status == 404
        async with session.post(consumer, data=b"<not xml") as resp:
            assert resp.status == 400
    await hub.stop()
    assert fake_device.calls["Unsubscribe"] == 1
