"""HA's helpers: ``input_boolean``, ``input_number``, ``input_select``, ``input_text``,
``input_datetime``, ``timer`` and ``counter``, with their services.

A core plugin (domain ``helpers``) that owns those seven top-level config
keys.  A shop's "armed after hours" switch is an ``input_boolean``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hub.hookspecs import hookimpl
from hub.keys import HubKey

if TYPE_CHECKING:
    from hub.components.helpers.entities import Helper
    from hub.hub import Hub

__all__ = ("HELPERS",)

_LOGGER = logging.getLogger(__name__)

#: entity id → helper object (a registry, not a runtime object, so not ``RUNTIME``).
HELPERS: HubKey[dict[str, Helper]] = HubKey("helper_entities")


@hookimpl
def config_schema() -> Any:
    """Return the seven helper keys and their schemas."""
    from hub.components.helpers.config import SCHEMAS

    return SCHEMAS


@hookimpl
def storage_migrations() -> Iterable[str]:
    """Return the table that keeps helper values across restarts."""
    from hub.components.helpers.entities import MIGRATION

    return (MIGRATION,)


@hookimpl
async def setup(hub: Hub) -> None:
    """Create the configured helpers, restore their values and register the services."""
    from hub.components.helpers.entities import (
        Counter,
        InputBoolean,
        InputDatetime,
        InputNumber,
        InputSelect,
        InputText,
        Timer,
    )
    from hub.components.helpers.services import register
    from hub.storage import from_json

    classes: dict[str, Any] = {
        "input_boolean": InputBoolean,
        "input_number": InputNumber,
        "input_select": InputSelect,
        "input_text": InputText,
        "input_datetime": InputDatetime,
        "timer": Timer,
        "counter": Counter,
    }
    helpers: dict[str, Helper] = {}
    hub.data[HELPERS] = helpers
    blocks = hub.loaded.blocks if hub.loaded is not None else {}
    rows = await hub.storage.fetchall("SELECT entity_id, state, data FROM helper_state")
    saved = {row["entity_id"]: (row["state"], from_json(row["data"]) or {}) for row in rows}
    for domain, cls in classes.items():
        for object_id, config in (blocks.get(domain) or {}).items():
            helper = cls(hub, object_id, config)
            if helper.entity_id in saved:
                state, data = saved[helper.entity_id]
                helper.restore(state, data if isinstance(data, dict) else {})
            helpers[helper.entity_id] = helper
            helper.write(save=False)
    register(hub, helpers)


@hookimpl
async def hub_started(hub: Hub) -> None:
    """Resume active timers once automations are armed (so they hear ``timer.finished``)."""
    hub.create_task(_resume_timers(hub), "helpers: resume timers")


async def _resume_timers(hub: Hub) -> None:
    from hub.components.automation.const import ARMED
    from hub.components.helpers.entities import Timer

    automation = hub.plugins.get("automation")
    armed = hub.data.get(ARMED)
    if armed is not None and automation is not None and automation.status in ("set_up", "setting_up"):
        try:
            await asyncio.wait_for(armed.wait(), timeout=60)
        except TimeoutError:
            _LOGGER.warning("Automations were not armed after 60 s; resuming timers anyway")
    for helper in (hub.data.get(HELPERS) or {}).values():
        if isinstance(helper, Timer):
            helper.resume()


@hookimpl
def shutdown(hub: Hub) -> None:
    """Stop timers in memory; their deadlines stay saved for the next start."""
    from hub.components.helpers.entities import Timer

    for helper in (hub.data.get(HELPERS) or {}).values():
        if isinstance(helper, Timer):
            helper.stop()
