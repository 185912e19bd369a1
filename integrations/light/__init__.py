"""Lights: entities ``light.<id>`` and the ``light.*`` services; Zigbee sirens as ``siren.<id>``.

Device sources (Zigbee2MQTT, Tasmota, Shelly) subclass :class:`LightEntity`
and register a factory in :data:`SOURCES`; ``simulated`` lights have no
device.  A light whose source cannot start (no ``mqtt:`` block, say) is
shown unavailable with the reason; the others work regardless.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub import hookimpl
from hub.core.errors import HubError
from hub.entity import Entity
from hub.keys import HubKey
from integrations.light.calls import service_calls, written_targets
from integrations.light.config import LightConfig
from integrations.light.const import ALL_FEATURES, DOMAIN, SOURCE_FEATURES
from integrations.light.entity import L, LightEntity, SimulatedLight, as_switch
from integrations.light.fields import TurnOnSchema, to_command, unsupported

if TYPE_CHECKING:
    from hub.bootstrap import LoadedConfig
    from hub.config import ConfigError
    from hub.hub import Hub

__all__ = ("LightEntity", "SimulatedLight", "SimulatedSiren", "add_light", "SOURCES", "SIREN_SOURCES")

_LOGGER = logging.getLogger(__name__)
_DEVICES: HubKey[list[Any]] = HubKey("light_devices")


def _cls(cls: type[L], cfg: LightConfig) -> type[L]:
    return as_switch(cls) if cfg.kind == "switch" else cls


def _zigbee2mqtt(hub: Hub, cfg: LightConfig) -> LightEntity:
    from integrations.light.zigbee2mqtt import Z2mLight
    from integrations.mqtt import get_client
    from integrations.mqtt.zigbee2mqtt import get_bridge

    client = get_client(hub)
    assert cfg.zigbee2mqtt is not None
    return _cls(Z2mLight, cfg)(
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
    return _cls(TasmotaLight, cfg)(hub, cfg.id, cfg.name, get_client(hub), cfg.tasmota, cfg.channel)


def _shelly(hub: Hub, cfg: LightConfig) -> LightEntity:
    from integrations.light.shelly import ShellyLight
    from integrations.mqtt import get_client

    assert cfg.shelly is not None
    return _cls(ShellyLight, cfg)(hub, cfg.id, cfg.name, get_client(hub), cfg.shelly, cfg.channel)


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
    "simulated": lambda hub, cfg: _cls(SimulatedLight, cfg)(hub, cfg.id, cfg.name),
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


def _create(hub: Hub, item: LightConfig, devices: list[Any]) -> None:
    """Create the light or siren of one config entry."""
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
        return
    devices.append(entity)
    if isinstance(entity, LightEntity):
        add_light(hub, entity)
    else:
        hub.entities.add(entity)
        entity.write_state("off")


def _entity_id(item: LightConfig) -> str:
    return f"{DOMAIN if item.kind == 'light' else item.kind}.{item.id}"


@hookimpl
def config_changed(hub: Hub, old: list[LightConfig] | None, new: list[LightConfig] | None) -> bool:
    """Apply a changed ``light:`` block live: only changed entries are recreated.

    An unchanged lamp keeps its entity and device link (a flash in progress goes on);
    a changed one is stopped and built again from its new settings in the same step
    of the loop, and a removed one goes away.
    """
    devices: list[Any] = hub.data[_DEVICES]
    before = {_entity_id(item): item for item in old or []}
    after = {_entity_id(item): item for item in new or []}
    for entity_id, item in before.items():
        if after.get(entity_id) == item:
            continue
        for device in [d for d in devices if getattr(d, "entity_id", None) == entity_id]:
            stop = getattr(device, "stop", None)
            if stop is not None:
                stop()
            devices.remove(device)
        hub.entities.remove(entity_id)
        hub.states.remove(entity_id)
    for entity_id, item in after.items():
        if before.get(entity_id) != item:
            _create(hub, item, devices)
    return True


@hookimpl
def config_schema() -> Any:
    """Return the ``light:`` block type."""
    return list[LightConfig]


@hookimpl
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError] | None:
    """A ``light.turn_on`` (or ``homeassistant.turn_on``) field that its written target cannot do."""
    from hub.config import ConfigError, position_of

    items = loaded.blocks.get(DOMAIN)
    automations = loaded.raw.get("automation") if isinstance(loaded.raw, dict) else None
    if not isinstance(items, list) or not isinstance(automations, list):
        return None
    features = {
        f"{DOMAIN if item.kind == 'light' else item.kind}.{item.id}": (
            SOURCE_FEATURES.get(item.source, ALL_FEATURES) if item.kind == "light" else frozenset()
        )
        for item in items
    }
    errors: list[ConfigError] = []
    for loc, call in service_calls(automations, ("automation",)):
        service = str(call.get("action") or call.get("service") or "")
        if service not in ("light.turn_on", "homeassistant.turn_on"):
            continue
        raw_data = call.get("data")
        data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
        for entity_id in written_targets(call):
            if entity_id not in features:
                continue
            for field in unsupported(data, features[entity_id]):
                file, line = position_of(loaded.raw, (*loc, "data", field)) or (loaded.file_label, None)
                path = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(".[", "[")
                errors.append(
                    ConfigError(
                        file,
                        line,
                        f"{path}.data.{field}",
                        f"{entity_id} cannot do {field}: its source does not carry it",
                    )
                )
    return errors


@hookimpl
def setup(hub: Hub, config: list[LightConfig] | None) -> None:
    """Create configured lights and sirens, and register services."""
    devices: list[Any] = []
    hub.data[_DEVICES] = devices
    for item in config or []:
        _create(hub, item, devices)

    def of_domain(call: Any, domain: str) -> list[LightEntity]:
        if call.data["entity_id"] == "all":
            return [e for e in hub.entities.resolve("all", LightEntity) if e.domain == domain]
        found = hub.entities.resolve(call.data["entity_id"], LightEntity)
        wrong = [e.entity_id for e in found if e.domain != domain]
        if wrong:
            raise ValueError(f"{domain}.{call.service} does not act on {', '.join(wrong)}")
        return found

    def lights(call: Any) -> list[LightEntity]:
        return of_domain(call, DOMAIN)

    def switches(call: Any) -> list[LightEntity]:
        return of_domain(call, "switch")

    async def switch_on(call: Any) -> None:
        for switch in switches(call):
            await switch.turn_on()

    async def switch_off(call: Any) -> None:
        for switch in switches(call):
            await switch.turn_off()

    async def switch_toggle(call: Any) -> None:
        for switch in switches(call):
            await switch.toggle()

    async def turn_on(call: Any) -> None:
        targets = lights(call)
        for light in targets:
            # Every target is checked before any is switched: all or nothing.
            if refused := unsupported(call.data, light.features):
                raise ValueError(
                    f"{light.entity_id} cannot do {', '.join(refused)} (its source does not carry it)"
                )
        for light in targets:
            command = to_command(call.data, light.brightness)
            await light.turn_on(**{k: v for k, v in command.options().items() if k != "flash"})
            if command.flash is not None:
                light.flash(command.flash, "fast")

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

    reg("switch", "turn_on", switch_on, _Schema, description="Switch relays, plugs and siren relays on")
    reg("switch", "turn_off", switch_off, _Schema, description="Switch relays, plugs and siren relays off")
    reg("switch", "toggle", switch_toggle, _Schema, description="Toggle relays, plugs and siren relays")
    reg("siren", "turn_on", siren_on, SirenOnSchema, description="Sound sirens (Zigbee2MQTT warning payload)")
    reg("siren", "turn_off", siren_off, _Schema, description="Silence sirens")


def _unavailable(hub: Hub, item: LightConfig, error: str) -> None:
    domain = DOMAIN if item.kind == "light" else item.kind
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
        "switch.turn_on": _Schema,
        "switch.turn_off": _Schema,
        "switch.toggle": _Schema,
        "siren.turn_on": SirenOnSchema,
        "siren.turn_off": _Schema,
    }


@hookimpl
def config_entities(loaded: Any) -> Any:
    """Return ``light.<id>`` / ``siren.<id>`` for each configured light."""
    return [f"{item.kind}.{item.id}" for item in loaded.blocks.get(DOMAIN) or []]
