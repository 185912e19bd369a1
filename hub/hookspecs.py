"""Every extension point of the hub.

Plugins implement these with ``@hookimpl`` (``from hub import hookimpl``).
Pluggy passes only the arguments a hookimpl names, so a spec may gain
arguments without breaking plugins; it never loses or renames one.  Each spec
is documented in docs/plugins.md with its signature, is tested, and has at
least one implementer (``tests/hub/plugins/test_contract.py`` checks all three).

There is one way to do each thing: services are registered with
``hub.services.register`` in :func:`setup` (an automation's new kind of step is a
service), and blueprints live in the config folder or ship with the hub.

The hub calls each plugin's implementation separately, so one plugin raising
does not stop the others; the failure is recorded against that plugin.  A hook
may return a value or an awaitable; the hub awaits awaitables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from hub.bootstrap import LoadedConfig
    from hub.components.automation.platforms import ConditionPlatform, TriggerPlatform
    from hub.components.incident import Incident, IncidentRows, TimelineEntry
    from hub.config import ConfigError
    from hub.config.deprecations import Deprecation
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("hookspec", "hookimpl", "PROJECT")

PROJECT = "safetyhub"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- configuration ---------------------------------------------------------


@hookspec
def config_schema() -> Any:
    """Return the type of this plugin's block in ``config.yaml``.

    The block's key is the plugin's domain.  Return a pydantic model class,
    or any type pydantic's ``TypeAdapter`` accepts (``list[ButtonConfig]``).
    The hub validates the block with it, reports every error with file:line,
    and merges it into the JSON Schema that ``safetyhub check --schema`` prints.

    :return: a type, or None when the plugin takes no configuration.
    """


@hookspec
def storage_migrations() -> Iterable[str] | None:
    """Return this plugin's SQL migrations, oldest first.

    Each string is one migration script, applied once in order and recorded
    under the plugin's domain.  Never edit a released migration; append one.

    :return: a sequence of SQL scripts.
    """


@hookspec
def config_deprecations() -> Iterable[Deprecation] | None:
    """Return the keys of this plugin's block that moved or went away.

    Each :class:`hub.config.deprecations.Deprecation` names the old key path,
    its replacement (or None) and the release that stopped reading it.  Before
    validation the hub warns at the old key's file:line with the replacement,
    moves the value where the row says so, and takes the old key out, so an
    upgraded config neither fails as "unknown key" nor is silently ignored.

    :return: deprecation rows, or None.
    """


@hookspec
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError] | None:
    """Return errors that a block's schema alone cannot find.

    Called by ``safetyhub check`` and at start-up after every block has been
    validated, with all plugins loaded: the place for cross-references, such
    as an automation naming a trigger platform another plugin provides, or a
    blueprint input that fails its selector.  Each error names file:line.

    :param loaded: the loaded configuration (``raw`` keeps line numbers).
    :return: errors, or None.
    """


@hookspec
def service_schemas() -> Mapping[str, Any] | None:
    """Return ``{"domain.service": schema}`` for the services this plugin's setup registers.

    ``safetyhub check`` uses it to refuse an automation that calls a service that
    does not exist (``light.turn_onn``) or passes data the schema refuses, before
    the automation fires.  A plugin that does not implement it is not checked.

    :return: service name → pydantic model (or None for "takes any data").
    """


@hookspec
def config_entities(loaded: LoadedConfig) -> Iterable[str] | None:
    """Return the entity ids this plugin will create from the loaded config.

    ``safetyhub check`` refuses a reference (a blueprint input, a ``target:``) to an
    entity of these domains that no plugin declares.  ``"<domain>.*"`` says the
    domain also gets entities at run time (MQTT discovery, alarm-panel zones):
    references to it are then not checked.

    :param loaded: the loaded configuration.
    :return: entity ids, or None.
    """


@hookspec
def shared_database(loaded: LoadedConfig) -> str | None:
    """Return the URL of a PostgreSQL database several processes of this hub share, or None.

    Station workers (``station.database: postgresql://…``) answer with that URL: the
    hub then keeps its users, login sessions, API tokens and audit log there, shared by
    every worker, instead of in its own SQLite file (:mod:`hub.storage_pg`).  Called at
    start and by the CLI's ``user``/``token`` commands, before any setup.  Two plugins
    naming different databases is a start-up error.

    :param loaded: the loaded configuration.
    :return: a ``postgresql://`` URL, or None.
    """


# -- lifecycle -------------------------------------------------------------


@hookspec
def setup(hub: Hub, config: Any) -> Awaitable[None] | None:
    """Set the plugin up.

    Called once, after the plugin's dependencies are set up, with the
    validated block (or None when the block is absent and the plugin is set up
    because another depends on it or its manifest says ``always``).  Raise
    :class:`hub.core.errors.PluginSetupError` with a message for the admin; the
    hub marks the plugin failed and keeps running.

    :param hub: the running hub.
    :param config: the validated configuration block, or None.
    """


@hookspec
def shutdown(hub: Hub) -> Awaitable[None] | None:
    """Release what :func:`setup` acquired.

    Called in reverse setup order, only for plugins whose setup succeeded.
    Tasks made with ``hub.create_task`` are cancelled by the hub afterwards.

    :param hub: the hub being stopped.
    """


@hookspec
def hub_started(hub: Hub) -> Awaitable[None] | None:
    """React to the hub having finished start-up (web server up, automations armed).

    :param hub: the running hub.
    """


@hookspec
def config_changed(hub: Hub, old: Any, new: Any) -> Awaitable[bool | None] | bool | None:
    """Apply a new version of the plugin's block while the hub runs (no restart).

    Called on the plugin that owns the block, after the web UI (``hub.ui_config``)
    saved a change that ``check`` validated, with the old and new validated blocks
    (what :func:`setup` got; None for an absent block).  Change only what differs:
    an entry whose config is unchanged must keep working untouched, and nothing may
    drop a press that arrives meanwhile, a pending SOS run or a durable timer.
    Work that cannot be applied live is not pretended: return False and the admin
    is told to restart.  A plugin without this hook always needs a restart.

    :param hub: the running hub.
    :param old: the block the plugin is running with.
    :param new: the block as now saved.
    :return: True when applied live; False or None when a restart is needed.
    """


# -- registration ----------------------------------------------------------


@hookspec
def register_routes(hub: Hub) -> Iterable[Route] | None:
    """Return web routes (:class:`hub.http.routes.Route`) to add to the app.

    Routes need a login or a bearer token with at least the route's ``role``
    unless they are declared ``public=True``; a public route must carry its
    own protection (a signature, a signed link) and say so in ``summary``.
    API routes belong under ``/api/<domain>/``; pages under ``/<domain>/``.

    :param hub: the hub whose app is being built.
    :return: an iterable of routes.
    """


@hookspec
def template_dirs() -> Iterable[Path] | None:
    """Return folders of jinja2 templates for this plugin's pages.

    They are searched after the user's override folder and before the
    core's own ``web/templates``; a template can extend a core one with the
    ``default:`` prefix.

    :return: folder paths.
    """


@hookspec
def static_dirs() -> Mapping[str, Path] | None:
    """Return static folders to serve, keyed by URL prefix name.

    ``{"patrol_qr": Path(...)}`` is served at ``/static/patrol_qr/``.
    Static files are public: never put data in them.

    :return: a mapping of name to folder.
    """


@hookspec
def timeline_attachments(hub: Hub, user: Any, entry: Any) -> list[Mapping[str, Any]] | None:
    """Return how an incident timeline entry's attachments show to ``user``, or None.

    The incident page shows an attachment as a link only when a plugin says what it
    is: the camera plugin turns a snapshot id into its picture, for the roles the
    camera's share policy allows.  Each item is ``{"text": str, "href": str | None,
    "withheld": bool}``; the first plugin to answer wins.

    :param hub: the running hub.
    :param user: the logged-in user (``username``, ``role``).
    :param entry: the :class:`~hub.components.incident.TimelineEntry`.
    :return: one item per attachment, or None when the entry is not this plugin's.
    """


@hookspec
def nav_links(hub: Hub, user: Mapping[str, Any] | None) -> Iterable[Mapping[str, str]] | None:
    """Return links for the UI's navigation bar.

    Each link is ``{"href": "/cameras", "label_th": "กล้อง", "label_en": "Cameras",
    "role": "viewer"}``; links above the user's role are hidden.

    :param hub: the running hub.
    :param user: the logged-in user, or None.
    :return: links to show.
    """


@hookspec
def streamed_events(hub: Hub) -> Iterable[str] | None:
    """Return the event types this plugin's pages follow live on ``GET /api/stream``.

    The stream (Server-Sent Events) sends only event types some plugin named here,
    plus ``state_changed``: events are the hub's internal traffic, and anyone with a
    login (a viewer) may open the stream.  Name only events whose data every viewer
    may see, and that carry no credential.

    :param hub: the running hub (its app is being built).
    :return: event types.
    """


@hookspec
def register_trigger_platforms() -> Mapping[str, TriggerPlatform] | None:
    """Return automation trigger platforms by name (``{"mqtt": MqttTrigger()}``).

    The engine validates each trigger block with the platform's schema and
    arms it through the platform; see ``docs/automations.md``.

    :return: a mapping of platform name to platform.
    """


@hookspec
def register_condition_platforms() -> Mapping[str, ConditionPlatform] | None:
    """Return automation condition platforms by name (``{"incident": IncidentCondition()}``).

    The engine validates each ``condition:`` block with the platform's schema and
    compiles it once with ``build``; the check it returns runs on every trigger, so
    it must be fast and must not block.  A name may not replace a built-in one.

    :return: a mapping of condition name to platform.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``safetyhub`` command line.

    Add subcommands or groups to ``cli`` with ``@cli.command()``; they run
    outside any hub, so open what they need themselves.

    :param cli: the top-level click group.
    """


# -- incidents ---------------------------------------------------------------


@hookspec
def incident_written(
    hub: Hub, incident: Incident, entry: TimelineEntry
) -> IncidentRows | Awaitable[IncidentRows | None] | None:
    """Add rows to the transaction that writes an incident change.

    Called for every change (opened, acknowledged, a note, closed...) just before
    the incident row and its timeline entry are written.  The rows returned go into
    the same transaction: they are on disk exactly when the change is, so what
    must follow an incident (federation's outbox row, a camera's evidence lock)
    is never lost to a crash between two commits, and needs no repair at start.
    While the database refuses writes (a full disk) the rows are held with the
    incident and written with it.

    Build the rows from ``incident`` and ``entry`` alone and return at once: this
    runs on the SOS path.  Returning an awaitable is allowed for the rare change
    that needs more (reading a snapshot for the station), and delays that change's
    commit until it resolves.  Do not change ``incident`` or ``entry``.  A hookimpl
    that raises is recorded against its plugin and the change is written without its
    rows.

    :param hub: the running hub.
    :param incident: the incident as it is after the change (status, times).
    :param entry: the change's timeline entry; ``entry.id`` is its row id in
        ``incident_timeline``, fixed before the write, and ``entry.kind`` says what
        happened (``opened``, ``acknowledged``, ``closed``, ``note``, ``snapshot``...).
    :return: an :class:`hub.components.incident.IncidentRows` (rows, and a callback run once they
        are committed), or None to add nothing.
    """


# -- data flowing out --------------------------------------------------------


@hookspec
def registry_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return this plugin's part of the hub's registry for the station.

    Federation publishes the merged registry retained on
    ``ssz/v1/<station>/<hub>/registry``.  Never include credentials.

    :param hub: the running hub.
    :return: a mapping merged under the plugin's domain, or None.
    """


@hookspec
def repairs(hub: Hub) -> Iterable[Mapping[str, Any]] | Awaitable[Iterable[Mapping[str, Any]]] | None:
    """Return what needs the admin's attention, for the Repairs page (``/repairs``).

    Each item is ``{"key": "line_quota", "severity": "error" | "warning" | "info",
    "title_th": ..., "title_en": ..., "detail_th": ..., "detail_en": ..., "href": "/line"}``:
    Thai and English both (the page is Thai first), ``href`` a local page where it is
    fixed.  Raw text for the installer (an exception, a check error) goes in an optional
    ``"technical"`` field, shown apart; never a secret, never inside the Thai strings.

    :param hub: the running hub.
    :return: repair items, or None when all is well.
    """


@hookspec
def health_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return extra health facts (battery alarms, link state) for the station.

    :param hub: the running hub.
    :return: a mapping merged under the plugin's domain, or None.
    """


@hookspec
def kpi_slots(hub: Hub, month: str) -> Iterable[Mapping[str, Any]] | None:
    """Return this hub's figures for the month, for the station's evaluation.

    Each item is ``{"key": "patrol_coverage", "label_th": ..., "label_en": ...,
    "value": 82.5, "unit": "%"}``; a share or a mean adds ``"n"`` (what it is
    over) and ``"sum"`` (value × n before rounding) so the station can combine
    hubs.  Federation sends them up as a ``kpi_month`` event; fire
    ``kpi_changed`` on the bus when they change.  Aggregates only: never a name.

    :param hub: the running hub.
    :param month: ``YYYY-MM``.
    :return: KPI items.
    """
