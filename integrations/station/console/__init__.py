"""The CCOC console: the station's working screen for a 12-hour shift (DESIGN §8–§10, issue 8).

A live incident board fed by every hub, incident pages with one merged
timeline, hub health with a command panel, the camera registry map, audited
camera views mirrored to the owner's hub, the monthly KPIs and a CAP 1.2
export.  It sits on the station role (:mod:`integrations.station`): the
federation store for what hubs sent, the federation link for what goes back.

Modules: ``config`` (``station: console:``), ``service`` (the running
console and its bus listeners), ``delivery`` (commands: sent, queued,
refused), ``viewing`` (audited views), ``board`` (what the board shows),
``cap``, ``kpi``, ``charts``, ``map_svg``, ``auditlog``, ``labels``, ``web``
(pages and API), ``migrations``.  See ``docs/ccoc.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.station.runtime import Station

__all__ = ("start_console", "stop_console")


async def start_console(hub: Hub, station: Station) -> None:
    """Start the console of a running station."""
    from integrations.station.console.service import CONSOLE, Console

    console = Console(hub, station, station.cfg.console)
    await console.start()
    hub.data[CONSOLE] = console


async def stop_console(hub: Hub) -> None:
    """Stop the console (before the station closes its store)."""
    from integrations.station.console.service import CONSOLE

    console = hub.data.pop(CONSOLE)
    if console is not None:
        await console.stop()
