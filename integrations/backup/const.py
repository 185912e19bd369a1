"""Constants for backups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.backup.schedule import BackupSchedule

DOMAIN: Final = "backup"
#: The environment variable the CLI reads the passphrase from when no file is given (CI, scripts).
PASSPHRASE_ENV: Final = "SAFETYHUB_BACKUP_PASSPHRASE"
#: Scheduled backups are named so that sorting by name sorts by time.
NAME_FORMAT: Final = "safetyhub-{hub}-{stamp}.zip"
#: Fired after each scheduled backup: {"ok": bool, "path"?: str, "error"?: str}.
EVENT_BACKUP_DONE: Final = "backup_done"

#: The nightly backup schedule: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[BackupSchedule] = HubKey(DOMAIN)
