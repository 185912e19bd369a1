"""The station audit page's query and its CSV export (UTF-8 with a BOM, so Excel shows Thai).

Reads the core's audit log through ``hub.audit.query`` with the filters a
supervisor needs: time range, officer, action, hub, camera and result.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.audit import AuditEntry

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


#: Rows per read while exporting (the core caps one query; the CSV may hold a year).
_PAGE = 5_000


async def query(
    hub: Hub, flt: AuditFilter, *, limit: int = 500, oldest_first: bool = False
) -> list[dict[str, Any]]:
    """Return matching entries (newest first unless ``oldest_first``)."""
    wanted = max(1, min(limit, 100_000))
    out: list[dict[str, Any]] = []
    while len(out) < wanted:
        page = await hub.audit.query(
            actor=flt.actor or None,
            action=flt.action or None,
            result=flt.result or None,
            since=flt.since,
            until=flt.until,
            target_prefix=flt.hub_id + "/" if flt.hub_id else None,
            target_suffix="/" + flt.camera if flt.camera else None,
            oldest_first=oldest_first,
            limit=min(_PAGE, wanted - len(out)),
            offset=len(out),
        )
        out += [_entry(e) for e in page]
        if len(page) < _PAGE:
            break
    return out


def _entry(e: AuditEntry) -> dict[str, Any]:
    hub_id, _, camera = e.target.partition("/")
    return {
        "id": e.id,
        "ts": e.ts,
        "actor": e.actor,
        "role": e.role,
        "action": e.action,
        "target": e.target,
        "hub_id": hub_id if camera else "",
        "camera": camera,
        "reason": str(e.detail.get("reason") or ""),
        "incident_id": str(e.detail.get("incident_id") or ""),
        "detail": e.detail,
        "source": e.source,
        "ip": e.ip,
        "result": e.result,
    }


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
