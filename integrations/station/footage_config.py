"""Schema of ``station: footage:``: footage requests and their evidence packs (issue 13)."""

from __future__ import annotations

from pydantic import Field

from hub.config import BlockModel

__all__ = ("StationFootageConfig",)


class StationFootageConfig(BlockModel):
    """Limits on footage requests the CCOC sends, and where delivered clips are kept."""

    #: The longest window one request may cover (the hub has its own limit too).
    max_window_minutes: int = Field(default=120, ge=1, le=24 * 60)
    #: A window may not end later than this many seconds past the station's clock (clock skew).
    future_slack: float = Field(default=300.0, ge=0, le=3600)
    #: Where clips are written, relative to the station's data_dir.
    folder: str = "station_footage"
    #: The URL hubs upload to; the station's ``web.public_url`` (or its listening address) by default.
    upload_url: str | None = Field(default=None, pattern=r"^https?://")
