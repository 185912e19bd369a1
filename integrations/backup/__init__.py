"""Backups: ``safetyhub backup`` / ``restore``, and daily encrypted backups with retention.

A shop box nobody logs in to for months must survive a dead SD card: the ``backup:`` block makes
the hub back itself up every day (to another disk, ideally), keeping the newest N.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from hub import hookimpl
from integrations.backup.config import BackupConfig
from integrations.backup.const import RUNTIME
from integrations.backup.schedule import BackupSchedule

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("BackupConfig", "BackupSchedule")


@hookimpl
def config_schema() -> Any:
    """Return the ``backup:`` block type."""
    return BackupConfig


@hookimpl
def setup(hub: Hub, config: BackupConfig | None) -> None:
    """Schedule the daily backup."""
    if config is not None:
        hub.data[RUNTIME] = BackupSchedule(hub, config)


@hookimpl
def shutdown(hub: Hub) -> None:
    """Stop scheduling."""
    schedule = hub.data.pop(RUNTIME, None)
    if schedule is not None:
        schedule.stop()


@hookimpl
def health_info(hub: Hub) -> Any:
    """A failed daily backup is a problem to show."""
    schedule = hub.data.get(RUNTIME)
    if schedule is None or schedule.last_error is None:
        return None
    return {"backup": {"error": schedule.last_error}}


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``safetyhub backup`` and ``safetyhub restore``."""
    from integrations.backup.cli import backup_command, restore_command

    cli.add_command(backup_command)
    cli.add_command(restore_command)
