"""Announce the hub's own entities to a shop's Home Assistant (device-based discovery).

One retained ``<prefix>/device/safetyhub_<hub>/config`` message describes the
hub: per SOS button a ``binary_sensor`` (device class ``safety``: triggered or
idle) and an ``event`` (each press), per light a read-only ``binary_sensor``,
and a ``sensor`` with the number of open incidents.  States go retained to
``<base>/<hub>/state/<entity_id>``; presses to ``<base>/<hub>/event/<entity_id>``.
Nothing here lets Home Assistant control the hub: the safety path stays in
the hub's own services with their roles.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hub.core.bus import Event
from hub.core.state import EVENT_STATE_CHANGED
from integrations.mqtt.client import MqttClient, MqttMessage, MqttNotConnected

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("DiscoveryPublisher",)

_LOGGER = logging.getLogger(__name__)
_EXPORTED_DOMAINS = ("sos", "light")


class DiscoveryPublisher:
    """Publishes discovery, states and press events for the hub's SOS buttons and lights."""

    def __init__(self, hub: Hub, client: MqttClient, prefix: str, base_topic: str) -> None:
        self.hub = hub
        self.client = client
        self.prefix = prefix
        self.root = f"{base_topic}/{hub.id}"
        self.device_id = f"safetyhub_{hub.id.replace('-', '_')}"
        self._unsubs: list[Callable[[], None]] = []
        self._announced: set[str] = set()

    @property
    def config_topic(self) -> str:
        """Return the device discovery topic."""
        return f"{self.prefix}/device/{self.device_id}/config"

    def start(self) -> None:
        """Announce on every connect and whenever Home Assistant comes online."""
        self._unsubs.append(self.client.on_connect(self._announce_all))
        self._unsubs.append(self.client.subscribe(f"{self.prefix}/status", self._ha_status, qos=1))
        self._unsubs.append(self.hub.bus.listen(EVENT_STATE_CHANGED, self._state_changed))
        self._unsubs.append(self.hub.bus.listen("sos_pressed", self._pressed))

    def stop(self) -> None:
        """Stop publishing (the retained config stays, like HA's own integrations)."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    def _ha_status(self, message: MqttMessage) -> None:
        if message.payload == b"online":
            self.hub.create_task(self._announce_all(), "mqtt discovery announce")

    def _entities(self) -> list[str]:
        return sorted(s.entity_id for d in _EXPORTED_DOMAINS for s in self.hub.states.all(d))

    def discovery_payload(self) -> dict[str, Any]:
        """Return the device discovery message for the hub's current entities."""
        version = self.hub.version
        cmps: dict[str, Any] = {}
        for entity_id in self._entities():
            state = self.hub.states.get(entity_id)
            if state is None:
                continue
            domain, object_id = entity_id.split(".", 1)
            base = {"stat_t": f"{self.root}/state/{entity_id}", "name": state.name}
            if domain == "sos":
                cmps[f"{object_id}_sos"] = {
                    **base,
                    "p": "binary_sensor",
                    "dev_cla": "safety",
                    "pl_on": "triggered",
                    "pl_off": "idle",
                    "uniq_id": f"{self.device_id}_{object_id}_sos",
                }
                cmps[f"{object_id}_press"] = {
                    "p": "event",
                    "name": f"{state.name} press",
                    "stat_t": f"{self.root}/event/{entity_id}",
                    "evt_typ": ["press"],
                    "uniq_id": f"{self.device_id}_{object_id}_press",
                }
            else:
                cmps[f"light_{object_id}"] = {
                    **base,
                    "p": "binary_sensor",
                    "dev_cla": "light",
                    "pl_on": "on",
                    "pl_off": "off",
                    "uniq_id": f"{self.device_id}_light_{object_id}",
                }
        cmps["open_incidents"] = {
            "p": "sensor",
            "name": "Open incidents",
            "stat_t": f"{self.root}/incidents/open",
            "uniq_id": f"{self.device_id}_open_incidents",
            "stat_cla": "measurement",
        }
        return {
            "dev": {
                "ids": [self.device_id],
                "name": self.hub.name,
                "mf": "SafetyHub",
                "mdl": "Smart Safety Zone hub",
                "sw": version,
            },
            "o": {"name": "SafetyHub", "sw": version},
            "avty_t": self.client.status_topic,
            "cmps": cmps,
        }

    async def _announce_all(self) -> None:
        try:
            await self.client.publish(
                self.config_topic,
                json.dumps(self.discovery_payload(), ensure_ascii=False),
                qos=1,
                retain=True,
            )
            for entity_id in self._entities():
                state = self.hub.states.get(entity_id)
                if state is not None:
                    await self._publish_state(entity_id, state.state)
            await self._publish_incidents()
        except MqttNotConnected as err:
            _LOGGER.debug("Discovery announce skipped: %s", err)
        self._announced = set(self._entities())

    async def _publish_state(self, entity_id: str, state: str) -> None:
        await self.client.publish(f"{self.root}/state/{entity_id}", state, qos=1, retain=True)

    async def _publish_incidents(self) -> None:
        count = sum(1 for s in self.hub.states.all("incident") if s.state != "closed")
        await self.client.publish(f"{self.root}/incidents/open", str(count), qos=1, retain=True)

    def _state_changed(self, event: Event) -> None:
        entity_id: str = event.data["entity_id"]
        domain = entity_id.partition(".")[0]
        if not self.client.connected:
            return  # the next connect announces everything
        if domain == "incident":
            self.hub.create_task(self._safe(self._publish_incidents()), "mqtt export incidents")
            return
        if domain not in _EXPORTED_DOMAINS:
            return
        new = event.data.get("new_state")
        if entity_id not in self._announced:
            # A button or light that appeared after the last announce (SIA zones, discovery).
            self.hub.create_task(self._safe(self._announce_all()), "mqtt discovery announce")
            return
        if new is not None:
            self.hub.create_task(self._safe(self._publish_state(entity_id, new.state)), "mqtt export state")

    def _pressed(self, event: Event) -> None:
        if not self.client.connected:
            return
        entity_id = event.data.get("entity_id")
        if not isinstance(entity_id, str):
            return
        body = {"event_type": "press", "action": event.data.get("action"), "source": event.data.get("source")}
        self.hub.create_task(
            self._safe(self.client.publish(f"{self.root}/event/{entity_id}", json.dumps(body), qos=1)),
            "mqtt export press",
        )

    @staticmethod
    async def _safe(coro: Any) -> None:
        try:
            await coro
        except MqttNotConnected as err:
            _LOGGER.debug("MQTT export skipped: %s", err)
