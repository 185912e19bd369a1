"""Frigate ``events`` and ``reviews`` → sensors, ``camera_detection`` and incident links.

``frigate/events`` repeats a tracked object many times (``new``, ``update``
for a better snapshot or a zone change, ``end``); everything is keyed on
``after.id``.  ``camera_detection`` fires once per object, and once more for
each zone it enters later (notes §1.7: "person in zone X" on the first
message whose ``entered_zones`` contains X).  ``binary_sensor.<camera>_<label>``
is on while any such object is being tracked.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog, as_number, json_object
from hub.core.context import Context
from integrations.frigate.config import FrigateConfig
from integrations.frigate.const import EVENT_CAMERA_DETECTION, EVENT_CAMERA_REVIEW, SEEN_IDS
from integrations.mqtt import MqttClient, MqttMessage

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("FrigateTracker", "slug", "snapshot_url")

_LOGGER = logging.getLogger(__name__)
_SLUG = re.compile(r"[^a-z0-9_]+")
_EVENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


def slug(value: str) -> str:
    """Return ``value`` as an entity object id part."""
    return _SLUG.sub("_", value.lower()).strip("_")[:48]


def snapshot_url(base: str | None, event_id: str) -> str | None:
    """Return Frigate's snapshot URL for an event, if the host is configured and the id is sane."""
    if base is None or not _EVENT_ID.match(event_id):
        return None
    return f"{base}/api/events/{event_id}/snapshot.jpg"


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)][:50] if isinstance(value, list) else []


class _Tracked:
    __slots__ = ("camera", "label", "zones", "entered", "score")

    def __init__(self, camera: str, label: str) -> None:
        self.camera = camera
        self.label = label
        self.zones: list[str] = []
        self.entered: set[str] = set()
        self.score: float | None = None


class FrigateTracker:
    """Subscribes Frigate's topics and keeps the per-camera sensors."""

    def __init__(self, hub: Hub, client: MqttClient, config: FrigateConfig) -> None:
        self.hub = hub
        self.client = client
        self.config = config
        self.bad = BadInputLog(_LOGGER)
        self.labels = set(config.labels)
        self.cameras = set(config.cameras)
        self.active: dict[str, _Tracked] = {}
        #: event id → zones already announced (bounded: oldest forgotten first).
        self.seen: OrderedDict[str, set[str]] = OrderedDict()
        self.reviews: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.detections = 0
        prefix = config.topic_prefix
        self._unsubs: list[Callable[[], None]] = [
            client.subscribe(f"{prefix}/events", self.on_event, qos=0),
            client.subscribe(f"{prefix}/reviews", self.on_review, qos=0),
            client.subscribe(f"{prefix}/available", self.on_available, qos=1),
        ]
        for camera in config.cameras:
            for label in config.labels:
                self._write_sensor(camera, label)

    def stop(self) -> None:
        """Unsubscribe."""
        for unsub in self._unsubs:
            unsub()

    # -- frigate/events ------------------------------------------------------------------

    def on_event(self, message: MqttMessage) -> None:
        """Handle one ``frigate/events`` message."""
        data = json_object(message.payload, self.client.max_payload)
        after = data.get("after") if data is not None else None
        kind = data.get("type") if data is not None else None
        if not isinstance(after, Mapping) or kind not in ("new", "update", "end"):
            self.bad.warn("events", "Frigate %s: not an event message; ignored", message.topic)
            return
        event_id, camera, label = after.get("id"), after.get("camera"), after.get("label")
        if not (isinstance(event_id, str) and isinstance(camera, str) and isinstance(label, str)) or not slug(
            camera
        ):
            self.bad.warn("events", "Frigate %s: event without id/camera/label; ignored", message.topic)
            return
        if label not in self.labels or (self.cameras and camera not in self.cameras):
            return
        if after.get("false_positive") is True:
            return
        if kind == "end":
            self.seen.setdefault(event_id, set())
            if self.active.pop(event_id, None) is not None:
                self._write_sensor(camera, label)
            return
        score = as_number(after.get("top_score"))
        if score is None:
            score = as_number(after.get("score"))
        if score is not None and score < self.config.min_score:
            return
        tracked = self.active.get(event_id) or _Tracked(camera, label)
        tracked.zones = _strings(after.get("current_zones"))
        entered = set(_strings(after.get("entered_zones")))
        tracked.entered |= entered
        tracked.score = score
        self.active[event_id] = tracked
        self._write_sensor(camera, label)
        announced = self.seen.get(event_id)
        if announced is None:
            self._remember(event_id, set(entered))
            self._fire(event_id, tracked, after, zone=None)
            if self.config.link_incidents:
                self.hub.create_task(self._link_open_incidents(event_id, tracked), "frigate incident link")
            return
        for zone in sorted(entered - announced):
            announced.add(zone)
            self._fire(event_id, tracked, after, zone=zone)

    def _remember(self, event_id: str, zones: set[str]) -> None:
        self.seen[event_id] = zones
        while len(self.seen) > SEEN_IDS:
            old, _ = self.seen.popitem(last=False)
            self.active.pop(old, None)

    def _fire(self, event_id: str, tracked: _Tracked, after: Mapping[str, Any], zone: str | None) -> None:
        self.detections += 1
        sub_label = after.get("sub_label")
        self.hub.bus.fire(
            EVENT_CAMERA_DETECTION,
            {
                "camera": tracked.camera,
                "label": tracked.label,
                "zones": sorted(tracked.entered or tracked.zones),
                "zone": zone,
                "score": tracked.score,
                "event_id": event_id,
                "sub_label": sub_label[0]
                if isinstance(sub_label, list) and sub_label and isinstance(sub_label[0], str)
                else None,
                "snapshot_url": snapshot_url(self.config.url, event_id),
                "entity_id": f"binary_sensor.{slug(tracked.camera)}_{slug(tracked.label)}",
            },
            Context(origin="frigate"),
        )

    def _write_sensor(self, camera: str, label: str) -> None:
        objects = [(eid, t) for eid, t in self.active.items() if t.camera == camera and t.label == label]
        zones = sorted({z for _, t in objects for z in t.zones})
        self.hub.states.set(
            f"binary_sensor.{slug(camera)}_{slug(label)}",
            "on" if objects else "off",
            {
                "friendly_name": f"{camera} {label}",
                "device_class": "occupancy",
                "camera": camera,
                "label": label,
                "zones": zones,
                "count": len(objects),
                "event_ids": [eid for eid, _ in objects][:20],
            },
        )

    async def _link_open_incidents(self, event_id: str, tracked: _Tracked) -> None:
        """Note the snapshot link on open incidents that name this camera."""
        from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

        manager = self.hub.data.get(INCIDENT_RUNTIME)
        url = snapshot_url(self.config.url, event_id)
        if manager is None or url is None:
            return
        names = {
            f"camera.{slug(tracked.camera)}",
            f"binary_sensor.{slug(tracked.camera)}_{slug(tracked.label)}",
        }
        for incident in await manager.find(status="active"):
            if names & set(incident.entities):
                await link_snapshot(self.hub, incident.id, event_id, url, tracked.camera, tracked.label)

    # -- frigate/reviews -----------------------------------------------------------------

    def on_review(self, message: MqttMessage) -> None:
        """Fire ``camera_review`` once per review item and severity."""
        data = json_object(message.payload, self.client.max_payload)
        after = data.get("after") if data is not None else None
        kind = data.get("type") if data is not None else None
        if not isinstance(after, Mapping) or kind not in ("new", "update", "end"):
            self.bad.warn("reviews", "Frigate %s: not a review message; ignored", message.topic)
            return
        review_id, camera, severity = after.get("id"), after.get("camera"), after.get("severity")
        if not (
            isinstance(review_id, str) and isinstance(camera, str) and severity in ("alert", "detection")
        ):
            self.bad.warn("reviews", "Frigate %s: review without id/camera/severity; ignored", message.topic)
            return
        if (self.cameras and camera not in self.cameras) or kind == "end":
            return
        key = (review_id, str(severity))
        if key in self.reviews:
            return
        self.reviews[key] = None
        while len(self.reviews) > SEEN_IDS:
            self.reviews.popitem(last=False)
        details = after.get("data") if isinstance(after.get("data"), Mapping) else {}
        assert isinstance(details, Mapping)
        self.hub.bus.fire(
            EVENT_CAMERA_REVIEW,
            {
                "camera": camera,
                "severity": severity,
                "review_id": review_id,
                "objects": _strings(details.get("objects")),
                "zones": _strings(details.get("zones")),
                "detections": _strings(details.get("detections")),
            },
            Context(origin="frigate"),
        )

    def on_available(self, message: MqttMessage) -> None:
        """Mirror ``frigate/available`` (online / stopped / offline)."""
        text = message.payload.decode("utf-8", "replace").strip()[:20]
        self.hub.states.set(
            "binary_sensor.frigate_available",
            "on" if text == "online" else "off",
            {"friendly_name": "Frigate", "device_class": "connectivity", "status": text},
        )


async def link_snapshot(
    hub: Hub,
    incident_id: str,
    event_id: str,
    url: str,
    camera: str | None = None,
    label: str | None = None,
    context: Context | None = None,
) -> None:
    """Add a Frigate snapshot link to an incident's timeline."""
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

    what = " ".join(p for p in (label, camera and f"on {camera}") if p) or "detection"
    await hub.data[INCIDENT_RUNTIME].note(
        incident_id,
        f"Frigate snapshot: {what}",
        by="frigate",
        kind="snapshot_link",
        data={"snapshot_url": url, "event_id": event_id, "camera": camera, "label": label},
        context=context,
    )
