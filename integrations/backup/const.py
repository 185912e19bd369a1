"""Constants for backups."""

from typing import Final

DOMAIN: Final = "backup"
#: The environment variable the CLI reads the passphrase from when no file is given (CI, scripts).
PASSPHRASE_ENV: Final = "SAFETYHUB_BACKUP_PASSPHRASE"
#: Scheduled backups are named so that sorting by name sorts by time.
NAME_FORMAT: Final = "safetyhub-{hub}-{stamp}.zip"
#: Fired after each scheduled backup: {"ok": bool, "path"?: str, "error"?: str}.
EVENT_BACKUP_DONE: Final = "backup_done"
