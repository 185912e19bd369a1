"""Load the configuration and the plugins, and validate every block.

This is shared by ``safetyhub check`` (which stops here and prints every
error) and ``safetyhub run`` (which goes on to set up what is valid and shows
what is not as failed).
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.config import ConfigError, ConfigWarning, load_config_file, position_of, validate_block
from hub.config.core_schema import HubCoreConfig
from hub.config.deprecations import DEPRECATIONS, Deprecation, apply_deprecations
from hub.config.nodes import NodeDict
from hub.plugins import PluginHost
from hub.plugins.manifest import read_manifest

__all__ = ("LoadedConfig", "load", "CORE_PLUGINS", "json_schema", "role_of")


def role_of(blocks: Mapping[str, Any]) -> str:
    """Return the role a config's top-level blocks give: ``region``, ``station`` or ``hub``."""
    if "region" in blocks:
        return "region"
    return "station" if "station" in blocks else "hub"


#: Core components: part of ``hub`` but speaking the plugin hooks, each in its own folder
#: ``hub/components/<domain>/`` with its ``manifest.json`` (like Home Assistant's core components).
COMPONENTS_DIR = Path(__file__).resolve().parent / "components"
CORE_PLUGINS: tuple[str, ...] = ("incident", "automation", "helpers", "zone", "onboarding")
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
    #: What works but is probably a mistake (an SOS button no automation handles).
    warnings: list[ConfigError] = field(default_factory=list)
    host: PluginHost | None = None

    @property
    def file_label(self) -> str:
        """Return the config file's name as shown in errors."""
        return self.path.name if self.path is not None else "<embedded>"


def _register_core(host: PluginHost) -> None:
    for domain in CORE_PLUGINS:
        try:
            module = importlib.import_module(f"hub.components.{domain}")
        except ModuleNotFoundError:
            continue  # not built yet in this tree
        host.add_core(module, read_manifest(COMPONENTS_DIR / domain))


def _schemas(host: PluginHost) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for info, schema in host.hooks.config_schema():
        if schema is None:
            continue
        if isinstance(schema, dict):
            # A core plugin may own several top-level keys (helpers do).
            schemas.update(schema)
        else:
            schemas[info.domain] = schema
    return schemas


def _deprecations(host: PluginHost) -> list[Deprecation]:
    """Return the core's table of moved and removed keys and every loaded plugin's."""
    table = list(DEPRECATIONS)
    for info, rows in host.hooks.config_deprecations():
        for row in rows or ():
            if isinstance(row, Deprecation):
                table.append(row)
            else:
                info.fail("config_deprecations", f"not a Deprecation: {row!r}")
    return table


def _item_type(schema: Any) -> Any | None:
    """Return ``X`` when a block's schema is ``list[X]`` (or an annotated one), else None."""
    while typing.get_origin(schema) is typing.Annotated:
        schema = typing.get_args(schema)[0]
    if typing.get_origin(schema) is list:
        args = typing.get_args(schema)
        return args[0] if args else None
    return None


def _validate_entries(
    schema: Any, block: Any, raw: Any, key: str, label: str
) -> tuple[Any, list[ConfigError], bool]:
    """Validate a block; for a list of entries, keep every good entry.

    Returns ``(value, errors, partial)``.  A block that is a list of entries (SOS
    buttons, lights, cameras) is validated entry by entry when it fails as a whole, and
    entries whose ``id`` repeats an earlier one are refused: one bad entry fails only
    itself (``partial``), never the buttons beside it.  Each entity id must be unique,
    and ``setup`` would otherwise stop at the second ``sos.gate``.
    """
    value, errs = validate_block(schema, block, raw, (key,), label)
    item_type = _item_type(schema)
    if item_type is None or not isinstance(block, list):
        return value, errs, False
    kept: list[tuple[int, Any]]
    if errs:
        errs = []
        kept = []
        for index, item in enumerate(block):
            item_value, item_errs = validate_block(item_type, item, raw, (key, index), label)
            errs.extend(item_errs)
            if not item_errs:
                kept.append((index, item_value))
    else:
        kept = list(enumerate(value or []))
    first: dict[str, int] = {}
    good: list[Any] = []
    for index, item in kept:
        ident = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
        if isinstance(ident, str):
            if ident in first:
                errs.append(_duplicate(raw, key, index, first[ident], ident, label))
                continue
            first[ident] = index
        good.append(item)
    return good, errs, True


def _duplicate(raw: Any, key: str, index: int, earlier: int, ident: str, label: str) -> ConfigError:
    file, line = position_of(raw, (key, index, "id")) or position_of(raw, (key, index)) or (label, None)
    where = position_of(raw, (key, earlier, "id")) or position_of(raw, (key, earlier))
    at = f" (line {where[1]})" if where is not None and where[1] is not None else ""
    return ConfigError(
        file,
        line,
        f"{key}[{index}].id",
        f"id '{ident}' is already used by {key}[{earlier}]{at}; ids must be unique",
    )


def load(
    path: Path | None,
    *,
    config_dir: Path | None = None,
    host: PluginHost | None = None,
    overrides: dict[str, Any] | None = None,
    import_all: bool = False,
    overlay: Mapping[Path, bytes] | None = None,
) -> LoadedConfig:
    """Load ``path``, discover plugins and validate every block.

    Built-in plugins are imported only when the config uses them (or they
    are ``always`` plugins, or dependencies of those); ``import_all`` imports
    every one, for the JSON Schema and ``plugins list``.  ``overlay`` (absolute path ->
    text) validates files before they are written (the web UI's config writer).
    """
    cdir = config_dir or (path.parent if path is not None else Path.cwd())
    if path is not None:
        raw, errors = load_config_file(path, overlay=overlay)
    else:
        raw, errors = {}, []
    loaded = LoadedConfig(
        path,
        cdir,
        raw,
        None,
        errors=[e for e in errors if not isinstance(e, ConfigWarning)],
        warnings=[e for e in errors if isinstance(e, ConfigWarning)],
    )
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
        role = role_of(raw)
        host.ensure_loaded(
            [str(k) for k in raw]
            + [
                d
                for d, p in host.plugins.items()
                if p.manifest is not None and p.manifest.always and role in p.manifest.roles
            ]
        )
    schemas = _schemas(host)
    if isinstance(raw, dict):
        loaded.warnings.extend(apply_deprecations(raw, _deprecations(host), label))

    if "hub" not in raw:
        loaded.errors.append(ConfigError(label, 1, "hub", "required block missing"))
    else:
        core, errs = validate_block(HubCoreConfig, raw["hub"], raw, ("hub",), label)
        loaded.core = core
        loaded.errors.extend(errs)

    for key, block in raw.items():
        if key == "hub":
            continue
        # The line of the key itself: the block's own position is the line of its first entry.
        where = (raw.key_position(key) if isinstance(raw, NodeDict) else None) or position_of(raw, (key,))
        file, line = where if where else (label, None)
        info = host.get(str(key))
        if key in schemas:
            value, errs, partial = _validate_entries(schemas[key], block, raw, str(key), label)
            loaded.errors.extend(errs)
            if not errs or partial:
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
    for _info, checked in host.hooks.config_check(loaded=loaded):
        for err in checked or ():
            (loaded.warnings if isinstance(err, ConfigWarning) else loaded.errors).append(err)
    loaded.errors.extend(_shared_entities(loaded, host))
    return loaded


def _shared_entities(loaded: LoadedConfig, host: PluginHost) -> list[ConfigError]:
    """Refuse an entity id that two blocks would both create: the second would fail at start."""
    owners: dict[str, str] = {}
    errors: list[ConfigError] = []
    for info, ids in host.hooks.config_entities(loaded=loaded):
        for entity_id in ids or ():
            first = owners.setdefault(str(entity_id), info.domain)
            if first != info.domain and not str(entity_id).endswith(".*"):
                raw = loaded.raw
                where = raw.key_position(info.domain) if isinstance(raw, NodeDict) else None
                file, line = where or (loaded.file_label, None)
                errors.append(
                    ConfigError(
                        file,
                        line,
                        info.domain,
                        f"entity {entity_id} is also created by {first}: ids must be unique",
                    )
                )
    return errors


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
