"""Joint patrols, shifts and the coverage grid: pure functions, no hub, no database.

Kept apart from storage and HTTP so the rules the programme is judged on
("1 officer + 1 volunteer", "no night visit in 3 days") can be read and
tested on their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from plugins.patrol_qr.config import ShiftConfig
from plugins.patrol_qr.const import ROLE_POLICE, ROLE_VOLUNTEER

__all__ = (
    "Visit",
    "Patrol",
    "Cell",
    "Gap",
    "Coverage",
    "choose_patrol",
    "group_patrols",
    "shift_slot",
    "shift_bounds",
    "coverage",
    "composition_label",
    "distance_m",
    "speed_kmh",
)


@dataclass(frozen=True)
class Visit:
    """The part of a check-in the rules need."""

    checkpoint_id: str
    ts: float
    person: str
    role: str
    patrol_id: str
    person_name: str = ""
    #: False for a flagged check-in no admin has accepted: kept and shown, never counted.
    proven: bool = True
    flags: tuple[str, ...] = ()
    checkin_id: str = ""


@dataclass
class Patrol:
    """Check-ins at one checkpoint that belong together."""

    id: str
    checkpoint_id: str
    started: float
    visits: list[Visit] = field(default_factory=list)

    @property
    def proven_visits(self) -> list[Visit]:
        """Return the visits that count: a flagged check-in proves nobody was there."""
        return [v for v in self.visits if v.proven]

    @property
    def flagged(self) -> list[Visit]:
        """Return the flagged visits still waiting for an admin."""
        return [v for v in self.visits if not v.proven]

    @property
    def proven_started(self) -> float | None:
        """Return the first proven visit's time (the patrol's slot in coverage), or None."""
        proven = self.proven_visits
        return proven[0].ts if proven else None

    @property
    def people(self) -> dict[str, str]:
        """Return person → role of the proven visits, each person once.

        A flagged check-in (a phone in Paris, a jump across town in seconds)
        must not turn an officer's round into "police + volunteer".
        """
        return {v.person: v.role for v in self.proven_visits}

    @property
    def composition(self) -> dict[str, int]:
        """Return how many distinct people of each role took part."""
        counts = {ROLE_POLICE: 0, ROLE_VOLUNTEER: 0}
        for role in self.people.values():
            counts[role] = counts.get(role, 0) + 1
        return counts

    @property
    def joint(self) -> bool:
        """Return whether two or more people patrolled together."""
        return len(self.people) >= 2

    @property
    def mixed(self) -> bool:
        """Return whether police and volunteers patrolled together (the programme's model)."""
        comp = self.composition
        return comp[ROLE_POLICE] > 0 and comp[ROLE_VOLUNTEER] > 0


def composition_label(comp: Mapping[str, int], lang: str) -> str:
    """Return ``"1 officer + 1 volunteer"`` / ``"ตำรวจ 1 + อาสา 1"``."""
    parts: list[str] = []
    police, volunteers = comp.get(ROLE_POLICE, 0), comp.get(ROLE_VOLUNTEER, 0)
    if lang == "th":
        if police:
            parts.append(f"ตำรวจ {police}")
        if volunteers:
            parts.append(f"อาสา {volunteers}")
    else:
        if police:
            parts.append(f"{police} officer{'s' if police > 1 else ''}")
        if volunteers:
            parts.append(f"{volunteers} volunteer{'s' if volunteers > 1 else ''}")
    return " + ".join(parts) or "—"


def choose_patrol(starts: Mapping[str, float], now: float, window: float) -> str | None:
    """Return the patrol a check-in at ``now`` joins, or None to start a new one.

    ``starts`` maps the checkpoint's recent patrol ids to their first
    check-in.  The window counts from a patrol's *first* check-in, so a chain
    of people arriving every few minutes cannot stretch one patrol forever.
    """
    open_ = [(start, pid) for pid, start in starts.items() if now - window <= start <= now]
    return max(open_)[1] if open_ else None


def group_patrols(visits: Iterable[Visit]) -> list[Patrol]:
    """Group visits by their stored patrol id, oldest patrol first."""
    patrols: dict[str, Patrol] = {}
    for visit in sorted(visits, key=lambda v: v.ts):
        patrol = patrols.get(visit.patrol_id)
        if patrol is None:
            patrol = patrols[visit.patrol_id] = Patrol(visit.patrol_id, visit.checkpoint_id, visit.ts)
        patrol.visits.append(visit)
    return sorted(patrols.values(), key=lambda p: p.started)


# -- shifts --------------------------------------------------------------------


def shift_bounds(day: date, shift: ShiftConfig, tz: tzinfo) -> tuple[float, float]:
    """Return the UNIX start and end of ``shift`` on ``day`` (a night shift ends the next day)."""
    start = datetime.combine(day, time(shift.start_min // 60, shift.start_min % 60), tz)
    end_day = day if shift.end_min > shift.start_min else day + timedelta(days=1)
    end = datetime.combine(end_day, time(shift.end_min // 60, shift.end_min % 60), tz)
    return start.timestamp(), end.timestamp()


def shift_slot(ts: float, shifts: Sequence[ShiftConfig], tz: tzinfo) -> tuple[date, str] | None:
    """Return (the day the shift started, shift id) for a moment, or None outside every shift."""
    local = datetime.fromtimestamp(ts, tz)
    minute = local.hour * 60 + local.minute
    for shift in shifts:
        start, end = shift.start_min, shift.end_min
        if start < end:
            if start <= minute < end:
                return local.date(), shift.id
        elif minute >= start:
            return local.date(), shift.id
        elif minute < end:
            # 02:00 belongs to the night shift that began the evening before.
            return local.date() - timedelta(days=1), shift.id
    return None


# -- coverage --------------------------------------------------------------------


@dataclass
class Cell:
    """One checkpoint × day × shift."""

    status: str  # visited | flagged | missed | pending | before (checkpoint did not exist yet)
    patrols: int = 0
    joint: int = 0
    mixed: int = 0
    #: Flagged check-ins in this slot that no admin has accepted (not visits).
    flagged: int = 0


@dataclass(frozen=True)
class Gap:
    """A checkpoint × shift without a visit for ``days`` finished shifts in a row."""

    checkpoint_id: str
    shift_id: str
    days: int
    last_visit: float | None
    #: True when the streak reaches back past the data looked at.
    at_least: bool


@dataclass
class Coverage:
    """The coverage grid and what it adds up to."""

    days: list[date]
    shifts: list[ShiftConfig]
    cells: dict[tuple[str, date, str], Cell]
    gaps: list[Gap]

    def finished(self, checkpoint_id: str | None = None) -> int:
        """Return how many shifts are over (visited, missed or flagged): what :meth:`ratio` is over."""
        return sum(
            1
            for (cp, _d, _s), c in self.cells.items()
            if c.status in ("visited", "missed", "flagged") and (checkpoint_id is None or cp == checkpoint_id)
        )

    def ratio(self, checkpoint_id: str | None = None) -> float | None:
        """Return the share of finished shifts that had a patrol, or None if none finished."""
        done = [
            c
            for (cp, _d, _s), c in self.cells.items()
            if c.status in ("visited", "missed", "flagged") and (checkpoint_id is None or cp == checkpoint_id)
        ]
        if not done:
            return None
        return sum(1 for c in done if c.status == "visited") / len(done)

    def gap_for(self, checkpoint_id: str, shift_id: str) -> Gap | None:
        """Return the gap of one checkpoint × shift, if any."""
        return next(
            (g for g in self.gaps if g.checkpoint_id == checkpoint_id and g.shift_id == shift_id), None
        )


def coverage(
    checkpoints: Mapping[str, float],
    patrols: Iterable[Patrol],
    *,
    first_day: date,
    last_day: date,
    shifts: Sequence[ShiftConfig],
    tz: tzinfo,
    now: float,
    gap_days: int,
    shown_from: date | None = None,
) -> Coverage:
    """Build the grid for ``first_day``..``last_day`` and find the gaps.

    ``checkpoints`` maps id → creation time (a shift that began before the
    checkpoint existed is not counted as missed).  Gaps are counted over the whole range; ``shown_from``
    trims the days kept in the grid (look further back than you show, so a
    streak that began before the shown week is still counted in full).
    """
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    visited: dict[tuple[str, date, str], list[Patrol]] = {}
    flagged: dict[tuple[str, date, str], int] = {}
    last_visit: dict[tuple[str, str], float] = {}
    for patrol in patrols:
        for visit in patrol.flagged:
            fslot = shift_slot(visit.ts, shifts, tz)
            if fslot is not None:
                flagged[(patrol.checkpoint_id, *fslot)] = flagged.get((patrol.checkpoint_id, *fslot), 0) + 1
        started = patrol.proven_started
        if started is None:
            continue  # only flagged check-ins: nobody is proven to have been there
        slot = shift_slot(started, shifts, tz)
        if slot is None:
            continue
        visited.setdefault((patrol.checkpoint_id, *slot), []).append(patrol)
        key = (patrol.checkpoint_id, slot[1])
        last_visit[key] = max(last_visit.get(key, 0.0), patrol.proven_visits[-1].ts)

    cells: dict[tuple[str, date, str], Cell] = {}
    gaps: list[Gap] = []
    for cp_id, created in checkpoints.items():
        for shift in shifts:
            streak, broken, reached_start = 0, False, True
            for day in reversed(days):
                start, end = shift_bounds(day, shift, tz)
                found = visited.get((cp_id, day, shift.id), [])
                if found:
                    cell = Cell(
                        "visited", len(found), sum(p.joint for p in found), sum(p.mixed for p in found)
                    )
                elif start < created:
                    # Counted only from the first shift it existed for from the start.
                    cell = Cell("before")
                elif end > now:
                    cell = Cell("pending")  # not over yet: a visit may still come
                elif flagged.get((cp_id, day, shift.id)):
                    cell = Cell("flagged")  # only unproven check-ins: counted as missed
                else:
                    cell = Cell("missed")
                cell.flagged = flagged.get((cp_id, day, shift.id), 0)
                cells[(cp_id, day, shift.id)] = cell
                if broken or cell.status == "pending":
                    continue
                if cell.status in ("missed", "flagged"):
                    streak += 1
                else:
                    broken, reached_start = True, False
            if streak >= gap_days:
                gaps.append(
                    Gap(
                        cp_id,
                        shift.id,
                        streak,
                        last_visit.get((cp_id, shift.id)),
                        at_least=reached_start and created < shift_bounds(days[0], shift, tz)[0],
                    )
                )
    if shown_from is not None:
        days = [d for d in days if d >= shown_from]
        cells = {k: v for k, v in cells.items() if k[1] >= shown_from}
    return Coverage(days, list(shifts), cells, gaps)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres (haversine)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(min(1.0, a)))


def speed_kmh(distance: float, seconds: float) -> float:
    """Return the speed needed to cover ``distance`` metres in ``seconds`` (infinite for no time)."""
    if distance <= 0:
        return 0.0
    if seconds <= 0:
        return math.inf
    return distance / seconds * 3.6
