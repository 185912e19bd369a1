"""The append-only audit log: who did what, to what, from where.

The camera-sharing programme promises owners that images are never misused, and
the proof is this log: every view of a shared image or stream, every login and
every change of a user or setting.  Entries are therefore written and committed
before ``log`` returns (never batched: an entry lost in a crash is a broken
promise), and the table's triggers refuse UPDATE and DELETE.

Because the log is kept forever and shown to camera owners, it must never hold
a secret: detail values under secret-looking keys, URL passwords and bearer
tokens are replaced with ``***`` before anything is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import time
from collections.abc import Callable, Mapping, Set
from dataclasses import asdict, dataclass
from typing import Any

from hub.storage import Storage, from_json, is_passing, to_json

_LOGGER = logging.getLogger(__name__)

__all__ = ("REDACTED", "AuditEntry", "AuditLog", "is_secret_key", "redact")

REDACTED = "***"

# Exact key names (compared lower-case, '-' read as '_') whose values are secrets.
_SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "token",
        "secret",
        "key",
        "channel_secret",
        "channel_access_token",
        "authorization",
        "cookie",
        "api_key",
        "access_token",
        "refresh_token",
        "client_secret",
    }
)
# ...and suffixes, so `mqtt_password`, `line_token` or `sia_key` (the names
# secrets.yaml uses) are caught without listing every integration's spelling.
_SECRET_SUFFIXES = ("_password", "_passwd", "_token", "_secret", "_key")

# scheme://user:password@host -> scheme://user:***@host
_URL_PASSWORD_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@/\s]*@")
_BEARER_RE = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]+")

_COLUMNS = "id, ts, actor, role, action, target, detail, source, ip, result"
_INSERT = f"INSERT INTO audit_log ({_COLUMNS.removeprefix('id, ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_CSV_HEADER = ("id", "time", "ts", "actor", "role", "action", "target", "detail", "source", "ip", "result")
_MAX_LIMIT = 10_000
_EXPORT_PAGE = 1_000


def is_secret_key(key: object) -> bool:
    """Is ``key`` a name whose value is a secret (``password``, ``line_token``...)?"""
    name = str(key).strip().lower().replace("-", "_")
    return name in _SECRET_KEYS or name.endswith(_SECRET_SUFFIXES)


_is_secret_key = is_secret_key


def _redact_text(text: str) -> str:
    text = _URL_PASSWORD_RE.sub(rf"\1:{REDACTED}@", text)
    return _BEARER_RE.sub(rf"\1 {REDACTED}", text)


def redact(value: Any, depth: int = 0) -> Any:
    """Return a copy of ``value`` with secrets replaced by ``***`` (nested)."""
    if depth > 32:
        # Deeper than any honest detail; don't recurse into a cycle.
        return REDACTED
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_secret_key(key) else redact(item, depth + 1) for key, item in value.items()
        }
    if isinstance(value, list | tuple | Set):
        return [redact(item, depth + 1) for item in value]
    if isinstance(value, str):
        return _redact_text(value)
    return value


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _csv_cell(value: Any) -> Any:
    # A cell starting with = + - @ is run as a formula by Excel/LibreOffice,
    # and actor names or targets can come from outside: quote it as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    ts: float
    actor: str
    role: str
    action: str
    target: str
    detail: dict[str, Any]
    source: str
    ip: str
    result: str

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return asdict(self)


class AuditLog:
    """Append-only record of sensitive actions, stored in ``audit_log``."""

    def __init__(self, storage: Storage, time_fn: Callable[[], float] = time.time) -> None:
        self._storage = storage
        self._time = time_fn

    async def log(
        self,
        actor: str,
        action: str,
        target: str = "",
        *,
        role: str = "",
        detail: Mapping[str, Any] | None = None,
        source: str = "local",
        ip: str = "",
        result: str = "ok",
    ) -> int:
        """Write one entry now and return its id.

        Raises if the database refuses: a caller about to show a shared image
        must not go on when its view cannot be recorded.
        """
        # RETURNING, not lastrowid: the log may be on PostgreSQL (hub.storage_pg), whose
        # cursors have none; fetchall steps the statement to its end, so it is committed.
        rows = await self._storage.fetchall(
            _INSERT + " RETURNING id", self._row(actor, action, target, role, detail, source, ip, result)
        )
        return int(rows[0]["id"])

    def _row(
        self,
        actor: str,
        action: str,
        target: str,
        role: str,
        detail: Mapping[str, Any] | None,
        source: str,
        ip: str,
        result: str,
    ) -> tuple[Any, ...]:
        if not action:
            raise ValueError("an audit entry needs an action")
        clean = redact(dict(detail)) if detail else {}
        return (self._time(), actor, role, action, target, to_json(clean), source, ip, result)

    async def log_done(
        self,
        actor: str,
        action: str,
        target: str = "",
        *,
        role: str = "",
        detail: Mapping[str, Any] | None = None,
        source: str = "local",
        ip: str = "",
        result: str = "ok",
    ) -> None:
        """Record an action that has already happened.

        Unlike :meth:`log`, a database that cannot write *now* (a full disk, a lock)
        does not raise: the entry goes to the batch writer, which keeps it and retries.
        The action cannot be undone, and answering its caller with an error would
        only say it failed when it did not (an SOS press that is already alerting).
        """
        row = self._row(actor, action, target, role, detail, source, ip, result)
        if self._storage.unreachable:
            # A shared database that did not answer the last try: queue behind the entries
            # already waiting instead of waiting for it again (an SOS press is waiting).
            self._storage.enqueue(_INSERT, row)
            return
        try:
            await self._storage.execute(_INSERT, row)
        except Exception as err:
            if not is_passing(err):
                raise
            self._storage.enqueue(_INSERT, row)
            _LOGGER.warning("audit entry for %s %s queued: the database refused it (%s)", action, target, err)

    async def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 200,
        offset: int = 0,
        result: str | None = None,
        target_prefix: str | None = None,
        target_suffix: str | None = None,
        oldest_first: bool = False,
    ) -> list[AuditEntry]:
        """Return matching entries, newest first; ``since`` inclusive, ``until`` exclusive.

        ``target_prefix``/``target_suffix`` match the start or end of the target (the
        station's ``<hub>/<camera>`` targets by hub or by camera), taken literally.
        """
        return await self._select(
            actor=actor,
            action=action,
            target=target,
            since=since,
            until=until,
            limit=min(max(0, limit), _MAX_LIMIT),
            offset=max(0, offset),
            newest_first=not oldest_first,
            result=result,
            target_prefix=target_prefix,
            target_suffix=target_suffix,
        )

    async def export_csv(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> str:
        """Return every matching entry as CSV, oldest first (how a reader reads a log)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(_CSV_HEADER)
        offset = 0
        # Page through: an owner may export a year; one giant fetch would hold
        # the connection while the hub waits.  Ordering by id keeps pages stable
        # as new entries arrive (they only append at the end).
        while True:
            page = await self._select(
                actor=actor,
                action=action,
                target=target,
                since=since,
                until=until,
                limit=_EXPORT_PAGE,
                offset=offset,
                newest_first=False,
            )
            for entry in page:
                writer.writerow(
                    [
                        entry.id,
                        _iso(entry.ts),
                        entry.ts,
                        *(_csv_cell(v) for v in (entry.actor, entry.role, entry.action, entry.target)),
                        _csv_cell(to_json(entry.detail)),
                        *(_csv_cell(v) for v in (entry.source, entry.ip, entry.result)),
                    ]
                )
            if len(page) < _EXPORT_PAGE:
                break
            offset += len(page)
        return out.getvalue()

    async def _select(
        self,
        *,
        actor: str | None,
        action: str | None,
        target: str | None,
        since: float | None,
        until: float | None,
        limit: int,
        offset: int,
        newest_first: bool,
        result: str | None = None,
        target_prefix: str | None = None,
        target_suffix: str | None = None,
    ) -> list[AuditEntry]:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("actor", actor), ("action", action), ("target", target), ("result", result)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if target_prefix:
            where.append("target LIKE ? ESCAPE '\\'")
            params.append(_like(target_prefix) + "%")
        if target_suffix:
            where.append("target LIKE ? ESCAPE '\\'")
            params.append("%" + _like(target_suffix))
        if since is not None:
            where.append("ts >= ?")
            params.append(since)
        if until is not None:
            where.append("ts < ?")
            params.append(until)
        sql = f"SELECT {_COLUMNS} FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts DESC, id DESC" if newest_first else " ORDER BY id"
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
        rows = await self._storage.fetchall(sql, params)
        return [
            AuditEntry(
                id=row["id"],
                ts=row["ts"],
                actor=row["actor"] or "",
                role=row["role"] or "",
                action=row["action"] or "",
                target=row["target"] or "",
                detail=_as_dict(from_json(row["detail"])),
                source=row["source"] or "",
                ip=row["ip"] or "",
                result=row["result"] or "",
            )
            for row in rows
        ]


def _like(text: str) -> str:
    """Escape LIKE's wildcards so a name is matched literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
