"""A simulated Zigbee2MQTT bridge on a real broker, for tests and demos of the devices flow.

It behaves like Zigbee2MQTT 2.x as notes/protocols.md describes it: a
retained ``<base>/bridge/devices`` list, ``bridge/state`` online, answers to
``bridge/request/permit_join`` on ``bridge/response/permit_join`` (echoing
the transaction), devices that *join* only while pairing is open, device
state messages on ``<base>/<friendly_name>``, and it records the commands
the hub sends to ``<base>/<name>/set``.  Nothing here is imported by the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from typing import Any

__all__ = ("FakeZigbee2Mqtt", "COORDINATOR", "sos_button_device", "light_device")

_unique = itertools.count()

COORDINATOR: dict[str, Any] = {
    "friendly_name": "Coordinator",
    "ieee_address": "0x00124b0000000000",
    "type": "Coordinator",
    "definition": None,
}


def sos_button_device(
    name: str, ieee: str, model: str = "TS0215A_sos", vendor: str = "Tuya"
) -> dict[str, Any]:
    """Return a ``bridge/devices`` entry for an SOS button of ``model``."""
    return {
        "friendly_name": name,
        "ieee_address": ieee,
        "type": "EndDevice",
        "power_source": "Battery",
        "definition": {
            "model": model,
            "vendor": vendor,
            "exposes": [
                {"type": "enum", "property": "action", "values": ["emergency"]},
                {"type": "numeric", "property": "battery"},
            ],
        },
    }


def light_device(name: str, ieee: str, model: str = "LED1545G12", vendor: str = "IKEA") -> dict[str, Any]:
    """Return a ``bridge/devices`` entry for a dimmable bulb with the ``effect`` (blink) feature."""
    return {
        "friendly_name": name,
        "ieee_address": ieee,
        "type": "Router",
        "power_source": "Mains (single phase)",
        "definition": {
            "model": model,
            "vendor": vendor,
            "exposes": [
                {
                    "type": "light",
                    "features": [
                        {"type": "binary", "property": "state"},
                        {"type": "numeric", "property": "brightness"},
                    ],
                },
                {"type": "enum", "property": "effect", "values": ["blink", "stop_effect"]},
            ],
        },
    }


class FakeZigbee2Mqtt:
    """Zigbee2MQTT's MQTT side, played on ``host:port`` under ``base``."""

    def __init__(self, host: str, port: int, base: str, *, answer: bool = True) -> None:
        self.host = host
        self.port = port
        self.base = base
        #: False plays a bridge that is not running: requests go unanswered.
        self.answer = answer
        self.devices: list[dict[str, Any]] = [COORDINATOR]
        #: Devices waiting for pairing to open (the admin's "press the pair button").
        self.waiting: list[dict[str, Any]] = []
        self.permit_until = 0.0
        self.permit_requests: list[dict[str, Any]] = []
        #: (topic, decoded JSON) of every ``<base>/<name>/set`` command.
        self.commands: list[tuple[str, Any]] = []
        self._client: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> FakeZigbee2Mqtt:
        """Connect, publish the bridge state and device list, and start answering."""
        import aiomqtt

        self._client = await self._stack.enter_async_context(
            aiomqtt.Client(self.host, self.port, identifier=f"fake-z2m-{os.getpid()}-{next(_unique)}")
        )
        await self._client.subscribe(f"{self.base}/bridge/request/#", qos=1)
        await self._client.subscribe(f"{self.base}/+/set", qos=1)
        self._task = asyncio.create_task(self._pump())
        await self._client.publish(f"{self.base}/bridge/state", json.dumps({"state": "online"}), retain=True)
        await self.publish_devices()
        return self

    async def stop(self) -> None:
        """Clear the retained topics and disconnect."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                for topic in ("bridge/devices", "bridge/state"):
                    await self._client.publish(f"{self.base}/{topic}", b"", retain=True)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._stack.aclose()
        self._client = None

    async def __aenter__(self) -> FakeZigbee2Mqtt:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def permit_open(self) -> bool:
        """Return whether pairing is open now."""
        return time.monotonic() < self.permit_until

    async def publish_devices(self) -> None:
        """Publish the retained device list."""
        await self._client.publish(
            f"{self.base}/bridge/devices", json.dumps(self.devices), qos=1, retain=True
        )

    async def pair(self, device: dict[str, Any]) -> None:
        """The admin pressed the device's pairing button: it joins now if pairing is open, else later."""
        if self.permit_open:
            await self._join(device)
        else:
            self.waiting.append(device)

    async def _join(self, device: dict[str, Any]) -> None:
        self.devices.append(device)
        name, ieee = device["friendly_name"], device["ieee_address"]
        event = {"type": "device_joined", "data": {"friendly_name": name, "ieee_address": ieee}}
        await self._client.publish(f"{self.base}/bridge/event", json.dumps(event), qos=1)
        await self.publish_devices()

    async def press(self, name: str, action: str = "emergency", **extra: Any) -> None:
        """The device ``name`` sends ``{"action": action, ...}`` (a button press)."""
        body = {"action": action, "battery": 97, "linkquality": 120, **extra}
        await self._client.publish(f"{self.base}/{name}", json.dumps(body), qos=1)

    def commands_for(self, name: str) -> list[Any]:
        """Return the ``/set`` bodies the hub sent to ``name``."""
        return [body for topic, body in self.commands if topic == f"{self.base}/{name}/set"]

    async def _pump(self) -> None:
        async for message in self._client.messages:
            topic = str(message.topic)
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            try:
                body = json.loads(payload) if payload else None
            except ValueError:
                body = payload.decode("utf-8", "replace")
            if topic.endswith("/set"):
                self.commands.append((topic, body))
            elif topic == f"{self.base}/bridge/request/permit_join":
                await self._permit(body)

    async def _permit(self, body: Any) -> None:
        self.permit_requests.append(body if isinstance(body, dict) else {"raw": body})
        if not self.answer:
            return
        response: dict[str, Any]
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("time"), int)
            or not 0 <= body["time"] <= 254
        ):
            response = {"data": {}, "status": "error", "error": "Invalid payload"}
        else:
            seconds = body["time"]
            self.permit_until = time.monotonic() + seconds
            response = {"data": {"time": seconds}, "status": "ok"}
        if isinstance(body, dict) and "transaction" in body:
            response["transaction"] = body["transaction"]
        await self._client.publish(f"{self.base}/bridge/response/permit_join", json.dumps(response), qos=1)
        if self.permit_open:
            waiting, self.waiting = self.waiting, []
            for device in waiting:
                await self._join(device)
