"""The Big 6 tables: members, monthly meetings and their resolutions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.storage import Storage
from plugins.big6.const import SECTORS
from plugins.big6.migrations import MIGRATIONS

__all__ = ("MIGRATIONS", "Member", "Meeting", "Resolution", "Big6Store")


@dataclass(frozen=True)
class Member:
    """A member of the network."""

    id: str
    name: str
    sector: str
    organisation: str
    phone: str
    line_user_id: str | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Member:
        """Build from a database row."""
        return cls(
            row["id"],
            row["name"],
            row["sector"],
            row["organisation"],
            row["phone"],
            row["line_user_id"],
            row["created_at"],
            row["updated_at"],
        )

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Resolution:
    """Something a meeting decided, with who does it and by when."""

    id: str
    meeting_id: str
    position: int
    text: str
    owner: str
    owner_member_id: str | None
    due_date: str
    status: str
    status_note: str
    updated_at: float
    last_reminded: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Resolution:
        """Build from a database row."""
        return cls(*(row[k] for k in _RESOLUTION_COLUMNS))

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {k: getattr(self, k) for k in _RESOLUTION_COLUMNS}


_RESOLUTION_COLUMNS = (
    "id",
    "meeting_id",
    "position",
    "text",
    "owner",
    "owner_member_id",
    "due_date",
    "status",
    "status_note",
    "updated_at",
    "last_reminded",
)


@dataclass
class Meeting:
    """One monthly meeting."""

    id: str
    date: str
    title: str
    agenda: str
    attendance: dict[str, int]
    notes: str
    created_at: float
    created_by: str
    resolutions: list[Resolution] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Meeting:
        """Build from a database row (without resolutions)."""
        return cls(
            row["id"],
            row["date"],
            row["title"],
            row["agenda"],
            json.loads(row["attendance"]),
            row["notes"],
            row["created_at"],
            row["created_by"],
        )

    @property
    def month(self) -> str:
        """Return ``YYYY-MM``."""
        return self.date[:7]

    @property
    def sectors_present(self) -> int:
        """Return how many of the six sectors came."""
        return sum(1 for s in SECTORS if self.attendance.get(s, 0) > 0)

    @property
    def attendees(self) -> int:
        """Return how many people came."""
        return sum(self.attendance.values())

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form with the resolutions."""
        return {
            "id": self.id,
            "date": self.date,
            "title": self.title,
            "agenda": self.agenda,
            "attendance": self.attendance,
            "notes": self.notes,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "resolutions": [r.as_dict() for r in self.resolutions],
        }


class Big6Store:
    """Queries on the Big 6 tables."""

    def __init__(self, storage: Storage) -> None:
        self._db = storage

    # -- members ------------------------------------------------------------------

    async def add_members(self, members: Sequence[Member]) -> None:
        """Insert members in one transaction: all of them or none."""
        await self._db.executemany(
            "INSERT INTO big6_members (id, name, sector, organisation, phone, line_user_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (m.id, m.name, m.sector, m.organisation, m.phone, m.line_user_id, m.created_at, m.updated_at)
                for m in members
            ],
        )

    async def members(self) -> list[Member]:
        """Return current members by sector, then name."""
        rows = await self._db.fetchall("SELECT * FROM big6_members WHERE removed_at IS NULL ORDER BY name")
        order = {s: i for i, s in enumerate(SECTORS)}
        return sorted((Member.from_row(r) for r in rows), key=lambda m: (order[m.sector], m.name))

    async def member(self, member_id: str) -> Member | None:
        """Return one current member."""
        row = await self._db.fetchone(
            "SELECT * FROM big6_members WHERE id = ? AND removed_at IS NULL", (member_id,)
        )
        return Member.from_row(row) if row else None

    async def update_member(self, member_id: str, values: dict[str, Any], now: float) -> bool:
        """Change some fields of a member; return whether it exists."""
        allowed = {"name", "sector", "organisation", "phone", "line_user_id"}
        sets = {k: v for k, v in values.items() if k in allowed}
        if not sets:
            return await self.member(member_id) is not None
        assignments = ", ".join(f"{k} = ?" for k in sets)
        changed = await self._db.execute_rowcount(
            f"UPDATE big6_members SET {assignments}, updated_at = ? WHERE id = ? AND removed_at IS NULL",
            (*sets.values(), now, member_id),
        )
        return changed > 0

    async def remove_member(self, member_id: str, now: float) -> bool:
        """Take a member off the directory (meetings that name them keep the name)."""
        changed = await self._db.execute_rowcount(
            "UPDATE big6_members SET removed_at = ? WHERE id = ? AND removed_at IS NULL", (now, member_id)
        )
        return changed > 0

    # -- meetings -----------------------------------------------------------------

    async def add_meeting(self, meeting: Meeting) -> None:
        """Store a meeting and its resolutions; on failure nothing of it stays."""
        await self._db.execute(
            "INSERT INTO big6_meetings (id, date, title, agenda, attendance, notes, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                meeting.id,
                meeting.date,
                meeting.title,
                meeting.agenda,
                json.dumps(meeting.attendance),
                meeting.notes,
                meeting.created_at,
                meeting.created_by,
            ),
        )
        try:
            if meeting.resolutions:
                await self.add_resolutions(meeting.resolutions)
        except BaseException:
            # Storage has no multi-statement transaction for plugins; undo by hand.
            await self._db.execute("DELETE FROM big6_meetings WHERE id = ?", (meeting.id,))
            raise

    async def add_resolutions(self, resolutions: Sequence[Resolution]) -> None:
        """Insert resolutions in one transaction."""
        await self._db.executemany(
            f"INSERT INTO big6_resolutions ({', '.join(_RESOLUTION_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _RESOLUTION_COLUMNS)})",
            [tuple(getattr(r, k) for k in _RESOLUTION_COLUMNS) for r in resolutions],
        )

    async def meetings(self, since_date: str = "0000-00-00") -> list[Meeting]:
        """Return meetings from ``since_date`` on, newest first, with their resolutions."""
        rows = await self._db.fetchall(
            "SELECT * FROM big6_meetings WHERE date >= ? ORDER BY date DESC, created_at DESC", (since_date,)
        )
        meetings = [Meeting.from_row(r) for r in rows]
        by_id = {m.id: m for m in meetings}
        if by_id:
            marks = ", ".join("?" for _ in by_id)
            res_rows = await self._db.fetchall(
                f"SELECT * FROM big6_resolutions WHERE meeting_id IN ({marks}) ORDER BY position", list(by_id)
            )
            for row in res_rows:
                by_id[row["meeting_id"]].resolutions.append(Resolution.from_row(row))
        return meetings

    async def meeting(self, meeting_id: str) -> Meeting | None:
        """Return one meeting with its resolutions."""
        row = await self._db.fetchone("SELECT * FROM big6_meetings WHERE id = ?", (meeting_id,))
        if row is None:
            return None
        meeting = Meeting.from_row(row)
        rows = await self._db.fetchall(
            "SELECT * FROM big6_resolutions WHERE meeting_id = ? ORDER BY position", (meeting_id,)
        )
        meeting.resolutions = [Resolution.from_row(r) for r in rows]
        return meeting

    # -- resolutions ----------------------------------------------------------------

    async def resolution(self, resolution_id: str) -> Resolution | None:
        """Return one resolution."""
        row = await self._db.fetchone("SELECT * FROM big6_resolutions WHERE id = ?", (resolution_id,))
        return Resolution.from_row(row) if row else None

    async def next_position(self, meeting_id: str) -> int:
        """Return the position after a meeting's last resolution."""
        row = await self._db.fetchone(
            "SELECT COALESCE(MAX(position), -1) + 1 AS pos FROM big6_resolutions WHERE meeting_id = ?",
            (meeting_id,),
        )
        return int(row["pos"]) if row else 0

    async def set_status(self, resolution_id: str, status: str, note: str | None, now: float) -> bool:
        """Change a resolution's status (and note); return whether it exists."""
        if note is None:
            changed = await self._db.execute_rowcount(
                "UPDATE big6_resolutions SET status = ?, updated_at = ? WHERE id = ?",
                (status, now, resolution_id),
            )
        else:
            changed = await self._db.execute_rowcount(
                "UPDATE big6_resolutions SET status = ?, status_note = ?, updated_at = ? WHERE id = ?",
                (status, note, now, resolution_id),
            )
        return changed > 0

    async def all_resolutions(self) -> list[tuple[Resolution, str]]:
        """Return every resolution with its meeting's date, oldest meeting first."""
        rows = await self._db.fetchall(
            "SELECT r.*, m.date AS meeting_date FROM big6_resolutions r JOIN big6_meetings m ON m.id = r.meeting_id "
            "ORDER BY m.date, r.position"
        )
        return [(Resolution.from_row(r), r["meeting_date"]) for r in rows]

    async def overdue(self, today: str) -> list[tuple[Resolution, str]]:
        """Return open resolutions due before ``today``, with their meeting's date."""
        rows = await self._db.fetchall(
            "SELECT r.*, m.date AS meeting_date FROM big6_resolutions r JOIN big6_meetings m ON m.id = r.meeting_id "
            "WHERE r.status IN ('open', 'in_progress') AND r.due_date < ? ORDER BY r.due_date",
            (today,),
        )
        return [(Resolution.from_row(r), r["meeting_date"]) for r in rows]

    async def link_owner(self, resolution_id: str, member_id: str) -> None:
        """Link a resolution's owner to a member (found by name after the meeting)."""
        await self._db.execute(
            "UPDATE big6_resolutions SET owner_member_id = ? WHERE id = ? AND owner_member_id IS NULL",
            (member_id, resolution_id),
        )

    async def mark_reminded(self, resolution_id: str, day: str) -> None:
        """Remember the day an overdue event was fired for a resolution."""
        await self._db.execute(
            "UPDATE big6_resolutions SET last_reminded = ? WHERE id = ?", (day, resolution_id)
        )
