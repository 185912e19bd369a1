"""The running plugin: checkpoints, volunteers, check-ins, coverage and the daily gap check."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from hub.core.context import Context
from hub.core.ids import ulid
from hub.daily import DailyTask
from plugins.patrol_qr import links
from plugins.patrol_qr.config import PatrolConfig
from plugins.patrol_qr.const import (
    DOMAIN,
    EVENT_ACCEPTED,
    EVENT_CHECKIN,
    EVENT_GAP,
    EVENT_KPI_CHANGED,
    EVENT_REGISTRY_CHANGED,
    FLAG_FAR,
    FLAG_NO_POSITION,
    FLAG_SPEED,
    MAX_REPORT_DAYS,
    NOTE_MAX,
    ROLE_POLICE,
    ROLES,
)
from plugins.patrol_qr.patrols import (
    Coverage,
    Patrol,
    Visit,
    choose_patrol,
    coverage,
    distance_m,
    group_patrols,
    speed_kmh,
)
from plugins.patrol_qr.problems import PatrolError
from plugins.patrol_qr.store import Checkin, Checkpoint, PatrolStore, Volunteer

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("PatrolManager", "Person", "CheckinRefused", "CheckinResult")

_LOGGER = logging.getLogger(__name__)


class CheckinRefused(Exception):
    """A check-in was refused; ``reason`` is a stable key, ``status`` the HTTP status."""

    def __init__(self, reason: str, status: int = 400, **detail: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Person:
    """Who is checking in."""

    key: str  # user:<id> | volunteer:<id>
    name: str
    role: str  # police | volunteer


@dataclass(frozen=True)
class CheckinResult:
    """An accepted check-in and the patrol it joined."""

    checkin: Checkin
    checkpoint: Checkpoint
    patrol: Patrol

    @property
    def far(self) -> bool:
        """Return whether the phone reported a position far from the checkpoint."""
        return FLAG_FAR in self.checkin.flags

    far_limit: float = 0.0


class PatrolManager:
    """Everything the pages, services and hooks of patrol_qr do."""

    def __init__(self, hub: Hub, config: PatrolConfig) -> None:
        self.hub = hub
        self.config = config
        self.store = PatrolStore(hub.storage)
        self.window = config.joint_window_minutes * 60.0
        #: One check-in at a time: "once per person per window" must hold
        #: even when a phone sends the form twice in the same millisecond.
        self._lock = asyncio.Lock()
        self._checkpoints: list[Checkpoint] = []
        #: ``check_gaps`` every day at ``daily_check``; started and stopped by the plugin.
        self.daily_task = DailyTask(hub, DOMAIN, config.daily_check, self.check_gaps)

    # -- checkpoints ----------------------------------------------------------

    async def load(self) -> None:
        """Write the config's checkpoints to the database and cache the live list."""
        now = self.hub.clock.time()
        for item in self.config.checkpoints:
            existing = await self.store.raw_checkpoint(item.id)
            loc = item.location
            await self.store.upsert_checkpoint(
                Checkpoint(
                    item.id,
                    item.name,
                    loc.lat if loc else None,
                    loc.lon if loc else None,
                    item.risk,
                    "config",
                    existing["sheet"] if existing else links.new_sheet_id(),
                    existing["created_at"] if existing else now,
                )
            )
        await self.store.retire_config_checkpoints({c.id for c in self.config.checkpoints}, now)
        await self.refresh()

    async def refresh(self) -> None:
        """Reload the cached checkpoint list (used by sync hooks such as registry_info)."""
        self._checkpoints = await self.store.checkpoints()

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """Return the live checkpoints (cached)."""
        return list(self._checkpoints)

    async def add_checkpoint(
        self, cp_id: str, name: str, lat: float | None, lon: float | None, risk: str
    ) -> Checkpoint:
        """Add a checkpoint from the UI; ids are never reused for another place."""
        if await self.store.raw_checkpoint(cp_id) is not None:
            raise PatrolError("id_used", id=cp_id)
        cp = Checkpoint(cp_id, name, lat, lon, risk, "ui", links.new_sheet_id(), self.hub.clock.time())
        await self.store.upsert_checkpoint(cp)
        await self.refresh()
        self.hub.bus.fire(EVENT_REGISTRY_CHANGED, {"domain": DOMAIN})
        return cp

    async def remove_checkpoint(self, cp_id: str) -> None:
        """Remove a checkpoint added in the UI (its history stays)."""
        cp = await self.store.checkpoint(cp_id)
        if cp is None:
            raise PatrolError("no_checkpoint", id=cp_id)
        if cp.source == "config":
            raise PatrolError("in_config", id=cp_id)
        await self.store.remove_checkpoint(cp_id, self.hub.clock.time())
        await self.refresh()
        self.hub.bus.fire(EVENT_REGISTRY_CHANGED, {"domain": DOMAIN})

    async def new_sheet(self, cp_id: str) -> str:
        """Replace a checkpoint's sheet: every earlier print stops working."""
        sheet = links.new_sheet_id()
        if not await self.store.set_sheet(cp_id, sheet):
            raise PatrolError("no_checkpoint", id=cp_id)
        await self.refresh()
        return sheet

    def signed_link(self, cp: Checkpoint) -> str:
        """Return the signed check-in path printed on the checkpoint's current sheet."""
        return links.sign_checkin(self.hub, cp.id, cp.sheet, self.config.sheet_valid_days)

    # -- volunteers -----------------------------------------------------------

    async def issue_volunteer(self, name: str, phone: str, issued_by: str) -> tuple[Volunteer, str]:
        """Create a volunteer and return it with the personal path (shown once)."""
        token = links.new_token()
        vol = Volunteer(ulid(), name, phone, self.hub.clock.time(), issued_by, None, None)
        await self.store.add_volunteer(vol, links.token_hash(token))
        return vol, f"/patrol_qr/v/{token}"

    async def volunteer_for_token(self, token: str) -> Volunteer | None:
        """Return the volunteer holding ``token`` (revoked ones too: the page says so)."""
        if not token or len(token) > 100:
            return None
        return await self.store.volunteer_by_hash(links.token_hash(token))

    async def move_volunteer(self, volunteer_id: str) -> str:
        """Move a volunteer to a new phone: a new personal path (shown once); the old link and phone stop."""
        token = links.new_token()
        if not await self.store.move_volunteer(volunteer_id, links.token_hash(token)):
            raise PatrolError("no_volunteer", id=volunteer_id)
        return f"/patrol_qr/v/{token}"

    async def bind_device(self, vol: Volunteer, device: str) -> bool:
        """Bind an unbound volunteer link to this device; False if another phone got there first."""
        return await self.store.bind_device(vol.id, links.token_hash(device), self.hub.clock.time())

    async def revoke_volunteer(self, volunteer_id: str) -> None:
        """Revoke a volunteer's personal link at once."""
        if not await self.store.revoke_volunteer(volunteer_id, self.hub.clock.time()):
            raise PatrolError("no_volunteer", id=volunteer_id)

    # -- check-ins ------------------------------------------------------------

    async def check_in(
        self,
        cp: Checkpoint,
        sheet: str,
        person: Person,
        *,
        note: str = "",
        lat: float | None = None,
        lon: float | None = None,
        accuracy: float | None = None,
        context: Context | None = None,
    ) -> CheckinResult:
        """Record a check-in, or raise :class:`CheckinRefused` and store nothing."""
        if person.role not in ROLES:
            raise CheckinRefused("bad_role")
        if sheet != cp.sheet:
            raise CheckinRefused("old_sheet", 410)
        note = note.strip()
        if len(note) > NOTE_MAX:
            raise CheckinRefused("note_too_long", 400)
        if (
            (lat is None) != (lon is None)
            or (lat is not None and not -90 <= lat <= 90)
            or (lon is not None and not -180 <= lon <= 180)
            or (accuracy is not None and accuracy < 0)
        ):
            raise CheckinRefused("bad_position", 400)
        async with self._lock:
            now = self.hub.clock.time()
            earlier = await self.store.last_by(cp.id, person.key, now - self.window)
            if earlier is not None:
                # The same person again inside the window: a replayed link or a
                # double tap, never a second patrol.
                raise CheckinRefused("replay", 409, at=earlier.ts)
            starts = await self.store.patrol_starts(cp.id, now - self.window)
            patrol_id = choose_patrol(starts, now, self.window) or ulid()
            dist = None
            if lat is not None and lon is not None and cp.lat is not None and cp.lon is not None:
                dist = round(distance_m(lat, lon, cp.lat, cp.lon), 1)
            speed = await self._speed_from_previous(person, cp, lat, lon, now)
            flags = self._flags(lat, dist, speed)
            if flags:
                flagged = await self.store.last_by(cp.id, person.key, now - self.window, proven_only=False)
                if flagged is not None:
                    # One flagged try per person and window: a retry must bring what was missing.
                    raise CheckinRefused("replay", 409, at=flagged.ts)
            checkin = Checkin(
                ulid(),
                cp.id,
                sheet,
                now,
                person.key,
                person.name,
                person.role,
                lat,
                lon,
                accuracy,
                dist,
                note,
                patrol_id,
                flags,
                None if speed is None or math.isinf(speed) else round(speed, 1),
            )
            await self.store.add_checkin(checkin)
        if flags:
            _LOGGER.warning(
                "patrol_qr: check-in %s at %s by %s flagged (%s); not counted until an admin accepts it",
                checkin.id,
                cp.id,
                person.key,
                ", ".join(flags),
            )
        patrol = group_patrols(_visits(await self.store.patrol(patrol_id)))[0]
        result = CheckinResult(checkin, cp, patrol, float(self.config.far_meters))
        self.hub.bus.fire(EVENT_CHECKIN, self.event_data(result), context)
        self.hub.bus.fire(EVENT_KPI_CHANGED, {"domain": DOMAIN})
        return result

    def _flags(self, lat: float | None, dist: float | None, speed: float | None) -> tuple[str, ...]:
        """Return why a check-in does not prove a visit on its own (empty: it does)."""
        flags: list[str] = []
        if lat is None:
            flags.append(FLAG_NO_POSITION)  # refused or unavailable: nothing says where the phone was
        if dist is not None and dist > self.config.far_meters:
            flags.append(FLAG_FAR)
        if speed is not None and speed > self.config.max_speed_kmh:
            flags.append(FLAG_SPEED)
        return tuple(flags)

    async def _speed_from_previous(
        self, person: Person, cp: Checkpoint, lat: float | None, lon: float | None, now: float
    ) -> float | None:
        """Return the speed from this person's previous check-in to this one, None if unknown.

        A box's own position is trusted over the phone's (which the phone
        reports), and a phone position is used only where a box has none.
        """
        here = _place(cp.lat, cp.lon) or _place(lat, lon)
        previous = await self.store.previous_of(person.key, now)
        if here is None or previous is None:
            return None
        row = await self.store.raw_checkpoint(previous.checkpoint_id)
        there = (_place(row["lat"], row["lon"]) if row else None) or _place(previous.lat, previous.lon)
        if there is None:
            return None
        return speed_kmh(distance_m(*there, *here), now - previous.ts)

    async def accept_checkin(self, checkin_id: str, by: str) -> dict[str, Any]:
        """Accept a flagged check-in as a proven visit (an admin vouches for it); fire the event."""
        checkin = await self.store.checkin(checkin_id)
        if checkin is None:
            raise PatrolError("no_checkin", id=checkin_id)
        if not checkin.flags or checkin.accepted_at is not None:
            raise PatrolError("not_flagged", id=checkin_id)
        if not await self.store.accept_checkin(checkin_id, by, self.hub.clock.time()):
            raise PatrolError("not_flagged", id=checkin_id)
        patrol = group_patrols(_visits(await self.store.patrol(checkin.patrol_id)))[0]
        data = {
            "checkin_id": checkin.id,
            "checkpoint_id": checkin.checkpoint_id,
            "ts": checkin.ts,
            "role": checkin.role,
            "person_name": checkin.person_name,
            "flags": list(checkin.flags),
            "accepted_by": by,
            "patrol_id": patrol.id,
            "people": len(patrol.people),
            "composition": patrol.composition,
            "joint": patrol.joint,
            "mixed": patrol.mixed,
        }
        self.hub.bus.fire(EVENT_ACCEPTED, data)
        self.hub.bus.fire(EVENT_KPI_CHANGED, {"domain": DOMAIN})
        return data

    def event_data(self, result: CheckinResult) -> dict[str, Any]:
        """Return the ``patrol_checkin`` payload (what the station receives)."""
        c, cp, patrol = result.checkin, result.checkpoint, result.patrol
        return {
            "checkin_id": c.id,
            "checkpoint_id": cp.id,
            "checkpoint_name": cp.name,
            "ts": c.ts,
            "role": c.role,
            "person_name": c.person_name,
            "patrol_id": patrol.id,
            "patrol_started": patrol.started,
            "people": len(patrol.people),
            "composition": patrol.composition,
            "joint": patrol.joint,
            "mixed": patrol.mixed,
            "lat": c.lat,
            "lon": c.lon,
            "distance_m": c.distance_m,
            "far": result.far,
            "speed_kmh": c.speed_kmh,
            "flags": list(c.flags),
            "proven": c.proven,
            "note": c.note,
        }

    async def last_by(self, cp: Checkpoint, person: Person) -> Checkin | None:
        """Return this person's check-in here inside the current window, if any."""
        return await self.store.last_by(cp.id, person.key, self.hub.clock.time() - self.window)

    async def recent_patrols(self, days: int = 7, limit: int = 100) -> list[Patrol]:
        """Return recent patrols, newest first."""
        since = self.hub.clock.time() - days * 86400
        patrols = group_patrols(_visits(await self.store.checkins(since)))
        return list(reversed(patrols))[:limit]

    async def flagged_checkins(self, days: int = MAX_REPORT_DAYS) -> list[Checkin]:
        """Return flagged check-ins of the last ``days`` days still waiting for an admin, newest first."""
        return await self.store.flagged(self.hub.clock.time() - days * 86400)

    # -- coverage -------------------------------------------------------------

    def today(self) -> date:
        """Return today's date in the hub's timezone."""
        return self.hub.clock.now().date()

    async def coverage(self, days: int | None = None, last_day: date | None = None) -> Coverage:
        """Return the grid for ``days`` days up to ``last_day`` (today), gaps looked for further back."""
        days = days or self.config.report_days
        last = last_day or self.today()
        shown_from = last - timedelta(days=days - 1)
        first = min(shown_from, last - timedelta(days=max(self.config.gap_days * 2, 7)))
        tz = self.hub.clock.tz
        since = datetime.combine(first, time(0), tz).timestamp()
        until = datetime.combine(last + timedelta(days=2), time(0), tz).timestamp()
        patrols = group_patrols(_visits(await self.store.checkins(since, until)))
        return coverage(
            {cp.id: cp.created_at for cp in self._checkpoints},
            patrols,
            first_day=first,
            last_day=last,
            shifts=self.config.shifts,
            tz=tz,
            now=self.hub.clock.time(),
            gap_days=self.config.gap_days,
            shown_from=shown_from,
        )

    async def month_figures(self, month: str) -> dict[str, Any]:
        """Return the month's coverage ratio, patrols, joint share and check-ins."""
        first = date.fromisoformat(month + "-01")
        nxt = (first + timedelta(days=32)).replace(day=1)
        last = min(nxt - timedelta(days=1), self.today())
        if last < first:
            return {
                "coverage": None,
                "finished": 0,
                "patrols": 0,
                "joint": 0,
                "mixed": 0,
                "checkins": 0,
                "flagged": 0,
            }
        grid = await self.coverage((last - first).days + 1, last)
        tz = self.hub.clock.tz
        since = datetime.combine(first, time(0), tz).timestamp()
        until = datetime.combine(nxt, time(0), tz).timestamp()
        checkins = await self.store.checkins(since, until)
        # Only proven visits count; flagged ones are reported apart, for the admin to review.
        patrols = [p for p in group_patrols(_visits(checkins)) if p.proven_visits]
        return {
            "coverage": grid.ratio(),
            "finished": grid.finished(),
            "patrols": len(patrols),
            "joint": sum(p.joint for p in patrols),
            "mixed": sum(p.mixed for p in patrols),
            "checkins": sum(1 for c in checkins if c.proven),
            "flagged": sum(1 for c in checkins if not c.proven),
        }

    # -- the daily gap check -------------------------------------------------------

    async def check_gaps(self, day: date | None = None) -> list[dict[str, Any]]:
        """Fire ``patrol_gap`` for every checkpoint × shift unvisited for ``gap_days`` (as of ``day``)."""
        grid = await self.coverage(1, day)
        names = {cp.id: cp.name for cp in self._checkpoints}
        shifts = {s.id: s for s in self.config.shifts}
        fired = []
        for gap in grid.gaps:
            shift = shifts[gap.shift_id]
            data = {
                "checkpoint_id": gap.checkpoint_id,
                "checkpoint_name": names.get(gap.checkpoint_id, ""),
                "shift": gap.shift_id,
                "shift_name_th": shift.name_th,
                "shift_name_en": shift.name_en,
                "days": gap.days,
                "at_least": gap.at_least,
                "last_visit": gap.last_visit,
            }
            self.hub.bus.fire(EVENT_GAP, data)
            fired.append(data)
        return fired


def _visits(checkins: list[Checkin]) -> list[Visit]:
    return [
        Visit(c.checkpoint_id, c.ts, c.person, c.role, c.patrol_id, c.person_name, c.proven, c.flags, c.id)
        for c in checkins
    ]


def _place(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    return (lat, lon) if lat is not None and lon is not None else None


def person_for_user(user: Any) -> Person:
    """Return the police Person for a logged-in hub user."""
    return Person(f"user:{user.id}", user.username, ROLE_POLICE)
