"""Names shared across the automation engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.keys import HubKey

if TYPE_CHECKING:
    import asyncio

    from hub.components.automation.durable import DurableStore
    from hub.components.automation.manager import AutomationManager
    from hub.components.automation.trace import TraceBuffer
    from hub.components.automation.triggers.event import EventIndex

__all__ = (
    "DOMAIN",
    "DURABLE",
    "RUNTIME",
    "EVENT_INDEX",
    "WEBHOOKS",
    "HUB_TRIGGERS",
    "ARMED",
    "EVENT_AUTOMATION_TRIGGERED",
    "EVENT_AUTOMATION_RELOADED",
    "DEFAULT_STORED_TRACES",
    "DEFAULT_MAX_RUNS",
    "MODES",
    "LOG_LEVELS",
)

DOMAIN = "automation"
EVENT_AUTOMATION_TRIGGERED = "automation_triggered"
EVENT_AUTOMATION_RELOADED = "automation_reloaded"
#: Traces kept per automation unless ``trace: {stored_traces: N}`` says otherwise.
DEFAULT_STORED_TRACES = 20
DEFAULT_MAX_RUNS = 10
MODES = ("single", "restart", "queued", "parallel")
#: ``max_exceeded`` values (HA's log severities plus SILENT).
LOG_LEVELS = ("SILENT", "CRITICAL", "FATAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG", "NOTSET")

DURABLE: HubKey[DurableStore] = HubKey("automation_durable")
#: The automation component's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[AutomationManager] = HubKey(DOMAIN)
EVENT_INDEX: HubKey[EventIndex] = HubKey("automation_event_index")
#: webhook id → handler(method, payload) for ``POST /api/webhook/{id}``.
WEBHOOKS: HubKey[dict[str, Any]] = HubKey("automation_webhooks")
#: ``hub`` trigger callbacks: {"start": [...], "shutdown": [...]}.
HUB_TRIGGERS: HubKey[dict[str, list[Any]]] = HubKey("automation_hub_triggers")
#: Finished traces waiting to be written.
TRACES: HubKey[TraceBuffer] = HubKey("automation_traces")
#: Set once every automation is armed (the timer helper waits for it).
ARMED: HubKey[asyncio.Event] = HubKey("automation_armed")
