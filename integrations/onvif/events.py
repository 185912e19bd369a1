"""Camera events: PullPoint subscriptions, topic parsing, and the binary sensors they drive.

* :class:`PullPoint` keeps one subscription per camera: created for 10
  minutes, renewed at 8 (or at 80 % of what the camera grants), re-created
  when a renewal or a pull fails, and unsubscribed on shutdown: cameras have
  only a few subscription slots, and abandoned ones fill them until events
  stop for everyone (home-assistant/core#91485).  Timers run on the hub's
  clock, so tests move time instead of waiting eight minutes.
* :class:`EventRouter` cleans each topic (cheap firmware pads it with
  whitespace or a trailing ``/``), lets ``onvif_parsers`` decode it, and turns
  binary results into ``binary_sensor.<camera>_<kind>`` entities and a
  ``camera_motion`` event on each rising edge.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hub.entity import Entity
from hub.i18n import entity_name
from integrations.camera.const import EVENT_CAMERA_MOTION
from integrations.onvif.client import OnvifError, OnvifUnsupported, soap
from integrations.onvif.const import (
    PULL_MESSAGE_LIMIT,
    PULLPOINT_NAMESPACE,
    SUBSCRIPTION_RESTART_DELAY,
    SUBSCRIPTION_SECONDS,
)

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.onvif.device import OnvifCamera

__all__ = ("CameraEventSensor", "EventRouter", "PullPoint", "normalize_topic", "kind_for")

_LOGGER = logging.getLogger(__name__)
_WS = re.compile(r"\s+")

#: Parser names (onvif_parsers) that are plain motion: they all feed ``<camera>_motion``.
_MOTION_NAMES = frozenset(
    {"cell motion detection", "motion region detection", "motion alarm", "motion detection"}
)


def normalize_topic(raw: str) -> str:
    """Return a topic without whitespace and without a trailing ``/`` or ``.``.

    Topics are QName paths and never contain whitespace, but some firmware
    pretty-prints the element (``\\n  tns1:RuleEngine/...\\n``) or ends it
    with a slash; either makes the parser lookup miss.
    """
    return _WS.sub("", raw).rstrip("/.")


def kind_for(name: str) -> str:
    """Return the sensor suffix for a parsed event name (``Cell Motion Detection`` → ``motion``)."""
    lowered = name.strip().lower()
    if lowered in _MOTION_NAMES:
        return "motion"
    if lowered == "tamper detection":
        return "tamper"
    return re.sub(r"[^a-z0-9]+", "_", lowered).strip("_") or "event"


class CameraEventSensor(Entity):
    """``binary_sensor.<camera>_<kind>``: on while any rule of that kind reports true."""

    domain = "binary_sensor"

    def __init__(
        self, hub: Hub, camera: OnvifCamera, kind: str, label: str, device_class: str | None
    ) -> None:
        # Kinds the catalogue knows (motion, tamper) are named in the hub's language; others keep
        # the name the camera's event parser gives them.
        name = entity_name(f"camera_{kind}", hub, camera=camera.name)
        if name == f"entity_name.camera_{kind}":
            name = f"{camera.name} {label}"
        super().__init__(hub, f"{camera.object_id}_{kind}", name)
        self.camera = camera
        self.kind = kind
        self.device_class = device_class
        self.is_on = False
        #: Each parsed event uid (rule, source) → its last value.
        self.sources: dict[str, bool] = {}
        self.last_topic = ""

    def extra_attributes(self) -> dict[str, Any]:
        """Return device class and which camera this belongs to."""
        attrs: dict[str, Any] = {"camera": self.camera.entity_id}
        if self.device_class:
            attrs["device_class"] = self.device_class
        if self.last_topic:
            attrs["topic"] = self.last_topic
        return attrs

    def publish(self) -> None:
        """Write the current state (``unavailable`` while the camera is)."""
        self.write_state("on" if self.is_on else "off")


class EventRouter:
    """Turns notification messages of one camera into sensor states and events."""

    def __init__(self, hub: Hub, camera: OnvifCamera) -> None:
        self.hub = hub
        self.camera = camera
        self.sensors: dict[str, CameraEventSensor] = {}
        self.unknown_topics: set[str] = set()
        self.bad_messages = 0
        self.handled = 0
        self._ensure("motion", "Motion", "motion")

    def _ensure(self, kind: str, label: str, device_class: str | None) -> CameraEventSensor:
        sensor = self.sensors.get(kind)
        if sensor is None:
            sensor = CameraEventSensor(self.hub, self.camera, kind, label, device_class)
            sensor.available = self.camera.available
            self.hub.entities.add(sensor)
            self.sensors[kind] = sensor
            sensor.publish()
        return sensor

    def set_available(self, available: bool) -> None:
        """Follow the camera's availability."""
        for sensor in self.sensors.values():
            sensor.available = available
            sensor.publish()

    async def handle(self, messages: Iterable[Any]) -> None:
        """Process ``NotificationMessage`` items from a PullMessages reply or a Notify."""
        for msg in messages:
            await self._handle_one(msg)

    async def _handle_one(self, msg: Any) -> None:
        import onvif_parsers

        topic_holder = getattr(msg, "Topic", None)
        raw = getattr(topic_holder, "_value_1", None)
        if not isinstance(raw, str):
            self._bad("message without a topic")
            return
        topic = normalize_topic(raw)
        try:
            # The parsers build entity ids from the topic they read off the message: give them the clean one.
            topic_holder._value_1 = topic  # type: ignore[union-attr]
            entities = await self._parse(onvif_parsers, topic, msg, topic_holder)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as err:
            self._bad(f"{topic}: {type(err).__name__}: {err}")
            return
        if entities is None:
            return
        self.handled += 1
        for entity in entities:
            if entity.platform != "binary_sensor":
                continue
            self._update(entity, topic)

    async def _parse(self, onvif_parsers: Any, topic: str, msg: Any, holder: Any) -> list[Any] | None:
        uid = self.camera.object_id
        try:
            result: list[Any] = await onvif_parsers.parse(topic, uid, msg)
            return result
        except onvif_parsers.errors.UnknownTopicError:
            pass
        # Some firmware binds the ONVIF topic namespace to another prefix (tns:, ns1:).
        prefix, sep, rest = topic.partition(":")
        if sep and prefix != "tns1":
            alias = f"tns1:{rest}"
            if onvif_parsers.registry.get_parser(alias) is not None:
                holder._value_1 = alias
                result = await onvif_parsers.parse(alias, uid, msg)
                return result
        if topic not in self.unknown_topics:
            self.unknown_topics.add(topic)
            _LOGGER.info("%s: ignoring event topic %s (no parser for it)", self.camera.entity_id, topic)
        return None

    def _bad(self, why: str) -> None:
        self.bad_messages += 1
        log = _LOGGER.warning if self.bad_messages <= 3 else _LOGGER.debug
        log("%s: unreadable event message (%s)", self.camera.entity_id, why)

    def _update(self, entity: Any, topic: str) -> None:
        kind = kind_for(str(entity.name))
        device_class = entity.device_class if kind not in ("motion", "tamper") else kind
        sensor = self._ensure(kind, str(entity.name) if kind != "motion" else "Motion", device_class)
        sensor.sources[str(entity.uid)] = bool(entity.value)
        sensor.last_topic = topic
        was_on, sensor.is_on = sensor.is_on, any(sensor.sources.values())
        if was_on == sensor.is_on:
            return
        sensor.publish()
        if sensor.is_on:
            self.hub.bus.fire(
                EVENT_CAMERA_MOTION,
                {
                    "entity_id": self.camera.entity_id,
                    "sensor": sensor.entity_id,
                    "kind": kind,
                    "rule": str(entity.name),
                    "topic": topic,
                },
            )


def _granted_seconds(result: Any, asked: float) -> float:
    current = getattr(result, "CurrentTime", None)
    until = getattr(result, "TerminationTime", None)
    if isinstance(current, dt.datetime) and isinstance(until, dt.datetime):
        try:
            return (until - current).total_seconds()
        except TypeError:
            # One aware, one naive: firmware that forgets the Z.
            return asked
    return asked


class PullPoint:
    """One camera's PullPoint subscription, kept alive until :meth:`close`."""

    def __init__(self, camera: OnvifCamera, router: EventRouter, *, pull_timeout: float) -> None:
        self.camera = camera
        self.router = router
        self.hub = camera.hub
        self.pull_timeout = pull_timeout
        self.status = "starting"
        self.address: str | None = None
        self.renew_at = 0.0
        self.created = 0
        self.renewals = 0
        self.restarts = 0
        self.messages = 0
        self._manager: Any = None
        self._pull: Any = None

    def _renew_delay(self, granted: float) -> float:
        # Renew at 80 % of the term (8 of 10 minutes), never more often than once a minute.
        return max(60.0, granted * 0.8)

    async def run(self) -> None:
        """Subscribe, pull and renew; re-subscribe after failures; return if the camera has no events."""
        clock = self.hub.clock
        while True:
            try:
                await self._subscribe()
            except OnvifUnsupported as err:
                self.status = "unsupported"
                _LOGGER.info("%s: no PullPoint events (%s)", self.camera.entity_id, err)
                return
            except OnvifError as err:
                self.status = "failed"
                _LOGGER.warning("%s: could not subscribe to events: %s", self.camera.entity_id, err)
                await clock.sleep(SUBSCRIPTION_RESTART_DELAY)
                continue
            self.status = "running"
            try:
                await self._serve()
            except OnvifError as err:
                self.restarts += 1
                _LOGGER.warning(
                    "%s: event subscription lost (%s); re-subscribing in %d s",
                    self.camera.entity_id,
                    err,
                    SUBSCRIPTION_RESTART_DELAY,
                )
                await self.unsubscribe()
                # Set after the last await, so "restarting" means the retry timer is armed.
                self.status = "restarting"
                await clock.sleep(SUBSCRIPTION_RESTART_DELAY)

    async def _subscribe(self) -> None:
        cam = self.camera.cam
        timeout = self.camera.cfg.timeout
        term = dt.timedelta(seconds=SUBSCRIPTION_SECONDS)
        events = await soap(cam.create_events_service, "events service", timeout)
        result = await soap(
            lambda: events.CreatePullPointSubscription(
                {"InitialTerminationTime": cam.get_next_termination_time(term)}
            ),
            "CreatePullPointSubscription",
            timeout,
        )
        from onvif.util import normalize_url

        try:
            address = normalize_url(result.SubscriptionReference.Address._value_1)
        except AttributeError:
            address = None
        if not address:
            raise OnvifError("CreatePullPointSubscription: the camera gave no subscription address")
        self.address = cam.rewrite_url(address)
        cam.xaddrs[PULLPOINT_NAMESPACE] = self.address
        self._manager = await soap(
            lambda: cam.create_subscription_service("PullPointSubscription"), "subscription manager", timeout
        )
        self._pull = await soap(cam.create_pullpoint_service, "pullpoint service", timeout)
        self.created += 1
        if cam.has_broken_relative_time(
            term, getattr(result, "CurrentTime", None), getattr(result, "TerminationTime", None)
        ):
            # Far less than asked: firmware that misreads relative terms.  The library now
            # writes absolute times; renew at once so the subscription gets its full term.
            result = await soap(
                lambda: self._manager.Renew({"TerminationTime": cam.get_next_termination_time(term)}),
                "Renew",
                timeout,
            )
            self.renewals += 1
        granted = _granted_seconds(result, SUBSCRIPTION_SECONDS)
        self.renew_at = self.hub.clock.time() + self._renew_delay(granted)
        try:
            # Ask for the current state of every property (motion may already be on).
            await soap(self._pull.SetSynchronizationPoint, "SetSynchronizationPoint", timeout)
        except OnvifError as err:
            _LOGGER.debug("%s: SetSynchronizationPoint failed: %s", self.camera.entity_id, err)

    async def _serve(self) -> None:
        pull = asyncio.ensure_future(self._pull_loop())
        renew = asyncio.ensure_future(self._renew_loop())
        try:
            done, _ = await asyncio.wait({pull, renew}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pull, renew):
                task.cancel()
            await asyncio.gather(pull, renew, return_exceptions=True)
        for task in done:
            task.result()

    async def _renew_loop(self) -> None:
        cam = self.camera.cam
        term = dt.timedelta(seconds=SUBSCRIPTION_SECONDS)
        while True:
            await self.hub.clock.sleep_until(self.renew_at)
            result = await soap(
                lambda: self._manager.Renew({"TerminationTime": cam.get_next_termination_time(term)}),
                "Renew",
                self.camera.cfg.timeout,
            )
            self.renewals += 1
            self.renew_at = self.hub.clock.time() + self._renew_delay(
                _granted_seconds(result, SUBSCRIPTION_SECONDS)
            )

    async def _pull_loop(self) -> None:
        loop = asyncio.get_running_loop()
        request = {"Timeout": dt.timedelta(seconds=self.pull_timeout), "MessageLimit": PULL_MESSAGE_LIMIT}
        while True:
            started = loop.time()
            reply = await soap(
                lambda: self._pull.PullMessages(request),
                "PullMessages",
                self.pull_timeout + self.camera.cfg.timeout,
            )
            messages = list(getattr(reply, "NotificationMessage", None) or [])
            self.messages += len(messages)
            await self.router.handle(messages)
            if not messages and loop.time() - started < 0.5:
                # The camera ignores the long-poll Timeout: pace the loop instead of spinning.
                await asyncio.sleep(1.0)

    async def unsubscribe(self) -> None:
        """Give the subscription slot back to the camera (best effort, short timeout)."""
        manager, self._manager = self._manager, None
        self._pull = None
        if manager is None:
            return
        try:
            await soap(manager.Unsubscribe, "Unsubscribe", min(self.camera.cfg.timeout, 5.0))
        except OnvifError as err:
            _LOGGER.debug("%s: Unsubscribe failed: %s", self.camera.entity_id, err)
