"""``station.supervision``: how long the station waits before a quiet hub is a failure.

An alarm-receiving centre states its failure-detection time per premises: the
supervision interval it expects, times the polls it lets go missing, plus a
margin for delivery.  Here every message counts as a poll; a hub sends at
least its health report every ``federation.health_interval`` and says that
interval in the report, so the station learns it without per-hub config.  The
station can still fix a hub's interval (the agreed contract wins), and caps
what a hub may claim: a hub that says "once a day" is still supervised at
``max_interval``.

    detection time = interval × missed_beats + grace
"""

from __future__ import annotations

from pydantic import Field

from hub.config import BlockModel
from hub.config.deprecations import Deprecation

__all__ = ("SupervisionConfig", "HubSupervision", "DEPRECATIONS")


class HubSupervision(BlockModel):
    """The station's own setting for one hub (what the contract with its owner says)."""

    interval: float = Field(ge=5, le=24 * 3600)


class SupervisionConfig(BlockModel):
    """The ``station.supervision`` block."""

    #: Heartbeats a hub may miss before it counts as failed.
    missed_beats: int = Field(default=2, ge=1, le=100)
    #: Seconds on top, for a report that is slow to arrive (network, broker, a busy box).
    grace: float = Field(default=60.0, ge=0, le=24 * 3600)
    #: The interval of a hub that does not say its own (releases before 0.2.0).
    default_interval: float = Field(default=60.0, ge=5, le=24 * 3600)
    #: The longest interval a hub may claim; a longer one is supervised at this.
    max_interval: float = Field(default=3600.0, ge=5, le=24 * 3600)
    #: A hub that goes silent, or drops off without a goodbye, opens an incident on the board.
    incidents: bool = True
    #: Station-side intervals per hub id: they win over what the hub says.
    hubs: dict[str, HubSupervision] = Field(default_factory=dict)
    #: Seconds between checks for hubs past their detection time.
    check_interval: float = Field(default=5.0, ge=0.5, le=3600)

    def interval(self, hub_id: str, declared: float | None) -> tuple[float, str]:
        """Return (the interval the station supervises ``hub_id`` at, where it comes from)."""
        own = self.hubs.get(hub_id)
        if own is not None:
            return own.interval, "station"
        if declared is not None and declared > 0:
            return min(declared, self.max_interval), "hub"
        return self.default_interval, "default"

    def detection_time(self, interval: float) -> float:
        """Return how long after a hub's last message the station declares it failed."""
        return interval * self.missed_beats + self.grace


#: Keys of the ``station:`` block that moved (the ``config_deprecations`` hook returns these).
DEPRECATIONS = (
    Deprecation(
        "station.silent_after",
        "station.supervision",
        since="0.2.0",
        note=(
            "the detection time is now per hub, interval × missed_beats + grace, with the interval "
            "each hub reports (docs/operations.md, Supervision); set supervision.default_interval, "
            "missed_beats and grace instead"
        ),
        move=False,
    ),
    Deprecation("station.check_interval", "station.supervision.check_interval", since="0.2.0"),
)
