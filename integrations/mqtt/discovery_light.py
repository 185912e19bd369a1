"""A ``light`` from HA discovery, in the ``json`` schema (Z2M, ESPHome) or the default one.

Kept apart from :mod:`integrations.mqtt.discovery` because it builds on the
light integration's entity, which itself uses the MQTT client.
"""

from __future__ import annotations

import colorsys
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog, as_number, json_object
from integrations.light.entity import LightEntity
from integrations.light.fields import hs_to_hex, xy_to_hex
from integrations.mqtt import discovery_schema as ds
from integrations.mqtt.client import MqttClient, MqttMessage
from integrations.mqtt.discovery import _Availability, _DiscoveredMixin, _name

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("DiscoveredLight", "DiscoveredSwitch")


class DiscoveredLight(_DiscoveredMixin, LightEntity):
    """Commands go to ``command_topic``; state comes back on ``state_topic``."""

    def __init__(
        self,
        hub: Hub,
        object_id: str,
        config: dict[str, Any],
        client: MqttClient,
        bad: BadInputLog,
        discovery_id: str,
    ) -> None:
        LightEntity.__init__(self, hub, object_id, _name(config, object_id))
        self.config, self.client, self.bad, self.discovery_id = config, client, bad, discovery_id
        self.schema = ds.text(config, "schema", "default") or "default"
        if self.schema not in ("json", "default", "basic"):
            raise ds.DiscoveryError(f"light schema {self.schema!r} is not supported")
        self.command_topic = ds.topic(config, "command_topic")
        if self.command_topic is None:
            raise ds.DiscoveryError("command_topic missing")
        self.state_topic = ds.topic(config, "state_topic")
        scale = as_number(config.get("brightness_scale", 255))
        self.scale = scale if scale and scale > 0 else 255.0
        effects = config.get("effect_list")
        self.effects = [e for e in effects if isinstance(e, str)] if isinstance(effects, list) else []
        self.supports_blink = "blink" in self.effects
        self.state_tpl = self.template(
            ds.text(config, "state_value_template") or ds.text(config, "value_template")
        )
        self.availability = _Availability(self, config)
        if self.availability.items:
            self.available = False
        self.features = light_features(self.schema, config)

    def subscriptions(self) -> list[Callable[[], None]]:
        qos = ds.qos(self.config)
        subs = self.availability.subscribe(self.client, qos)
        if self.state_topic:
            subs.append(self.client.subscribe(self.state_topic, self.on_state, qos))
        bri_topic = ds.topic(self.config, "brightness_state_topic")
        if bri_topic and self.schema != "json":
            subs.append(self.client.subscribe(bri_topic, self.on_brightness, qos))
        return subs

    def refresh(self) -> None:
        if self.is_on is None:
            self.write_state("unknown")
        else:
            self.report(None, brightness=self.brightness, effect=self.effect)

    def on_state(self, message: MqttMessage) -> None:
        if self.schema == "json":
            data = json_object(message.payload, self.client.max_payload)
            state = data.get("state") if data else None
            if state not in ("ON", "OFF"):
                self.bad.warn(
                    self.entity_id, "%s: no ON/OFF state in %r", self.entity_id, message.payload[:100]
                )
                return
            assert data is not None
            bri = as_number(data.get("brightness"))
            effect = data.get("effect")
            self.report(
                state == "ON",
                brightness=self._to_hub(bri) if bri is not None else None,
                effect=effect if isinstance(effect, str) else None,
            )
            return
        value = self.value(message, self.state_tpl)
        # HA's switch reports ``state_on``/``state_off``, which default to the payloads.
        on_value = ds.text(self.config, "state_on") or ds.text(self.config, "payload_on", "ON")
        off_value = ds.text(self.config, "state_off") or ds.text(self.config, "payload_off", "OFF")
        if value == on_value:
            self.report(True, brightness=self.brightness)
        elif value == off_value:
            self.report(False, brightness=self.brightness)
        elif value is not None:
            self.bad.warn(self.entity_id, "%s: state %r is neither ON nor OFF", self.entity_id, value[:100])

    def on_brightness(self, message: MqttMessage) -> None:
        try:
            value = float(message.payload.decode())
        except (UnicodeDecodeError, ValueError):
            return
        if value == value and 0 <= value <= self.scale:
            self.report(None, brightness=self._to_hub(value), effect=self.effect)

    def _to_hub(self, value: float) -> int:
        return max(0, min(255, round(value * 255 / self.scale)))

    async def send(self, on: bool | None, **options: Any) -> None:
        """Publish a command in the light's schema (never retained)."""
        assert self.command_topic is not None
        qos = ds.qos(self.config)
        brightness = options.get("brightness")
        if self.schema == "json":
            body: dict[str, Any] = {}
            if on is not None:
                body["state"] = "ON" if on else "OFF"
            if brightness is not None:
                body["brightness"] = round(brightness * self.scale / 255)
            for key in ("transition", "effect", "color_temp"):
                if options.get(key) is not None:
                    body[key] = options[key]
            # HA's JSON schema: {"r","g","b"}, {"h","s"} or {"x","y"}.
            if options.get("hex_color"):
                r, g, b = (int(options["hex_color"][i : i + 2], 16) for i in (1, 3, 5))
                body["color"] = {"r": r, "g": g, "b": b}
            elif options.get("hs") is not None:
                body["color"] = {"h": options["hs"][0], "s": options["hs"][1]}
            elif options.get("xy") is not None:
                body["color"] = {"x": options["xy"][0], "y": options["xy"][1]}
            await self.client.publish(self.command_topic, json.dumps(body), qos=qos)
            return
        if on is not None:
            payload = ds.text(self.config, "payload_on" if on else "payload_off", "ON" if on else "OFF")
            await self.client.publish(self.command_topic, payload, qos=qos)
        bri_cmd = ds.topic(self.config, "brightness_command_topic")
        if brightness is not None and bri_cmd:
            await self.client.publish(bri_cmd, str(round(brightness * self.scale / 255)), qos=qos)
        fx_cmd = ds.topic(self.config, "effect_command_topic")
        if options.get("effect") and fx_cmd:
            await self.client.publish(fx_cmd, str(options["effect"]), qos=qos)
        ct_cmd = ds.topic(self.config, "color_temp_command_topic")
        if options.get("color_temp") is not None and ct_cmd:
            await self.client.publish(ct_cmd, str(options["color_temp"]), qos=qos)
        await self._send_colour(options, qos)

    async def _send_colour(self, options: dict[str, Any], qos: int) -> None:
        """The default schema's colour topics: ``r,g,b``, ``h,s`` or ``x,y``, whichever the light has."""
        rgb_cmd = ds.topic(self.config, "rgb_command_topic")
        hs_cmd = ds.topic(self.config, "hs_command_topic")
        xy_cmd = ds.topic(self.config, "xy_command_topic")
        hex_color = options.get("hex_color")
        if options.get("hs") is not None and hs_cmd:
            await self.client.publish(hs_cmd, "{},{}".format(*options["hs"]), qos=qos)
        elif options.get("xy") is not None and xy_cmd:
            await self.client.publish(xy_cmd, "{},{}".format(*options["xy"]), qos=qos)
        elif rgb_cmd and (hex_color or options.get("hs") is not None or options.get("xy") is not None):
            if hex_color is None:
                hex_color = (
                    hs_to_hex(*options["hs"]) if options.get("hs") is not None else xy_to_hex(*options["xy"])
                )
            r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
            await self.client.publish(rgb_cmd, f"{r},{g},{b}", qos=qos)
        elif hex_color and hs_cmd:
            red, green, blue = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
            hue, sat, _ = colorsys.rgb_to_hsv(red, green, blue)
            await self.client.publish(hs_cmd, f"{round(hue * 360)},{round(sat * 100)}", qos=qos)


class DiscoveredSwitch(DiscoveredLight):
    """A ``switch`` from HA discovery (relays, plugs, siren relays): on, off, toggle."""

    domain = "switch"

    def __init__(
        self,
        hub: Hub,
        object_id: str,
        config: dict[str, Any],
        client: MqttClient,
        bad: BadInputLog,
        discovery_id: str,
    ) -> None:
        if ds.text(config, "schema", "default") != "default":
            raise ds.DiscoveryError("a switch has no schema option")
        super().__init__(hub, object_id, config, client, bad, discovery_id)
        self.features = frozenset()


#: HA's colour modes that mean the light dims, and those that mean it takes a colour.
_DIMMING_MODES = frozenset({"brightness", "color_temp", "hs", "xy", "rgb", "rgbw", "rgbww", "white"})
_COLOUR_MODES = frozenset({"hs", "xy", "rgb", "rgbw", "rgbww"})


def light_features(schema: str, config: dict[str, Any]) -> frozenset[str]:
    """What a discovered light can do, from its discovery config (HA's rules for each schema)."""
    found: set[str] = set()
    if schema == "json":
        modes = {m for m in config.get("supported_color_modes") or [] if isinstance(m, str)}
        if config.get("brightness") is True or modes & _DIMMING_MODES:
            found.add("brightness")
        if "color_temp" in modes or config.get("color_temp") is True:
            found.add("color_temp")
        if (
            modes & _COLOUR_MODES
            or config.get("rgb") is True
            or config.get("hs") is True
            or config.get("xy") is True
        ):
            found.add("color")
        found.add("transition")  # the JSON schema always carries it
        if config.get("effect") is True or config.get("effect_list"):
            found.add("effect")
        return frozenset(found)
    if ds.topic(config, "brightness_command_topic"):
        found.add("brightness")
    if ds.topic(config, "color_temp_command_topic"):
        found.add("color_temp")
    if any(ds.topic(config, k) for k in ("rgb_command_topic", "hs_command_topic", "xy_command_topic")):
        found.add("color")
    if ds.topic(config, "effect_command_topic"):
        found.add("effect")
    return frozenset(found)
