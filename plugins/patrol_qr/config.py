"""Schema of the ``patrol_qr:`` block in config.yaml."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel

__all__ = ("PatrolConfig", "CheckpointConfig", "ShiftConfig", "Location", "parse_hhmm", "DEFAULT_SHIFTS")


def parse_hhmm(value: Any) -> int:
    """Return minutes after midnight for ``"HH:MM"``.

    YAML 1.1 reads an unquoted ``22:30`` as the base-60 integer 1350, which
    is exactly the minutes after midnight, so integers are taken as that.
    """
    if isinstance(value, bool):
        raise ValueError("expected a time like '22:00'")
    if isinstance(value, int):
        minutes = value
    elif isinstance(value, str):
        hours, sep, mins = value.strip().partition(":")
        if not sep or not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
            raise ValueError(f"expected a time like '22:00', got {value!r}")
        minutes = int(hours) * 60 + int(mins)
        if int(mins) >= 60:
            raise ValueError(f"expected a time like '22:00', got {value!r}")
    else:
        raise ValueError("expected a time like '22:00'")
    if not 0 <= minutes < 24 * 60:
        raise ValueError("a time of day is between 00:00 and 23:59")
    return minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class Location(BlockModel):
    """Where a checkpoint is."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CheckpointConfig(BlockModel):
    """One red patrol box (ตู้แดง) with its QR sheet."""

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    name: str = Field(min_length=1, max_length=120)
    location: Location | None = None
    #: Why the spot is patrolled ("dark soi, bag snatching after 22:00").
    risk: str = Field(default="", max_length=300)


class ShiftConfig(BlockModel):
    """A patrol shift; one that ends before it starts runs past midnight."""

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=20)
    name_th: str = Field(min_length=1, max_length=40)
    name_en: str = Field(min_length=1, max_length=40)
    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> str:
        return _hhmm(parse_hhmm(value))

    @property
    def start_min(self) -> int:
        """Return the start in minutes after midnight."""
        return parse_hhmm(self.start)

    @property
    def end_min(self) -> int:
        """Return the end in minutes after midnight."""
        return parse_hhmm(self.end)

    def minutes(self) -> set[int]:
        """Return every minute of the day the shift covers."""
        start, end = self.start_min, self.end_min
        if start < end:
            return set(range(start, end))
        return set(range(start, 24 * 60)) | set(range(0, end))


DEFAULT_SHIFTS: tuple[ShiftConfig, ...] = (
    ShiftConfig(id="morning", name_th="เช้า", name_en="Morning", start="06:00", end="14:00"),
    ShiftConfig(id="evening", name_th="บ่าย", name_en="Evening", start="14:00", end="22:00"),
    ShiftConfig(id="night", name_th="ดึก", name_en="Night", start="22:00", end="06:00"),
)


class PatrolConfig(BlockModel):
    """The ``patrol_qr:`` block (every key optional; ``patrol_qr:`` alone works)."""

    checkpoints: list[CheckpointConfig] = Field(default_factory=list)
    #: Check-ins by different people at one checkpoint within this many
    #: minutes of the first are one (joint) patrol; one person may not check
    #: in twice at a checkpoint inside it.
    joint_window_minutes: int = Field(default=20, ge=1, le=240)
    #: How long a printed sheet's signed link stays valid.
    sheet_valid_days: int = Field(default=365, ge=1, le=5 * 365)
    #: A checkpoint × shift not visited for this many days is a gap.
    gap_days: int = Field(default=3, ge=1, le=31)
    #: Days shown by default in the coverage report.
    report_days: int = Field(default=7, ge=1, le=62)
    #: Least hub role that checks in as police (others use volunteer links).
    officer_min_role: Literal["viewer", "operator", "admin"] = "operator"
    #: A check-in with a phone position farther than this from the
    #: checkpoint is flagged: kept, but not a proven visit until an admin accepts it.
    far_meters: int = Field(default=200, ge=10, le=100_000)
    #: Two check-ins of one person faster apart than this (straight line
    #: between the boxes) flag the later one: nobody rides across town in seconds.
    max_speed_kmh: float = Field(default=80.0, gt=0, le=1000)
    #: Local time of the daily gap check that fires ``patrol_gap``.
    daily_check: str = "07:00"
    shifts: list[ShiftConfig] = Field(default_factory=lambda: list(DEFAULT_SHIFTS), min_length=1)

    @field_validator("daily_check", mode="before")
    @classmethod
    def _check_time(cls, value: Any) -> str:
        return _hhmm(parse_hhmm(value))

    @model_validator(mode="after")
    def _consistent(self) -> PatrolConfig:
        ids = [c.id for c in self.checkpoints]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"checkpoint ids must be unique: {', '.join(dupes)}")
        shift_ids = [s.id for s in self.shifts]
        if len(set(shift_ids)) != len(shift_ids):
            raise ValueError("shift ids must be unique")
        covered: set[int] = set()
        for shift in self.shifts:
            mins = shift.minutes()
            if covered & mins:
                raise ValueError(f"shift {shift.id!r} overlaps another shift")
            covered |= mins
        return self
