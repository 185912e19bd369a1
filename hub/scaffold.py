"""``safetyhub new-plugin NAME``: a working plugin a hobbyist can grow from.

The files follow the shape every built-in plugin has (manifest.json,
__init__.py with hooks only, const.py, config.py, README.md) and include a
test that runs against a real hub through the contributor kit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ("scaffold", "ScaffoldError")

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class ScaffoldError(ValueError):
    """The plugin cannot be created."""


def _files(name: str) -> dict[str, str]:
    title = name.replace("_", " ").title()
    manifest = {
        "domain": name,
        "name": title,
        "version": "0.1.0",
        "requirements": [],
        "dependencies": [],
        "codeowners": [],
        "documentation": "README.md",
    }
    return {
        "manifest.json": json.dumps(manifest, indent=2) + "\n",
        "const.py": f'"""Constants for {name}."""\n\nfrom typing import Final\n\nDOMAIN: Final = "{name}"\n',
        "config.py": f'''"""Schema of the ``{name}:`` block in config.yaml."""

from pydantic import BaseModel, ConfigDict, Field


class {title.replace(" ", "")}Config(BaseModel):
    """Settings of the {name} plugin."""

    model_config = ConfigDict(extra="forbid")

    #: Text the greeting service stores in the state.
    greeting: str = "สวัสดี"
    #: How many greetings to keep count of before wrapping.
    limit: int = Field(default=100, ge=1)
''',
        "__init__.py": f'''"""The {name} plugin: a greeting service and a counter entity.

Replace the service with your own; keep the hooks thin and put logic in
other modules of this folder.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from hub import hookimpl

from .config import {title.replace(" ", "")}Config
from .const import DOMAIN


class GreetSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


@hookimpl
def config_schema() -> Any:
    """Return the type of this plugin's block."""
    return {title.replace(" ", "")}Config


@hookimpl
def setup(hub: Any, config: {title.replace(" ", "")}Config | None) -> None:
    """Create the entity and register the service."""
    cfg = config or {title.replace(" ", "")}Config()
    entity_id = f"sensor.{{DOMAIN}}_greetings"
    hub.states.set(entity_id, "0", {{"friendly_name": "Greetings"}})

    def greet(call: Any) -> dict[str, Any]:
        count = (int(hub.states.get(entity_id).state) + 1) % cfg.limit
        message = f"{{cfg.greeting}} {{call.data['name']}}"
        hub.states.set(entity_id, str(count), {{"friendly_name": "Greetings", "last": message}},
                       context=call.context)
        return {{"message": message}}

    hub.services.register(DOMAIN, "greet", greet, GreetSchema, description="Say hello")
''',
        "README.md": f"""# {name}

A SafetyHub plugin made with `safetyhub new-plugin {name}`.

```yaml
{name}:
  greeting: สวัสดี
```

Service `{name}.greet {{name}}` updates `sensor.{name}_greetings`.

Test it (the fixtures come from `hub.testing`, installed with safetyhub):

    pytest plugins/{name}
""",
        f"tests/test_{name}.py": f'''"""Tests for {name}, against a real hub (fixtures from hub.testing)."""

from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """Put this plugin in the test hub's drop-in folder."""
    folder = tmp_path / "config"
    (folder / "plugins").mkdir(parents=True)
    (folder / "plugins" / "{name}").symlink_to(PLUGIN_DIR, target_is_directory=True)
    return folder


@pytest.mark.asyncio
async def test_greet(make_hub) -> None:
    hub = await make_hub("{name}:\\n  greeting: hello\\n")
    result = await hub.services.call("{name}", "greet", {{"name": "Somchai"}})
    assert result == {{"message": "hello Somchai"}}
    assert hub.states.get("sensor.{name}_greetings").state == "1"


def test_bad_config_is_reported(load_config, config_dir) -> None:
    loaded = load_config("{name}:\\n  limit: zero\\n")
    assert any(e.path == "{name}.limit" for e in loaded.errors), loaded.errors
''',
    }


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
