"""The contributor kit (``hub.testing``, a pytest11 plugin) never breaks another project's pytest run.

``pip install safetyhub`` registers the plugin for every pytest in that
environment, with or without the ``[test]`` extra.  Here the extra's
packages are made unimportable in a fresh interpreter (a ``sys.meta_path``
blocker, as if they were not installed), and pytest loads the kit the way
its entry point does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Everything in the [test] extra that a module could import.
TEST_ONLY = (
    "pytest_asyncio",
    "pytest_timeout",
    "hypothesis",
    "playwright",
    "openapi_core",
    "schemathesis",
    "ipycam",
    "siadc09",
    "capvalidator",
)

RUNNER = textwrap.dedent("""
    import importlib.abc, sys

    BLOCKED = set(sys.argv[1].split(","))

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    import pytest
    sys.exit(pytest.main(["-p", "hub.testing", "-q", "-p", "no:cacheprovider", *sys.argv[2:]]))
""")


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-c", RUNNER, ",".join(TEST_ONLY), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unrelated_project_runs_without_the_test_extras(tmp_path: Path) -> None:
    (tmp_path / "test_unrelated.py").write_text("def test_sums():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    (tmp_path / "test_uses_kit.py").write_text(
        "def test_needs_a_hub(make_hub):\n    pass\n\n\ndef test_sync_fixture(config_dir):\n"
        "    assert config_dir.is_dir()\n",
        encoding="utf-8",
    )
    unrelated = _run(tmp_path, "test_unrelated.py")
    assert unrelated.returncode == 0, unrelated.stdout + unrelated.stderr
    assert "1 passed" in unrelated.stdout
    # The kit's sync fixtures work; an async one says what to install instead of a traceback.
    kit = _run(tmp_path, "test_uses_kit.py")
    assert "1 passed, 1 error" in kit.stdout, kit.stdout + kit.stderr
    assert "needs pytest-asyncio: pip install 'safetyhub[test]'" in kit.stdout


def test_the_kit_is_the_pytest11_entry_point() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pytest11"] == {"safetyhub": "hub.testing"}
    assert not any(
        dep.split(">")[0].split("=")[0] in ("pytest", "pytest-asyncio") for dep in project["dependencies"]
    )
