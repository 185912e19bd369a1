"""Zigbee2MQTT lights and sirens (notes §1.3).

Lights: commands to ``<base>/<name>/set`` (``state``, ``brightness`` 0–254,
``color_temp``, ``color``, ``transition``, ``effect``); state from
``<base>/<name>``.  Flashing uses the bulb's own ``effect: blink`` (ZCL
Identify), repeated for the whole flash because one ``blink`` is one blink.

Sirens (IAS WD, e.g. Heiman HS2WD-E) take ``{"warning": {...}}`` and report
no on/off state, so ``siren.<id>`` is *assumed* on for the warning's duration
(it says so in ``assumed_state``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog, as_number, json_object
from hub.entity import Entity
from integrations.light.const import SOURCE_FEATURES
from integrations.light.entity import LightEntity
from integrations.mqtt import MqttClient, MqttMessage, MqttNotConnected
from integrations.mqtt.zigbee2mqtt import Z2mBridge, telemetry_from

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("Z2mLight", "Z2mSiren", "BLINK_PERIODS")

_LOGGER = logging.getLogger(__name__)
_BAD = BadInputLog(_LOGGER)
#: Seconds between ``blink`` effects while flashing, by pattern.
BLINK_PERIODS = {"fast": 0.5, "normal": 1.0, "slow": 2.0}


class _Z2mDevice:
    """Availability and telemetry shared by Z2M lights and sirens."""

    hub: Hub
    available: bool
    entity_id: str
    telemetry: dict[str, Any]

    def _connect(self, client: MqttClient, bridge: Z2mBridge, name: str) -> list[Callable[[], None]]:
        self.client = client
        self.bridge = bridge
        self.device_name = name
        self.topic = f"{bridge.base_topic}/{name}"
        return [
            client.subscribe(self.topic, self._on_message, qos=1),
            client.subscribe(f"{self.topic}/availability", self._on_availability, qos=1),
        ]

    def _on_message(self, message: MqttMessage) -> None:
        data = json_object(message.payload, self.client.max_payload)
        if data is None:
            _BAD.warn(
                self.device_name, "Zigbee2MQTT %s: payload is not a JSON object; ignored", self.device_name
            )
            return
        telemetry, problems = telemetry_from(data)
        if problems:
            _BAD.warn(
                f"types {self.device_name}",
                "Zigbee2MQTT %s: wrong types ignored: %s",
                self.device_name,
                ", ".join(problems),
            )
        self.telemetry.update(telemetry)
        self._on_data(data)

    def _on_data(self, data: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def _on_availability(self, message: MqttMessage) -> None:
        data = json_object(message.payload, 1024)
        state = data.get("state") if data is not None else message.payload.decode("utf-8", "replace").strip()
        if state in ("online", "offline"):
            self.available = state == "online"
            self._republish()

    def _republish(self) -> None:
        raise NotImplementedError

    async def _set(self, body: Mapping[str, Any]) -> None:
        # QoS 1 to the local broker; never retained (a retained command replays on Z2M restart).
        await self.client.publish(f"{self.topic}/set", json.dumps(body), qos=1)


class Z2mLight(_Z2mDevice, LightEntity):
    """A Zigbee bulb or street light behind Zigbee2MQTT."""

    source = "zigbee2mqtt"
    features = SOURCE_FEATURES["zigbee2mqtt"]
    supports_blink = True

    def __init__(
        self,
        hub: Hub,
        object_id: str,
        name: str | None,
        client: MqttClient,
        bridge: Z2mBridge,
        friendly_name: str,
    ) -> None:
        LightEntity.__init__(self, hub, object_id, name)
        self.telemetry: dict[str, Any] = {}
        self._unsubs = self._connect(client, bridge, friendly_name)
        self._unsubs.append(client.on_connect(self._query))
        bridge.on_update(self._learn)
        self._learn()

    def stop(self) -> None:
        """Unsubscribe."""
        for unsub in self._unsubs:
            unsub()

    def _learn(self) -> None:
        device = self.bridge.device(self.device_name)
        if device is not None and device.features:
            self.supports_blink = "effect" in device.features

    async def query_state(self) -> bool:
        """Query the device's state now (``homeassistant.update_entity``)."""
        await self._query()
        return True

    async def _query(self) -> None:
        # Ask for the current state after every (re)connect: we may have missed a change.
        try:
            await self.client.publish(f"{self.topic}/get", json.dumps({"state": ""}), qos=1)
        except MqttNotConnected as err:
            _LOGGER.debug("%s: state query failed: %s", self.entity_id, err)

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return light attributes plus source and telemetry."""
        return {**super().extra_attributes(), "source": self.source, **self.telemetry}

    def _on_data(self, data: Mapping[str, Any]) -> None:
        state = data.get("state")
        on = {"ON": True, "OFF": False}.get(state) if isinstance(state, str) else None
        if state is not None and on is None:
            _BAD.warn(
                f"state {self.device_name}", "Zigbee2MQTT %s: state %r is not ON/OFF", self.device_name, state
            )
        bri = as_number(data.get("brightness"))
        brightness = max(0, min(255, round(bri * 255 / 254))) if bri is not None and 0 <= bri <= 254 else None
        effect = data.get("effect")
        self.report(on, brightness=brightness, effect=effect if isinstance(effect, str) else None)

    def _republish(self) -> None:
        self.report(None, brightness=self.brightness, effect=self.effect)

    async def send(self, on: bool | None, **options: Any) -> None:
        """Publish ``<name>/set``."""
        body: dict[str, Any] = {}
        if on is not None:
            body["state"] = "ON" if on else "OFF"
        if options.get("brightness") is not None:
            body["brightness"] = max(0, min(254, round(options["brightness"] * 254 / 255)))
        if options.get("color_temp") is not None:
            body["color_temp"] = options["color_temp"]
        if options.get("hex_color"):
            body["color"] = {"hex": options["hex_color"]}
        elif options.get("hs") is not None:
            body["color"] = {"hue": options["hs"][0], "saturation": options["hs"][1]}
        elif options.get("xy") is not None:
            body["color"] = {"x": options["xy"][0], "y": options["xy"][1]}
        if options.get("transition") is not None:
            body["transition"] = options["transition"]
        if options.get("effect"):
            body["effect"] = options["effect"]
        if body:
            await self._set(body)

    async def toggle(self) -> None:
        """Let the device toggle itself (right even when our view is stale)."""
        await self._set({"state": "TOGGLE"})

    async def _flash(self, seconds: float, pattern: str) -> None:
        if not self.supports_blink:
            await super()._flash(seconds, pattern)
            return
        was_on = bool(self.is_on)
        clock = self.hub.clock
        period = BLINK_PERIODS.get(pattern, BLINK_PERIODS["normal"])
        end = clock.time() + seconds
        try:
            while clock.time() < end:
                await self.send(None, effect="blink")
                await clock.sleep(period)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("Flashing %s failed", self.entity_id)
        finally:
            try:
                await self.send(None, effect="stop_effect")
                await self.send(was_on)
            except Exception:
                _LOGGER.exception("Could not restore %s after flashing", self.entity_id)


class Z2mSiren(_Z2mDevice, Entity):
    """An IAS WD siren/strobe: ``siren.<id>``."""

    domain = "siren"
    source = "zigbee2mqtt"

    def __init__(
        self,
        hub: Hub,
        object_id: str,
        name: str | None,
        client: MqttClient,
        bridge: Z2mBridge,
        friendly_name: str,
    ) -> None:
        Entity.__init__(self, hub, object_id, name)
        self.telemetry: dict[str, Any] = {}
        self.is_on = False
        self.until: float | None = None
        self._off_timer: Callable[[], None] | None = None
        self._unsubs = self._connect(client, bridge, friendly_name)

    def stop(self) -> None:
        """Unsubscribe and forget the off timer."""
        for unsub in self._unsubs:
            unsub()
        if self._off_timer is not None:
            self._off_timer()

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return telemetry and the assumed-state marker."""
        return {"source": self.source, "assumed_state": True, "until": self.until, **self.telemetry}

    def _on_data(self, data: Mapping[str, Any]) -> None:
        self._republish()

    def _republish(self) -> None:
        self.write_state("on" if self.is_on else "off")

    async def turn_on(
        self,
        *,
        mode: str = "emergency",
        level: str = "high",
        strobe: bool = True,
        strobe_level: str = "high",
        strobe_duty_cycle: int = 5,
        duration: int = 60,
    ) -> None:
        """Sound the siren for ``duration`` seconds."""
        await self._set(
            {
                "warning": {
                    "mode": mode,
                    "level": level,
                    "strobe": strobe,
                    "strobe_level": strobe_level,
                    "strobe_duty_cycle": strobe_duty_cycle,
                    "duration": duration,
                }
            }
        )
        self.is_on = True
        self.until = self.hub.clock.time() + duration
        if self._off_timer is not None:
            self._off_timer()
        self._off_timer = self.hub.clock.call_later(duration, self._expired)
        self._republish()

    async def turn_off(self) -> None:
        """Stop the warning."""
        await self._set({"warning": {"mode": "stop", "level": "low", "strobe": False, "duration": 0}})
        self._expired()

    def _expired(self) -> None:
        self.is_on = False
        self.until = None
        self._off_timer = None
        self._republish()
