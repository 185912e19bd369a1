"""The plugin's tables: checkpoints, volunteers (token hashes only) and check-ins."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from hub.storage import Storage
from plugins.patrol_qr.migrations import MIGRATIONS

__all__ = ("MIGRATIONS", "Checkpoint", "Volunteer", "Checkin", "PatrolStore")


@dataclass(frozen=True)
class Checkpoint:
    """A red box with a QR sheet."""

    id: str
    name: str
    lat: float | None
    lon: float | None
    risk: str
    source: str
    sheet: str
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Checkpoint:
        """Build from a database row."""
        return cls(
            row["id"],
            row["name"],
            row["lat"],
            row["lon"],
            row["risk"],
            row["source"],
            row["sheet"],
            row["created_at"],
        )

    def public(self) -> dict[str, Any]:
        """Return what may leave the hub (never the sheet id, which is half a check-in link)."""
        loc = {"lat": self.lat, "lon": self.lon} if self.lat is not None and self.lon is not None else None
        return {"id": self.id, "name": self.name, "location": loc, "risk": self.risk}


@dataclass(frozen=True)
class Volunteer:
    """A volunteer (อาสาสมัคร) with a personal check-in link."""

    id: str
    name: str
    phone: str
    issued_at: float
    issued_by: str
    revoked_at: float | None
    last_seen_at: float | None
    #: SHA-256 of the device id of the phone the link is bound to (None: not bound yet).
    device_hash: str | None = None
    device_bound_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Volunteer:
        """Build from a database row."""
        return cls(
            row["id"],
            row["name"],
            row["phone"],
            row["issued_at"],
            row["issued_by"],
            row["revoked_at"],
            row["last_seen_at"],
            row["device_hash"],
            row["device_bound_at"],
        )


@dataclass(frozen=True)
class Checkin:
    """One scan of a sheet by one person."""

    id: str
    checkpoint_id: str
    sheet: str
    ts: float
    person: str
    person_name: str
    role: str
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    distance_m: float | None
    note: str
    patrol_id: str
    #: Why this check-in does not prove a visit on its own (``far``, ``speed``, ``no_position``).
    flags: tuple[str, ...] = ()
    #: The speed needed to come from this person's previous check-in (km/h), when it was computed.
    speed_kmh: float | None = None
    accepted_at: float | None = None
    accepted_by: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Checkin:
        """Build from a database row."""
        values = {k: row[k] for k in _CHECKIN_COLUMNS}
        values["flags"] = tuple(f for f in (row["flags"] or "").split(",") if f)
        return cls(**values)

    @property
    def proven(self) -> bool:
        """Return whether this check-in counts as a visit: unflagged, or accepted by an admin."""
        return not self.flags or self.accepted_at is not None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form (the sheet id stays on the hub)."""
        out = {k: getattr(self, k) for k in _CHECKIN_COLUMNS}
        out.pop("sheet")
        out["flags"] = list(self.flags)
        out["proven"] = self.proven
        return out


_CHECKIN_COLUMNS = (
    "id",
    "checkpoint_id",
    "sheet",
    "ts",
    "person",
    "person_name",
    "role",
    "lat",
    "lon",
    "accuracy_m",
    "distance_m",
    "note",
    "patrol_id",
    "flags",
    "speed_kmh",
    "accepted_at",
    "accepted_by",
)


class PatrolStore:
    """Queries on the plugin's tables."""

    def __init__(self, storage: Storage) -> None:
        self._db = storage

    # -- checkpoints ----------------------------------------------------------

    async def checkpoints(self, *, include_removed: bool = False) -> list[Checkpoint]:
        """Return checkpoints, by id."""
        where = "" if include_removed else "WHERE removed_at IS NULL"
        rows = await self._db.fetchall(f"SELECT * FROM patrol_checkpoints {where} ORDER BY id")
        return [Checkpoint.from_row(r) for r in rows]

    async def checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        """Return one live checkpoint."""
        row = await self._db.fetchone(
            "SELECT * FROM patrol_checkpoints WHERE id = ? AND removed_at IS NULL", (checkpoint_id,)
        )
        return Checkpoint.from_row(row) if row else None

    async def raw_checkpoint(self, checkpoint_id: str) -> sqlite3.Row | None:
        """Return a checkpoint row even if removed (ids are never reused for another place)."""
        return await self._db.fetchone("SELECT * FROM patrol_checkpoints WHERE id = ?", (checkpoint_id,))

    async def upsert_checkpoint(self, cp: Checkpoint) -> None:
        """Insert or update a checkpoint, keeping its sheet and creation time if it exists."""
        await self._db.execute(
            "INSERT INTO patrol_checkpoints (id, name, lat, lon, risk, source, sheet, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
            "lat = excluded.lat, lon = excluded.lon, risk = excluded.risk, source = excluded.source, "
            "removed_at = NULL",
            (cp.id, cp.name, cp.lat, cp.lon, cp.risk, cp.source, cp.sheet, cp.created_at),
        )

    async def remove_checkpoint(self, checkpoint_id: str, now: float) -> bool:
        """Hide a checkpoint (its check-ins stay for the reports); return whether it was live."""
        changed = await self._db.execute_rowcount(
            "UPDATE patrol_checkpoints SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
            (now, checkpoint_id),
        )
        return changed > 0

    async def retire_config_checkpoints(self, keep: set[str], now: float) -> None:
        """Hide config checkpoints no longer in config.yaml."""
        rows = await self._db.fetchall(
            "SELECT id FROM patrol_checkpoints WHERE source = 'config' AND removed_at IS NULL"
        )
        for row in rows:
            if row["id"] not in keep:
                await self.remove_checkpoint(row["id"], now)

    async def set_sheet(self, checkpoint_id: str, sheet: str) -> bool:
        """Replace a checkpoint's sheet id; return whether the checkpoint exists."""
        changed = await self._db.execute_rowcount(
            "UPDATE patrol_checkpoints SET sheet = ? WHERE id = ? AND removed_at IS NULL",
            (sheet, checkpoint_id),
        )
        return changed > 0

    # -- volunteers -----------------------------------------------------------

    async def add_volunteer(self, vol: Volunteer, token_hash: str) -> None:
        """Store a new volunteer with the hash of their token."""
        await self._db.execute(
            "INSERT INTO patrol_volunteers (id, name, phone, token_hash, issued_at, issued_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (vol.id, vol.name, vol.phone, token_hash, vol.issued_at, vol.issued_by),
        )

    async def volunteers(self) -> list[Volunteer]:
        """Return every volunteer, newest first."""
        rows = await self._db.fetchall("SELECT * FROM patrol_volunteers ORDER BY issued_at DESC")
        return [Volunteer.from_row(r) for r in rows]

    async def volunteer_by_hash(self, token_hash: str) -> Volunteer | None:
        """Return the volunteer holding a token (revoked or not)."""
        row = await self._db.fetchone("SELECT * FROM patrol_volunteers WHERE token_hash = ?", (token_hash,))
        return Volunteer.from_row(row) if row else None

    async def revoke_volunteer(self, volunteer_id: str, now: float) -> bool:
        """Revoke a volunteer's link; return whether it was active."""
        changed = await self._db.execute_rowcount(
            "UPDATE patrol_volunteers SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (now, volunteer_id),
        )
        return changed > 0

    async def bind_device(self, volunteer_id: str, device_hash: str, now: float) -> bool:
        """Bind an unbound volunteer link to a device; return whether this call bound it."""
        changed = await self._db.execute_rowcount(
            "UPDATE patrol_volunteers SET device_hash = ?, device_bound_at = ? "
            "WHERE id = ? AND device_hash IS NULL AND revoked_at IS NULL",
            (device_hash, now, volunteer_id),
        )
        return changed > 0

    async def move_volunteer(self, volunteer_id: str, token_hash: str) -> bool:
        """Give an active volunteer a new token and unbind their device; return whether it was active."""
        changed = await self._db.execute_rowcount(
            "UPDATE patrol_volunteers SET token_hash = ?, device_hash = NULL, device_bound_at = NULL "
            "WHERE id = ? AND revoked_at IS NULL",
            (token_hash, volunteer_id),
        )
        return changed > 0

    async def touch_volunteer(self, volunteer_id: str, now: float) -> None:
        """Note when a volunteer last used their link."""
        await self._db.execute(
            "UPDATE patrol_volunteers SET last_seen_at = ? WHERE id = ?", (now, volunteer_id)
        )

    # -- check-ins ------------------------------------------------------------

    async def add_checkin(self, c: Checkin) -> None:
        """Store a check-in."""
        values = {k: getattr(c, k) for k in _CHECKIN_COLUMNS}
        values["flags"] = ",".join(c.flags)
        await self._db.execute(
            f"INSERT INTO patrol_checkins ({', '.join(_CHECKIN_COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in _CHECKIN_COLUMNS)})",
            tuple(values.values()),
        )

    async def checkin(self, checkin_id: str) -> Checkin | None:
        """Return one check-in."""
        row = await self._db.fetchone("SELECT * FROM patrol_checkins WHERE id = ?", (checkin_id,))
        return Checkin.from_row(row) if row else None

    async def accept_checkin(self, checkin_id: str, by: str, now: float) -> bool:
        """Accept a flagged check-in as a proven visit; return whether it was flagged and open."""
        changed = await self._db.execute_rowcount(
            "UPDATE patrol_checkins SET accepted_at = ?, accepted_by = ? "
            "WHERE id = ? AND flags != '' AND accepted_at IS NULL",
            (now, by, checkin_id),
        )
        return changed > 0

    async def previous_of(self, person: str, before: float) -> Checkin | None:
        """Return this person's latest check-in at or before ``before``, anywhere."""
        row = await self._db.fetchone(
            "SELECT * FROM patrol_checkins WHERE person = ? AND ts <= ? ORDER BY ts DESC LIMIT 1",
            (person, before),
        )
        return Checkin.from_row(row) if row else None

    async def flagged(self, since: float, limit: int = 200) -> list[Checkin]:
        """Return flagged check-ins since ``since`` that wait for an admin, newest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM patrol_checkins WHERE ts >= ? AND flags != '' AND accepted_at IS NULL "
            "ORDER BY ts DESC LIMIT ?",
            (since, limit),
        )
        return [Checkin.from_row(r) for r in rows]

    async def flagged_open(self, since: float) -> int:
        """Return how many flagged check-ins since ``since`` still wait for an admin."""
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM patrol_checkins WHERE ts >= ? AND flags != '' AND accepted_at IS NULL",
            (since,),
        )
        return int(row["n"]) if row else 0

    async def checkins(
        self,
        since: float,
        until: float | None = None,
        checkpoint_id: str | None = None,
        limit: int | None = None,
    ) -> list[Checkin]:
        """Return check-ins in a time range, oldest first (newest first with ``limit``)."""
        sql = "SELECT * FROM patrol_checkins WHERE ts >= ?"
        params: list[Any] = [since]
        if until is not None:
            sql += " AND ts < ?"
            params.append(until)
        if checkpoint_id is not None:
            sql += " AND checkpoint_id = ?"
            params.append(checkpoint_id)
        if limit is not None:
            sql += " ORDER BY ts DESC LIMIT ?"
            params.append(limit)
        else:
            sql += " ORDER BY ts"
        return [Checkin.from_row(r) for r in await self._db.fetchall(sql, params)]

    async def patrol_starts(self, checkpoint_id: str, since: float) -> dict[str, float]:
        """Return patrol id → first check-in for patrols at a checkpoint that started since ``since``."""
        rows = await self._db.fetchall(
            "SELECT patrol_id, MIN(ts) AS started FROM patrol_checkins WHERE checkpoint_id = ? "
            "GROUP BY patrol_id HAVING MIN(ts) >= ?",
            (checkpoint_id, since),
        )
        return {r["patrol_id"]: r["started"] for r in rows}

    async def patrol(self, patrol_id: str) -> list[Checkin]:
        """Return the check-ins of one patrol."""
        rows = await self._db.fetchall(
            "SELECT * FROM patrol_checkins WHERE patrol_id = ? ORDER BY ts", (patrol_id,)
        )
        return [Checkin.from_row(r) for r in rows]

    async def last_by(
        self, checkpoint_id: str, person: str, since: float, *, proven_only: bool = True
    ) -> Checkin | None:
        """Return this person's latest (proven) check-in at a checkpoint since ``since``.

        A flagged one does not count by default: told it proves nothing (no
        position, say), the officer may allow the position and scan again.
        """
        proven = "AND (flags = '' OR accepted_at IS NOT NULL) " if proven_only else ""
        row = await self._db.fetchone(
            "SELECT * FROM patrol_checkins WHERE checkpoint_id = ? AND person = ? AND ts >= ? "
            f"{proven}ORDER BY ts DESC LIMIT 1",
            (checkpoint_id, person, since),
        )
        return Checkin.from_row(row) if row else None

    async def last_visits(self) -> dict[str, float]:
        """Return each checkpoint's latest proven check-in (unflagged, or flagged and accepted)."""
        rows = await self._db.fetchall(
            "SELECT checkpoint_id, MAX(ts) AS ts FROM patrol_checkins "
            "WHERE flags = '' OR accepted_at IS NOT NULL GROUP BY checkpoint_id"
        )
        return {str(r["checkpoint_id"]): float(r["ts"]) for r in rows}

    async def last_checkin(self) -> float | None:
        """Return the time of the latest check-in anywhere."""
        row = await self._db.fetchone("SELECT MAX(ts) AS ts FROM patrol_checkins")
        return row["ts"] if row and row["ts"] is not None else None
