"""The running Big 6 plugin: the directory, meetings, resolutions and the daily overdue check."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from hub.core.context import Context
from hub.core.ids import ulid
from hub.daily import DailyTask
from plugins.big6 import csvio
from plugins.big6.config import Big6Config
from plugins.big6.const import (
    DOMAIN,
    EVENT_KPI_CHANGED,
    EVENT_OVERDUE,
    OPEN_STATUSES,
    RESOLUTION_STATUSES,
    SECTORS,
)
from plugins.big6.line_link import LineCode, linker, member_ref
from plugins.big6.problems import Problem
from plugins.big6.store import Big6Store, Meeting, Member, Resolution
from plugins.big6.strings import translator

if TYPE_CHECKING:
    from hub.core.bus import Event
    from hub.hub import Hub

__all__ = ("Big6Manager", "MonthRow")

_LOGGER = logging.getLogger(__name__)
#: The kv row holding the day Big 6 started on this hub.
_SINCE_KEY = "big6.since"


@dataclass
class MonthRow:
    """One month on the meetings page: was there a meeting, and what came of it."""

    month: str
    meetings: list[Meeting]
    resolutions: int
    done: int
    open: int
    overdue: int
    #: held | missed | pending (this month, no meeting yet) | before (the hub did not exist yet)
    status: str = "missed"

    @property
    def held(self) -> bool:
        """Return whether the month had its meeting."""
        return bool(self.meetings)


class Big6Manager:
    """Everything the Big 6 pages, services and hooks do."""

    def __init__(self, hub: Hub, config: Big6Config) -> None:
        self.hub = hub
        self.config = config
        self.store = Big6Store(hub.storage)
        #: ``daily`` every day at ``check_at``; started and stopped by the plugin.
        self.daily_task = DailyTask(hub, DOMAIN, config.check_at, self.daily)
        #: The day Big 6 started on this hub: months before it are not "no meeting" failures.
        self.since: date = self.today()

    async def load(self) -> None:
        """Remember (once, kept across restarts) the day Big 6 started keeping meetings here."""
        await self.hub.storage.execute(
            "INSERT OR IGNORE INTO kv (key, value) VALUES (?, ?)", (_SINCE_KEY, self.today().isoformat())
        )
        row = await self.hub.storage.fetchone("SELECT value FROM kv WHERE key = ?", (_SINCE_KEY,))
        if row is not None:
            self.since = date.fromisoformat(row["value"])

    def month_status(self, month: str, held: bool) -> str:
        """Return held, pending (this month, not over), before (the hub did not exist) or missed."""
        if held:
            return "held"
        if month >= self.today().isoformat()[:7]:
            return "pending"
        if month < self.since.isoformat()[:7]:
            return "before"
        return "missed"

    def today(self) -> date:
        """Return today in the hub's timezone."""
        return self.hub.clock.now().date()

    # -- members ------------------------------------------------------------------

    def _check_member(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "name" in values:
            name = " ".join(str(values["name"]).split())
            if not name:
                raise Problem("required", "name")
            if len(name) > 120:
                raise Problem("too_long", "name", max=120)
            out["name"] = name
        if "sector" in values:
            sector = csvio.normalize_sector(str(values["sector"]))
            if sector is None:
                raise Problem("unknown_sector", "sector", value=str(values["sector"]))
            out["sector"] = sector
        if "organisation" in values:
            out["organisation"] = str(values["organisation"] or "").strip()[:200]
        if "phone" in values:
            phone = str(values["phone"] or "").strip()
            if csvio.check_phone(phone) is not None:
                raise Problem("bad_phone", "phone")
            out["phone"] = phone
        if "line_user_id" in values:
            user = str(values["line_user_id"] or "").strip()
            if csvio.check_line_user_id(user) is not None:
                raise Problem("bad_line_user", "line_user_id")
            out["line_user_id"] = user or None
        return out

    async def add_member(self, values: Mapping[str, Any]) -> Member:
        """Add one member; raise ValueError on bad input (nothing stored)."""
        checked = self._check_member({"organisation": "", "phone": "", "line_user_id": "", **values})
        if "name" not in checked or "sector" not in checked:
            raise Problem("name_and_sector")
        now = self.hub.clock.time()
        member = Member(
            ulid(),
            checked["name"],
            checked["sector"],
            checked["organisation"],
            checked["phone"],
            checked["line_user_id"],
            now,
            now,
        )
        await self.store.add_members([member])
        return member

    async def update_member(self, member_id: str, values: Mapping[str, Any]) -> Member:
        """Change a member; raise ValueError on bad input or an unknown id."""
        checked = self._check_member(values)
        if not await self.store.update_member(member_id, checked, self.hub.clock.time()):
            raise Problem("no_such_member", "member_id", value=member_id)
        member = await self.store.member(member_id)
        assert member is not None
        return member

    async def remove_member(self, member_id: str) -> None:
        """Take a member off the directory."""
        if not await self.store.remove_member(member_id, self.hub.clock.time()):
            raise Problem("no_such_member", "member_id", value=member_id)

    async def import_members(self, data: bytes) -> list[Member]:
        """Import a CSV: every row is added, or none (raises :class:`csvio.ImportRefused`)."""
        rows = csvio.parse_members(data, await self.store.members())
        now = self.hub.clock.time()
        members = [
            Member(ulid(), r.name, r.sector, r.organisation, r.phone, r.line_user_id, now, now) for r in rows
        ]
        await self.store.add_members(members)
        return members

    # -- LINE -----------------------------------------------------------------------

    async def line_code(self, member_id: str, created_by: str) -> LineCode:
        """Ask the LINE integration for a registration code for a member."""
        member = await self.store.member(member_id)
        if member is None:
            raise Problem("no_such_member", "member_id", value=member_id)
        link = linker(self.hub)
        if link is None:
            raise Problem("line_off")
        return await link.issue_code(member_ref(member.id), member.name, member.sector, created_by)

    async def on_line_linked(self, event: Event) -> None:
        """Store the LINE user id as soon as a member redeems their code (``line_member_linked``)."""
        ref = str(event.data.get("member_ref") or "")
        user = str(event.data.get("user_id") or "")
        prefix = member_ref("")
        if not ref.startswith(prefix) or csvio.check_line_user_id(user) is not None:
            return  # someone else's member, or not a user id we could message
        await self.store.update_member(ref[len(prefix) :], {"line_user_id": user}, self.hub.clock.time())

    async def sync_line(self) -> int:
        """Copy LINE user ids linked through registration codes onto members; return how many changed."""
        link = linker(self.hub)
        if link is None:
            return 0
        changed = 0
        for member in await self.store.members():
            user = await link.linked_user(member_ref(member.id))
            if user and user != member.line_user_id and csvio.check_line_user_id(user) is None:
                await self.store.update_member(member.id, {"line_user_id": user}, self.hub.clock.time())
                changed += 1
        return changed

    # -- meetings and resolutions -----------------------------------------------------

    def _check_attendance(self, attendance: Mapping[str, Any]) -> dict[str, int]:
        out = {s: 0 for s in SECTORS}
        for key, value in attendance.items():
            sector = csvio.normalize_sector(str(key))
            if sector is None:
                raise Problem("unknown_sector", "attendance", value=str(key))
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
                raise Problem("bad_count", f"attendance.{sector}")
            out[sector] += value
        return out

    def _check_resolution(
        self, item: Mapping[str, Any], meeting_date: str, where: str, members: Sequence[Member]
    ) -> dict[str, Any]:
        text = str(item.get("text") or "").strip()
        owner = " ".join(str(item.get("owner") or "").split())
        if not text:
            raise Problem("required", f"{where}.text")
        if len(text) > 1000:
            raise Problem("too_long", f"{where}.text", max=1000)
        owner_id = item.get("owner_member_id") or None
        member = next((m for m in members if m.id == owner_id), None) if owner_id else None
        if owner_id is not None and member is None:
            raise Problem("no_member", f"{where}.owner_member_id")
        if not owner and member is not None:
            owner = member.name  # owner given by id alone
        if not owner:
            raise Problem("required", f"{where}.owner")
        if len(owner) > 120:
            raise Problem("too_long", f"{where}.owner", max=120)
        if member is None:
            # Typed as a name: the member of that name, so a LINE reminder can reach them.
            member = owner_member(owner, members)
        due = _date(item.get("due_date"), f"{where}.due_date")
        if due < meeting_date:
            raise Problem("due_before_meeting", f"{where}.due_date", meeting=meeting_date)
        status = str(item.get("status") or "open")
        if status not in RESOLUTION_STATUSES:
            raise Problem("bad_status", f"{where}.status")
        return {
            "text": text,
            "owner": owner,
            "due_date": due,
            "status": status,
            "owner_member_id": member.id if member else None,
        }

    async def record_meeting(self, data: Mapping[str, Any], created_by: str) -> Meeting:
        """Record a meeting with its attendance and resolutions; all checked before anything is stored."""
        day = _date(data.get("date"), "date")
        if day > self.today().isoformat():
            raise Problem("future_date", "date", value=day)
        attendance = self._check_attendance(data.get("attendance") or {})
        items = list(data.get("resolutions") or [])
        members = await self.store.members()
        checked = [
            self._check_resolution(item, day, f"resolutions[{i}]", members) for i, item in enumerate(items)
        ]
        now = self.hub.clock.time()
        meeting = Meeting(
            ulid(),
            day,
            str(data.get("title") or "").strip()[:200],
            str(data.get("agenda") or "").strip()[:5000],
            attendance,
            str(data.get("notes") or "").strip()[:5000],
            now,
            created_by,
        )
        meeting.resolutions = [
            Resolution(
                ulid(),
                meeting.id,
                i,
                r["text"],
                r["owner"],
                r["owner_member_id"],
                r["due_date"],
                r["status"],
                "",
                now,
            )
            for i, r in enumerate(checked)
        ]
        await self.store.add_meeting(meeting)
        self.hub.bus.fire(EVENT_KPI_CHANGED, {"domain": DOMAIN})
        return meeting

    async def add_resolution(self, meeting_id: str, item: Mapping[str, Any]) -> Resolution:
        """Add a resolution to a recorded meeting."""
        meeting = await self.store.meeting(meeting_id)
        if meeting is None:
            raise Problem("no_such_meeting", "meeting_id", value=meeting_id)
        r = self._check_resolution(item, meeting.date, "resolution", await self.store.members())
        res = Resolution(
            ulid(),
            meeting_id,
            await self.store.next_position(meeting_id),
            r["text"],
            r["owner"],
            r["owner_member_id"],
            r["due_date"],
            r["status"],
            "",
            self.hub.clock.time(),
        )
        await self.store.add_resolutions([res])
        self.hub.bus.fire(EVENT_KPI_CHANGED, {"domain": DOMAIN})
        return res

    async def set_status(self, resolution_id: str, status: str, note: str | None = None) -> Resolution:
        """Move a resolution to a new status (e.g. done), optionally with a note on what came of it."""
        if status not in RESOLUTION_STATUSES:
            raise Problem("bad_status", "status")
        if note is not None and len(note) > 1000:
            raise Problem("too_long", "note", max=1000)
        if not await self.store.set_status(resolution_id, status, note, self.hub.clock.time()):
            raise Problem("no_such_resolution", "resolution_id", value=resolution_id)
        res = await self.store.resolution(resolution_id)
        assert res is not None
        self.hub.bus.fire(EVENT_KPI_CHANGED, {"domain": DOMAIN})
        return res

    async def months(self, count: int | None = None) -> list[MonthRow]:
        """Return the last ``count`` months, newest first, with their meetings and outcomes."""
        count = count or self.config.months_shown
        today = self.today()
        months: list[str] = []
        y, m = today.year, today.month
        for _ in range(count):
            months.append(f"{y:04d}-{m:02d}")
            y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        meetings = await self.store.meetings(f"{months[-1]}-01")
        iso_today = today.isoformat()
        rows = []
        for month in months:
            held = [mt for mt in meetings if mt.month == month]
            res = [r for mt in held for r in mt.resolutions]
            rows.append(
                MonthRow(
                    month,
                    held,
                    len(res),
                    sum(1 for r in res if r.status == "done"),
                    sum(1 for r in res if r.status in OPEN_STATUSES),
                    sum(1 for r in res if r.status in OPEN_STATUSES and r.due_date < iso_today),
                    self.month_status(month, bool(held)),
                )
            )
        return rows

    # -- the daily overdue check ----------------------------------------------------------

    async def daily(self, day: date) -> None:
        """The daily job: pick up LINE links made through registration codes, then the overdue check."""
        await self.sync_line()
        await self.check_overdue(day)

    async def check_overdue(self, day: date | None = None) -> list[dict[str, Any]]:
        """Fire ``big6_resolution_overdue`` for each resolution past due, once per reminder interval."""
        today = day or self.today()
        iso = today.isoformat()
        directory = await self.store.members()
        members = {m.id: m for m in directory}
        fired = []
        for res, meeting_date in await self.store.overdue(iso):
            if res.last_reminded is not None:
                since = (today - date.fromisoformat(res.last_reminded)).days
                if since < self.config.remind_every_days:
                    continue
            owner = members.get(res.owner_member_id or "")
            if owner is None and res.owner_member_id is None:
                # The owner joined the directory after the meeting: link them now.
                owner = owner_member(res.owner, directory)
                if owner is not None:
                    await self.store.link_owner(res.id, owner.id)
                    res.owner_member_id = owner.id
            data = {
                "resolution_id": res.id,
                "meeting_id": res.meeting_id,
                "meeting_date": meeting_date,
                "text": res.text,
                "owner": res.owner,
                "owner_member_id": res.owner_member_id,
                "owner_line_user_id": owner.line_user_id if owner else None,
                "owner_sector": owner.sector if owner else None,
                "due_date": res.due_date,
                "days_overdue": (today - date.fromisoformat(res.due_date)).days,
                "status": res.status,
                "line_group": self.config.line_group,
            }
            # Marked before firing: a crash after the event must not repeat it on restart.
            await self.store.mark_reminded(res.id, iso)
            self.hub.bus.fire(EVENT_OVERDUE, data)
            fired.append(data)
            if owner is not None and owner.line_user_id and self.config.remind_owner:
                await self._remind_owner(owner, data, iso)
        return fired

    async def _remind_owner(self, owner: Member, data: Mapping[str, Any], day: str) -> None:
        """Push the overdue reminder to the owner's own LINE chat (the group gets the event)."""
        if not self.hub.services.has("line", "send"):
            return  # LINE is not set up: the event is all there is
        lang = self.hub.core.language
        message = translator(lang)(
            "big6.reminder",
            text=data["text"],
            days=data["days_overdue"],
            meeting=data["meeting_date"],
            due=data["due_date"],
        )
        try:
            await self.hub.services.call(
                "line",
                "send",
                {"to": owner.line_user_id, "message": message},
                Context(origin=DOMAIN),
                # One reminder per resolution per day, even if a crash makes us send it again.
                key=f"big6-reminder-{data['resolution_id']}-{day}",
            )
        except Exception:
            _LOGGER.exception("big6: could not send the overdue reminder to %s in LINE", owner.name)


def _date(value: Any, where: str) -> str:
    """Return an ISO date string or raise a :class:`Problem` naming the field."""
    if isinstance(value, date):
        return value.isoformat()
    if value is None or value == "":
        raise Problem("required", where)
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as err:
        raise Problem("bad_date", where, value=str(value)) from err


def owner_member(owner: str, members: Sequence[Member]) -> Member | None:
    """Return the one member whose name is ``owner`` (spaces and case aside), else None.

    Two members of the same name link neither: a reminder to the wrong
    person is worse than none (the event still goes to the group).
    """
    wanted = " ".join(owner.split()).casefold()
    found = [m for m in members if " ".join(m.name.split()).casefold() == wanted]
    return found[0] if len(found) == 1 else None


def sector_counts(members: Sequence[Member]) -> dict[str, int]:
    """Return members per sector, every sector present."""
    counts = {s: 0 for s in SECTORS}
    for m in members:
        counts[m.sector] += 1
    return counts
