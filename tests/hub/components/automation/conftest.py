"""Shared helpers for the automation tests: hubs without a web server, event collectors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hub.components.automation.const import RUNTIME as AUTOMATION_RUNTIME
from hub.components.automation.manager import AutomationManager
from hub.core.bus import Event
from hub.hub import Hub
from tests.integrations.line.conftest import fake_line, line_spec_dir  # noqa: F401 - the HA corpus sends to LINE

AutoHub = Callable[..., Awaitable[Hub]]


@pytest.fixture
def auto_hub(make_hub: Any) -> AutoHub:
    """Start a hub (no web server unless asked) from a config snippet."""

    async def _make(extra: str = "", **kwargs: Any) -> Hub:
        kwargs.setdefault("web", False)
        return await make_hub(extra, **kwargs)

    return _make


def collect(hub: Hub, event_type: str) -> list[Event]:
    """Return a list that fills with every ``event_type`` event."""
    found: list[Event] = []
    hub.bus.listen(event_type, found.append)
    return found


def manager(hub: Hub) -> AutomationManager:
    """Return the hub's automation manager."""
    found = hub.data.get(AUTOMATION_RUNTIME)
    assert found is not None
    return found


async def traces(hub: Hub, key: str) -> list[dict[str, Any]]:
    """Return the stored traces of an automation, newest first."""
    return await manager(hub).traces_of(key)
