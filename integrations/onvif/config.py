"""Schema of the ``onvif:`` block: one item per camera."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from hub.config.validate import BlockModel
from integrations.camera.config import LocationConfig, OwnerConfig, RecordConfig, SharePolicy
from integrations.camera.const import DEFAULT_ON_ALARM_MAX_HOURS, DEFAULT_ON_ALARM_MINUTES

__all__ = ("OnvifCameraConfig", "EventsMode")

EventsMode = Literal["pullpoint", "webhook", "off"]


class OnvifCameraConfig(BlockModel):
    """One ONVIF camera."""

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    name: str | None = None
    host: str = Field(min_length=1)
    port: int = Field(default=80, ge=1, le=65535)
    username: str = ""
    password: str = ""
    #: Media profile token or name; default: the first H.264 profile.
    profile: str | None = None
    share: SharePolicy = "never"
    on_alarm_minutes: int = Field(default=DEFAULT_ON_ALARM_MINUTES, ge=1, le=24 * 60)
    on_alarm_max_hours: float = Field(default=DEFAULT_ON_ALARM_MAX_HOURS, gt=0, le=24 * 7)
    owner: OwnerConfig = OwnerConfig()
    location: LocationConfig | None = None
    #: Use this instead of the camera's GetSnapshotUri answer.
    snapshot_url: str | None = None
    #: Use this instead of the camera's GetStreamUri answer (also what ffmpeg grabs from).
    stream_url: str | None = None
    #: Media profile token or name of the low-resolution substream (live views at the station);
    #: default: the smallest other H.264 profile the camera has.
    sub_profile: str | None = None
    #: Use this instead of asking the camera for the substream's URI.
    sub_stream_url: str | None = None
    #: Record this camera on the hub (the ``video`` integration): ``{mode: continuous|events, ...}``.
    record: RecordConfig | None = None
    #: Seconds allowed for each SOAP call and snapshot.
    timeout: float = Field(default=10.0, ge=1, le=120)
    #: pullpoint (the hub asks; works through NAT), webhook (the camera posts to the hub), off.
    events: EventsMode = "pullpoint"
    #: Base URL the camera can reach the hub at, for ``events: webhook`` (default: hub.web.public_url).
    webhook_url: str | None = None
    #: Pre-alarm buffer: keep this many recent frames (0 = off).
    prebuffer: int = Field(default=0, ge=0, le=30)
    prebuffer_interval: float = Field(default=2.0, ge=0.5, le=60)
    #: Rewrite the addresses the camera advertises to host:port (camera behind a port forward).
    nat: bool = False

    @field_validator("host")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        if "://" in value or "/" in value:
            raise ValueError("give the host name or IP only (no http:// or path)")
        return value

    @field_validator("snapshot_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("stream_url", "sub_stream_url")
    @classmethod
    def _stream_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("rtsp", "rtsps", "http", "https"):
            raise ValueError("expected an rtsp://, rtsps://, http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _owner_when_shared(self) -> OnvifCameraConfig:
        if self.share != "never" and not self.owner.name:
            raise ValueError(
                "owner.name is required when share is registry, on_alarm or always "
                "(the station must know whose camera it is)"
            )
        if bool(self.username) != bool(self.password):
            raise ValueError("give both username and password, or neither")
        return self
