"""Station role: the CCOC's intake of what its zone's hubs send, and the way back.

Subscribes to ``ssz/v1/<station>/+/#``, checks and stores every message by
id in the station database, acknowledges it, tracks each hub's link, and
sends allowlisted commands.  ``safetyhub station add-hub`` and
``broker-config`` administer the Mosquitto broker.  See
``docs/federation.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl
from integrations.station.config import StationConfig

if TYPE_CHECKING:
    import click

    from hub.bootstrap import LoadedConfig
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("StationConfig",)


@hookimpl
def config_schema() -> Any:
    """Return the ``station:`` block type."""
    return StationConfig


@hookimpl
def shared_database(loaded: LoadedConfig) -> str | None:
    """Name ``station.database`` when it is PostgreSQL: every worker shares the accounts and audit log there."""
    cfg = loaded.blocks.get("station")
    if isinstance(cfg, StationConfig) and cfg.database.backend == "postgresql":
        return cfg.database.url
    return None


@hookimpl
def config_deprecations() -> Any:
    """Return the ``station:`` keys that moved (supervision settings)."""
    from integrations.station.supervision_config import DEPRECATIONS

    return DEPRECATIONS


@hookimpl
async def setup(hub: Hub, config: StationConfig) -> None:
    """Open the station database and start ingesting."""
    from hub.http.api import INCIDENT_SOURCES
    from integrations.station.const import RUNTIME
    from integrations.station.runtime import Station

    station = Station(hub, config)
    await station.start()
    hub.data[RUNTIME] = station
    from integrations.station.footage import FOOTAGE, FootageDesk

    footage = FootageDesk(hub, station, config.footage)
    await footage.start()
    hub.data[FOOTAGE] = footage
    sources = hub.data.get(INCIDENT_SOURCES)
    if sources is None:
        sources = []
        hub.data[INCIDENT_SOURCES] = sources
    sources.append(station.store)


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Store what is queued and close the database."""
    from hub.http.api import INCIDENT_SOURCES
    from integrations.station.const import RUNTIME
    from integrations.station.footage import FOOTAGE

    footage = hub.data.pop(FOOTAGE)
    if footage is not None:
        await footage.stop()
    station = hub.data.pop(RUNTIME)
    if station is None:
        return
    sources = hub.data.get(INCIDENT_SOURCES) or []
    if station.store in sources:
        sources.remove(station.store)
    await station.stop()


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the hubs API and page and the footage desk (station role only)."""
    if hub.role != "station":
        return []
    from integrations.station.api import routes
    from integrations.station.footage_api import routes as footage_routes
    from integrations.station.footage_page import routes as footage_page

    return routes(hub) + footage_routes(hub) + footage_page(hub)


@hookimpl
def template_dirs() -> Any:
    """Return the hubs page template folder."""
    return [Path(__file__).parent / "templates"]


@hookimpl
def static_dirs() -> Any:
    """Serve the console's scripts and stylesheet at ``/static/station/`` (their public URLs stay put)."""
    return {"station": Path(__file__).parent / "static"}


@hookimpl
def storage_migrations() -> Any:
    """Return the console's tables (commands, views, hub link history, CAP outbox).

    They stay under the ``station`` component of ``schema_migrations``, where existing station
    databases have them recorded; registering them under ``ccoc`` would run them a second time.
    """
    from integrations.ccoc.migrations import MIGRATIONS

    return MIGRATIONS


@hookimpl
def nav_links(hub: Hub, user: Any) -> Any:
    """Link the hubs page on a station (the console links itself: :mod:`integrations.ccoc`)."""
    if hub.role != "station":
        return []
    return [{"href": "/station/hubs", "label_th": "ฮับในพื้นที่", "label_en": "Hubs", "role": "viewer"}]


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``safetyhub station ...`` and ``safetyhub evidence verify`` (the station makes the packs)."""
    from integrations.station.cli import station_group
    from integrations.video.evidence_cli import evidence_group

    cli.add_command(station_group)
    cli.add_command(evidence_group)


@hookimpl
def streamed_events(hub: Hub) -> list[str]:
    """The CCOC board follows footage requests live (station role only)."""
    if hub.role != "station":
        return []
    from integrations.station.footage import EVENT_CCOC_FOOTAGE

    return [EVENT_CCOC_FOOTAGE]
