"""Check that every built-in plugin folder has the same shape (like Home Assistant's hassfest).

Run as ``python -m hub.plugins.lint [ROOT]`` (``scripts/check`` does). Each finding is printed as
``path: message``; the exit status is 1 if there is any.

The shape, for every folder under ``integrations/`` and ``plugins/``:

* ``manifest.json`` that validates, whose ``documentation`` file exists and whose dependencies
  name plugins that exist;
* ``README.md``, ``__init__.py``, ``config.py`` (the block's schema) and ``const.py`` (its names);
* ``__init__.py`` implements at least one hook with ``@hookimpl``;
* tests mirror the tree: ``tests/<integrations|plugins>/<name>/`` holds at least one ``test_*.py``.

The core components under ``hub/components/`` need a ``manifest.json`` that validates, a hook in
``__init__.py`` and tests in ``tests/hub/components/<name>/`` (their schemas live with their code).
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
