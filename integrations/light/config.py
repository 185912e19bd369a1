"""Schema of the ``light:`` block: one item per light, with exactly one source."""

from __future__ import annotations

from typing import Literal

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
    #: Shelly switch channel (``Switch.Set`` id) or Tasmota relay number (0: single-relay ``POWER``).
    channel: int = Field(default=0, ge=0, le=8)
    simulated: bool = False
    #: ``siren``: a Zigbee siren/strobe, created as ``siren.<id>`` with ``siren.turn_on``;
    #: ``switch``: a relay, plug or siren relay, created as ``switch.<id>`` (on/off only, as in HA).
    kind: Literal["light", "siren", "switch"] = "light"

    @model_validator(mode="after")
    def _one_source(self) -> LightConfig:
        given = [k for k in SOURCE_KEYS if getattr(self, k) not in (None, False)]
        if len(given) != 1:
            raise ValueError(f"give exactly one source of {', '.join(SOURCE_KEYS)} (got {len(given)})")
        if self.kind == "siren" and self.source not in ("zigbee2mqtt", "simulated"):
            raise ValueError("sirens are supported through zigbee2mqtt (or simulated)")
        return self

    @property
    def source(self) -> str:
        """Return which source this light uses."""
        return next(k for k in SOURCE_KEYS if getattr(self, k) not in (None, False))
