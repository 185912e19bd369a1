"""The CCOC console: the station's working screen for a 12-hour shift (DESIGN §8–§10, issue 8).

A live incident board fed by every hub, incident pages with one merged
timeline, hub health with a command panel, the camera registry map, audited
camera views mirrored to the owner's hub, the monthly KPIs and a CAP 1.2
export.  It sits on the station role (:mod:`integrations.station`, its one
dependency): the federation store for what hubs sent, the federation link for
what goes back.  Set up whenever the station is (``always`` in the station
role); its settings stay under ``station: console:``.

Modules: ``config`` (``station: console:``), ``service`` (the running
console and its bus listeners), ``delivery`` (commands: sent, queued,
refused), ``viewing`` (audited views), ``board`` (what the board shows),
``cap``, ``kpi``, ``map_svg``, ``auditlog``, ``labels``, ``web``
(pages and API), ``migrations``.  See ``docs/ccoc.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl

if TYPE_CHECKING:
    from hub.http.routes import Route
    from hub.hub import Hub
    from integrations.station.runtime import Station

__all__ = ("start_console", "stop_console")


async def start_console(hub: Hub, station: Station) -> None:
    """Start the console of a running station."""
    from integrations.ccoc.const import RUNTIME
    from integrations.ccoc.service import Console

    console = Console(hub, station, station.cfg.console)
    await console.start()
    hub.data[RUNTIME] = console


async def stop_console(hub: Hub) -> None:
    """Stop the console (before the station closes its store)."""
    from integrations.ccoc.const import RUNTIME

    console = hub.data.pop(RUNTIME)
    if console is not None:
        await console.stop()


@hookimpl
async def setup(hub: Hub, config: Any) -> None:
    """Start the console on the station set up just before it (``config`` is unused: ``station: console:``)."""
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    station = hub.data.get(STATION_RUNTIME)
    if station is None:
        raise RuntimeError("the station is not running")
    await start_console(hub, station)


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Stop the console; shutdown runs in reverse setup order, so before the station closes its store."""
    await stop_console(hub)


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the console's pages and API (station role only)."""
    if hub.role != "station":
        return []
    from integrations.ccoc.live_web import routes as live_routes
    from integrations.ccoc.map_leaflet import routes as map_routes
    from integrations.ccoc.web import routes as console_routes

    return console_routes(hub) + live_routes(hub) + map_routes(hub)


@hookimpl
def template_dirs() -> Any:
    """Return the console's page templates (``console_*.html``)."""
    return [Path(__file__).parent / "templates"]


@hookimpl
def nav_links(hub: Hub, user: Any) -> Any:
    """Link the CCOC console on a station."""
    if hub.role != "station":
        return []
    return [{"href": "/ccoc", "label_th": "ศูนย์สั่งการ", "label_en": "CCOC", "role": "viewer"}]


@hookimpl
def streamed_events(hub: Hub) -> list[str]:
    """The CCOC board follows incidents, hubs and commands live (station role only)."""
    if hub.role != "station":
        return []
    from integrations.ccoc.delivery import EVENT_CCOC_COMMAND
    from integrations.ccoc.service import EVENT_CCOC_HUB, EVENT_CCOC_INCIDENT

    return [EVENT_CCOC_INCIDENT, EVENT_CCOC_HUB, EVENT_CCOC_COMMAND]
