"""``safetyhub blueprint list`` and ``safetyhub blueprint import FILE``."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from hub.components.automation.blueprints import list_blueprints, load_blueprint, search_dirs

__all__ = ("blueprint",)


def _config_dir(config: Path | None) -> Path:
    if config is not None:
        return config.resolve().parent
    return Path.cwd()


@click.group()
def blueprint() -> None:
    """List and import automation blueprints."""


@blueprint.command("list")
@click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="config file (its folder holds blueprints/automation/)",
)
def blueprint_list(config: Path | None) -> None:
    """List every blueprint with its inputs (and errors, if any); exit non-zero if one is invalid."""
    config_dir = _config_dir(config)
    found = list_blueprints(search_dirs(config_dir))
    bad = 0
    for bp in found:
        inputs = ", ".join(
            f"{name}{'' if i.default is not _missing() else '*'}" for name, i in bp.inputs.items()
        )
        click.echo(f"{bp.path:<32} {bp.source:<8} {bp.name}")
        if inputs:
            click.echo(f"{'':<32} inputs: {inputs}")
        for err in bp.errors:
            bad += 1
            click.echo(f"{'':<32} error: {err}")
    if not found:
        click.echo("no blueprints found")
    if bad:
        raise SystemExit(1)


def _missing() -> object:
    from hub.components.automation.blueprints import MISSING

    return MISSING


@blueprint.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="config file (the blueprint goes to its folder's blueprints/automation/)",
)
@click.option("--force", is_flag=True, help="replace a blueprint of the same name")
def blueprint_import(file: Path, config: Path | None, force: bool) -> None:
    """Validate FILE and copy it into <config dir>/blueprints/automation/."""
    target_dir = _config_dir(config) / "blueprints" / "automation"
    bp = load_blueprint(file.resolve(), file.resolve().parent, "import", file.name)
    if bp.errors:
        for err in bp.errors:
            click.echo(f"{file}: {err}", err=True)
        raise click.ClickException(f"{file} is not a valid automation blueprint; nothing imported")
    target = target_dir / file.name
    if target.exists() and not force:
        raise click.ClickException(f"{target} already exists (use --force to replace it)")
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(file, target)
    click.echo(f"imported '{bp.name}' as {target} — use it with use_blueprint: {{path: {file.name}}}")
