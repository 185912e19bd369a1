"""Lights: entities ``light.<id>`` and the ``light.*`` services.

Device sources (Zigbee2MQTT, Tasmota, Shelly) subclass :class:`LightEntity`;
``simulated`` lights have no device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub import hookimpl
from integrations.light.config import LightConfig
from integrations.light.const import DOMAIN
from integrations.light.entity import LightEntity, SimulatedLight

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("LightEntity", "SimulatedLight", "add_light", "SOURCES")

#: Source name → factory(hub, LightConfig) -> LightEntity; device integrations add theirs.
SOURCES: dict[str, Any] = {"simulated": lambda hub, cfg: SimulatedLight(hub, cfg.id, cfg.name)}


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
    """Create configured lights and register services."""
    for item in config or []:
        factory = SOURCES.get(item.source)
        if factory is None:
            raise ValueError(f"light {item.id}: source {item.source} needs its integration (mqtt)")
        add_light(hub, factory(hub, item))

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
