"""Lights: entities ``light.<id>`` and the ``light.*`` services; Zigbee sirens as ``siren.<id>``.

Device sources (Zigbee2MQTT, Tasmota, Shelly) subclass :class:`LightEntity`
and register a factory in :data:`SOURCES`; ``simulated`` lights have no
device.  A light whose source cannot start (no ``mqtt:`` block, say) is
shown unavailable with the reason; the others work regardless.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub import hookimpl
from hub.core.errors import HubError
from hub.entity import Entity
from hub.keys import HubKey
from integrations.light.config import LightConfig
from integrations.light.const import DOMAIN
from integrations.light.entity import LightEntity, SimulatedLight

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("LightEntity", "SimulatedLight", "SimulatedSiren", "add_light", "SOURCES", "SIREN_SOURCES")

_LOGGER = logging.getLogger(__name__)
_DEVICES: HubKey[list[Any]] = HubKey("light_devices")


def _zigbee2mqtt(hub: Hub, cfg: LightConfig) -> LightEntity:
    from integrations.light.zigbee2mqtt import Z2mLight
    from integrations.mqtt import get_client
    from integrations.mqtt.zigbee2mqtt import get_bridge

    client = get_client(hub)
    assert cfg.zigbee2mqtt is not None
    return Z2mLight(
        hub,
        cfg.id,
        cfg.name,
        client,
        get_bridge(hub, client, client.config.zigbee2mqtt.base_topic),
        cfg.zigbee2mqtt,
    )


def _tasmota(hub: Hub, cfg: LightConfig) -> LightEntity:
    from integrations.light.tasmota import TasmotaLight
    from integrations.mqtt import get_client

    assert cfg.tasmota is not None
    return TasmotaLight(hub, cfg.id, cfg.name, get_client(hub), cfg.tasmota, cfg.channel)


def _shelly(hub: Hub, cfg: LightConfig) -> LightEntity:
    from integrations.light.shelly import ShellyLight
    from integrations.mqtt import get_client

    assert cfg.shelly is not None
    return ShellyLight(hub, cfg.id, cfg.name, get_client(hub), cfg.shelly, cfg.channel)


def _z2m_siren(hub: Hub, cfg: LightConfig) -> Entity:
    from integrations.light.zigbee2mqtt import Z2mSiren
    from integrations.mqtt import get_client
    from integrations.mqtt.zigbee2mqtt import get_bridge

    client = get_client(hub)
    assert cfg.zigbee2mqtt is not None
    return Z2mSiren(
        hub,
        cfg.id,
        cfg.name,
        client,
        get_bridge(hub, client, client.config.zigbee2mqtt.base_topic),
        cfg.zigbee2mqtt,
    )


#: Source name → factory(hub, LightConfig) -> LightEntity; device integrations add theirs.
SOURCES: dict[str, Any] = {
    "simulated": lambda hub, cfg: SimulatedLight(hub, cfg.id, cfg.name),
    "zigbee2mqtt": _zigbee2mqtt,
    "tasmota": _tasmota,
    "shelly": _shelly,
}
#: Source name → factory(hub, LightConfig) -> siren entity (``kind: siren``).
SIREN_SOURCES: dict[str, Any] = {
    "simulated": lambda hub, cfg: SimulatedSiren(hub, cfg.id, cfg.name),
    "zigbee2mqtt": _z2m_siren,
}


class SimulatedSiren(Entity):
    """A siren with no device (demo and drills): on until turned off or its duration ends."""

    domain = "siren"

    def __init__(self, hub: Hub, object_id: str, name: str | None = None) -> None:
        super().__init__(hub, object_id, name)
        self.commands: list[dict[str, Any]] = []

    async def turn_on(self, **options: Any) -> None:
        """Record and show on."""
        self.commands.append({"on": True, **options})
        self.write_state("on", {"source": "simulated"})

    async def turn_off(self) -> None:
        """Record and show off."""
        self.commands.append({"on": False})
        self.write_state("off", {"source": "simulated"})


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]


class TurnOnSchema(_Schema):
    brightness: int | None = Field(default=None, ge=0, le=255)
    color_temp: int | None = Field(default=None, ge=50, le=1000)
    hex_color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
    transition: float | None = Field(default=None, ge=0, le=300)
    effect: str | None = None


class TurnOffSchema(_Schema):
    transition: float | None = Field(default=None, ge=0, le=300)


class FlashSchema(_Schema):
    seconds: float = Field(default=10, gt=0, le=3600)
    pattern: Literal["normal", "fast", "slow"] = "normal"


class SirenOnSchema(_Schema):
    """Zigbee2MQTT's IAS WD ``warning`` fields (notes §1.3)."""

    mode: Literal["burglar", "fire", "emergency", "police_panic", "fire_panic", "emergency_panic"] = (
        "emergency"
    )
    level: Literal["low", "medium", "high", "very_high"] = "high"
    strobe: bool = True
    strobe_level: Literal["low", "medium", "high", "very_high"] = "high"
    strobe_duty_cycle: int = Field(default=5, ge=0, le=10)
    duration: int = Field(default=60, ge=1, le=1800)


def add_light(hub: Hub, light: LightEntity) -> LightEntity:
    """Register a light entity (state unknown until the device reports)."""
    hub.entities.add(light)
    light.write_state("unknown")
    return light


@hookimpl
def config_schema() -> Any:
    """Return the ``light:`` block type."""
    return list[LightConfig]


@hookimpl
def setup(hub: Hub, config: list[LightConfig] | None) -> None:
    """Create configured lights and sirens, and register services."""
    devices: list[Any] = []
    hub.data[_DEVICES] = devices
    for item in config or []:
        table = SIREN_SOURCES if item.kind == "siren" else SOURCES
        factory = table.get(item.source)
        try:
            if factory is None:
                raise ValueError(f"source {item.source} has no {item.kind} support")
            entity = factory(hub, item)
        except (HubError, ValueError, TypeError, OSError) as err:
            # One lamp's broken source must not take the other lamps down.
            _LOGGER.error("%s %s: %s source not started: %s", item.kind, item.id, item.source, err)
            _unavailable(hub, item, str(err))
            continue
        devices.append(entity)
        if isinstance(entity, LightEntity):
            add_light(hub, entity)
        else:
            hub.entities.add(entity)
            entity.write_state("off")

    def lights(call: Any) -> list[LightEntity]:
        return hub.entities.resolve(call.data["entity_id"], LightEntity)

    async def turn_on(call: Any) -> None:
        opts = {k: v for k, v in call.data.items() if k != "entity_id"}
        for light in lights(call):
            await light.turn_on(**opts)

    async def turn_off(call: Any) -> None:
        for light in lights(call):
            await light.turn_off(transition=call.data.get("transition"))

    async def toggle(call: Any) -> None:
        for light in lights(call):
            await light.toggle()

    def flash(call: Any) -> None:
        for light in lights(call):
            light.flash(call.data["seconds"], call.data["pattern"])

    reg = hub.services.register
    reg(DOMAIN, "turn_on", turn_on, TurnOnSchema, description="Switch lights on")
    reg(DOMAIN, "turn_off", turn_off, TurnOffSchema, description="Switch lights off")
    reg(DOMAIN, "toggle", toggle, _Schema, description="Toggle lights")
    reg(DOMAIN, "flash", flash, FlashSchema, description="Flash lights, then restore their state")

    def sirens(call: Any) -> list[Any]:
        found = hub.entities.resolve(call.data["entity_id"], Entity)
        return [e for e in found if e.domain == "siren"]

    async def siren_on(call: Any) -> None:
        opts = {k: v for k, v in call.data.items() if k != "entity_id"}
        for siren in sirens(call):
            await siren.turn_on(**opts)

    async def siren_off(call: Any) -> None:
        for siren in sirens(call):
            await siren.turn_off()

    reg("siren", "turn_on", siren_on, SirenOnSchema, description="Sound sirens (Zigbee2MQTT warning payload)")
    reg("siren", "turn_off", siren_off, _Schema, description="Silence sirens")


def _unavailable(hub: Hub, item: LightConfig, error: str) -> None:
    domain = "siren" if item.kind == "siren" else DOMAIN
    hub.states.set(
        f"{domain}.{item.id}",
        "unavailable",
        {"friendly_name": item.name or item.id.replace("_", " "), "source": item.source, "error": error},
    )


@hookimpl
def shutdown(hub: Hub) -> None:
    """Detach device sources."""
    for device in hub.data.pop(_DEVICES, None) or []:
        stop = getattr(device, "stop", None)
        if stop is not None:
            stop()


@hookimpl
def service_schemas() -> Any:
    """Return the light and siren services' schemas (for ``check``)."""
    return {
        "light.turn_on": TurnOnSchema,
        "light.turn_off": TurnOffSchema,
        "light.toggle": _Schema,
        "light.flash": FlashSchema,
        "siren.turn_on": SirenOnSchema,
        "siren.turn_off": _Schema,
    }


@hookimpl
def config_entities(loaded: Any) -> Any:
    """Return ``light.<id>`` / ``siren.<id>`` for each configured light."""
    return [f"{item.kind}.{item.id}" for item in loaded.blocks.get(DOMAIN) or []]
