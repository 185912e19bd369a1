"""``safetyhub new-plugin NAME``: a small device plugin a hobbyist can grow from.

It is a siren on a relay switched over MQTT: an entity (``NAME.siren``),
two services (``NAME.sound``, ``NAME.silence``), a listener (it sounds on
``sos_pressed``) and a timer on the hub's clock.  The files, in
``hub/new_plugin_template/``, follow the shape every built-in plugin has
(manifest.json, __init__.py with hooks only, const.py, config.py, README.md)
and come with tests that run against a real hub (and a real Mosquitto)
through the contributor kit.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ("scaffold", "ScaffoldError")

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class ScaffoldError(ValueError):
    """The plugin cannot be created."""


#: The plugin every ``new-plugin`` starts from: real files, with ``@@name@@`` (the domain),
#: ``@@Title@@`` and ``@@Class@@`` filled in; ``*.tmpl`` so nothing imports or collects them here.
TEMPLATE_DIR = Path(__file__).parent / "new_plugin_template"


def _files(name: str) -> dict[str, str]:
    title = name.replace("_", " ").title()
    values = {"@@name@@": name, "@@Title@@": title, "@@Class@@": title.replace(" ", "")}
    files: dict[str, str] = {}
    for template in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        rel = template.relative_to(TEMPLATE_DIR).as_posix().removesuffix(".tmpl")
        if rel == "tests/test_plugin.py":
            rel = f"tests/test_{name}.py"
        text = template.read_text(encoding="utf-8")
        for token, value in values.items():
            text = text.replace(token, value)
        files[rel] = text
    return files


def scaffold(name: str, folder: Path) -> Path:
    """Create the plugin ``name`` in ``folder`` and return the folder."""
    if not _NAME.match(name):
        raise ScaffoldError("plugin name must be lowercase letters, digits and _ (e.g. market_siren)")
    if folder.exists() and any(folder.iterdir()):
        raise ScaffoldError(f"{folder} already exists and is not empty")
    for rel, text in _files(name).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
