"""Schema of ``video: footage:``: how this hub answers the station's footage requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from hub.config import BlockModel

__all__ = ("FootageConfig",)

#: A LINE alias from ``line.groups`` (a group, or the owner's own chat: ``owner: U…``) or a raw id.
_Recipient = Annotated[str, StringConstraints(pattern=r"^([a-z][a-z0-9_]{0,31}|[CRU][0-9a-f]{32})$")]


class FootageConfig(BlockModel):
    """Footage requests: who approves them, how long an approval card is valid, upload sizes."""

    #: Who gets the approve / deny card on LINE when the policy asks the owner (LINE aliases).
    approvers: list[_Recipient] = []
    #: How long the card's buttons stay valid, in hours.
    approval_hours: float = Field(default=72.0, gt=0, le=24 * 30)
    #: The longest window the hub serves in one request (the station has its own limit too).
    max_window_minutes: int = Field(default=120, ge=1, le=24 * 60)
    #: Upload rate cap in kbit/s, so a clip never takes the whole shop uplink from SOS and
    #: federation messages; 0 = no cap (a station on the same LAN).
    upload_kbps: int = Field(default=1500, ge=0, le=1_000_000)
    #: Bytes per upload request to the station (each is signed and confirmed).
    chunk_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=16 * 1024 * 1024)
    #: Seconds between upload attempts while the station cannot be reached (doubles up to 10 min).
    retry_seconds: float = Field(default=2.0, gt=0, le=600)
    #: Give up (state failed) after this many hours without a successful upload.
    give_up_hours: float = Field(default=72.0, gt=0, le=24 * 30)
