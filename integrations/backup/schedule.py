"""Daily backups inside the hub, with retention; and the paths the CLI shares with them."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hub.daily import DailyTask
from hub.runlock import holder
from integrations.backup.archive import BackupError, BackupInfo, write_backup
from integrations.backup.config import BackupConfig
from integrations.backup.const import EVENT_BACKUP_DONE, NAME_FORMAT

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("BackupSchedule", "backup_name", "data_dir_of", "prune", "running_hub_in")

_LOGGER = logging.getLogger(__name__)


def backup_name(hub_id: str, when: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if when is None else when))
    return NAME_FORMAT.format(hub=hub_id, stamp=stamp)


def data_dir_of(data_dir: str, config_dir: Path) -> Path:
    path = Path(data_dir)
    return path if path.is_absolute() else config_dir / path


def running_hub_in(config_dir: Path) -> int | None:
    """The pid of a hub running on ``config_dir``'s data folder (or on the folder itself)."""
    from integrations.backup.archive import _data_dir_of

    for folder in {config_dir, _data_dir_of(config_dir)}:
        pid = holder(folder)
        if pid is not None:
            return pid
    return None


def prune(folder: Path, hub_id: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups of this hub; return what went."""
    mine = sorted(folder.glob(NAME_FORMAT.format(hub=hub_id, stamp="*")))
    gone = mine[:-keep] if len(mine) > keep else []
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


class BackupSchedule:
    """Runs the daily backup; a failure (a full disk) is logged and shown, and the hub carries on."""

    def __init__(self, hub: Hub, config: BackupConfig) -> None:
        self.hub = hub
        self.config = config
        self.folder = data_dir_of(config.dir, hub.config_dir)
        self.last: BackupInfo | None = None
        self.last_error: str | None = None
        self._daily = DailyTask(hub, "backup", config.at, lambda _today: self.run(), background=True)
        self._daily.start()

    def stop(self) -> None:
        self._daily.stop()

    async def run(self) -> BackupInfo | None:
        hub = self.hub
        dest = self.folder / backup_name(hub.id, hub.clock.time())
        try:
            info = await asyncio.to_thread(
                write_backup,
                config_dir=hub.config_dir,
                data_dir=hub.data_dir,
                dest=dest,
                passphrase=self.config.passphrase.get_secret_value(),
                hub_id=hub.id,
                role=hub.role,
                version=hub.version,
                recordings=self.config.recordings,
                backup_dir=self.folder,
            )
        except (BackupError, OSError) as err:
            self.last_error = str(err)
            _LOGGER.error("Daily backup failed: %s", err)
            hub.bus.fire(EVENT_BACKUP_DONE, {"ok": False, "error": str(err)})
            await self._tell_admins(str(err))
            return None
        self.last, self.last_error = info, None
        removed = await asyncio.to_thread(prune, self.folder, hub.id, self.config.keep)
        _LOGGER.info("Daily backup: %s (%d files); removed %d old", info.path, info.files, len(removed))
        hub.bus.fire(EVENT_BACKUP_DONE, {"ok": True, "path": str(info.path)})
        return info

    async def _tell_admins(self, error: str) -> None:
        if self.hub.services.has("persistent_notification", "create"):
            await self.hub.services.call(
                "persistent_notification",
                "create",
                {
                    "title": "สำรองข้อมูลไม่สำเร็จ / Backup failed",
                    "message": error,
                    "notification_id": "backup_failed",
                },
            )
