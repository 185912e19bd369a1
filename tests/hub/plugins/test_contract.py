"""The plugin contract is kept in step: every hookspec is documented, tested and implemented.

As datasette does for its own hooks: a spec added without a line in docs/plugins.md
(with its exact signature), without a ``test_hook_<name>``, or with no implementer among
the plugins that ship with the hub, fails here.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from hub import hookspecs
from hub.bootstrap import _register_core
from hub.plugins import PluginHost

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs" / "plugins.md"


def _specs() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(fn)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, f"{hookspecs.PROJECT}_spec")
    }


SPECS = _specs()


def test_there_are_specs() -> None:
    assert {"setup", "shutdown", "hub_started", "incident_written", "streamed_events"} <= set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hookspec_is_documented_with_its_signature(name: str) -> None:
    args = ", ".join(SPECS[name].parameters)
    assert f"`{name}({args})`" in DOCS.read_text(encoding="utf-8"), (
        f"docs/plugins.md must list `{name}({args})`"
    )


def test_the_docs_list_no_hook_that_does_not_exist() -> None:
    section = DOCS.read_text(encoding="utf-8").split("\n## Hooks\n", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+)\(", section, re.MULTILINE))
    assert listed
    assert listed <= set(SPECS), f"docs/plugins.md lists hooks that are not specs: {listed - set(SPECS)}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hookspec_has_a_test(name: str) -> None:
    pattern = re.compile(rf"^\s*(async )?def test_hook_{name}\b", re.MULTILINE)
    found = [p for p in (REPO / "tests").rglob("test_*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert found, f"no test_hook_{name} under tests/"


def test_every_hookspec_has_a_shipped_implementer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETYHUB_ENTRYPOINTS", "0")
    monkeypatch.delenv("SAFETYHUB_LOAD_PLUGINS", raising=False)
    host = PluginHost(None)
    _register_core(host)
    host.discover(import_builtins=True)
    missing = [name for name in SPECS if not getattr(host.pm.hook, name).get_hookimpls()]
    assert missing == [], f"hookspecs no shipped plugin implements: {missing}"
