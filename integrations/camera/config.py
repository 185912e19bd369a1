"""Shared config pieces for camera integrations (onvif, demo)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ("OwnerConfig", "LocationConfig", "RecordConfig", "RecordMode", "SharePolicy")

SharePolicy = Literal["never", "registry", "on_alarm", "always"]
RecordMode = Literal["continuous", "events"]


class OwnerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    phone: str = ""


class LocationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class RecordConfig(BaseModel):
    """A camera's ``record:`` block: recording on the hub (the ``video`` integration), opt-in."""

    model_config = ConfigDict(extra="forbid")
    #: continuous: always; events: on motion and on SOS/alarm incidents, with pre- and post-roll.
    mode: RecordMode = "events"
    #: Seconds kept from *before* the event (a rolling buffer in memory).
    pre_roll: int = Field(default=10, ge=0, le=120)
    #: Seconds recorded after the last event ends.
    post_roll: int = Field(default=30, ge=0, le=3600)
    #: Delete this camera's recordings after this many days (evidence-locked ones stay).
    retain_days: float = Field(default=7, gt=0, le=3650)
    #: ``events`` mode: also record on the camera's motion sensor (SOS and alarm incidents always count).
    motion: bool = True
