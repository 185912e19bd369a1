"""SOS buttons: entities ``sos.<id>``, the ``sos_pressed`` event, and ``sos.reset``.

Device sources attach presses to the entities created here: Zigbee2MQTT
(:mod:`.zigbee2mqtt`), a plain MQTT topic (:mod:`.mqtt_source`), a secret
webhook URL (:mod:`.webhook`) and SIA DC-09 alarm panels (the ``sia``
integration, through :data:`SIA_ZONES`); ``simulated`` buttons are pressed
from the UI.  A source that cannot start (no ``mqtt:`` block, say) marks its
button unavailable with the reason; the other buttons work regardless.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from hub import hookimpl
from hub.core.errors import HubError
from hub.entity import EntityNotFound
from hub.keys import HubKey
from integrations.sos.config import ButtonConfig
from integrations.sos.const import DOMAIN, EVENT_SOS_PRESSED, STATE_IDLE
from integrations.sos.entity import SosButton
from integrations.sos.supervision import ButtonSupervisor

if TYPE_CHECKING:
    from collections.abc import Iterable

    from hub.bootstrap import LoadedConfig
    from hub.config import ConfigError
    from hub.hub import Hub

__all__ = ("SosButton", "BUTTONS", "SIA_ZONES", "add_button", "get_or_add_button")

_LOGGER = logging.getLogger(__name__)

BUTTONS: HubKey[dict[str, SosButton]] = HubKey("sos_buttons")
#: (ACCOUNT upper-case, zone) → the configured button for that alarm-panel zone.
SIA_ZONES: HubKey[dict[tuple[str, int], SosButton]] = HubKey("sos_sia_zones")
_SOURCES: HubKey[list[Any]] = HubKey("sos_sources")
#: Watches buttons with a ``silence_limit`` (:mod:`.supervision`).
SUPERVISOR: HubKey[ButtonSupervisor] = HubKey("sos_supervisor")


class EntitySchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]


class PressSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str
    action: str = "test"
    #: A press from the UI or the API is a test unless it says otherwise (DESIGN §13): a
    #: software panic button that is meant to raise real alarms passes ``drill: false``.
    drill: bool = True


class DrillSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: The button to drill; none: the first configured button.
    entity_id: str | None = None


def add_button(hub: Hub, button: SosButton) -> SosButton:
    """Register a button created by a source or another integration (demo)."""
    hub.entities.add(button)
    hub.data[BUTTONS][button.entity_id] = button
    button.write_state(STATE_IDLE)
    return button


def get_or_add_button(
    hub: Hub, object_id: str, name: str | None = None, *, source: str, place: str | None = None
) -> SosButton:
    """Return ``sos.<object_id>``, creating it (a zone an alarm panel just reported, say)."""
    existing = hub.data[BUTTONS].get(f"{DOMAIN}.{object_id}")
    if existing is not None:
        return existing
    return add_button(hub, SosButton(hub, object_id, name, source=source, place=place))


def _attach(hub: Hub, item: ButtonConfig, button: SosButton, sources: list[Any]) -> None:
    """Connect the button to its device; raise with a message for the admin if it cannot be."""
    source = item.source
    if source == "webhook":
        from integrations.sos.webhook import WEBHOOKS

        assert item.webhook is not None
        hub.data[WEBHOOKS].add(item.webhook.id, button)
    elif source == "sia":
        assert item.sia is not None
        hub.data[SIA_ZONES][(item.sia.account.upper(), item.sia.zone)] = button
    elif source == "zigbee2mqtt":
        from integrations.mqtt import get_client
        from integrations.mqtt.zigbee2mqtt import get_bridge
        from integrations.sos.zigbee2mqtt import Z2mButtonSource

        client = get_client(hub)
        z2m = client.config.zigbee2mqtt
        assert item.zigbee2mqtt is not None
        sources.append(
            Z2mButtonSource(
                hub,
                button,
                client,
                get_bridge(hub, client, z2m.base_topic),
                item.zigbee2mqtt,
                rules=item.press,
                models=z2m.sos_models,
                low_battery=z2m.low_battery,
            )
        )
    elif source == "mqtt":
        from integrations.mqtt import get_client
        from integrations.sos.mqtt_source import MqttButtonSource

        assert item.mqtt is not None
        sources.append(MqttButtonSource(hub, button, get_client(hub), item.mqtt))


def _configure(hub: Hub, item: ButtonConfig, sources: list[Any]) -> None:
    """Create (or, on a reload, update) the button of one config entry and attach its source."""
    loc = (item.location.lat, item.location.lon) if item.location else None
    button = hub.data[BUTTONS].get(f"{DOMAIN}.{item.id}")
    if button is None:
        try:
            button = add_button(
                hub, SosButton(hub, item.id, item.name, source=item.source, place=item.place, location=loc)
            )
        except ValueError as err:
            # `check` refuses a repeated id; should one still get here (another integration
            # made the entity first), it fails alone and the other buttons keep working.
            _LOGGER.error("SOS button %s not created: %s", item.id, err)
            return
    else:
        # Same entity, new settings: its state and a press in progress carry on.
        button.name = item.name or item.id.replace("_", " ")
        button.source, button.place, button.location = item.source, item.place or button.name, loc
        button.available = True
        button.telemetry.pop("error", None)
    hub.data[SUPERVISOR].configure(button, item.silence_limit)
    try:
        _attach(hub, item, button, sources)
    except (HubError, ValueError, TypeError, OSError) as err:
        # One button's broken source must not take the others (or the webhook route) down.
        _LOGGER.error("SOS button %s: %s source not started: %s", button.entity_id, item.source, err)
        button.available = False
        button.telemetry["error"] = str(err)
    current = button.state
    button.write_state(
        current.state if current is not None and current.state != "unavailable" else STATE_IDLE
    )


def _detach(hub: Hub, button: SosButton, sources: list[Any]) -> None:
    """Disconnect a button from its device (its entity stays)."""
    from integrations.sos.webhook import WEBHOOKS

    for source in [s for s in sources if getattr(s, "button", None) is button]:
        source.stop()
        sources.remove(source)
    hub.data[WEBHOOKS].remove(button)
    zones = hub.data[SIA_ZONES]
    for key in [k for k, b in zones.items() if b is button]:
        del zones[key]


@hookimpl
def config_changed(hub: Hub, old: list[ButtonConfig] | None, new: list[ButtonConfig] | None) -> bool:
    """Apply a changed ``sos:`` block live.

    Only the entries that changed are touched: an unchanged button keeps its
    subscription, so a press on it is never missed during the reload.  A changed one
    is detached and re-attached in one step of the loop (no await in between: no MQTT
    message can be handled half-way) and keeps its entity, state and any press run in
    progress.  A removed button's entity goes away.
    """
    sources: list[Any] = hub.data[_SOURCES]
    before = {item.id: item for item in old or []}
    after = {item.id: item for item in new or []}
    buttons: dict[str, SosButton] = hub.data[BUTTONS]
    for ident, item in before.items():
        if after.get(ident) == item:
            continue
        button = buttons.get(f"{DOMAIN}.{ident}")
        if button is None:
            continue
        _detach(hub, button, sources)
        if ident not in after:
            hub.data[SUPERVISOR].configure(button, None)
            buttons.pop(button.entity_id, None)
            hub.entities.remove(button.entity_id)
            hub.states.remove(button.entity_id)
    for ident, item in after.items():
        if before.get(ident) != item:
            _configure(hub, item, sources)
    # A reload may add the first button with a silence limit.
    hub.data[SUPERVISOR].start()
    return True


@hookimpl
def config_schema() -> Any:
    """Return the ``sos:`` block type."""
    return list[ButtonConfig]


@hookimpl
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError]:
    """Warn about each button no automation triggers on: its presses open a default incident."""
    from hub.components.automation import automation_entries
    from hub.config import ConfigWarning, position_of
    from integrations.sos.handled import listened_to, names

    buttons: list[ButtonConfig] = loaded.blocks.get(DOMAIN) or []
    if not buttons:
        return []
    entries = automation_entries(loaded)
    triggers = [
        t
        for e in entries
        if e.spec is not None and e.spec.initial_state is not False
        for t in e.spec.triggers
    ]
    # An automation with errors has no triggers to read: one that names the button
    # is meant for it, and its errors are reported already.
    broken = " ".join(repr(e.raw) for e in entries if e.spec is None)
    raw = loaded.raw.get(DOMAIN) if isinstance(loaded.raw, dict) else None
    warnings: list[ConfigError] = []
    for button in buttons:
        entity_id = f"{DOMAIN}.{button.id}"
        if listened_to(triggers, entity_id) or names(broken, entity_id):
            continue
        index = next(
            (i for i, item in enumerate(raw or []) if isinstance(item, dict) and item.get("id") == button.id),
            0,
        )
        file, line = position_of(loaded.raw, (DOMAIN, index)) or (loaded.file_label, None)
        warnings.append(
            ConfigWarning(
                file,
                line,
                f"{DOMAIN}[{index}]",
                f"no automation handles {entity_id}: a press opens an incident and nothing else "
                "(no LINE alert, lights or snapshots); add the sos_alert blueprint for it",
            )
        )
    return warnings


@hookimpl
def setup(hub: Hub, config: list[ButtonConfig] | None) -> None:
    """Create the configured buttons, connect their sources, register the services."""
    from integrations.sos.webhook import WEBHOOKS, WebhookRegistry

    hub.data[BUTTONS] = {}
    hub.data[SIA_ZONES] = {}
    hub.data[WEBHOOKS] = WebhookRegistry()
    sources: list[Any] = []
    hub.data[_SOURCES] = sources
    supervisor = hub.data[SUPERVISOR] = ButtonSupervisor(hub)
    hub.recorded_directly.add(EVENT_SOS_PRESSED)
    hub.durable_events.add(EVENT_SOS_PRESSED)
    for item in config or []:
        _configure(hub, item, sources)

    def reset(call: Any) -> None:
        for button in hub.entities.resolve(call.data["entity_id"], SosButton):
            button.reset(call.context)

    async def press(call: Any) -> None:
        button = hub.entities.get(call.data["entity_id"], SosButton)
        await button.press(call.data["action"], "manual", context=call.context, drill=call.data["drill"])

    async def drill(call: Any) -> dict[str, Any]:
        buttons: dict[str, SosButton] = hub.data[BUTTONS]
        entity_id = call.data.get("entity_id") or next(iter(buttons), None)
        if entity_id is None:
            raise EntityNotFound("no SOS button to drill")
        button = hub.entities.get(entity_id, SosButton)
        await button.press("drill", "drill", context=call.context, drill=True)
        return {"entity_id": button.entity_id, "drill": True}

    supervisor.start()
    hub.services.register(DOMAIN, "reset", reset, EntitySchema, description="Return SOS buttons to idle")
    hub.services.register(
        DOMAIN,
        "press",
        press,
        PressSchema,
        role="operator",
        description="Press an SOS button from the UI or API (a drill unless drill: false)",
    )
    hub.services.register(
        DOMAIN,
        "drill",
        drill,
        DrillSchema,
        role="operator",
        description="Start an SOS drill: a test press marked as a drill everywhere (DESIGN §13)",
    )


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Detach device sources and stop supervising."""
    for source in hub.data.pop(_SOURCES, None) or []:
        source.stop()
    supervisor = hub.data.pop(SUPERVISOR, None)
    if supervisor is not None:
        await supervisor.stop()


@hookimpl
def register_routes(hub: Hub) -> Any:
    """Return the webhook route and the devices page."""
    from integrations.sos import devices_page, webhook

    return [webhook.route(), *devices_page.routes()]


@hookimpl
def template_dirs() -> Any:
    """Return the devices page template folder."""
    return [Path(__file__).parent / "templates"]


@hookimpl
def nav_links(hub: Hub, user: Any) -> Any:
    """Link the devices page."""
    return [{"href": "/devices", "label_th": "อุปกรณ์", "label_en": "Devices", "role": "viewer"}]


@hookimpl
def health_info(hub: Hub) -> Any:
    """Return buttons that are offline, low on battery or whose source failed."""
    problems: dict[str, Any] = {}
    buttons: dict[str, SosButton] = hub.data.get(BUTTONS) or {}
    for entity_id, button in buttons.items():
        tele = button.telemetry
        issues = []
        if button.silent:
            issues.append(f"silent since {button.last_heard}")
        elif not button.available:
            issues.append("offline" if "error" not in tele else f"error: {tele['error']}")
        if tele.get("battery_low") is True or (
            isinstance(tele.get("battery"), int | float) and tele["battery"] <= 20
        ):
            issues.append(f"battery {tele.get('battery')}")
        if issues:
            problems[entity_id] = issues
    return {"buttons": len(buttons), "problems": problems}


@hookimpl
def service_schemas() -> Any:
    """Return the SOS services' schemas (for ``check``)."""
    return {"sos.reset": EntitySchema, "sos.press": PressSchema, "sos.drill": DrillSchema}


@hookimpl
def config_entities(loaded: Any) -> Any:
    """Return ``sos.<id>`` per button; an alarm panel adds the zones it reports (``sos.*``)."""
    ids = [f"{DOMAIN}.{item.id}" for item in loaded.blocks.get(DOMAIN) or []]
    if "sia" in loaded.blocks or "demo" in loaded.blocks:
        ids.append(f"{DOMAIN}.*")
    return ids


@hookimpl
def repairs(hub: Hub) -> list[dict[str, str]]:
    """Each button no enabled automation handles: its press opens an incident and nothing else."""
    from hub.components.onboarding.checks import item

    buttons: dict[str, SosButton] = hub.data.get(BUTTONS) or {}
    return [
        item(
            f"sos_unhandled:{button.entity_id}",
            "warning",
            "repairs.sos_unhandled",
            "repairs.sos_unhandled_detail",
            "/automations",
            name=button.name,
        )
        for button in buttons.values()
        if not button.handled()
    ]


@hookimpl
def streamed_events() -> list[str]:
    """The dashboard shows presses as they happen."""
    return [EVENT_SOS_PRESSED]
