"""Load the configuration and the plugins, and validate every block.

This is shared by ``safetyhub check`` (which stops here and prints every
error) and ``safetyhub run`` (which goes on to set up what is valid and shows
what is not as failed).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.config import ConfigError, load_config_file, position_of, validate_block
from hub.config.core_schema import HubCoreConfig
from hub.plugins import Manifest, PluginHost

__all__ = ("LoadedConfig", "load", "CORE_PLUGINS", "json_schema")

#: Core domains that are part of ``hub`` but speak the plugin hooks.
CORE_PLUGINS: tuple[tuple[str, Manifest], ...] = (
    ("hub.incidents", Manifest(domain="incident", name="Incidents", always=True)),
    ("hub.automation", Manifest(domain="automation", name="Automations", always=True)),
    ("hub.helpers", Manifest(domain="helpers", name="Helpers (input_*, timer, counter)", always=True)),
    ("hub.zone", Manifest(domain="zone", name="Zone", always=True)),
)
#: Helper domains validated by the helpers plugin (HA's top-level keys).
HELPER_KEYS = (
    "input_boolean",
    "input_number",
    "input_select",
    "input_text",
    "input_datetime",
    "timer",
    "counter",
)


@dataclass
class LoadedConfig:
    """The outcome of loading a config file."""

    path: Path | None
    config_dir: Path
    raw: Any
    core: HubCoreConfig | None
    blocks: dict[str, Any] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)
    host: PluginHost | None = None

    @property
    def file_label(self) -> str:
        """Return the config file's name as shown in errors."""
        return self.path.name if self.path is not None else "<embedded>"


def _register_core(host: PluginHost) -> None:
    for module_name, manifest in CORE_PLUGINS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue  # not built yet in this tree
        host.add_core(module, manifest)


def _schemas(host: PluginHost) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for info, schema in host.call_each("config_schema"):
        if schema is None:
            continue
        if isinstance(schema, dict):
            # A core plugin may own several top-level keys (helpers do).
            schemas.update(schema)
        else:
            schemas[info.domain] = schema
    return schemas


def load(
    path: Path | None,
    *,
    config_dir: Path | None = None,
    host: PluginHost | None = None,
    overrides: dict[str, Any] | None = None,
    import_all: bool = False,
) -> LoadedConfig:
    """Load ``path``, discover plugins and validate every block.

    Built-in plugins are imported only when the config uses them (or they
    are ``always`` plugins, or dependencies of those); ``import_all`` imports
    every one, for the JSON Schema and ``plugins list``.
    """
    cdir = config_dir or (path.parent if path is not None else Path.cwd())
    if path is not None:
        raw, errors = load_config_file(path)
    else:
        raw, errors = {}, []
    loaded = LoadedConfig(path, cdir, raw, None, errors=list(errors))
    label = loaded.file_label
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        loaded.errors.append(ConfigError(label, 1, "", "expected a mapping of blocks at the top level"))
        raw = {}
    if overrides:
        raw = {**raw, **overrides}

    host = host or PluginHost(cdir)
    loaded.host = host
    _register_core(host)
    host.discover(import_builtins=import_all)
    if not import_all:
        role = "station" if "station" in raw else "hub"
        host.ensure_loaded(
            [str(k) for k in raw]
            + [
                d
                for d, p in host.plugins.items()
                if p.manifest is not None and p.manifest.always and role in p.manifest.roles
            ]
        )
    schemas = _schemas(host)

    if "hub" not in raw:
        loaded.errors.append(ConfigError(label, 1, "hub", "required block missing"))
    else:
        core, errs = validate_block(HubCoreConfig, raw["hub"], raw, ("hub",), label)
        loaded.core = core
        loaded.errors.extend(errs)

    for key, block in raw.items():
        if key == "hub":
            continue
        where = position_of(raw, (key,))
        file, line = where if where else (label, None)
        info = host.get(str(key))
        if key in schemas:
            value, errs = validate_block(schemas[key], block, raw, (key,), label)
            loaded.errors.extend(errs)
            if not errs:
                loaded.blocks[key] = value
            elif info is not None:
                info.fail(
                    "validate", "; ".join(e.message if not e.path else f"{e.path}: {e.message}" for e in errs)
                )
        elif info is not None and info.status == "failed":
            loaded.errors.append(ConfigError(file, line, str(key), f"plugin failed to load: {info.error}"))
        elif info is not None:
            # A plugin without a schema takes no configuration.
            if block not in (None, {}, []):
                loaded.errors.append(ConfigError(file, line, str(key), "this plugin takes no configuration"))
            loaded.blocks[key] = None
        else:
            loaded.errors.append(ConfigError(file, line, str(key), "unknown integration or plugin"))
    for _info, errs in host.call_each("config_check", loaded=loaded):
        for err in errs or ():
            loaded.errors.append(err)
    return loaded


def json_schema(host: PluginHost) -> dict[str, Any]:
    """Return the JSON Schema of the whole config file."""
    from pydantic import TypeAdapter

    properties: dict[str, Any] = {"hub": HubCoreConfig.model_json_schema()}
    for key, schema in sorted(_schemas(host).items()):
        try:
            properties[key] = TypeAdapter(schema).json_schema()
        except Exception as err:  # noqa: BLE001 - a plugin's exotic type must not break the rest
            properties[key] = {"description": f"schema unavailable: {err}"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "SafetyHub configuration",
        "type": "object",
        "required": ["hub"],
        "additionalProperties": False,
        "properties": properties,
    }
