"""SOS buttons: entities ``sos.<id>``, the ``sos_pressed`` event, and ``sos.reset``.

Device sources (Zigbee2MQTT, MQTT topic, webhook, SIA DC-09) attach presses
to the entities created here; ``simulated`` buttons are pressed from the UI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from hub import hookimpl
from hub.keys import HubKey
from integrations.sos.config import ButtonConfig
from integrations.sos.const import DOMAIN, EVENT_SOS_PRESSED, STATE_IDLE
from integrations.sos.entity import SosButton

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("SosButton", "BUTTONS", "add_button")

BUTTONS: HubKey[dict[str, SosButton]] = HubKey("sos_buttons")


class EntitySchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]


class PressSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str
    action: str = "test"


def add_button(hub: Hub, button: SosButton) -> SosButton:
    """Register a button created by a source or another integration (demo)."""
    hub.entities.add(button)
    hub.data[BUTTONS][button.entity_id] = button
    button.write_state(STATE_IDLE)
    return button


@hookimpl
def config_schema() -> Any:
    """Return the ``sos:`` block type."""
    return list[ButtonConfig]


@hookimpl
def setup(hub: Hub, config: list[ButtonConfig] | None) -> None:
    """Create the configured buttons and the services."""
    hub.data[BUTTONS] = {}
    hub.recorded_directly.add(EVENT_SOS_PRESSED)
    for item in config or []:
        loc = (item.location.lat, item.location.lon) if item.location else None
        add_button(hub, SosButton(hub, item.id, item.name, source=item.source, place=item.place, location=loc))

    def reset(call: Any) -> None:
        for button in hub.entities.resolve(call.data["entity_id"], SosButton):
            button.reset(call.context)

    async def press(call: Any) -> None:
        button = hub.entities.get(call.data["entity_id"], SosButton)
        await button.press(call.data["action"], "manual", context=call.context)

    hub.services.register(DOMAIN, "reset", reset, EntitySchema, description="Return SOS buttons to idle")
    hub.services.register(DOMAIN, "press", press, PressSchema, role="operator",
                          description="Press an SOS button from the UI (drill or simulated button)")
