"""Region role: a provincial or regional command centre that its stations report to.

Subscribes to ``ssz/v1/region/<region>/+/#``, checks each station's incident
summaries, monthly figures and health against closed schemas, stores them by
(station, message id), acknowledges them, tracks each station's link, and
ranks the stations each month on the committee's weighted criteria (pages,
CSV and PDF).  ``safetyhub region add-station`` administers the broker.  The
station side is ``integrations/region_link``.  See ``docs/region.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl
from hub.config import ConfigError, position_of
from integrations.region.config import RegionConfig
from integrations.region.const import DOMAIN

if TYPE_CHECKING:
    import click

    from hub.bootstrap import LoadedConfig
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("RegionConfig",)


@hookimpl
def config_schema() -> Any:
    """Return the ``region:`` block type."""
    return RegionConfig


@hookimpl
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError] | None:
    """A region is neither a station nor a hub: one role per process."""
    if DOMAIN not in loaded.blocks:
        return None
    errors = []
    for other in ("station", "federation"):
        if other in loaded.blocks:
            file, line = position_of(loaded.raw, (other,)) or (loaded.file_label, None)
            errors.append(
                ConfigError(
                    file,
                    line,
                    other,
                    f"a region runs alone: remove {other}: (a station reports to its region with region_link:)",
                )
            )
    return errors


@hookimpl
async def setup(hub: Hub, config: RegionConfig) -> None:
    """Open the region database and start taking what stations send."""
    from integrations.region.const import RUNTIME
    from integrations.region.runtime import Region

    region = Region(hub, config)
    await region.start()
    hub.data[RUNTIME] = region


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Store what is queued and close the database."""
    from integrations.region.const import RUNTIME

    region = hub.data.pop(RUNTIME)
    if region is not None:
        await region.stop()


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the region's pages and API (region role only)."""
    if hub.role != "region":
        return []
    from integrations.region.web import routes

    return routes(hub)


@hookimpl
def template_dirs() -> Any:
    """Return the region console's templates."""
    return [Path(__file__).parent / "templates"]


@hookimpl
def nav_links(hub: Hub, user: Any) -> Any:
    """Link the ranking on a region."""
    if hub.role != "region":
        return []
    return [{"href": "/region", "label_th": "อันดับสถานี", "label_en": "Station ranking", "role": "viewer"}]


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``safetyhub region ...``."""
    from integrations.region.cli import region_group

    cli.add_command(region_group)
