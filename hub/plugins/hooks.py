"""Typed calls of every hook: ``hub.plugins.hooks.<name>(...)`` instead of hook names as strings.

One method per hookspec in :mod:`hub.hookspecs`, with the spec's name and its
parameters (keyword-only), so a typo or a missing argument is a type error and
a renamed spec breaks here, not at run time.  ``tests/hub/plugins/test_hook_facade.py``
keeps the two in step (names and parameters), so this file is written by hand.

Every call goes through :class:`~hub.plugins.host.PluginHost`, which calls each
plugin's hookimpl separately and records a failure against that plugin only.  A
method returns ``(plugin, result)`` for each plugin that answered; ``only`` limits
the call to some plugin domains.  Results are typed as the spec says, except where
the hub checks them because a plugin may return anything (``register_routes``,
``nav_links``, ``incident_written``, ``config_deprecations``, ``config_changed``, ``repairs``): those are ``object`` until checked.  Hooks whose implementations may return an
awaitable are ``async`` methods that await it.  ``setup`` and ``shutdown`` are
called for one plugin at a time (the hub orders them) and return
``(implemented, result)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click

    from hub.bootstrap import LoadedConfig
    from hub.components.automation.platforms import ConditionPlatform, TriggerPlatform
    from hub.components.incident import Incident, TimelineEntry
    from hub.config import ConfigError
    from hub.hub import Hub
    from hub.plugins.host import PluginHost, PluginInfo

__all__ = ("Hooks", "NOT_HOOK_PARAMETERS")

#: Parameters of the facade that are not the spec's: which plugins to call.
NOT_HOOK_PARAMETERS = frozenset({"self", "only", "domain"})

Only = Iterable[str] | None


class Hooks:
    """Typed, isolated calls of each hookspec."""

    __slots__ = ("_host",)

    def __init__(self, host: PluginHost) -> None:
        self._host = host

    # -- configuration -------------------------------------------------------------

    def config_deprecations(self, *, only: Only = None) -> list[tuple[PluginInfo, Iterable[object] | None]]:
        """Each plugin's moved or removed config keys (checked by the hub: a plugin may return anything)."""
        return self._host.call_each("config_deprecations", only)

    def config_schema(self, *, only: Only = None) -> list[tuple[PluginInfo, Any]]:
        """Each plugin's pydantic model of its config block."""
        return self._host.call_each("config_schema", only)

    def storage_migrations(self, *, only: Only = None) -> list[tuple[PluginInfo, Iterable[str] | None]]:
        """Each plugin's SQL migration scripts, in order."""
        return self._host.call_each("storage_migrations", only)

    def config_check(
        self, *, loaded: LoadedConfig, only: Only = None
    ) -> list[tuple[PluginInfo, Iterable[ConfigError] | None]]:
        """Each plugin's checks across blocks (``safetyhub check``)."""
        return self._host.call_each("config_check", only, loaded=loaded)

    def service_schemas(self, *, only: Only = None) -> list[tuple[PluginInfo, Mapping[str, Any] | None]]:
        """Each plugin's service schemas, for ``check`` before any setup."""
        return self._host.call_each("service_schemas", only)

    def config_entities(
        self, *, loaded: LoadedConfig, only: Only = None
    ) -> list[tuple[PluginInfo, Iterable[str] | None]]:
        """The entity ids each plugin's config will create."""
        return self._host.call_each("config_entities", only, loaded=loaded)

    def shared_database(
        self, *, loaded: LoadedConfig, only: Only = None
    ) -> list[tuple[PluginInfo, str | None]]:
        """The PostgreSQL URL each plugin names for the hub's shared access tables and audit log."""
        return self._host.call_each("shared_database", only, loaded=loaded)

    # -- lifecycle -----------------------------------------------------------------

    def setup(self, domain: str, *, hub: Hub, config: Any) -> tuple[bool, Awaitable[None] | None]:
        """Set up one plugin (raises what its setup raises: the hub sorts it)."""
        return self._host.call_one(domain, "setup", hub=hub, config=config)

    def shutdown(self, domain: str, *, hub: Hub) -> tuple[bool, Awaitable[None] | None]:
        """Shut one plugin down (raises what its shutdown raises)."""
        return self._host.call_one(domain, "shutdown", hub=hub)

    async def hub_started(self, *, hub: Hub, only: Only = None) -> list[tuple[PluginInfo, None]]:
        """Tell plugins every plugin is set up."""
        return await self._host.async_call_each("hub_started", only, hub=hub)

    def config_changed(
        self, domain: str, *, hub: Hub, old: Any, new: Any
    ) -> tuple[bool, Awaitable[bool | None] | bool | None]:
        """Give one plugin its block's new version (raises what the plugin raises: `hub.reload` sorts it)."""
        return self._host.call_one(domain, "config_changed", hub=hub, old=old, new=new)

    # -- web -----------------------------------------------------------------------

    def register_routes(
        self, *, hub: Hub, only: Only = None
    ) -> list[tuple[PluginInfo, Iterable[object] | None]]:
        """Each plugin's HTTP routes (each checked by the caller)."""
        return self._host.call_each("register_routes", only, hub=hub)

    def template_dirs(self, *, only: Only = None) -> list[tuple[PluginInfo, Iterable[Path] | None]]:
        """Each plugin's Jinja template folders."""
        return self._host.call_each("template_dirs", only)

    def static_dirs(self, *, only: Only = None) -> list[tuple[PluginInfo, Mapping[str, Path] | None]]:
        """Each plugin's static file folders, by URL prefix."""
        return self._host.call_each("static_dirs", only)

    def timeline_attachments(
        self, *, hub: Hub, user: Any, entry: Any, only: Only = None
    ) -> list[tuple[PluginInfo, list[Mapping[str, Any]] | None]]:
        """What each plugin shows under an incident's timeline entry."""
        return self._host.call_each("timeline_attachments", only, hub=hub, user=user, entry=entry)

    def nav_links(
        self, *, hub: Hub, user: Mapping[str, Any] | None, only: Only = None
    ) -> list[tuple[PluginInfo, object]]:
        """Each plugin's links in the navigation (checked by the caller)."""
        return self._host.call_each("nav_links", only, hub=hub, user=user)

    def streamed_events(
        self, *, hub: Hub, only: Only = None
    ) -> list[tuple[PluginInfo, Iterable[str] | None]]:
        """The event types each plugin wants on the live stream."""
        return self._host.call_each("streamed_events", only, hub=hub)

    # -- automations and the command line ------------------------------------------

    def register_trigger_platforms(
        self, *, only: Only = None
    ) -> list[tuple[PluginInfo, Mapping[str, TriggerPlatform] | None]]:
        """Each plugin's automation trigger platforms."""
        return self._host.call_each("register_trigger_platforms", only)

    def register_condition_platforms(
        self, *, only: Only = None
    ) -> list[tuple[PluginInfo, Mapping[str, ConditionPlatform] | None]]:
        """Each plugin's automation condition platforms."""
        return self._host.call_each("register_condition_platforms", only)

    def register_commands(self, *, cli: click.Group, only: Only = None) -> list[tuple[PluginInfo, None]]:
        """Let each plugin add ``safetyhub`` sub-commands."""
        return self._host.call_each("register_commands", only, cli=cli)

    # -- incidents and data flowing out ------------------------------------------------

    async def incident_written(
        self, *, hub: Hub, incident: Incident, entry: TimelineEntry, only: Only = None
    ) -> list[tuple[PluginInfo, object]]:
        """The rows each plugin adds to an incident change's transaction (checked by the caller)."""
        return await self._host.async_call_each(
            "incident_written", only, hub=hub, incident=incident, entry=entry
        )

    async def registry_info(
        self, *, hub: Hub, only: Only = None
    ) -> list[tuple[PluginInfo, Mapping[str, Any] | None]]:
        """What each plugin tells the station about this hub's setup."""
        return await self._host.async_call_each("registry_info", only, hub=hub)

    async def health_info(
        self, *, hub: Hub, only: Only = None
    ) -> list[tuple[PluginInfo, Mapping[str, Any] | None]]:
        """Each plugin's health figures for the station."""
        return await self._host.async_call_each("health_info", only, hub=hub)

    async def repairs(
        self, *, hub: Hub, only: Only = None
    ) -> list[tuple[PluginInfo, Iterable[object] | None]]:
        """Each plugin's items for the Repairs page (checked by the page: a plugin may return anything)."""
        return await self._host.async_call_each("repairs", only, hub=hub)

    async def kpi_slots(
        self, *, hub: Hub, month: str, only: Only = None
    ) -> list[tuple[PluginInfo, Iterable[Mapping[str, Any]] | None]]:
        """Each plugin's figures for the month (federation sends them up as ``kpi_month``)."""
        return await self._host.async_call_each("kpi_slots", only, hub=hub, month=month)
