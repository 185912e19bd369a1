"""The browser set-up flows: add Zigbee devices, ONVIF cameras and LINE without touching YAML.

Always set up, with no block: the flows must be there *before* the blocks
they write exist (a new hub has no ``sos:``, ``onvif:`` or ``line:`` yet, so
those integrations are not even loaded).  Each flow lives beside the
integration it configures (``integrations/<x>/setup_flow.py`` and its
``templates/setup_<x>.html``); this plugin only mounts them, and
:mod:`integrations.flows.common` holds their strings and the writer call.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl
from integrations.flows.config import FlowsConfig

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("FlowsConfig",)

_INTEGRATIONS = Path(__file__).resolve().parent.parent


@hookimpl
def config_schema() -> Any:
    """Return the (empty) ``flows:`` block type."""
    return FlowsConfig


@hookimpl
def register_routes(hub: Hub) -> Any:
    """Return the three flows' pages and form routes (admins only)."""
    from integrations.line import setup_flow as line_flow
    from integrations.onvif import setup_flow as camera_flow
    from integrations.sos import setup_flow as device_flow

    return [*device_flow.routes(), *camera_flow.routes(), *line_flow.routes()]


@hookimpl
def template_dirs() -> Any:
    """Return the folders of the flows' templates (beside the integrations they configure)."""
    return [_INTEGRATIONS / name / "templates" for name in ("sos", "onvif", "line")]
