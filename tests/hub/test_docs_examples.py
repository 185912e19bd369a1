"""The code in the docs runs as written (datasette's test_docs): pasted, it passes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hub.scaffold import scaffold

REPO = Path(__file__).resolve().parents[2]


def python_blocks(doc: Path) -> list[str]:
    """Return the ```python blocks of a Markdown file, in order."""
    return re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_plugins_md_test_example_passes_in_a_fresh_scaffold(tmp_path: Path) -> None:
    [example] = [b for b in python_blocks(REPO / "docs" / "plugins.md") if "make_hub" in b]
    folder = scaffold("market_siren", tmp_path / "plugins" / "market_siren")
    (folder / "tests" / "test_from_docs.py").write_text(example, encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(folder / "tests" / "test_from_docs.py"),
        ],
        cwd=tmp_path,  # a hobbyist's project: none of this repository's pytest settings
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
