"""Frigate events and reviews with the payloads of Frigate's MQTT docs (shared/notes/frigate-mqtt.md)."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from hub.testing import Mosquitto, MqttPeer, mqtt_block, wait_until

OBJECT = {
    "id": "1607123955.475377-mxklsc",
    "camera": "front_door",
    "frame_time": 1607123961.837752,
    "snapshot": {
        "frame_time": 1607123965.975463,
        "box": [415, 489, 528, 700],
        "area": 12728,
        "region": [260, 446, 660, 846],
        "score": 0.77546,
        "attributes": [],
    },
    "label": "person",
    "sub_label": None,
    "top_score": 0.958984375,
    "false_positive": False,
    "start_time": 1607123955.475377,
    "end_time": None,
    "score": 0.7890625,
    "box": [424, 500, 536, 712],
    "area": 23744,
    "ratio": 2.113207,
    "region": [264, 450, 667, 853],
    "current_zones": ["driveway"],
    "entered_zones": ["yard", "driveway"],
    "thumbnail": None,
    "has_snapshot": False,
    "has_clip": False,
    "active": True,
    "stationary": False,
    "motionless_count": 0,
    "position_changes": 2,
    "attributes": {"face": 0.64},
    "current_attributes": [],
    "current_estimated_speed": 0.71,
    "average_estimated_speed": 14.3,
    "velocity_angle": 180,
    "recognized_license_plate": "ABC12345",
    "recognized_license_plate_score": 0.933451,
}


def event(kind: str, **after: Any) -> str:
    before = copy.deepcopy(OBJECT)
    return json.dumps({"type": kind, "before": before, "after": {**copy.deepcopy(OBJECT), **after}})


REVIEW = {
    "type": "update",
    "before": {
        "id": "1718987129.308396-fqk5ka",
        "camera": "front_cam",
        "start_time": 1718987129.308396,
        "end_time": None,
        "severity": "detection",
        "thumb_path": "/media/frigate/clips/review/thumb-front_cam-1718987129.308396-fqk5ka.webp",
        "data": {
            "detections": ["1718987128.947436-g92ztx"],
            "objects": ["person", "car"],
            "sub_labels": [],
            "zones": [],
            "audio": [],
        },
    },
    "after": {
        "id": "1718987129.308396-fqk5ka",
        "camera": "front_cam",
        "start_time": 1718987129.308396,
        "end_time": None,
        "severity": "alert",
        "thumb_path": "/media/frigate/clips/review/thumb-front_cam-1718987129.308396-fqk5ka.webp",
        "data": {
            "detections": ["1718987128.947436-g92ztx", "1718987148.879516-d7oq7r"],
            "objects": ["person", "car"],
            "sub_labels": ["Bob"],
            "zones": ["front_yard"],
            "audio": [],
        },
    },
}


async def test_events_dedupe_zones_sensor_and_incident_link(
    make_hub: Any, mosquitto: Mosquitto, mqtt_peer: MqttPeer
) -> None:
    prefix = f"frigate_{uuid.uuid4().hex[:6]}"
    hub = await make_hub(
        mqtt_block(mosquitto)
        + f"""\
frigate: {{topic_prefix: {prefix}, url: "http://127.0.0.1:5000", labels: [person, car]}}
""",
        real_clock=True,
    )
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
    from integrations.mqtt import get_client

    assert await get_client(hub).wait_connected(5)
    detections: list[Any] = []
    reviews: list[Any] = []
    hub.bus.listen("camera_detection", detections.append)
    hub.bus.listen("camera_review", reviews.append)
    incident = await hub.data[INCIDENT_RUNTIME].open(
        "sos", title="SOS front door", entities=["camera.front_door"]
    )

    topic = f"{prefix}/events"
    await mqtt_peer.publish(topic, event("new", current_zones=[], entered_zones=[]), qos=0)
    await mqtt_peer.publish(topic, event("update", current_zones=[], entered_zones=[]), qos=0)  # duplicate
    await mqtt_peer.publish(topic, event("update"), qos=0)  # enters 2 zones
    await mqtt_peer.publish(topic, event("update", sub_label=["John Smith", 0.79]), qos=0)  # nothing new
    await wait_until(lambda: len(detections) >= 3)
    assert [(d.data["event_id"], d.data["zone"]) for d in detections] == [
        ("1607123955.475377-mxklsc", None),
        ("1607123955.475377-mxklsc", "driveway"),
        ("1607123955.475377-mxklsc", "yard"),
    ]
    first = detections[0].data
    assert first["camera"] == "front_door" and first["label"] == "person" and first["score"] == 0.958984375
    assert first["snapshot_url"] == "http://127.0.0.1:5000/api/events/1607123955.475377-mxklsc/snapshot.jpg"
    sensor = hub.states.get("binary_sensor.front_door_person")
    assert sensor.state == "on" and sensor.attributes["zones"] == ["driveway"]

    # A false positive and an unconfigured label are not detections.
    await mqtt_peer.publish(topic, event("new", id="x1", false_positive=True), qos=0)
    await mqtt_peer.publish(topic, event("new", id="x2", label="dog"), qos=0)
    await mqtt_peer.publish(topic, event("end", end_time=1607123999.0), qos=0)
    await wait_until(lambda: hub.states.get("binary_sensor.front_door_person").state == "off")
    await mqtt_peer.publish(topic, event("update"), qos=0)  # a late repeat after the end: still deduplicated
    await mqtt_peer.publish(f"{prefix}/reviews", json.dumps(REVIEW), qos=0)
    await mqtt_peer.publish(f"{prefix}/reviews", json.dumps(REVIEW), qos=0)
    await wait_until(lambda: reviews)
    await hub.block_till_done()
    assert len(detections) == 3 and len(reviews) == 1
    assert reviews[0].data["severity"] == "alert" and reviews[0].data["zones"] == ["front_yard"]

    stored = await hub.data[INCIDENT_RUNTIME].get(incident.id)
    links = [e for e in stored.timeline if e.kind == "snapshot_link"]
    assert len(links) == 1
    assert links[0].data["snapshot_url"].endswith("/api/events/1607123955.475377-mxklsc/snapshot.jpg")

    await hub.services.call("frigate", "link_snapshot", {"incident_id": incident.id, "event_id": "abc.1-xyz"})
    stored = await hub.data[INCIDENT_RUNTIME].get(incident.id)
    assert len([e for e in stored.timeline if e.kind == "snapshot_link"]) == 2


async def test_frigate_needs_mqtt(make_hub: Any) -> None:
    hub = await make_hub("frigate: {}\n")
    assert hub.plugins.get("frigate").status == "failed"
    assert "mqtt" in (hub.plugins.get("frigate").error or "")
