"""The plugin-folder validator that scripts/check runs (hub/plugins/lint.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hub.plugins.lint import lint_tree, main

REPO = Path(__file__).resolve().parents[3]


def test_the_tree_has_one_shape() -> None:
    assert [str(f) for f in lint_tree(REPO)] == []


def _plugin(root: Path, name: str, **manifest: object) -> Path:
    folder = root / "integrations" / name
    folder.mkdir(parents=True)
    for file in ("README.md", "config.py", "const.py"):
        (folder / file).write_text("")
    (folder / "__init__.py").write_text(
        "from hub import hookimpl\n\n\n@hookimpl\ndef setup(hub, config):\n    pass\n"
    )
    body = {"domain": name, "name": name, "documentation": f"integrations/{name}/README.md", **manifest}
    (folder / "manifest.json").write_text(json.dumps(body))
    tests = root / "tests" / "integrations" / name
    tests.mkdir(parents=True)
    (tests / "test_it.py").write_text("def test_it():\n    assert True\n")
    return folder


def test_a_good_folder_passes(tmp_path: Path) -> None:
    _plugin(tmp_path, "siren")
    assert lint_tree(tmp_path) == []
    assert main([str(tmp_path)]) == 0


def test_every_deviation_is_named(tmp_path: Path, capsys) -> None:
    folder = _plugin(tmp_path, "siren", dependencies=["mqtt"], documentation="docs/siren.md")
    (folder / "const.py").unlink()
    (folder / "__init__.py").write_text("def setup(hub, config):\n    pass\n")
    shutil.rmtree(tmp_path / "tests")
    bad = _plugin(tmp_path, "relay")
    (bad / "manifest.json").write_text('{"domain": "other", "name": "x"}')
    found = sorted(str(f) for f in lint_tree(tmp_path))
    assert found == [
        "integrations/relay/manifest.json: manifest.json: domain 'other' does not match folder 'relay'",
        "integrations/siren/__init__.py: implements no hook (@hookimpl)",
        "integrations/siren/manifest.json: depends on unknown plugin 'mqtt'",
        "integrations/siren/manifest.json: documentation 'docs/siren.md' does not exist",
        "integrations/siren: const.py is missing",
        "integrations/siren: no tests: tests/integrations/siren/test_*.py",
    ]
    assert main([str(tmp_path)]) == 1
    assert "const.py is missing" in capsys.readouterr().err


def test_core_components_are_checked_and_count_as_dependencies(tmp_path: Path) -> None:
    good = tmp_path / "hub" / "components" / "incident"
    good.mkdir(parents=True)
    (good / "__init__.py").write_text(
        "from hub import hookimpl\n\n\n@hookimpl\ndef setup(hub, config):\n    pass\n"
    )
    (good / "manifest.json").write_text('{"domain": "incident", "name": "Incidents", "always": true}')
    tests = tmp_path / "tests" / "hub" / "components" / "incident"
    tests.mkdir(parents=True)
    (tests / "test_it.py").write_text("def test_it():\n    assert True\n")
    bad = tmp_path / "hub" / "components" / "zone"
    bad.mkdir(parents=True)
    (bad / "__init__.py").write_text("X = 1\n")
    _plugin(tmp_path, "siren", dependencies=["incident"])
    found = sorted(str(f) for f in lint_tree(tmp_path))
    assert found == [
        "hub/components/zone/__init__.py: implements no hook (@hookimpl)",
        "hub/components/zone/manifest.json: manifest.json missing in zone/",
        "hub/components/zone: no tests: tests/hub/components/zone/test_*.py",
    ]


def test_the_runtime_key_is_runtime_in_const(tmp_path: Path) -> None:
    good = _plugin(tmp_path, "siren")
    (good / "const.py").write_text(
        'from hub.keys import HubKey\n\nDOMAIN = "siren"\nRUNTIME: HubKey[object] = HubKey(DOMAIN)\n'
        'OTHER: HubKey[int] = HubKey("siren_other")\n'
    )
    (good / "runtime.py").write_text('from hub.keys import HubKey\n\nEXTRA = HubKey("siren_extra")\n')
    assert lint_tree(tmp_path) == []
    # the survey's three old styles: a key named after the plugin under its own name, in another
    # module, and a RUNTIME that is not in const.py or not the plugin's key
    bad = _plugin(tmp_path, "relay")
    (bad / "const.py").write_text('from hub.keys import HubKey\n\nDOMAIN = "relay"\nRELAY = HubKey(DOMAIN)\n')
    (bad / "runtime.py").write_text(
        'from hub.keys import HubKey\n\nRUNTIME = HubKey("relay_runtime")\nMANAGER = HubKey("relay")\n'
    )
    lamp = _plugin(tmp_path, "lamp")
    (lamp / "const.py").write_text('from hub.keys import HubKey\n\nRUNTIME = HubKey("lamp_x")\n')
    found = sorted(str(f) for f in lint_tree(tmp_path))
    assert found == [
        "integrations/lamp/const.py:3: RUNTIME is HubKey(DOMAIN)",
        "integrations/relay/const.py:4: RELAY names the plugin's runtime object: declare it as RUNTIME in const.py",
        "integrations/relay/runtime.py:3: RUNTIME is declared in const.py, not here",
        "integrations/relay/runtime.py:4: MANAGER names the plugin's runtime object: declare it as RUNTIME in const.py",
    ]


def test_components_follow_the_runtime_rule(tmp_path: Path) -> None:
    folder = tmp_path / "hub" / "components" / "incident"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(
        "from hub import hookimpl\nfrom hub.keys import HubKey\n\nINCIDENTS = HubKey('incident')\n\n\n"
        "@hookimpl\ndef setup(hub, config):\n    pass\n"
    )
    (folder / "manifest.json").write_text('{"domain": "incident", "name": "Incidents", "always": true}')
    tests = tmp_path / "tests" / "hub" / "components" / "incident"
    tests.mkdir(parents=True)
    (tests / "test_it.py").write_text("def test_it():\n    assert True\n")
    assert [str(f) for f in lint_tree(tmp_path)] == [
        "hub/components/incident/__init__.py:4: INCIDENTS names the plugin's runtime object: "
        "declare it as RUNTIME in const.py"
    ]
