"""The automation engine: Home Assistant–compatible automations and blueprints.

A core plugin (domain ``automation``): it validates the ``automation:`` block
in ``config_check`` (so ``safetyhub check`` lists every error), builds the
automations at setup, arms them once the hub has started, and serves the API,
the webhook endpoint and the pages.  See ``docs/automations.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.components.automation.const import RUNTIME
from hub.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from hub.bootstrap import LoadedConfig
    from hub.components.automation.registry import KnownConfig
    from hub.config import ConfigError
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("MANAGER",)

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Where config_check leaves its entries on the LoadedConfig for setup.
ENTRIES_ATTR = "_automation_entries"


@hookimpl
def config_schema() -> Any:
    """Return ``Any``: the block is checked in ``config_check`` with positions and HA's rules."""
    return Any


@hookimpl
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError]:
    """Return every error of every automation and blueprint instance."""
    from hub.components.automation.loader import collect
    from hub.components.automation.registry import registry_for

    registry = registry_for(loaded.host)
    registry.known = known_config(loaded)
    entries, errors = collect(loaded.raw, loaded.file_label, loaded.config_dir, registry, loaded.host)
    # Start-up builds from the same entries instead of validating everything twice.
    setattr(loaded, ENTRIES_ATTR, entries)  # noqa: B010 - LoadedConfig has no slot for plugin data
    return errors


def known_config(loaded: LoadedConfig) -> KnownConfig:
    """Return the entities and LINE aliases the config declares (``config_entities`` hooks)."""
    from hub.components.automation.registry import KnownConfig

    known = KnownConfig()
    if loaded.host is not None:
        for _info, ids in loaded.host.hooks.config_entities(loaded=loaded):
            for entity_id in ids or ():
                domain, _, object_id = str(entity_id).partition(".")
                known.domains.add(domain)
                if object_id == "*":
                    known.open_domains.add(domain)
                else:
                    known.entities.add(str(entity_id))
        # A third-party plugin that does not say what it creates may create anything: then
        # no reference can be called missing (a false "does not exist" would fail a good
        # automation at start-up).
        if any(
            info.source in ("dropin", "entrypoint")
            and info.module is not None
            and not hasattr(info.module, "config_entities")
            for info in loaded.host.loaded()
        ):
            known.domains.clear()
    line = loaded.blocks.get("line")
    groups = getattr(line, "groups", None)
    if groups is None and isinstance(loaded.raw, Mapping) and isinstance(loaded.raw.get("line"), Mapping):
        # The line: block has its own errors; its aliases are still what the admin meant.
        groups = loaded.raw["line"].get("groups")
    if isinstance(groups, Mapping):
        known.line_aliases = {str(alias) for alias in groups}
    return known


def automation_entries(loaded: LoadedConfig) -> list[Any]:
    """Return the automation entries ``config_check`` built (building them if it has not run yet)."""
    entries = getattr(loaded, ENTRIES_ATTR, None)
    if entries is None:
        config_check(loaded)
        entries = getattr(loaded, ENTRIES_ATTR, [])
    return list(entries)


@hookimpl
def storage_migrations() -> Iterable[str]:
    """Return the tables for traces, durable timers and enabled flags."""
    from hub.components.automation.durable import MIGRATION as TIMERS
    from hub.components.automation.manager import ENABLED_MIGRATION
    from hub.components.automation.trace import MIGRATION as TRACES

    return (TRACES + TIMERS + ENABLED_MIGRATION,)


@hookimpl
async def setup(hub: Hub) -> None:
    """Build the automations (armed later, in ``hub_started``)."""
    from hub.components.automation.manager import AutomationManager

    manager = AutomationManager(hub)
    hub.data[RUNTIME] = manager
    await manager.setup()


@hookimpl
async def hub_started(hub: Hub) -> None:
    """Arm every automation once every integration has set up its entities."""
    manager = hub.data.get(RUNTIME)
    if manager is not None:
        await manager.start()


@hookimpl
async def config_changed(hub: Hub, old: Any, new: Any) -> bool:
    """Reload automations as ``automation.reload`` does: only changed ones restart.

    Unchanged automations keep their runs, and durable timers (``delay``, ``for:``)
    stay pending in the database; a reload never cancels them.
    """
    manager = hub.data.get(RUNTIME)
    if manager is None:
        return False
    result = await manager.reload()
    return not result.errors


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Stop runs and triggers, keeping pending timers for the next start."""
    manager = hub.data.get(RUNTIME)
    if manager is not None:
        await manager.shutdown()


@hookimpl
def register_routes(hub: Hub) -> Iterable[Route]:
    """Return the API, webhook and page routes."""
    from hub.components.automation.http import routes

    return routes()


@hookimpl
def template_dirs() -> Iterable[Path]:
    """Return the folder of the automation pages."""
    return [TEMPLATES]


@hookimpl
def nav_links(hub: Hub, user: Mapping[str, Any] | None) -> Iterable[Mapping[str, str]]:
    """Link the automation and blueprint pages."""
    return [
        {"href": "/automations", "label_th": "ระบบอัตโนมัติ", "label_en": "Automations", "role": "viewer"},
        {"href": "/blueprints", "label_th": "พิมพ์เขียว", "label_en": "Blueprints", "role": "viewer"},
    ]


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``safetyhub blueprint list|import``."""
    from hub.components.automation.cli import blueprint

    cli.add_command(blueprint)
