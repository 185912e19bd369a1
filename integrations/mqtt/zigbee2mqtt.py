"""What the hub knows about a Zigbee2MQTT bridge: devices, their models, and the bridge state.

Learned from the retained ``<base>/bridge/devices`` list (notes §1.1), which
names each device's model (``definition.model``) and what it exposes.  SOS
buttons use the model to pick their press rule; lights to know whether they
blink by themselves.  One instance per hub, made on first use.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog, as_number, json_object
from hub.keys import HubKey
from integrations.mqtt.client import MqttClient, MqttMessage, MqttNotConnected

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("Z2mBridge", "Z2mDevice", "get_bridge", "parse_devices", "parse_last_seen", "telemetry_from")

_LOGGER = logging.getLogger(__name__)
_BRIDGE: HubKey[Z2mBridge] = HubKey("zigbee2mqtt_bridge")
#: bridge/devices lists every device with its full ``exposes``: big for big networks.
MAX_DEVICES_PAYLOAD = 16 * 1024 * 1024


#: Plausible ``last_seen`` bounds (2000-01-01 .. 2100-01-01, UNIX seconds).
_EARLIEST = 946_684_800.0
_LATEST = 4_102_444_800.0


def parse_last_seen(value: Any) -> float | None:
    """Return ``last_seen`` (ISO 8601 or epoch milliseconds, per Z2M's setting) as UNIX seconds."""
    seconds: float | None = None
    number = as_number(value)
    if number is not None:
        seconds = number / 1000.0 if number > 1e11 else number
    elif isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        seconds = parsed.timestamp()
    # A device clock can say anything; only a plausible time is a time.
    if seconds is None or not _EARLIEST <= seconds <= _LATEST:
        return None
    return seconds


def telemetry_from(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return ``(telemetry, problems)``: the device facts with the right types, and what was wrong."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for key, low, high in (("battery", 0, 100), ("linkquality", 0, 255), ("voltage", 0, 100_000)):
        if key in data and data[key] is not None:
            number = as_number(data[key])
            if number is None or not low <= number <= high:
                problems.append(f"{key}={data[key]!r}")
            else:
                out[key] = int(number) if number.is_integer() else number
    for key in ("battery_low", "tamper"):
        if key in data and data[key] is not None:
            if isinstance(data[key], bool):
                out[key] = data[key]
            else:
                problems.append(f"{key}={data[key]!r}")
    if data.get("last_seen") is not None:
        ts = parse_last_seen(data["last_seen"])
        if ts is None:
            problems.append(f"last_seen={data['last_seen']!r}")
        else:
            out["last_seen"] = datetime.fromtimestamp(ts, UTC).isoformat()
    return out, problems


class Z2mDevice:
    """One device from ``bridge/devices``."""

    __slots__ = ("friendly_name", "ieee_address", "model", "vendor", "power_source", "features")

    def __init__(
        self,
        friendly_name: str,
        ieee_address: str | None,
        model: str | None,
        vendor: str | None,
        power_source: str | None,
        features: frozenset[str],
    ) -> None:
        self.friendly_name = friendly_name
        self.ieee_address = ieee_address
        self.model = model
        self.vendor = vendor
        self.power_source = power_source
        #: Names of exposed properties (``action``, ``battery``, ``effect``, ``state``…).
        self.features = features


def _features(exposes: Any, depth: int = 0) -> set[str]:
    names: set[str] = set()
    if depth > 4 or not isinstance(exposes, list):
        return names
    for item in exposes:
        if not isinstance(item, dict):
            continue
        prop = item.get("property") or item.get("name")
        if isinstance(prop, str):
            names.add(prop)
        names |= _features(item.get("features"), depth + 1)
    return names


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_devices(payload: bytes) -> dict[str, Z2mDevice] | None:
    """Return devices by friendly name from a ``bridge/devices`` payload, or None if unusable."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, list):
        return None
    devices: dict[str, Z2mDevice] = {}
    for item in data:
        if not isinstance(item, dict):
            continue
        name = _opt_str(item.get("friendly_name"))
        if name is None:
            continue
        definition = item.get("definition")
        definition = definition if isinstance(definition, dict) else {}
        devices[name] = Z2mDevice(
            name,
            _opt_str(item.get("ieee_address")),
            _opt_str(definition.get("model")),
            _opt_str(definition.get("vendor")),
            _opt_str(item.get("power_source")),
            frozenset(_features(definition.get("exposes"))),
        )
    return devices


class Z2mBridge:
    """Subscribes the bridge topics once and answers "which model is this device?"."""

    def __init__(self, client: MqttClient, base_topic: str) -> None:
        self.client = client
        self.base_topic = base_topic
        self.devices: dict[str, Z2mDevice] = {}
        self.online: bool | None = None
        self.bad = BadInputLog(_LOGGER)
        self._listeners: list[Callable[[], None]] = []
        self._unsubs = [
            client.subscribe(
                f"{base_topic}/bridge/devices", self._on_devices, qos=1, max_payload=MAX_DEVICES_PAYLOAD
            ),
            client.subscribe(f"{base_topic}/bridge/state", self._on_state, qos=1),
            client.on_connect(self._request_devices),
        ]

    async def _request_devices(self) -> None:
        """Ask Zigbee2MQTT for its device list at each connect until one has arrived.

        The retained ``bridge/devices`` may be missing (a broker restarted without
        persistence, Z2M configured without retain); until the list is known, SOS
        buttons fall back to the universal press words, so ask rather than wait.
        """
        if self.devices:
            return
        try:
            await self.client.publish(f"{self.base_topic}/bridge/request/devices", "{}", qos=1)
        except MqttNotConnected as err:
            _LOGGER.debug("Zigbee2MQTT device list not requested: %s", err)

    def device(self, friendly_name: str) -> Z2mDevice | None:
        """Return what bridge/devices said about ``friendly_name``."""
        return self.devices.get(friendly_name)

    def model(self, friendly_name: str) -> str | None:
        """Return the device's Z2M model, or None while unknown."""
        device = self.devices.get(friendly_name)
        return device.model if device is not None else None

    def on_update(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after each new device list."""
        self._listeners.append(listener)

    def _on_devices(self, message: MqttMessage) -> None:
        devices = parse_devices(message.payload)
        if devices is None:
            self.bad.warn(
                "bridge/devices",
                "Zigbee2MQTT %s/bridge/devices is not a device list; ignored",
                self.base_topic,
            )
            return
        self.devices = devices
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                _LOGGER.exception("Zigbee2MQTT device-list listener failed")

    def _on_state(self, message: MqttMessage) -> None:
        # Z2M 1.x sent plain "online"; 2.x sends {"state": "online"}.
        data = json_object(message.payload, 1024)
        value = data.get("state") if data is not None else message.payload.decode("utf-8", "replace")
        if value in ("online", "offline"):
            self.online = value == "online"

    def stop(self) -> None:
        """Drop the subscriptions."""
        for unsub in self._unsubs:
            unsub()


def get_bridge(hub: Hub, client: MqttClient, base_topic: str) -> Z2mBridge:
    """Return the hub's bridge for ``base_topic``, creating it on first use."""
    bridge = hub.data.get(_BRIDGE)
    if bridge is None or bridge.client is not client or bridge.base_topic != base_topic:
        bridge = Z2mBridge(client, base_topic)
        hub.data[_BRIDGE] = bridge
    return bridge
