"""Schema of the hub-level ``video:`` block (per-camera ``record:`` lives with each camera's config)."""

from __future__ import annotations

from pydantic import Field

from hub.config.validate import BlockModel
from integrations.video.footage_config import FootageConfig

__all__ = ("VideoConfig",)


class VideoConfig(BlockModel):
    """Restream, recording and uplink settings for the whole hub."""

    #: Recordings may use at most this much disk; the oldest unlocked segments go first.
    disk_budget_gb: float = Field(default=20.0, gt=0, le=100_000)
    #: Keep at least this much of the disk free whatever the budget says (a full disk stops SQLite too).
    min_free_gb: float = Field(default=1.0, ge=0, le=1000)
    #: Length of a recording segment; each is cut at the first keyframe after this many seconds.
    segment_seconds: float = Field(default=4.0, ge=1, le=60)
    #: Folder for recordings, relative to the hub's data_dir (or absolute).
    path: str = "recordings"
    #: Upper bound of the hub's video upload to the station (kbit/s), for the live link.
    uplink_kbps: int = Field(default=2000, ge=64, le=1_000_000)
    #: A stream with no data or no keyframe for this long is restarted (with backoff).
    stall_seconds: float = Field(default=10.0, ge=2, le=120)
    #: Viewers see "camera offline" after this long without a fragment.
    offline_after: float = Field(default=5.0, ge=1, le=60)
    #: The pull stops this long after the last viewer or recorder leaves.
    idle_stop_seconds: float = Field(default=2.0, ge=0, le=600)
    #: Longest clip ``clip()`` cuts in one call (footage requests), in seconds.
    max_clip_seconds: float = Field(default=2 * 3600, gt=0, le=24 * 3600)
    #: Footage requests from the station: approvers on LINE, limits, uploads (docs/video.md).
    footage: FootageConfig = Field(default_factory=FootageConfig)
