"""Shared config pieces for camera integrations (onvif, demo)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ("OwnerConfig", "LocationConfig", "SharePolicy")

SharePolicy = Literal["never", "registry", "on_alarm", "always"]


class OwnerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    phone: str = ""


class LocationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
