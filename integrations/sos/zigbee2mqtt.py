"""SOS buttons behind Zigbee2MQTT.

Per button: ``<base>/<friendly_name>`` carries the state JSON (a press is an
``action`` or, for Feibit, ``sos: true``; notes §1.2), ``…/availability`` is
retained ``{"state": "online"|"offline"}``.  The plain ``…/action`` topic is
deliberately *not* subscribed: Z2M sends it in addition to the JSON state, so
listening to both would count every press twice.

``action`` is an event, not state: Z2M never repeats it in later battery or
link-quality reports, and ``""``/``null`` (legacy clears) are not presses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hub.badinput import BadInputLog, json_object
from hub.core.context import Context
from integrations.mqtt import MqttClient, MqttMessage
from integrations.mqtt.zigbee2mqtt import Z2mBridge, telemetry_from
from integrations.sos.const import EVENT_SOS_SUPERVISION
from integrations.sos.entity import SosButton
from integrations.sos.incidents import report_unrecognised
from integrations.sos.models import NOT_PRESSES, Rule, match_press, rules_for

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("Z2mButtonSource",)

_LOGGER = logging.getLogger(__name__)
_BAD = BadInputLog(_LOGGER)
_SENSOR_NAMES = {"battery": "battery", "last_seen": "last seen"}
_SENSOR_ATTRS: dict[str, dict[str, str]] = {
    "battery": {"unit_of_measurement": "%", "device_class": "battery"},
    "last_seen": {"device_class": "timestamp"},
}
#: Battery must rise this far above the threshold before "battery_ok" (no flapping at the edge).
_BATTERY_HYSTERESIS = 5


class Z2mButtonSource:
    """Connects one :class:`SosButton` to its Zigbee2MQTT device."""

    def __init__(
        self,
        hub: Hub,
        button: SosButton,
        client: MqttClient,
        bridge: Z2mBridge,
        friendly_name: str,
        *,
        rules: Sequence[Rule] | None = None,
        models: Mapping[str, Sequence[Rule]] | None = None,
        low_battery: int = 20,
    ) -> None:
        self.hub = hub
        self.button = button
        self.client = client
        self.bridge = bridge
        self.name = friendly_name
        self.own_rules = list(rules) if rules else None
        self.models = models or {}
        self.low_battery = low_battery
        self.battery_low = False
        self.online: bool | None = None
        self._written: dict[str, str] = {}
        topic = f"{bridge.base_topic}/{friendly_name}"
        self._unsubs: list[Callable[[], None]] = [
            client.subscribe(topic, self.on_state, qos=1),
            client.subscribe(f"{topic}/availability", self.on_availability, qos=1),
        ]
        self._sensors()

    def stop(self) -> None:
        """Unsubscribe."""
        for unsub in self._unsubs:
            unsub()

    @property
    def model(self) -> str | None:
        """Return the model Z2M reported for this device."""
        return self.bridge.model(self.name)

    def rules(self) -> tuple[Sequence[Rule], bool]:
        """Return this button's press rules and whether its model is known."""
        if self.own_rules is not None:
            return self.own_rules, True
        return rules_for(self.model, self.models)

    def on_state(self, message: MqttMessage) -> None:
        """Handle ``<base>/<name>``: a press first (latency), then telemetry."""
        data = json_object(message.payload, self.client.max_payload)
        if data is None:
            _BAD.warn(
                self.name,
                "Zigbee2MQTT %s: payload is not a JSON object: %r; ignored",
                self.name,
                message.payload[:100],
            )
            return
        if not message.retain:
            self.button.heard()  # a report, not a replay: the button is alive
        rules, known = self.rules()
        # A retained message is a replay of the past on (re)subscribe, never a live press:
        # brokers deliver live publishes with retain=0 to existing subscribers.
        action = match_press(rules, data) if not message.retain else None
        if action is not None:
            self._set_online(True)
            self.hub.create_task(
                self.button.press(
                    action,
                    "zigbee2mqtt",
                    context=Context(origin="zigbee2mqtt"),
                    data={"device": self.name, "model": self.model},
                ),
                f"sos press {self.button.entity_id}",
            )
        elif (
            not known
            and not message.retain
            and isinstance(data.get("action"), str)
            and data["action"]
            and data["action"] not in NOT_PRESSES
        ):
            # A configured SOS button said something no rule knows: maybe a press in a
            # vocabulary we lack.  Never silence: an incident the operator sees.
            _BAD.warn(
                f"model {self.name}",
                "Zigbee2MQTT %s: model %r is not in the SOS table; action %r opened an "
                "'unrecognised press' incident (add it under mqtt.zigbee2mqtt.sos_models or the button's press:)",
                self.name,
                self.model,
                data["action"],
            )
            self.hub.create_task(
                report_unrecognised(
                    self.hub, self.button, data["action"], {"device": self.name, "model": self.model}
                ),
                f"sos unrecognised {self.button.entity_id}",
            )
        telemetry, problems = telemetry_from(data)
        if problems:
            _BAD.warn(
                f"types {self.name}",
                "Zigbee2MQTT %s: wrong types ignored: %s",
                self.name,
                ", ".join(problems),
            )
        if telemetry:
            if self.model:
                telemetry["model"] = self.model
            self.button.update_telemetry(**telemetry)
            self._sensors()
            self._check_battery(telemetry)

    def on_availability(self, message: MqttMessage) -> None:
        """Handle the retained ``…/availability`` (JSON in Z2M 2.x, plain text in 1.x)."""
        data = json_object(message.payload, 1024)
        state = data.get("state") if data is not None else message.payload.decode("utf-8", "replace").strip()
        if state not in ("online", "offline"):
            _BAD.warn(
                f"avail {self.name}",
                "Zigbee2MQTT %s: availability %r not understood",
                self.name,
                message.payload[:60],
            )
            return
        if state == "online" and not message.retain:
            self.button.heard()
        self._set_online(state == "online")

    def _set_online(self, online: bool) -> None:
        previous, self.online = self.online, online
        if previous == online:
            return
        self.button.available = online
        current = self.button.state
        self.button.write_state(
            current.state if current is not None and current.state != "unavailable" else "idle"
        )
        self._sensors()
        if not online:
            self._supervision("offline")
        elif previous is False:
            self._supervision("online")

    def _check_battery(self, telemetry: Mapping[str, Any]) -> None:
        battery = telemetry.get("battery")
        flag = telemetry.get("battery_low")
        low = flag is True or (isinstance(battery, int | float) and battery <= self.low_battery)
        recovered = (
            flag is False
            if flag is not None
            else (isinstance(battery, int | float) and battery > self.low_battery + _BATTERY_HYSTERESIS)
        )
        if low and not self.battery_low:
            self.battery_low = True
            self._supervision("low_battery")
        elif self.battery_low and recovered and not low:
            self.battery_low = False
            self._supervision("battery_ok")

    def _supervision(self, problem: str) -> None:
        tele = self.button.telemetry
        self.hub.bus.fire(
            EVENT_SOS_SUPERVISION,
            {
                "entity_id": self.button.entity_id,
                "problem": problem,
                "source": "zigbee2mqtt",
                "device": self.name,
                "battery": tele.get("battery"),
                "last_seen": tele.get("last_seen"),
                "place": self.button.place,
            },
            Context(origin="zigbee2mqtt"),
        )

    def _sensors(self) -> None:
        """Mirror battery and last_seen as sensors (what automations and the UI read).

        Only values that changed are written: at thousands of reports a second
        every skipped state write is a skipped event and recorder row.
        """
        tele = self.button.telemetry
        avail = self.online is not False
        # Link quality changes with nearly every report: it stays an attribute of the button,
        # so a busy network does not double the state writes.
        values = (
            ("battery", str(tele["battery"]) if avail and "battery" in tele else "unknown"),
            ("last_seen", str(tele.get("last_seen") or "unknown")),
        )
        for key, value in values:
            if self._written.get(key) == value:
                continue
            self._written[key] = value
            self.hub.states.set(
                f"sensor.{self.button.object_id}_{key}",
                value,
                {
                    "friendly_name": f"{self.button.name} {_SENSOR_NAMES[key]}",
                    **_SENSOR_ATTRS[key],
                    "button": self.button.entity_id,
                },
            )
