"""``safetyhub backup`` and ``safetyhub restore``: run outside the hub, like ``user add``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from integrations.backup.const import PASSPHRASE_ENV

__all__ = ("backup_command", "restore_command")


def _passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    """From a file, the environment, or a prompt (never from the command line: it shows in ps)."""
    if passphrase_file is not None:
        return passphrase_file.read_text(encoding="utf-8").strip()
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if line:
            return line
        raise click.ClickException(f"give the passphrase: --passphrase-file, ${PASSPHRASE_ENV} or stdin")
    return str(click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm))


config_option = click.option(
    "-c",
    "--config",
    "config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("config.yaml"),
    show_default=True,
)
passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help=f"read the passphrase from this file (else ${PASSPHRASE_ENV}, stdin or a prompt)",
)


@click.command("backup")
@config_option
@click.option(
    "--to", "dest", type=click.Path(path_type=Path, dir_okay=False), help="the backup file to write"
)
@click.option("--recordings", is_flag=True, help="include the camera recordings (large)")
@passphrase_option
def backup_command(config: Path, dest: Path | None, recordings: bool, passphrase_file: Path | None) -> None:
    """Back up the config, secrets and databases (a consistent snapshot, also while the hub runs)."""
    from hub import __version__
    from hub.bootstrap import load
    from integrations.backup.archive import BackupError, write_backup
    from integrations.backup.schedule import backup_name, data_dir_of

    loaded = load(config)
    if loaded.core is None:
        for err in loaded.errors:
            click.echo(str(err), err=True)
        raise SystemExit(1)
    data_dir = data_dir_of(loaded.core.data_dir, loaded.config_dir)
    target = dest or Path.cwd() / backup_name(loaded.core.id)
    try:
        info = write_backup(
            config_dir=loaded.config_dir,
            data_dir=data_dir,
            dest=target,
            passphrase=_passphrase(passphrase_file, confirm=True),
            hub_id=loaded.core.id,
            role="station" if "station" in loaded.blocks else "hub",
            version=__version__,
            recordings=recordings,
            backup_dir=target.parent,
        )
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"backed up {info.files} files to {info.path} ({info.size / 1e6:.1f} MB, encrypted)")


@click.command("restore")
@click.argument("backup", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--to",
    "target",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="the config folder to restore into",
)
@click.option("--force", is_flag=True, help="restore over an existing (stopped) config folder")
@passphrase_option
def restore_command(backup: Path, target: Path, force: bool, passphrase_file: Path | None) -> None:
    """Restore a backup into an empty folder (never over a running hub)."""
    from integrations.backup.archive import BackupError, read_manifest, restore_backup
    from integrations.backup.schedule import running_hub_in

    try:
        manifest = read_manifest(backup)
        pid = running_hub_in(target)
        if pid is not None:
            raise BackupError(f"a SafetyHub is running on {target} (process {pid}): stop it first")
        restore_backup(
            backup, config_dir=target, passphrase=_passphrase(passphrase_file, confirm=False), force=force
        )
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"restored {manifest.get('hub_id')}'s backup of {manifest.get('version')} "
        f"({len(manifest.get('files') or {})} files) into {target}"
    )
