"""Region link: this station reports to its region (DESIGN §14).

Incident summaries and the station's monthly figures go up to
``ssz/v1/region/<region>/<station>/<kind>`` through the hub tier's federation
machinery (outbox, window, acks, health with a last will), never a picture,
video or anyone's personal data.  The region side is ``integrations/region``;
``safetyhub region add-station`` prints this block.  See ``docs/region.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub import hookimpl
from hub.config import ConfigError, position_of
from integrations.federation.config import tls_file_errors
from integrations.region_link.config import RegionLinkConfig
from integrations.region_link.const import DOMAIN

if TYPE_CHECKING:
    from hub.bootstrap import LoadedConfig
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("RegionLinkConfig",)


@hookimpl
def config_schema() -> Any:
    """Return the ``region_link:`` block type."""
    return RegionLinkConfig


@hookimpl
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError] | None:
    """Only a station reports to a region, under its station id, with the files it names."""
    cfg = loaded.blocks.get(DOMAIN)
    if not isinstance(cfg, RegionLinkConfig):
        return None
    errors = []
    station = loaded.blocks.get("station")
    if station is None:
        file, line = position_of(loaded.raw, (DOMAIN,)) or (loaded.file_label, None)
        errors.append(
            ConfigError(file, line, DOMAIN, "only a station reports to a region: add a station: block")
        )
    elif cfg.username is not None and cfg.username != getattr(station, "id", None):
        file, line = position_of(loaded.raw, (DOMAIN, "username")) or (loaded.file_label, None)
        errors.append(
            ConfigError(
                file,
                line,
                f"{DOMAIN}.username",
                f"must be the station id {getattr(station, 'id', '?')!r}: the region's broker lets each "
                "station account publish only under its own id",
            )
        )
    errors += tls_file_errors(loaded, DOMAIN, cfg)
    return errors


@hookimpl
def storage_migrations() -> Any:
    """Return the region outbox and what was last sent."""
    from integrations.region_link.migrations import MIGRATIONS

    return MIGRATIONS


@hookimpl
async def setup(hub: Hub, config: RegionLinkConfig) -> None:
    """Connect to the region's broker and start the summary rounds."""
    from integrations.region_link.const import RUNTIME
    from integrations.region_link.uplink import RegionUplink
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    station = hub.data.get(STATION_RUNTIME)
    if station is None:
        raise RuntimeError("the station is not running; the region link needs it")
    uplink = RegionUplink(hub, config, station)
    await uplink.start()
    hub.data[RUNTIME] = uplink


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Say offline and disconnect; queued messages stay in the outbox."""
    from integrations.region_link.const import RUNTIME

    uplink = hub.data.pop(RUNTIME)
    if uplink is not None:
        await uplink.stop()


async def _status(request: web.Request) -> web.Response:
    from hub.http.server import HUB_KEY
    from integrations.region_link.const import RUNTIME

    uplink = request.app[HUB_KEY].data.get(RUNTIME)
    if uplink is None:
        return web.json_response({"error": "the region link is not running"}, status=503)
    return web.json_response(uplink.status())


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the link's status route (station role)."""
    from hub.http.routes import Route

    if hub.role != "station":
        return []
    return [
        Route(
            "GET",
            "/api/region_link",
            _status,
            role="operator",
            summary="Region link and outbox status, summaries queued",
            tags=("region",),
        )
    ]
