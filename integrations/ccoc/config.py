"""Schema of ``station: console:``: the CCOC console's settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel

__all__ = ("ConsoleConfig", "CapConfig", "MapConfig", "LiveConfig")


class CapConfig(BlockModel):
    """The CAP 1.2 export (``GET /api/incidents/{id}.cap``) and the optional push to other agencies."""

    #: ``sender`` of every alert: no spaces, commas, ``<`` or ``&`` (CAP 1.2 §3.2.1).
    sender: str | None = Field(default=None, pattern=r"^[^\s,<&]{1,200}$")
    #: ``status``: Actual in service; Exercise or Test for drills.
    status: Literal["Actual", "Exercise", "System", "Test", "Draft"] = "Actual"
    #: ``scope``: Restricted (default: police and partner agencies), Public, or Private.
    scope: Literal["Restricted", "Public", "Private"] = "Restricted"
    restriction: str = "สำหรับหน่วยงานความปลอดภัยที่ได้รับอนุญาตเท่านั้น / authorised safety agencies only"
    #: Required by CAP when ``scope`` is Private: space-separated recipients.
    addresses: str | None = None
    #: Push open incidents (and their updates) as CAP to this URL; off when unset.
    push_url: str | None = Field(default=None, pattern=r"^https?://")
    push_token: str | None = None
    push_timeout: float = Field(default=10.0, gt=0, le=120)
    #: Seconds between retries of a failed push (doubles, up to an hour).
    push_retry: float = Field(default=30.0, ge=1, le=3600)

    @field_validator("addresses")
    @classmethod
    def _no_blank(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _private(self) -> CapConfig:
        if self.scope == "Private" and not self.addresses:
            raise ValueError("scope Private needs addresses (CAP 1.2 requires them)")
        return self


class MapConfig(BlockModel):
    """The camera registry map: an SVG drawn by the station, no tile server needed."""

    #: Background tiles, ``{z}/{x}/{y}`` in the template: a path on the station (a tile cache) or
    #: an ``https://`` tile server (the map page's CSP then allows images from that origin only).
    tiles_url: str | None = Field(default=None, pattern=r"^(/|https://)[^\s]*\{z\}[^\s]*\{x\}[^\s]*\{y\}")
    #: An offline tile folder (``<z>/<x>/<y>.png``, relative to the config folder), served at
    #: ``/ccoc/tiles/{z}/{x}/{y}.png``: the map works with no internet at the station.
    tiles_dir: str | None = None
    #: Credit the tiles' source, as their licence requires (e.g. "© OpenStreetMap contributors").
    attribution: str = Field(default="", max_length=300)
    max_zoom: int = Field(default=19, ge=10, le=22)
    tile_zoom: int = Field(default=17, ge=10, le=19)

    @model_validator(mode="after")
    def _tiles(self) -> MapConfig:
        if self.tiles_dir and self.tiles_url is None:
            self.tiles_url = "/ccoc/tiles/{z}/{x}/{y}.png"
        return self


class LiveConfig(BlockModel):
    """Live video from hubs (docs/video.md, live section)."""

    #: A hub asked for a stream must dial in within this many seconds.
    connect_timeout: float = Field(default=10.0, ge=1, le=120)
    #: No fragment for this long: the camera is shown as offline (the stream stays open).
    stall_seconds: float = Field(default=4.0, ge=1, le=60)
    #: Upstreams at once (each is one camera's stream from a hub's uplink).
    max_streams: int = Field(default=64, ge=1, le=10_000)
    #: How long a player waits for the first picture before it is told why there is none.
    first_frame_timeout: float = Field(default=15.0, ge=1, le=120)


class ConsoleConfig(BlockModel):
    """The ``console:`` part of the ``station:`` block."""

    #: Patrol units offered by the dispatch button (free text is always allowed too).
    units: list[str] = Field(default_factory=list)
    #: A command to an offline hub: incident actions and audit copies are queued and delivered
    #: when it returns; device commands (lights, PTZ, pictures, LINE) are refused at once.
    #: Queued commands not answered after this many seconds online are sent again (same id).
    resend_after: float = Field(default=60.0, ge=5, le=3600)
    #: How long an officer's reasoned camera view lets them load its images.
    view_seconds: float = Field(default=600.0, ge=30, le=24 * 3600)
    #: Repeated views of one picture by one officer are audited once per this many seconds.
    view_coalesce: float = Field(default=300.0, ge=0, le=3600)
    cap: CapConfig = Field(default_factory=CapConfig)
    map: MapConfig = Field(default_factory=MapConfig)
    live: LiveConfig = Field(default_factory=LiveConfig)

    @field_validator("units")
    @classmethod
    def _units(cls, value: list[str]) -> list[str]:
        cleaned = [u.strip() for u in value]
        if any(not u or len(u) > 200 for u in cleaned):
            raise ValueError("each unit is a name of 1 to 200 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a unit is listed twice")
        return cleaned
