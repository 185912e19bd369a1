"""Schema of the ``demo:`` block."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ("DemoConfig",)


class DemoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    place: str = "ตลาดสาธิต"
    #: Seconds between simulated motion blips on the demo sensor; 0 disables.
    motion_every: float = Field(default=0, ge=0)
