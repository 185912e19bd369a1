"""Tasmota relays and dimmers (notes §1.4).

Commands: ``cmnd/<topic>/POWER[<n>]`` with ``ON``/``OFF``/``TOGGLE`` (an
empty payload is a query) and ``cmnd/<topic>/Dimmer`` 0–100.  State comes
from ``stat/<topic>/RESULT`` (``{"POWER":"ON"}``), ``stat/<topic>/POWER[<n>]``
and ``tele/<topic>/STATE``; availability from the retained
``tele/<topic>/LWT`` (``Online``/``Offline``).  Commands are never retained:
a retained ``cmnd/…/POWER`` switches the lamp again at every Tasmota reboot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog, as_number, json_object, payload_text
from integrations.light.const import SOURCE_FEATURES
from integrations.light.entity import LightEntity
from integrations.light.fields import xy_to_hex
from integrations.mqtt import MqttClient, MqttMessage, MqttNotConnected

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("TasmotaLight", "power_keys")

_LOGGER = logging.getLogger(__name__)
_BAD = BadInputLog(_LOGGER)


def power_keys(channel: int) -> tuple[str, tuple[str, ...]]:
    """Return ``(command, keys in replies)`` for a relay channel.

    Channel 0 is a single-relay device (``POWER``; ``POWER1`` when SetOption26
    is on); channel n is relay n of a multi-relay device.
    """
    if channel <= 1:
        return ("POWER" if channel == 0 else "POWER1"), ("POWER", "POWER1")
    return f"POWER{channel}", (f"POWER{channel}",)


class TasmotaLight(LightEntity):
    """One Tasmota relay (or dimmer) channel as ``light.<id>``."""

    source = "tasmota"
    features = SOURCE_FEATURES["tasmota"]

    def __init__(
        self, hub: Hub, object_id: str, name: str | None, client: MqttClient, topic: str, channel: int = 0
    ) -> None:
        super().__init__(hub, object_id, name)
        self.client = client
        self.device_topic = topic
        self.command, self.keys = power_keys(channel)
        self.rssi: int | None = None
        self._unsubs: list[Callable[[], None]] = [
            client.subscribe(f"stat/{topic}/RESULT", self._on_json, qos=1),
            client.subscribe(f"tele/{topic}/STATE", self._on_json, qos=1),
            client.subscribe(f"tele/{topic}/LWT", self._on_lwt, qos=1),
        ]
        for key in self.keys:
            self._unsubs.append(client.subscribe(f"stat/{topic}/{key}", self._on_power, qos=1))
        self._unsubs.append(client.on_connect(self._query))

    def stop(self) -> None:
        """Unsubscribe."""
        for unsub in self._unsubs:
            unsub()

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return light attributes plus source and Wi-Fi signal."""
        attrs = {**super().extra_attributes(), "source": self.source, "device_topic": self.device_topic}
        if self.rssi is not None:
            attrs["rssi"] = self.rssi
        return attrs

    async def query_state(self) -> bool:
        """Query the device's state now (``homeassistant.update_entity``)."""
        await self._query()
        return True

    async def _query(self) -> None:
        # An empty POWER is a query: Tasmota answers on stat/, so the state is current after a reconnect.
        try:
            await self.client.publish(f"cmnd/{self.device_topic}/{self.command}", "", qos=1)
        except MqttNotConnected as err:
            _LOGGER.debug("%s: state query failed: %s", self.entity_id, err)

    def _on_power(self, message: MqttMessage) -> None:
        text = payload_text(message.payload, 64)
        on = _on_off(text.strip() if text else None)
        if on is None:
            _BAD.warn(
                message.topic, "Tasmota %s: power %r is not ON/OFF", message.topic, message.payload[:40]
            )
            return
        self.available = True
        self.report(on, brightness=self.brightness)

    def _on_json(self, message: MqttMessage) -> None:
        data = json_object(message.payload, self.client.max_payload)
        if data is None:
            _BAD.warn(message.topic, "Tasmota %s: payload is not a JSON object; ignored", message.topic)
            return
        on: bool | None = None
        for key in self.keys:
            if key in data:
                on = _on_off(data[key] if isinstance(data[key], str) else None)
                break
        dimmer = as_number(data.get("Dimmer"))
        brightness = round(dimmer * 255 / 100) if dimmer is not None and 0 <= dimmer <= 100 else None
        wifi = data.get("Wifi")
        if isinstance(wifi, dict) and as_number(wifi.get("RSSI")) is not None:
            self.rssi = int(wifi["RSSI"])
        if on is None and brightness is None:
            return  # a RESULT for another command (Dimmer of another channel, Teleperiod…)
        self.available = True
        self.report(on, brightness=brightness if brightness is not None else self.brightness)

    def _on_lwt(self, message: MqttMessage) -> None:
        text = (payload_text(message.payload, 64) or "").strip()
        if text not in ("Online", "Offline"):
            _BAD.warn(message.topic, "Tasmota %s: LWT %r not understood", message.topic, message.payload[:40])
            return
        self.available = text == "Online"
        if self.is_on is None:
            self.write_state("unknown")
        else:
            self.report(None, brightness=self.brightness)

    async def send(self, on: bool | None, **options: Any) -> None:
        """Publish Fade/Speed, Dimmer, CT, Color or HSBColor, then POWER (Tasmota's light commands)."""
        cmnd = f"cmnd/{self.device_topic}"
        transition = options.get("transition")
        if transition is not None:
            # Speed is the time to fade from 0 to 100 % in half-seconds, 1–40.
            await self.client.publish(f"{cmnd}/Fade", "1" if transition > 0 else "0", qos=1)
            if transition > 0:
                await self.client.publish(f"{cmnd}/Speed", str(max(1, min(40, round(transition * 2)))), qos=1)
        brightness = options.get("brightness")
        if brightness is not None:
            await self.client.publish(f"{cmnd}/Dimmer", str(round(brightness * 100 / 255)), qos=1)
        if options.get("color_temp") is not None:
            # Tasmota's CT range is 153–500 mireds.
            await self.client.publish(f"{cmnd}/CT", str(max(153, min(500, options["color_temp"]))), qos=1)
        if options.get("hs") is not None:
            hue, sat = options["hs"]
            level = round(brightness * 100 / 255) if brightness is not None else 100
            await self.client.publish(f"{cmnd}/HSBColor", f"{round(hue)},{round(sat)},{level}", qos=1)
        elif options.get("xy") is not None or options.get("hex_color"):
            colour = options.get("hex_color") or xy_to_hex(*options["xy"])
            await self.client.publish(f"{cmnd}/Color", colour.lstrip("#"), qos=1)
        if on is not None:
            await self.client.publish(f"{cmnd}/{self.command}", "ON" if on else "OFF", qos=1)

    async def toggle(self) -> None:
        """Let the relay toggle itself."""
        await self.client.publish(f"cmnd/{self.device_topic}/{self.command}", "TOGGLE", qos=1)


def _on_off(value: str | None) -> bool | None:
    return {"ON": True, "OFF": False}.get(value.upper()) if isinstance(value, str) else None
