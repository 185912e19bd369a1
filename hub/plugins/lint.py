"""Check that every built-in plugin folder has the same shape (like Home Assistant's hassfest).

Run as ``python -m hub.plugins.lint [ROOT]`` (``scripts/check`` does). Each finding is printed as
``path: message``; the exit status is 1 if there is any.

The shape, for every folder under ``integrations/`` and ``plugins/``:

* ``manifest.json`` that validates, whose ``documentation`` file exists and whose dependencies
  name plugins that exist;
* ``README.md``, ``__init__.py``, ``config.py`` (the block's schema) and ``const.py`` (its names);
* ``__init__.py`` implements at least one hook with ``@hookimpl``;
* tests mirror the tree: ``tests/<integrations|plugins>/<name>/`` holds at least one ``test_*.py``;
* the runtime object: the one ``HubKey`` named after the plugin (``HubKey(DOMAIN)``), through which
  other code reaches its runtime object, is ``RUNTIME`` in its ``const.py``, and no other module
  binds ``RUNTIME`` to a key (see "The runtime object" in docs/plugins.md).

The core components under ``hub/components/`` need a ``manifest.json`` that validates, a hook in
``__init__.py`` and tests in ``tests/hub/components/<name>/`` (their schemas live with their code);
the runtime-object rule holds for them too.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from hub.plugins.manifest import ManifestError, read_manifest

__all__ = ("Finding", "lint_tree", "main")

#: The folders that hold built-in plugins, relative to the project root.
PLUGIN_PARENTS = ("integrations", "plugins")
REQUIRED_FILES = ("manifest.json", "README.md", "__init__.py", "config.py", "const.py")
#: The folder of the core components, relative to the project root.
COMPONENTS = "hub/components"


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _subfolders(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    return [
        child
        for child in sorted(base.iterdir())
        if child.is_dir() and not child.name.startswith(("_", ".")) and any(child.glob("*.py"))
    ]


def component_folders(root: Path) -> list[Path]:
    """Every core component folder under ``root``."""
    return _subfolders(root / COMPONENTS)


def plugin_folders(root: Path) -> list[Path]:
    """Every built-in plugin folder under ``root`` (a folder with Python in it, not a cache)."""
    folders: list[Path] = []
    for parent in PLUGIN_PARENTS:
        folders.extend(_subfolders(root / parent))
    return folders


def _implements_a_hook(init: Path) -> bool:
    try:
        tree = ast.parse(init.read_text(encoding="utf-8"), filename=str(init))
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name == "hookimpl":
                    return True
    return False


def _hub_keys(module: Path) -> list[tuple[str, ast.expr | None, int]]:
    """``(name, first argument, line)`` of each module-level ``NAME = HubKey(...)`` in ``module``."""
    try:
        tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    except SyntaxError:
        return []  # a broken module fails its own tests; the lint reports shapes
    keys: list[tuple[str, ast.expr | None, int]] = []
    for node in tree.body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if not (isinstance(target, ast.Name) and isinstance(value, ast.Call)):
            continue
        func = value.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if called == "HubKey":
            keys.append((target.id, value.args[0] if value.args else None, node.lineno))
    return keys


def _names_the_plugin(arg: ast.expr | None, domain: str) -> bool:
    if isinstance(arg, ast.Name):
        return arg.id == "DOMAIN"
    return isinstance(arg, ast.Constant) and arg.value == domain


def lint_runtime_key(root: Path, folder: Path) -> list[Finding]:
    """The runtime-object key: ``RUNTIME = HubKey(DOMAIN)`` in ``const.py``, nowhere else.

    One name in one module for every plugin, so ``hub.data[RUNTIME]`` (imported from the plugin's
    ``const``) is how any code reaches any plugin's runtime object.
    """
    found: list[Finding] = []
    for module in sorted(folder.rglob("*.py")):
        rel = module.relative_to(root).as_posix()
        in_const = module == folder / "const.py"
        for name, arg, line in _hub_keys(module):
            where = f"{rel}:{line}"
            if name == "RUNTIME" and not in_const:
                found.append(Finding(where, "RUNTIME is declared in const.py, not here"))
            elif name == "RUNTIME" and not _names_the_plugin(arg, folder.name):
                found.append(Finding(where, "RUNTIME is HubKey(DOMAIN)"))
            elif name != "RUNTIME" and _names_the_plugin(arg, folder.name):
                found.append(
                    Finding(
                        where, f"{name} names the plugin's runtime object: declare it as RUNTIME in const.py"
                    )
                )
    return found


def lint_folder(root: Path, folder: Path, known: set[str]) -> list[Finding]:
    rel = folder.relative_to(root).as_posix()
    found: list[Finding] = []
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            found.append(Finding(rel, f"{name} is missing"))
    if (folder / "manifest.json").is_file():
        try:
            manifest = read_manifest(folder)
        except ManifestError as err:
            found.append(Finding(f"{rel}/manifest.json", str(err)))
        else:
            if manifest.documentation and not (root / manifest.documentation).is_file():
                found.append(
                    Finding(
                        f"{rel}/manifest.json", f"documentation {manifest.documentation!r} does not exist"
                    )
                )
            for dep in (*manifest.dependencies, *manifest.after_dependencies):
                if dep not in known:
                    found.append(Finding(f"{rel}/manifest.json", f"depends on unknown plugin {dep!r}"))
    init = folder / "__init__.py"
    if init.is_file() and not _implements_a_hook(init):
        found.append(Finding(f"{rel}/__init__.py", "implements no hook (@hookimpl)"))
    tests = root / "tests" / folder.parent.name / folder.name
    if not any(tests.glob("test_*.py")):
        found.append(Finding(rel, f"no tests: tests/{folder.parent.name}/{folder.name}/test_*.py"))
    found.extend(lint_runtime_key(root, folder))
    return found


def lint_component(root: Path, folder: Path) -> list[Finding]:
    """Findings for one core component folder (``hub/components/<name>``)."""
    rel = folder.relative_to(root).as_posix()
    found: list[Finding] = []
    try:
        read_manifest(folder)
    except ManifestError as err:
        found.append(Finding(f"{rel}/manifest.json", str(err)))
    init = folder / "__init__.py"
    if not init.is_file():
        found.append(Finding(rel, "__init__.py is missing"))
    elif not _implements_a_hook(init):
        found.append(Finding(f"{rel}/__init__.py", "implements no hook (@hookimpl)"))
    tests = root / "tests" / COMPONENTS / folder.name
    if not any(tests.glob("test_*.py")):
        found.append(Finding(rel, f"no tests: tests/{COMPONENTS}/{folder.name}/test_*.py"))
    found.extend(lint_runtime_key(root, folder))
    return found


def lint_tree(root: Path) -> list[Finding]:
    """Every finding for the core components and built-in plugin folders under ``root``."""
    components = component_folders(root)
    folders = plugin_folders(root)
    known = {f.name for f in (*components, *folders)}
    found: list[Finding] = []
    for component in components:
        found.extend(lint_component(root, component))
    for folder in folders:
        found.extend(lint_folder(root, folder, known))
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2]
    found = lint_tree(root)
    for finding in found:
        print(finding, file=sys.stderr)  # noqa: T201 - a command-line report
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
