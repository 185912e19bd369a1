"""Setup without YAML: the wizard after the first admin, the Repairs page, user actions.

A core plugin (``always``): it speaks the same hooks as any integration, and
implements ``repairs`` for the core's own checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.hookspecs import hookimpl

if TYPE_CHECKING:
    from hub.http.routes import Route
    from hub.hub import Hub

_HERE = Path(__file__).parent


@hookimpl
def register_routes(hub: Hub) -> Iterable[Route]:
    """Return the wizard, Repairs and user-action routes."""
    from hub.components.onboarding.views import routes

    return routes()


@hookimpl
def template_dirs() -> Iterable[Path]:
    """Return the wizard and Repairs templates."""
    return [_HERE / "templates"]


@hookimpl
def static_dirs() -> Mapping[str, Path]:
    """Serve the wizard's script, and the vendored Leaflet for its map pin."""
    from hub.components.onboarding.views import LEAFLET_DIR

    return {"onboarding": _HERE / "static", "leaflet": LEAFLET_DIR}


@hookimpl
def nav_links(hub: Hub, user: Mapping[str, Any] | None) -> Iterable[Mapping[str, str]]:
    """Link the wizard and Repairs for admins."""
    from hub.components.onboarding.strings import STRINGS

    return [
        {
            "href": "/setup",
            "label_th": STRINGS["nav.setup"]["th"],
            "label_en": STRINGS["nav.setup"]["en"],
            "role": "admin",
        },
        {
            "href": "/repairs",
            "label_th": STRINGS["nav.repairs"]["th"],
            "label_en": STRINGS["nav.repairs"]["en"],
            "role": "admin",
        },
    ]


@hookimpl
async def repairs(hub: Hub) -> list[dict[str, str]]:
    """The core's checks: config errors, failed plugins, pending restarts, devices, federation."""
    from hub.components.onboarding.checks import core_repairs

    return await core_repairs(hub)
