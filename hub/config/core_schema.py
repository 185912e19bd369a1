"""Schema of the core `hub:` block (DESIGN §4)."""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, StringConstraints, field_validator

from hub.config.validate import BlockModel

__all__ = ("HubCoreConfig", "LocationConfig", "RecorderConfig", "WebConfig")

HubId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$")]


class LocationConfig(BlockModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class WebConfig(BlockModel):
    host: str = "127.0.0.1"
    #: 0 picks a free port (tests, benchmarks).
    port: int = Field(default=8123, ge=0, le=65535)
    # Kept as the text the user wrote: pydantic's URL type would add a
    # trailing slash, which then doubles up when links are joined onto it.
    public_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("expected an http:// or https:// URL")
        return value


class RecorderConfig(BlockModel):
    keep_days: int = Field(default=10, ge=1)
    exclude_event_types: list[str] = Field(default_factory=list)


class HubCoreConfig(BlockModel):
    id: HubId
    name: str
    zone: str | None = None
    location: LocationConfig | None = None
    timezone: str = "Asia/Bangkok"
    language: Literal["th", "en"] = "th"
    data_dir: str = "./data"
    web: WebConfig = Field(default_factory=WebConfig)
    recorder: RecorderConfig = Field(default_factory=RecorderConfig)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # Fail at `check` time, not at the first scheduled automation.
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone '{value}'") from exc
        return value
