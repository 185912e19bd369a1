"""Schema of the ``region:`` block: a provincial or regional command centre (DESIGN §14)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel
from integrations.region.protocol import KPI_KEY_RE
from integrations.station.config import BrokerOwnerConfig

__all__ = ("RegionConfig", "RankingConfig", "Criterion", "DEFAULT_CRITERIA")


class Criterion(BlockModel):
    """One evaluation criterion: a KPI the stations send, its weight and its scale.

    A station's points on a criterion run linearly from 0 at ``worst`` to 100 at ``best``
    (clamped): ``best`` below ``worst`` means lower is better (seconds to acknowledge an
    SOS, fear of crime).  A station that did not report the figure gets 0 points on it
    and the page says "not reported".
    """

    key: str = Field(pattern=KPI_KEY_RE.pattern)
    label_th: str = Field(min_length=1, max_length=80)
    label_en: str = Field(min_length=1, max_length=80)
    weight: float = Field(gt=0, le=1000)
    best: float
    worst: float
    unit: str = Field(default="", max_length=8)

    @model_validator(mode="after")
    def _scale(self) -> Criterion:
        if self.best == self.worst:
            raise ValueError(f"{self.key}: best and worst must differ")
        return self


#: The committee's criteria as the programme states them: response to SOS, people's trust in
#: the police and fear of crime (People Poll), patrols, cameras linked, and Big 6 meetings
#: with real resolutions.  Weights sum to 100; docs/region.md explains each.
DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        key="sos_ack_p90",
        label_th="เวลารับทราบ SOS (p90)",
        label_en="SOS acknowledged (p90)",
        weight=25,
        best=60,
        worst=600,
        unit="s",
    ),
    Criterion(
        key="poll_trust_police",
        label_th="ความเชื่อมั่นต่อตำรวจ",
        label_en="Trust in police",
        weight=15,
        best=5,
        worst=1,
        unit="/5",
    ),
    Criterion(
        key="poll_fear_of_crime",
        label_th="ความกลัวอาชญากรรม",
        label_en="Fear of crime",
        weight=15,
        best=1,
        worst=5,
        unit="/5",
    ),
    Criterion(
        key="patrol_coverage",
        label_th="ความครอบคลุมการตรวจตู้แดง",
        label_en="Patrol coverage",
        weight=15,
        best=100,
        worst=0,
        unit="%",
    ),
    Criterion(
        key="cameras_linked",
        label_th="กล้องที่เชื่อมต่อ",
        label_en="Cameras linked",
        weight=10,
        best=50,
        worst=0,
    ),
    Criterion(
        key="big6_meeting_held",
        label_th="ประชุม Big 6",
        label_en="Big 6 meeting held",
        weight=10,
        best=1,
        worst=0,
    ),
    Criterion(
        key="big6_resolutions_done",
        label_th="มติ Big 6 ที่ทำเสร็จ",
        label_en="Big 6 resolutions done",
        weight=10,
        best=100,
        worst=0,
        unit="%",
    ),
)


class RankingConfig(BlockModel):
    """How the region ranks its stations each month (docs/region.md)."""

    criteria: list[Criterion] = Field(default_factory=lambda: list(DEFAULT_CRITERIA), min_length=1)
    #: Months shown in a station's trend.
    trend_months: int = Field(default=6, ge=2, le=24)
    #: Seconds a month's scores are reused by the page, the exports and the API (0: never).
    cache_seconds: float = Field(default=10.0, ge=0, le=3600)
    #: Stations per page of the ranking (a phone cannot scroll 1,500 rows; the exports have all).
    page_size: int = Field(default=50, ge=1, le=2000)

    @field_validator("criteria")
    @classmethod
    def _unique(cls, value: list[Criterion]) -> list[Criterion]:
        keys = [c.key for c in value]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"criteria named twice: {', '.join(twice)}")
        return value


class DatabaseConfig(BlockModel):
    """Where the region keeps what its stations send."""

    backend: Literal["sqlite"] = "sqlite"
    #: Relative to the hub's data_dir.
    path: str = "region.db"


class RegionConfig(BrokerOwnerConfig):
    """The ``region:`` block."""

    #: Region id: ``ssz/v1/region/<id>/<station>/...``.
    id: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    #: Shown on the console and the committee's exports (``ภาค 9``).
    name: str = Field(default="", max_length=120)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    #: A station that sends nothing for this long is "silent" (its health comes every minute).
    silent_after: float = Field(default=300.0, ge=10)
    check_interval: float = Field(default=30.0, ge=1, le=3600)
    #: Largest JSON envelope accepted (an MQTT message may carry several, one per line).
    max_payload: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    #: Messages stored per transaction at most.
    batch_max: int = Field(default=5000, ge=1, le=100_000)
    #: Days a message id is remembered to recognise a re-send (purged daily at 03:30).
    dedupe_days: int = Field(default=40, ge=1, le=3650)
    #: What ``add-station`` tells stations to connect to.
    public_broker: str = "mqtts://region.example.org:8883"
    #: Sizing for the broker's queue per client: stations times each one's outbox window, doubled.
    expected_stations: int = Field(default=200, ge=1, le=100_000)
    station_window: int = Field(default=200, ge=1, le=10_000)
    ranking: RankingConfig = Field(default_factory=RankingConfig)
    #: A TrueType font with Thai glyphs for the committee's PDF (Debian: fonts-thai-tlwg).
    pdf_font: str = "/usr/share/fonts/truetype/tlwg/Garuda.ttf"

    # The station's broker admin (integrations.station.broker) reads these names.
    @property
    def expected_hubs(self) -> int:
        """Return the members the broker is sized for."""
        return self.expected_stations

    @property
    def hub_window(self) -> int:
        """Return each member's outbox window."""
        return self.station_window

    @property
    def max_snapshot(self) -> int:
        """Return 0: no picture ever goes up to a region."""
        return 0

    @property
    def max_queued_messages(self) -> int:
        """Broker queue per client: a region restart must not drop what stations queued."""
        return max(10_000, 2 * self.expected_stations * self.station_window)
