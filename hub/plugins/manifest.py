"""The plugin manifest (``manifest.json`` in every plugin folder)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ("Manifest", "ManifestError", "read_manifest")


class ManifestError(Exception):
    """The manifest is missing or invalid."""


class Manifest(BaseModel):
    """What a plugin says about itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    version: str = "0.0.0"
    requirements: list[str] = []
    dependencies: list[str] = []
    #: Set up after these when they are configured, without requiring them
    #: (an SOS button may talk MQTT, or be a webhook button in a hub without MQTT).
    after_dependencies: list[str] = []
    codeowners: list[str] = []
    documentation: str = ""
    #: Set up even when the config has no block for it (core domains).
    always: bool = False
    #: Roles of this plugin in the hub: "hub", "station", "region" (DESIGN §14).  The default is
    #: every role: a core domain (incidents, automations) runs wherever the program does.
    roles: list[str] = ["hub", "station", "region"]


def read_manifest(folder: Path) -> Manifest:
    """Read and validate ``folder/manifest.json``."""
    path = folder / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ManifestError(f"{path.name} missing in {folder.name}/") from err
    except json.JSONDecodeError as err:
        raise ManifestError(f"{path.name}:{err.lineno}: invalid JSON: {err.msg}") from err
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ManifestError(f"{path.name}: {where}: {first['msg']}") from err
    if manifest.domain != folder.name:
        raise ManifestError(f"{path.name}: domain {manifest.domain!r} does not match folder {folder.name!r}")
    return manifest
