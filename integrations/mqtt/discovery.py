"""Entities from Home Assistant MQTT discovery (ESPHome, Tasmota, Zigbee2MQTT, generic devices).

The manager subscribes ``<prefix>/#`` and keeps one :class:`Discovered`
record per discovery id.  A new config replaces the old entity; an empty
payload removes it.  Supported: ``binary_sensor``, ``sensor``, ``event``,
``light``, ``button`` and ``device_automation``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog, json_object, payload_text
from hub.core.context import Context
from hub.entity import Entity
from integrations.mqtt import discovery_schema as ds
from integrations.mqtt.client import MqttClient, MqttMessage
from integrations.mqtt.const import EVENT_DEVICE_TRIGGER, EVENT_MQTT_EVENT
from integrations.mqtt.templating import TemplateError, ValueTemplate, compile_template

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("DiscoveryManager", "MAX_DISCOVERED")

_LOGGER = logging.getLogger(__name__)

#: Most discovered entities; a flood of configs must not eat the hub's memory.
MAX_DISCOVERED = 5_000


class _Availability:
    """HA's availability: one or more topics, ``latest``/``all``/``any``."""

    def __init__(self, owner: _DiscoveredMixin, config: Mapping[str, Any]) -> None:
        self.owner = owner
        self.items: list[tuple[str, str, str, ValueTemplate | None]] = []
        self.mode = ds.text(config, "availability_mode", "latest") or "latest"
        self.values: dict[str, bool] = {}
        single = ds.topic(config, "availability_topic")
        avail = ds.text(config, "payload_available", "online") or "online"
        not_avail = ds.text(config, "payload_not_available", "offline") or "offline"
        if single:
            tpl = ds.text(config, "availability_template")
            self.items.append((single, avail, not_avail, owner.template(tpl)))
        for item in config.get("availability") or []:
            topic = ds.topic(item, "topic")
            if topic:
                self.items.append(
                    (
                        topic,
                        ds.text(item, "payload_available", "online") or "online",
                        ds.text(item, "payload_not_available", "offline") or "offline",
                        owner.template(ds.text(item, "value_template")),
                    )
                )

    def subscribe(self, client: MqttClient, qos: int) -> list[Callable[[], None]]:
        return [
            client.subscribe(topic, self._make_handler(topic, on, off, tpl), qos)
            for topic, on, off, tpl in self.items
        ]

    def _make_handler(
        self, topic: str, on: str, off: str, tpl: ValueTemplate | None
    ) -> Callable[[MqttMessage], None]:
        def handle(message: MqttMessage) -> None:
            value = self.owner.value(message, tpl)
            if value == on:
                self.values[topic] = True
            elif value == off:
                self.values[topic] = False
            else:
                return
            if self.mode == "all":
                available = all(self.values.get(t, False) for t, *_ in self.items)
            elif self.mode == "any":
                available = any(self.values.values())
            else:
                available = self.values[topic]
            self.owner.set_available(available)

        return handle


class _DiscoveredMixin:
    """What every discovered entity shares: its config, subscriptions and input checks."""

    hub: Hub
    entity_id: str
    available: bool
    config: dict[str, Any]
    client: MqttClient
    bad: BadInputLog
    discovery_id: str

    def template(self, source: str | None) -> ValueTemplate | None:
        if not source:
            return None
        try:
            return compile_template(self.hub, source, device=True)
        except TemplateError as err:
            raise ds.DiscoveryError(f"bad template {source!r}: {err}") from err

    def value(self, message: MqttMessage, tpl: ValueTemplate | None) -> str | None:
        text = payload_text(message.payload, self.client.max_payload)
        if text is None:
            self.bad.warn(
                self.entity_id, "%s: payload on %s is not UTF-8 text; ignored", self.entity_id, message.topic
            )
            return None
        if tpl is None:
            return text
        rendered = tpl.render(text)
        if rendered is None:
            self.bad.warn(
                self.entity_id, "%s: value_template failed on %r; ignored", self.entity_id, text[:100]
            )
        return rendered

    def set_available(self, available: bool) -> None:
        if available != self.available:
            self.available = available
            self.refresh()

    def refresh(self) -> None:
        raise NotImplementedError

    def subscriptions(self) -> list[Callable[[], None]]:
        raise NotImplementedError

    def base_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"discovery_id": self.discovery_id}
        for key in ("device_class", "unit_of_measurement", "state_class", "icon"):
            value = self.config.get(key)
            if isinstance(value, str):
                attrs[key] = value
        device = self.config.get("device")
        if isinstance(device, Mapping):
            for key in ("name", "model", "manufacturer"):
                if isinstance(device.get(key), str):
                    attrs[f"device_{key}"] = device[key]
        return attrs


def _name(config: Mapping[str, Any], object_id: str) -> str:
    name = config.get("name")
    device = config.get("device")
    dev_name = device.get("name") if isinstance(device, Mapping) else None
    if isinstance(name, str) and name:
        return f"{dev_name} {name}" if isinstance(dev_name, str) and dev_name else name
    if isinstance(dev_name, str) and dev_name:
        return dev_name
    return object_id.replace("_", " ")


class _StateEntity(_DiscoveredMixin, Entity):
    """binary_sensor and sensor: a state topic, optionally through a template."""

    def __init__(
        self,
        hub: Hub,
        object_id: str,
        config: dict[str, Any],
        client: MqttClient,
        bad: BadInputLog,
        discovery_id: str,
    ) -> None:
        Entity.__init__(self, hub, object_id, _name(config, object_id))
        self.config, self.client, self.bad, self.discovery_id = config, client, bad, discovery_id
        self.state_topic = ds.topic(config, "state_topic")
        if self.state_topic is None:
            raise ds.DiscoveryError("state_topic missing")
        self.value_tpl = self.template(ds.text(config, "value_template"))
        self.availability = _Availability(self, config)
        self.current = "unknown"
        if self.availability.items:
            self.available = False

    def subscriptions(self) -> list[Callable[[], None]]:
        qos = ds.qos(self.config)
        assert self.state_topic is not None
        subs = [self.client.subscribe(self.state_topic, self.on_state, qos)]
        return subs + self.availability.subscribe(self.client, qos)

    def on_state(self, message: MqttMessage) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        self.write_state(self.current, self.base_attributes())


class DiscoveredBinarySensor(_StateEntity):
    """``binary_sensor`` with payload_on/payload_off."""

    domain = "binary_sensor"

    def on_state(self, message: MqttMessage) -> None:
        value = self.value(message, self.value_tpl)
        if value is None:
            return
        if value == ds.text(self.config, "payload_on", "ON"):
            self.current = "on"
        elif value == ds.text(self.config, "payload_off", "OFF"):
            self.current = "off"
        else:
            self.bad.warn(
                self.entity_id, "%s: %r is neither payload_on nor payload_off", self.entity_id, value[:100]
            )
            return
        self.refresh()


class DiscoveredSensor(_StateEntity):
    """``sensor``: the (templated) payload is the state."""

    domain = "sensor"

    def on_state(self, message: MqttMessage) -> None:
        value = self.value(message, self.value_tpl)
        if value is None:
            return
        self.current = value[:255]
        self.refresh()


class DiscoveredEvent(_StateEntity):
    """``event``: JSON with ``event_type``; state is the time of the last event."""

    domain = "event"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        types = self.config.get("event_types")
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types) or not types:
            raise ds.DiscoveryError("event_types must be a non-empty list of strings")
        self.event_types = frozenset(types)
        self.last: dict[str, Any] = {}

    def on_state(self, message: MqttMessage) -> None:
        text = self.value(message, self.value_tpl)
        data = json_object(text, self.client.max_payload) if text is not None else None
        event_type = data.get("event_type") if data else None
        if not isinstance(event_type, str) or event_type not in self.event_types:
            self.bad.warn(self.entity_id, "%s: no known event_type in %r", self.entity_id, (text or "")[:100])
            return
        assert data is not None
        self.current = datetime.fromtimestamp(self.hub.clock.time(), UTC).isoformat()
        self.last = {k: v for k, v in data.items() if isinstance(k, str)}
        self.refresh()
        self.hub.bus.fire(
            EVENT_MQTT_EVENT,
            {"entity_id": self.entity_id, "event_type": event_type, "data": self.last},
            Context(origin="mqtt"),
        )

    def refresh(self) -> None:
        self.write_state(
            self.current, {**self.base_attributes(), "event_types": sorted(self.event_types), **self.last}
        )


class DiscoveredButton(_DiscoveredMixin, Entity):
    """``button``: pressing publishes ``payload_press`` to ``command_topic``."""

    domain = "button"

    def __init__(
        self,
        hub: Hub,
        object_id: str,
        config: dict[str, Any],
        client: MqttClient,
        bad: BadInputLog,
        discovery_id: str,
    ) -> None:
        Entity.__init__(self, hub, object_id, _name(config, object_id))
        self.config, self.client, self.bad, self.discovery_id = config, client, bad, discovery_id
        self.command_topic = ds.topic(config, "command_topic")
        if self.command_topic is None:
            raise ds.DiscoveryError("command_topic missing")
        self.availability = _Availability(self, config)
        self.last_pressed: str = "unknown"

    def subscriptions(self) -> list[Callable[[], None]]:
        return self.availability.subscribe(self.client, ds.qos(self.config))

    async def press(self) -> None:
        """Publish the press payload (never retained: a retained press would repeat on reconnect)."""
        assert self.command_topic is not None
        await self.client.publish(
            self.command_topic, ds.text(self.config, "payload_press", "PRESS"), qos=ds.qos(self.config)
        )
        self.last_pressed = datetime.fromtimestamp(self.hub.clock.time(), UTC).isoformat()
        self.refresh()

    def refresh(self) -> None:
        self.write_state(self.last_pressed, self.base_attributes())


class DeviceTrigger:
    """``device_automation``: a topic and payload that fire ``mqtt_device_trigger``."""

    def __init__(
        self, hub: Hub, config: dict[str, Any], client: MqttClient, bad: BadInputLog, discovery_id: str
    ) -> None:
        self.hub, self.config, self.client, self.bad, self.discovery_id = (
            hub,
            config,
            client,
            bad,
            discovery_id,
        )
        self.topic = ds.topic(config, "topic")
        self.type = ds.text(config, "type")
        self.subtype = ds.text(config, "subtype")
        if self.topic is None or not self.type or not self.subtype:
            raise ds.DiscoveryError("device_automation needs topic, type and subtype")
        self.payload = ds.text(config, "payload")
        source = ds.text(config, "value_template")
        try:
            self.value_tpl = compile_template(hub, source, device=True) if source else None
        except TemplateError as err:
            raise ds.DiscoveryError(f"bad template: {err}") from err
        device = config.get("device")
        self.device = dict(device) if isinstance(device, Mapping) else {}

    def subscriptions(self) -> list[Callable[[], None]]:
        assert self.topic is not None
        return [self.client.subscribe(self.topic, self.on_message, ds.qos(self.config))]

    def on_message(self, message: MqttMessage) -> None:
        text = payload_text(message.payload, self.client.max_payload)
        if text is None:
            return
        value = self.value_tpl.render(text) if self.value_tpl is not None else text
        if value is None or (self.payload is not None and value != self.payload):
            return
        self.hub.bus.fire(
            EVENT_DEVICE_TRIGGER,
            {
                "discovery_id": self.discovery_id,
                "type": self.type,
                "subtype": self.subtype,
                "payload": value,
                "topic": message.topic,
                "device_name": self.device.get("name"),
                "device_ids": self.device.get("identifiers"),
            },
            Context(origin="mqtt"),
        )


class _Record:
    __slots__ = ("payload", "entity", "unsubs")

    def __init__(self, payload: bytes, entity: Any, unsubs: list[Callable[[], None]]) -> None:
        self.payload = payload
        self.entity = entity
        self.unsubs = unsubs


class DiscoveryManager:
    """Subscribes the discovery prefix and keeps entities in step with it."""

    def __init__(self, hub: Hub, client: MqttClient, prefix: str) -> None:
        self.hub = hub
        self.client = client
        self.prefix = prefix
        self.bad = BadInputLog(_LOGGER)
        self.records: dict[str, _Record] = {}
        #: Config payload per discovery topic, so a device message can remove its dropped components.
        self._topic_ids: dict[str, set[str]] = {}
        self._unsub: Callable[[], None] | None = None

    def start(self) -> None:
        """Subscribe ``<prefix>/#`` (retained configs arrive at once)."""
        self._unsub = self.client.subscribe(f"{self.prefix}/#", self.on_message, qos=1)

    def stop(self) -> None:
        """Unsubscribe and remove every discovered entity."""
        if self._unsub is not None:
            self._unsub()
        for discovery_id in list(self.records):
            self._remove(discovery_id)

    def on_message(self, message: MqttMessage) -> None:
        """Handle one message under the prefix (``homeassistant/status`` and others are ignored)."""
        parsed = ds.parse_topic(self.prefix, message.topic)
        if parsed is None:
            return
        component, node_id, object_id = parsed
        old_ids = self._topic_ids.get(message.topic, set())
        if not message.payload:
            for discovery_id in old_ids:
                self._remove(discovery_id)
            self._topic_ids.pop(message.topic, None)
            return
        payload = json_object(message.payload, self.client.max_payload)
        if payload is None:
            self.bad.warn(message.topic, "Discovery %s: not a JSON object; ignored", message.topic)
            return
        try:
            items = ds.component_configs(component, node_id, object_id, payload)
        except ds.DiscoveryError as err:
            self.bad.warn(message.topic, "Discovery %s: %s", message.topic, err)
            return
        for stale in old_ids - items.keys():
            self._remove(stale)
        self._topic_ids[message.topic] = set(items)
        for discovery_id, (kind, config) in items.items():
            encoded = json.dumps(config, sort_keys=True, default=str).encode()
            record = self.records.get(discovery_id)
            if record is not None and record.payload == encoded:
                continue  # the same retained config again (every reconnect)
            self._remove(discovery_id)
            try:
                self._add(discovery_id, kind, config, encoded, f"{node_id or ''}_{object_id}")
            except ds.DiscoveryError as err:
                self.bad.warn(discovery_id, "Discovery %s (%s): %s; ignored", message.topic, kind, err)
            except ValueError as err:
                self.bad.warn(discovery_id, "Discovery %s (%s): %s; ignored", message.topic, kind, err)

    def _add(
        self, discovery_id: str, kind: str, config: dict[str, Any], encoded: bytes, fallback: str
    ) -> None:
        if kind not in ds.SUPPORTED:
            raise ds.DiscoveryError(f"component {kind!r} is not supported")
        if len(self.records) >= MAX_DISCOVERED:
            raise ds.DiscoveryError(f"more than {MAX_DISCOVERED} discovered entities")
        if kind == "device_automation":
            trigger = DeviceTrigger(self.hub, config, self.client, self.bad, discovery_id)
            self.records[discovery_id] = _Record(encoded, trigger, trigger.subscriptions())
            return
        object_id = self._free_object_id(kind, ds.object_id_for(kind, config, fallback))
        entity: Any
        if kind in ("light", "switch"):
            from integrations.mqtt.discovery_light import DiscoveredLight, DiscoveredSwitch

            light_cls = DiscoveredSwitch if kind == "switch" else DiscoveredLight
            entity = light_cls(self.hub, object_id, config, self.client, self.bad, discovery_id)
        else:
            cls = {
                "binary_sensor": DiscoveredBinarySensor,
                "sensor": DiscoveredSensor,
                "event": DiscoveredEvent,
                "button": DiscoveredButton,
            }[kind]
            entity = cls(self.hub, object_id, config, self.client, self.bad, discovery_id)
        self.hub.entities.add(entity)
        entity.refresh()
        self.records[discovery_id] = _Record(encoded, entity, entity.subscriptions())
        if kind == "button":
            self._ensure_button_service()

    def _free_object_id(self, domain: str, object_id: str) -> str:
        candidate, n = object_id, 1
        while self.hub.states.get(f"{domain}.{candidate}") is not None or _known(
            self.hub, f"{domain}.{candidate}"
        ):
            n += 1
            candidate = f"{object_id}_{n}"
        return candidate

    def _remove(self, discovery_id: str) -> None:
        record = self.records.pop(discovery_id, None)
        if record is None:
            return
        for unsub in record.unsubs:
            unsub()
        entity = record.entity
        if isinstance(entity, Entity):
            self.hub.entities.remove(entity.entity_id)
            self.hub.states.remove(entity.entity_id)

    def _ensure_button_service(self) -> None:
        if self.hub.services.has("button", "press"):
            return
        from pydantic import BaseModel, ConfigDict

        class PressSchema(BaseModel):
            model_config = ConfigDict(extra="forbid")
            entity_id: str | list[str]

        async def press(call: Any) -> None:
            for button in self.hub.entities.resolve(call.data["entity_id"], DiscoveredButton):
                await button.press()

        self.hub.services.register(
            "button", "press", press, PressSchema, description="Press a button discovered over MQTT"
        )


def _known(hub: Hub, entity_id: str) -> bool:
    try:
        hub.entities.get(entity_id)
    except ValueError:
        return False
    return True
