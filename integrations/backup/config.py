"""Schema of the ``backup:`` block (daily backups; ``safetyhub backup`` works without it)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from hub.config import BlockModel

__all__ = ("BackupConfig",)


class BackupConfig(BlockModel):
    """When, where and how many backups the hub keeps by itself."""

    #: Put it on another disk (or a mounted share): a backup on the hub's own disk dies with it.
    dir: str = "./backups"
    #: Local time of the daily backup.
    at: str = Field(default="03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    #: How many daily backups to keep (the oldest go first).
    keep: int = Field(default=7, ge=1, le=365)
    #: Encrypts everything in the backup; keep it somewhere else too, or the backup is lost with it.
    passphrase: SecretStr
    #: Also back up the camera recordings (large).
    recordings: bool = False

    @field_validator("passphrase")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        n = len(value.get_secret_value())
        if n < 12:
            raise ValueError(f"the passphrase is too short ({n} characters; at least 12)")
        return value
