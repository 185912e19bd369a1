"""Shelly Gen2+ (Plus/Pro) switches over MQTT JSON-RPC (notes §1.5).

Requests go to ``<prefix>/rpc`` as ``{"id", "src", "method", "params"}``;
the device answers on ``<src>/rpc``, so the hub subscribes its own
``safetyhub-<hub>/rpc`` once and routes answers by request id.  State comes
from ``<prefix>/events/rpc`` (``NotifyStatus``/``NotifyFullStatus`` with
``switch:<n>.output``), the optional ``<prefix>/status/switch:<n>``, and
answers to ``Switch.GetStatus`` sent after each (re)connect; availability
from ``<prefix>/online`` (``true``/``false``).  Shelly speaks QoS 1 only.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog, json_object, payload_text
from hub.keys import HubKey
from integrations.light.const import SOURCE_FEATURES
from integrations.light.entity import LightEntity
from integrations.mqtt import MqttClient, MqttMessage, MqttNotConnected

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("ShellyLight", "ShellyRpc", "get_rpc")

_LOGGER = logging.getLogger(__name__)
_BAD = BadInputLog(_LOGGER)
_RPC: HubKey[ShellyRpc] = HubKey("shelly_rpc")
#: Seconds to remember an unanswered request before forgetting it.
_REQUEST_TTL = 30.0

ResponseHandler = Callable[[Mapping[str, Any]], None]


class ShellyRpc:
    """The hub's RPC endpoint: one response topic for every Shelly."""

    def __init__(self, hub: Hub, client: MqttClient, src: str) -> None:
        self.hub = hub
        self.client = client
        self.src = src
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[float, str, ResponseHandler | None]] = {}
        self._unsub = client.subscribe(f"{src}/rpc", self._on_response, qos=1)

    async def call(
        self, prefix: str, method: str, params: Mapping[str, Any], on_result: ResponseHandler | None = None
    ) -> int:
        """Send a request; ``on_result(result)`` runs when the answer comes (errors are logged)."""
        now = self.hub.clock.time()
        for rid in [r for r, (t, _, _) in self._waiting.items() if now - t > _REQUEST_TTL]:
            _prefix, _handler = self._waiting.pop(rid)[1:]
            _BAD.warn(f"timeout {_prefix}", "Shelly %s: no answer to request %d", _prefix, rid)
        rid = next(self._ids)
        self._waiting[rid] = (now, prefix, on_result)
        body = {"id": rid, "src": self.src, "method": method, "params": dict(params)}
        await self.client.publish(f"{prefix}/rpc", json.dumps(body), qos=1)
        return rid

    def _on_response(self, message: MqttMessage) -> None:
        data = json_object(message.payload, self.client.max_payload)
        rid = data.get("id") if data is not None else None
        if not isinstance(rid, int) or isinstance(rid, bool) or rid not in self._waiting:
            _BAD.warn("rpc", "Shelly RPC: unexpected answer %r; ignored", message.payload[:100])
            return
        assert data is not None
        _, prefix, handler = self._waiting.pop(rid)
        if "error" in data:
            _LOGGER.warning("Shelly %s: request %d failed: %s", prefix, rid, str(data["error"])[:200])
            return
        result = data.get("result")
        if handler is not None and isinstance(result, Mapping):
            handler(result)

    def stop(self) -> None:
        """Unsubscribe."""
        self._unsub()


def get_rpc(hub: Hub, client: MqttClient) -> ShellyRpc:
    """Return the hub's Shelly RPC endpoint, creating it on first use."""
    rpc = hub.data.get(_RPC)
    if rpc is None or rpc.client is not client:
        rpc = ShellyRpc(hub, client, f"safetyhub-{hub.id}")
        hub.data[_RPC] = rpc
    return rpc


class ShellyLight(LightEntity):
    """One Shelly switch channel (``Switch.Set``) as ``light.<id>``."""

    source = "shelly"
    features = SOURCE_FEATURES["shelly"]

    def __init__(
        self, hub: Hub, object_id: str, name: str | None, client: MqttClient, prefix: str, channel: int = 0
    ) -> None:
        super().__init__(hub, object_id, name)
        self.client = client
        self.prefix = prefix
        self.channel = channel
        self.component = f"switch:{channel}"
        self.rpc = get_rpc(hub, client)
        self._unsubs: list[Callable[[], None]] = [
            client.subscribe(f"{prefix}/events/rpc", self._on_event, qos=1),
            client.subscribe(f"{prefix}/status/{self.component}", self._on_status, qos=1),
            client.subscribe(f"{prefix}/online", self._on_online, qos=1),
            client.on_connect(self._query),
        ]

    def stop(self) -> None:
        """Unsubscribe."""
        for unsub in self._unsubs:
            unsub()

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return light attributes plus source."""
        return {**super().extra_attributes(), "source": self.source, "device_id": self.prefix}

    async def query_state(self) -> bool:
        """Query the device's state now (``homeassistant.update_entity``)."""
        await self._query()
        return True

    async def _query(self) -> None:
        try:
            await self.rpc.call(self.prefix, "Switch.GetStatus", {"id": self.channel}, self._apply)
        except MqttNotConnected as err:
            _LOGGER.debug("%s: status query failed: %s", self.entity_id, err)

    def _apply(self, status: Mapping[str, Any]) -> None:
        output = status.get("output")
        if isinstance(output, bool):
            self.available = True
            self.report(output)

    def _on_event(self, message: MqttMessage) -> None:
        data = json_object(message.payload, self.client.max_payload)
        params = data.get("params") if data is not None else None
        if not isinstance(params, Mapping):
            _BAD.warn(message.topic, "Shelly %s: notification without params; ignored", message.topic)
            return
        assert data is not None
        if data.get("method") in ("NotifyStatus", "NotifyFullStatus"):
            status = params.get(self.component)
            if isinstance(status, Mapping):
                self._apply(status)

    def _on_status(self, message: MqttMessage) -> None:
        data = json_object(message.payload, self.client.max_payload)
        if data is None:
            _BAD.warn(message.topic, "Shelly %s: status is not a JSON object; ignored", message.topic)
            return
        self._apply(data)

    def _on_online(self, message: MqttMessage) -> None:
        text = (payload_text(message.payload, 16) or "").strip()
        if text in ("true", "false"):
            self.available = text == "true"
            if self.is_on is None:
                self.write_state("unknown")
            else:
                self.report(None, brightness=self.brightness)

    async def send(self, on: bool | None, **options: Any) -> None:
        """Send ``Switch.Set`` (a relay has no brightness or effects)."""
        if on is not None:
            await self.rpc.call(self.prefix, "Switch.Set", {"id": self.channel, "on": on})

    async def toggle(self) -> None:
        """Send ``Switch.Toggle``."""
        await self.rpc.call(self.prefix, "Switch.Toggle", {"id": self.channel})
