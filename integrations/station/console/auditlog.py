"""The station audit page's query and its CSV export (UTF-8 with a BOM, so Excel shows Thai).

Reads the core ``audit_log`` table (read-only) with the filters a supervisor
needs: time range, officer, action, hub, camera and result.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("AuditFilter", "query", "to_csv", "BOM")

BOM = "\ufeff"
_HEADER = (
    "id",
    "time",
    "actor",
    "role",
    "action",
    "target",
    "hub",
    "camera",
    "reason",
    "incident_id",
    "result",
    "source",
    "ip",
    "detail",
)


@dataclass(frozen=True)
class AuditFilter:
    """What the audit page shows; empty fields do not filter."""

    since: float | None = None
    until: float | None = None
    actor: str = ""
    action: str = ""
    hub_id: str = ""
    camera: str = ""
    result: str = ""


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def query(
    hub: Hub, flt: AuditFilter, *, limit: int = 500, oldest_first: bool = False
) -> list[dict[str, Any]]:
    """Return matching entries (newest first unless ``oldest_first``)."""
    where: list[str] = []
    params: list[Any] = []
    if flt.since is not None:
        where.append("ts >= ?")
        params.append(flt.since)
    if flt.until is not None:
        where.append("ts < ?")
        params.append(flt.until)
    for column, value in (("actor", flt.actor), ("action", flt.action), ("result", flt.result)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if flt.hub_id:
        where.append("target LIKE ? ESCAPE '\\'")
        params.append(_like(flt.hub_id) + "/%")
    if flt.camera:
        where.append("target LIKE ? ESCAPE '\\'")
        params.append("%/" + _like(flt.camera))
    sql = "SELECT id, ts, actor, role, action, target, detail, source, ip, result FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id" if oldest_first else " ORDER BY ts DESC, id DESC"
    sql += " LIMIT ?"
    params.append(max(1, min(limit, 100_000)))
    out = []
    for row in await hub.storage.fetchall(sql, params):
        try:
            detail = json.loads(row["detail"] or "{}")
        except ValueError:
            detail = {}
        target = str(row["target"] or "")
        hub_id, _, camera = target.partition("/")
        out.append(
            {
                "id": row["id"],
                "ts": row["ts"],
                "actor": row["actor"] or "",
                "role": row["role"] or "",
                "action": row["action"] or "",
                "target": target,
                "hub_id": hub_id if camera else "",
                "camera": camera,
                "reason": str(detail.get("reason") or "") if isinstance(detail, dict) else "",
                "incident_id": str(detail.get("incident_id") or "") if isinstance(detail, dict) else "",
                "detail": detail if isinstance(detail, dict) else {},
                "source": row["source"] or "",
                "ip": row["ip"] or "",
                "result": row["result"] or "",
            }
        )
    return out


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ runs as a formula in Excel: names and reasons come from people.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(entries: list[dict[str, Any]], tz: dt.tzinfo) -> str:
    """Return the entries as CSV text starting with a BOM (local times with their offset)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(_HEADER)
    for e in entries:
        when = dt.datetime.fromtimestamp(e["ts"], tz).isoformat(timespec="seconds")
        writer.writerow(
            [
                e["id"],
                when,
                *(
                    _cell(e[k])
                    for k in (
                        "actor",
                        "role",
                        "action",
                        "target",
                        "hub_id",
                        "camera",
                        "reason",
                        "incident_id",
                        "result",
                        "source",
                        "ip",
                    )
                ),
                _cell(json.dumps(e["detail"], ensure_ascii=False)),
            ]
        )
    return out.getvalue()
