"""Turn the ``automation:`` block into one entry per automation, valid or not.

Shared by ``safetyhub check`` (which prints the errors), start-up (which
builds valid entries and shows invalid ones as failed) and reload (which
diffs entries against the running automations).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.components.automation.blueprints import find_blueprint, load_blueprint, search_dirs, substitute
from hub.components.automation.registry import Registry
from hub.components.automation.specs import AutomationSpec, BlueprintUse
from hub.components.automation.validate import Checker, Where, slugify, validate_automation
from hub.config import ConfigError, ConfigWarning, Input, position_of
from hub.config.nodes import Loc

if TYPE_CHECKING:
    from hub.plugins import PluginHost

__all__ = ("Entry", "collect")


@dataclass
class Entry:
    """One automation as configured: its spec, or the errors that make it fail."""

    key: str
    index: int
    spec: AutomationSpec | None
    errors: list[ConfigError]
    file: str
    line: int | None
    alias: str
    raw: Any = None
    blueprint: BlueprintUse | None = None
    blueprint_errors: list[ConfigError] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        """Return the errors as one message for the entity and the UI."""
        if not self.errors:
            return None
        return "; ".join(str(e) for e in self.errors)


def _inputs_outside_blueprint(value: Any, loc: Loc, out: list[Loc]) -> None:
    if isinstance(value, Input):
        out.append(loc)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _inputs_outside_blueprint(item, (*loc, str(key)), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _inputs_outside_blueprint(item, (*loc, index), out)


def _key_for(item: Any, index: int, used: set[str]) -> str:
    if isinstance(item, Mapping):
        if item.get("id") is not None:
            return str(item["id"])
        alias = item.get("alias")
        if alias is not None and slugify(str(alias)):
            base = slugify(str(alias))
            key, n = base, 2
            while key in used:
                key, n = f"{base}_{n}", n + 1
            return key
    key, n = f"automation_{index}", 2
    while key in used:
        key, n = f"automation_{index}_{n}", n + 1
    return key


def collect(
    raw: Any, file_label: str, config_dir: Path | None, registry: Registry, host: PluginHost | None
) -> tuple[list[Entry], list[ConfigError]]:
    """Validate every automation in the config ``raw``; return entries and all errors."""
    block = raw.get("automation") if isinstance(raw, Mapping) else None
    if block is None:
        return [], []
    errors: list[ConfigError] = []
    if isinstance(block, Mapping):
        items: list[Any] = [block]
        locs: list[Loc] = [("automation",)]
    elif isinstance(block, list):
        items = list(block)
        locs = [("automation", i) for i in range(len(items))]
    else:
        pos = position_of(raw, ("automation",)) or (file_label, None)
        return [], [ConfigError(pos[0], pos[1], "automation", "expected a list of automations")]
    dirs = search_dirs(config_dir)
    used: set[str] = set()
    ids: dict[str, str] = {}
    reported_blueprints: set[Path] = set()
    entries: list[Entry] = []
    for index, (item, loc) in enumerate(zip(items, locs, strict=True)):
        file, line = position_of(raw, loc) or (file_label, None)
        label = "automation" if len(loc) == 1 else f"automation[{index}]"
        key = _key_for(item, index, used)
        used.add(key)
        alias = str(item.get("alias") or key) if isinstance(item, Mapping) else key
        where = Where(root=item, file=file, line=line, label=label)
        checker = Checker(where, registry)
        entry = Entry(key, index, None, [], file, line, alias, raw=item)
        entries.append(entry)
        if isinstance(item, Mapping) and item.get("id") is not None:
            auto_id = str(item["id"])
            if auto_id in ids:
                checker.error(("id",), f"duplicate automation id '{auto_id}' (first used at {ids[auto_id]})")
            else:
                ids[auto_id] = f"{file}:{line}"
        config = item
        blueprint_use: BlueprintUse | None = None
        if isinstance(item, Mapping) and "use_blueprint" in item:
            config, blueprint_use = _instance(checker, item, dirs, entry, reported_blueprints)
        elif isinstance(item, Mapping):
            found: list[Loc] = []
            _inputs_outside_blueprint(item, (), found)
            for input_loc in found:
                checker.error(input_loc, "!input is only allowed inside a blueprint")
        if config is None:
            entry.errors = checker.errors
            errors.extend(entry.blueprint_errors)
            errors.extend(entry.errors)
            continue
        # Errors found so far (a repeated id, an input naming a missing entity) still let the
        # body be checked: `check` lists every problem in one run.  The automation does not run.
        before = list(checker.errors)
        note = ""
        if blueprint_use is not None:
            note = f" (in automation from blueprint '{blueprint_use.name}' ({blueprint_use.path}), {file}:{line})"
        spec, problems = validate_automation(
            config,
            Where(root=config, file=file, line=line, label=label, note=note),
            registry,
            key,
            blueprint_use,
        )
        # Warnings are printed by `check` but do not stop the automation.
        warnings = [p for p in problems if isinstance(p, ConfigWarning)]
        problems = [p for p in problems if not isinstance(p, ConfigWarning)]
        entry.spec = spec if not before else None
        entry.errors = before + problems
        entry.blueprint = blueprint_use
        errors.extend(entry.errors)
        errors.extend(warnings)
    return entries, errors


def _instance(
    checker: Checker, item: Mapping[str, Any], dirs: list[tuple[Path, str]], entry: Entry, reported: set[Path]
) -> tuple[Any, BlueprintUse | None]:
    use = item["use_blueprint"]
    if not isinstance(use, Mapping):
        checker.error(("use_blueprint",), "expected a mapping with path: and input:")
        return None, None
    for key in use:
        if key not in ("path", "input"):
            checker.error(("use_blueprint", str(key)), "unknown key (use_blueprint takes path and input)")
    path = use.get("path")
    if not isinstance(path, str) or not path.endswith(".yaml"):
        checker.error(("use_blueprint", "path"), "expected the blueprint's file name, ending in .yaml")
        return None, None
    found = find_blueprint(path, dirs)
    if found is None:
        places = ", ".join(str(d) for d, _ in dirs[:1]) + " or the shipped blueprints"
        checker.error(("use_blueprint", "path"), f"blueprint {path} not found (looked in {places})")
        return None, None
    file, folder, source = found
    blueprint = load_blueprint(file, folder, source, path)
    if blueprint.errors:
        if file not in reported:
            reported.add(file)
            entry.blueprint_errors = list(blueprint.errors)
        checker.error(
            ("use_blueprint", "path"),
            f"blueprint '{blueprint.name}' ({path}) is invalid: "
            + "; ".join(str(e) for e in blueprint.errors[:3]),
        )
        return None, None
    result = substitute(blueprint, item, use.get("input"), checker, ("use_blueprint", "input"))
    if result.config is None:
        return None, None
    use_info = BlueprintUse(
        path=path,
        name=blueprint.name,
        file=blueprint.display,
        inputs=result.inputs,
        selectors={name: spec.selector for name, spec in blueprint.inputs.items()},
    )
    return result.config, use_info
