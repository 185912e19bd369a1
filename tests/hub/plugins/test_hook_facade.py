"""The typed hook facade (hub/plugins/hooks.py) is kept in step with hub/hookspecs.py.

A spec added, renamed or given a new parameter without the same change to ``Hooks``
fails here; so does a facade method for a spec that no longer exists.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from hub import hookimpl, hookspecs
from hub.plugins import PluginHost
from hub.plugins.hooks import NOT_HOOK_PARAMETERS, Hooks
from hub.plugins.host import PluginInfo

REPO = Path(__file__).resolve().parents[3]
SPECS = {
    name: inspect.signature(fn)
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(fn, f"{hookspecs.PROJECT}_spec")
}
METHODS = {name: fn for name, fn in inspect.getmembers(Hooks, inspect.isfunction) if not name.startswith("_")}


def test_one_method_per_hookspec() -> None:
    assert set(METHODS) == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_each_method_takes_its_specs_parameters(name: str) -> None:
    params = inspect.signature(METHODS[name]).parameters
    own = [p for p in params.values() if p.name not in NOT_HOOK_PARAMETERS]
    assert [p.name for p in own] == list(SPECS[name].parameters), f"Hooks.{name} and the hookspec differ"
    # By keyword only: a reordered spec cannot pass arguments to the wrong parameter.
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in own)


def test_no_hook_is_called_by_its_name_as_a_string() -> None:
    calls = []
    for folder in ("hub", "integrations", "plugins"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name in ("host.py", "hooks.py") and path.parent.name == "plugins":
                continue
            text = path.read_text(encoding="utf-8")
            calls += [
                f"{path.relative_to(REPO)}: {m}" for m in re.findall(r"\bcall_(?:each|one)\(\s*\"\w+\"", text)
            ]
    assert not calls, f"call hooks through hub.plugins.hooks: {calls}"


class _Plugin:
    @hookimpl
    def streamed_events(self, hub: Any) -> list[str]:
        return ["custom_event", str(hub)]

    @hookimpl
    async def health_info(self, hub: Any) -> dict[str, Any]:
        return {"ok": True}

    @hookimpl
    def template_dirs(self) -> list[Path]:
        raise RuntimeError("broken plugin")


async def test_the_facade_calls_each_plugin_isolated_and_awaits_async_hooks(tmp_path: Path) -> None:
    host = PluginHost(tmp_path)
    host.pm.register(_Plugin(), name="demo")
    host.plugins["demo"] = info = PluginInfo(domain="demo", source="dropin", path="test")
    hub: Any = "h"  # what the hook gets is passed through untouched
    assert host.hooks.streamed_events(hub=hub) == [(info, ["custom_event", "h"])]
    assert await host.hooks.health_info(hub=hub) == [(info, {"ok": True})]
    assert await host.hooks.health_info(hub=hub, only=["other"]) == []
    assert host.hooks.template_dirs() == []  # the failure is recorded on the plugin, not raised
    assert info.hook_errors[0].startswith("template_dirs: RuntimeError: broken plugin")
