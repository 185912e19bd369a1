"""Blueprints: HA's ``blueprint:`` files with ``!input``, and ``use_blueprint`` instances.

Search order for ``use_blueprint: {path: x.yaml}`` (first match wins):

1. ``<config dir>/blueprints/automation/`` (and below): the installer's own;
2. the blueprints shipped with SafetyHub (``blueprints/automation/``).

As in HA, the instance's own keys (``id``, ``alias``, ``mode``...) override the
blueprint's, and each ``!input`` is replaced by the instance's value or the
input's default.  Every input value is checked against its selector; a
missing or wrong input is an error naming the blueprint, the input and the
instance's file:line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hub.components.automation import ha_support
from hub.components.automation.selectors import selector_problem, value_problem
from hub.config import ConfigError, Input, NodeDict, NodeList, load_yaml, position_of
from hub.config.nodes import Loc

__all__ = (
    "Blueprint",
    "BlueprintInput",
    "SHIPPED_DIR",
    "search_dirs",
    "find_blueprint",
    "load_blueprint",
    "list_blueprints",
    "substitute",
    "MISSING",
)

_LOGGER = logging.getLogger(__name__)

#: The blueprints that ship with SafetyHub.
SHIPPED_DIR = Path(__file__).resolve().parents[3] / "blueprints" / "automation"
MISSING: Any = object()
_META_KEYS = frozenset({"name", "description", "domain", "source_url", "author", "homeassistant", "input"})
_INPUT_KEYS = frozenset({"name", "description", "default", "selector"})
_SECTION_KEYS = frozenset({"name", "description", "icon", "collapsed", "input"})


@dataclass
class BlueprintInput:
    """One declared input."""

    name: str
    label: str
    description: str
    default: Any
    selector: Any
    line: int | None


@dataclass
class Blueprint:
    """A loaded blueprint file."""

    path: str
    file: Path
    display: str
    source: str
    name: str = ""
    description: str = ""
    domain: str = ""
    author: str = ""
    source_url: str = ""
    inputs: dict[str, BlueprintInput] = field(default_factory=dict)
    body: Any = None
    errors: list[ConfigError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly summary for the API and UI."""
        return {
            "path": self.path,
            "file": self.display,
            "source": self.source,
            "name": self.name,
            "description": self.description,
            "domain": self.domain,
            "author": self.author,
            "source_url": self.source_url,
            "inputs": [
                {
                    "name": i.name,
                    "label": i.label,
                    "description": i.description,
                    "default": None if i.default is MISSING else i.default,
                    "required": i.default is MISSING,
                    "selector": _plain(i.selector),
                }
                for i in self.inputs.values()
            ],
            "errors": [str(e) for e in self.errors],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Input):
        return f"!input {value.name}"
    return value if value is None or isinstance(value, bool | int | float) else str(value)


def search_dirs(config_dir: Path | None) -> list[tuple[Path, str]]:
    """Return ``(folder, source)`` pairs to search, in order."""
    dirs: list[tuple[Path, str]] = []
    if config_dir is not None:
        dirs.append((config_dir / "blueprints" / "automation", "config"))
    dirs.append((SHIPPED_DIR, "shipped"))
    return dirs


def _safe_relative(path: str) -> PurePosixPath | None:
    rel = PurePosixPath(str(path).replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.suffix != ".yaml":
        return None
    return rel


def find_blueprint(path: str, dirs: Iterable[tuple[Path, str]]) -> tuple[Path, Path, str] | None:
    """Return ``(file, folder, source)`` for a ``use_blueprint`` path, or None."""
    rel = _safe_relative(path)
    if rel is None:
        return None
    for folder, source in dirs:
        candidate = folder.joinpath(*rel.parts)
        if candidate.is_file():
            return candidate, folder, source
    return None


_cache: dict[Path, tuple[int, int, Blueprint]] = {}


def load_blueprint(file: Path, folder: Path, source: str, path: str) -> Blueprint:
    """Load and check a blueprint file (cached until the file changes)."""
    try:
        stat = file.stat()
    except OSError:
        stat = None
    if stat is not None:
        cached = _cache.get(file)
        if (
            cached is not None
            and cached[0] == stat.st_mtime_ns
            and cached[1] == stat.st_size
            and cached[2].path == path
        ):
            return cached[2]
    errors: list[ConfigError] = []
    # Errors name the file as "blueprints/automation/x.yaml" wherever it lives.
    label_root = folder.parent.parent
    data = load_yaml(file, errors=errors, config_dir=label_root)
    try:
        display = file.relative_to(label_root).as_posix()
    except ValueError:
        display = file.name
    blueprint = Blueprint(path=path, file=file, display=display, source=source, errors=errors)
    _check(blueprint, data)
    if stat is not None:
        _cache[file] = (stat.st_mtime_ns, stat.st_size, blueprint)
    return blueprint


def _err(bp: Blueprint, root: Any, loc: Loc, message: str) -> None:
    file, line = position_of(root, loc) or (bp.display, None)
    path = ".".join(str(p) for p in loc)
    bp.errors.append(ConfigError(file, line, path, message))


def _collect_inputs(bp: Blueprint, root: Any, inputs: Any, loc: Loc) -> None:
    if inputs is None:
        return
    if not isinstance(inputs, Mapping):
        _err(bp, root, loc, "expected a mapping of input names")
        return
    for name, spec in inputs.items():
        iloc = (*loc, str(name))
        if isinstance(spec, Mapping) and "input" in spec and "selector" not in spec:
            for key in spec:
                if key not in _SECTION_KEYS:
                    _err(bp, root, (*iloc, str(key)), "unknown key in an input section")
            _collect_inputs(bp, root, spec.get("input"), (*iloc, "input"))
            continue
        if spec is not None and not isinstance(spec, Mapping):
            _err(bp, root, iloc, "expected an input definition (name, description, default, selector)")
            continue
        spec = spec or {}
        for key in spec:
            if key not in _INPUT_KEYS:
                _err(bp, root, (*iloc, str(key)), "unknown key in an input")
        problem = selector_problem(spec.get("selector"))
        if problem is not None:
            _err(bp, root, (*iloc, "selector"), problem)
        default = spec.get("default", MISSING)
        if default is not MISSING and default is not None and problem is None:
            bad = value_problem(spec.get("selector"), default)
            if bad is not None:
                _err(bp, root, (*iloc, "default"), f"default does not fit the selector: {bad}")
        if str(name) in bp.inputs:
            _err(bp, root, iloc, f"input '{name}' is declared twice")
        pos = position_of(root, iloc)
        bp.inputs[str(name)] = BlueprintInput(
            name=str(name),
            label=str(spec.get("name") or name),
            description=str(spec.get("description") or ""),
            default=default,
            selector=spec.get("selector"),
            line=pos[1] if pos else None,
        )


def _used_inputs(value: Any, loc: Loc, found: dict[str, Loc]) -> None:
    if isinstance(value, Input):
        found.setdefault(value.name, loc)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _used_inputs(item, (*loc, str(key)), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _used_inputs(item, (*loc, index), found)


def _check(bp: Blueprint, data: Any) -> None:
    if bp.errors:
        return
    if not isinstance(data, Mapping) or not isinstance(data.get("blueprint"), Mapping):
        _err(bp, data, (), "not a blueprint: the file needs a blueprint: section")
        return
    meta = data["blueprint"]
    for key in meta:
        if key not in _META_KEYS:
            _err(bp, data, ("blueprint", str(key)), "unknown key")
    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        _err(bp, data, ("blueprint", "name"), "required key missing: name")
    bp.name = str(name or bp.path)
    bp.description = str(meta.get("description") or "")
    bp.domain = str(meta.get("domain") or "")
    bp.author = str(meta.get("author") or "")
    bp.source_url = str(meta.get("source_url") or "")
    if bp.domain != "automation":
        _err(
            bp,
            data,
            ("blueprint", "domain"),
            (
                f"{bp.domain} blueprints are Home Assistant's, and SafetyHub runs automation blueprints only "
                f"(expected domain: automation; see {ha_support.DOCS})"
                if bp.domain in ("script", "template")
                else f"expected domain: automation, got {bp.domain!r}"
            )
            if bp.domain
            else "required key missing: domain",
        )
    _collect_inputs(bp, data, meta.get("input"), ("blueprint", "input"))
    body = NodeDict({k: v for k, v in data.items() if k != "blueprint"})
    if isinstance(data, NodeDict):
        body._file, body._line = data._file, data._line
        for key in body:
            pos = data.key_position(key)
            if pos is not None:
                body.set_key_position(key, pos)
    used: dict[str, Loc] = {}
    _used_inputs(body, (), used)
    for input_name, loc in used.items():
        if input_name not in bp.inputs:
            _err(
                bp,
                data,
                loc,
                f"missing input definition for '{input_name}' (declare it under blueprint.input)",
            )
    bp.body = body


def list_blueprints(dirs: Iterable[tuple[Path, str]]) -> list[Blueprint]:
    """Return every blueprint in the search folders (a shadowed one is listed once)."""
    seen: set[str] = set()
    found: list[Blueprint] = []
    for folder, source in dirs:
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*.yaml")):
            rel = file.relative_to(folder).as_posix()
            if rel in seen:
                continue
            seen.add(rel)
            found.append(load_blueprint(file, folder, source, rel))
    return found


# -- substitution --------------------------------------------------------------------


def _replace(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, Input):
        return values.get(value.name)
    if isinstance(value, NodeDict):
        out = NodeDict()
        out._file, out._line = value._file, value._line
        for key, item in value.items():
            out[key] = _replace(item, values)
            pos = value.key_position(key)
            if pos is not None:
                out.set_key_position(key, pos)
        return out
    if isinstance(value, Mapping):
        return {k: _replace(v, values) for k, v in value.items()}
    if isinstance(value, NodeList):
        out_list = NodeList()
        out_list._file, out_list._line = value._file, value._line
        for index, item in enumerate(value):
            out_list.append(_replace(item, values))
            pos = value.item_position(index)
            if pos is not None:
                out_list.set_item_position(index, pos)
        return out_list
    if isinstance(value, list):
        return [_replace(v, values) for v in value]
    return value


@dataclass
class Substituted:
    """An instance turned into a plain automation config, or the errors why not."""

    config: Any
    errors: list[ConfigError]
    inputs: dict[str, Any]


def substitute(
    blueprint: Blueprint, instance: Mapping[str, Any], given: Any, where: Any, loc: Loc
) -> Substituted:
    """Fill the blueprint's ``!input`` with the instance's inputs and merge the instance's keys.

    ``where`` is the instance's Checker (to locate errors in the instance);
    ``given`` its ``use_blueprint.input`` value; ``loc`` where that sits.
    """
    label = f"blueprint '{blueprint.name}' ({blueprint.path})"
    before = len(where.errors)
    values: dict[str, Any] = {}
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        where.error(loc, f"{label}: input must be a mapping of input names to values")
        return Substituted(None, where.errors[before:], {})
    for name in given:
        if str(name) not in blueprint.inputs:
            known = ", ".join(blueprint.inputs) or "none"
            where.error((*loc, str(name)), f"{label} has no input '{name}' (inputs: {known})")
    for name, spec in blueprint.inputs.items():
        if name in given:
            value = given[name]
        elif spec.default is not MISSING:
            value = spec.default
        else:
            where.error(loc, f"{label}: missing input '{name}' ({spec.label})")
            continue
        problem = value_problem(spec.selector, value) if name in given else None
        if problem is not None:
            where.error((*loc, name), f"{label} input '{name}': {problem}")
        values[name] = value
    if len(where.errors) > before:
        return Substituted(None, where.errors[before:], values)
    from hub.components.automation.validate import check_entities

    for name, spec in blueprint.inputs.items():
        if name in given and isinstance(spec.selector, Mapping) and "entity" in spec.selector:
            # Reported, but the body is still checked: `check` lists everything in one run.
            check_entities(where, given[name], (*loc, name))
    body = _replace(blueprint.body, values)
    merged = NodeDict(body)
    merged._file, merged._line = getattr(instance, "_file", ""), getattr(instance, "_line", 0)
    for key in body:
        pos = body.key_position(key) if isinstance(body, NodeDict) else None
        if pos is not None:
            merged.set_key_position(key, pos)
    for key, value in instance.items():
        if key == "use_blueprint":
            continue
        merged[key] = value
        pos = instance.key_position(key) if isinstance(instance, NodeDict) else None
        if pos is not None:
            merged.set_key_position(key, pos)
    return Substituted(merged, [], values)
