"""Schema of the ``frigate:`` block."""

from __future__ import annotations

from pydantic import Field, field_validator

from hub.config import BlockModel

__all__ = ("FrigateConfig",)


class FrigateConfig(BlockModel):
    """Frigate's MQTT topics and where its HTTP API is (for snapshot links)."""

    topic_prefix: str = Field(default="frigate", pattern=r"^[^#+]+$")
    #: Frigate's web address as the hub's users can reach it, e.g. ``http://192.168.1.20:5000``.
    url: str | None = None
    #: Labels that get ``binary_sensor.<camera>_<label>`` and ``camera_detection`` events.
    labels: list[str] = ["person"]
    #: Only these cameras (empty: every camera Frigate reports).
    cameras: list[str] = []
    #: Detections scoring below this are ignored.
    min_score: float = Field(default=0.0, ge=0, le=1)
    #: Attach the snapshot link to open incidents that name the camera (``camera.<cam>`` or its sensor).
    link_incidents: bool = True

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value.rstrip("/") if value else value
