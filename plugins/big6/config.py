"""Schema of the ``big6:`` block in config.yaml."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from hub.config import BlockModel

__all__ = ("Big6Config", "parse_hhmm")


def parse_hhmm(value: Any) -> str:
    """Return ``"HH:MM"``; YAML 1.1 reads unquoted ``10:30`` as 630 (minutes), which is accepted."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1440:
        return f"{value // 60:02d}:{value % 60:02d}"
    if isinstance(value, str):
        hours, sep, mins = value.strip().partition(":")
        if (
            sep
            and hours.isdigit()
            and mins.isdigit()
            and int(hours) < 24
            and len(mins) == 2
            and int(mins) < 60
        ):
            return f"{int(hours):02d}:{mins}"
    raise ValueError(f"expected a time like '08:00', got {value!r}")


class Big6Config(BlockModel):
    """The ``big6:`` block (every key optional; ``big6:`` alone works)."""

    #: Local time of the daily check that fires ``big6_resolution_overdue``.
    check_at: str = "08:00"
    #: Fire the overdue event for a resolution every this many days while it stays overdue.
    remind_every_days: int = Field(default=1, ge=1, le=31)
    #: The ``line.groups`` alias of the network's LINE group, passed in the
    #: event so a reminder automation can send there without hard-coding it.
    line_group: str | None = Field(default="big6", max_length=64)
    #: Also push the overdue reminder to the owner's own LINE chat, when the owner is a member
    #: linked to LINE and the line integration is set up.
    remind_owner: bool = True
    #: Months shown on the meetings page.
    months_shown: int = Field(default=12, ge=1, le=60)

    @field_validator("check_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> str:
        return parse_hhmm(value)
