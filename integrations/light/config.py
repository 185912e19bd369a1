"""Schema of the ``light:`` block: one item per light, with exactly one source."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ("LightConfig", "SOURCE_KEYS")

SOURCE_KEYS = ("zigbee2mqtt", "tasmota", "shelly", "simulated")


class LightConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str | None = None
    zigbee2mqtt: str | None = None
    tasmota: str | None = None
    shelly: str | None = None
    #: Shelly switch channel (``Switch.Set`` id) or Tasmota relay number.
    channel: int = Field(default=0, ge=0, le=8)
    simulated: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> LightConfig:
        given = [k for k in SOURCE_KEYS if getattr(self, k) not in (None, False)]
        if len(given) != 1:
            raise ValueError(f"give exactly one source of {', '.join(SOURCE_KEYS)} (got {len(given)})")
        return self

    @property
    def source(self) -> str:
        """Return which source this light uses."""
        return next(k for k in SOURCE_KEYS if getattr(self, k) not in (None, False))
