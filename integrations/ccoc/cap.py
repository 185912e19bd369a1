"""OASIS CAP 1.2 for federated incidents: the export, and the optional push to other agencies.

One incident is a series of CAP messages from this station: the first
(``msgType`` Alert) when it opened, then an Update for each later version
(acknowledged, dispatched) that ``references`` the first, and an Update with
``responseType`` AllClear once closed.  Each message's ``identifier`` is fixed
by the incident version, so a push repeated after a failure is the same
message, and ``sent`` is that version's time with the station's UTC offset
(``+07:00``): the schema rejects ``Z`` and fractions of a second.

Built with ``xml.etree`` (no dependency); tests validate the result against
the OASIS XSD.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from hub.core.retry import Backoff

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.ccoc.config import CapConfig

__all__ = ("CAP_NS", "CAP_CONTENT_TYPE", "build_alert", "cap_time", "identifier", "CapPusher")

_LOGGER = logging.getLogger(__name__)

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_CONTENT_TYPE = "application/cap+xml"
_KEEP_SENT = 30 * 86400.0

#: Incident kind → CAP category.
_CATEGORY = {
    "sos": "Security",
    "alarm": "Security",
    "intrusion": "Security",
    "theft": "Security",
    "tip": "Security",
    "fire": "Fire",
    "medical": "Health",
    "flood": "Met",
    "traffic": "Transport",
}
#: Incident severity → CAP severity.
_SEVERITY = {"critical": "Extreme", "high": "Severe", "medium": "Moderate", "low": "Minor"}
_EVENT_TH = {
    "sos": "แจ้งเหตุฉุกเฉิน (SOS)",
    "alarm": "สัญญาณเตือนภัย",
    "tip": "เบาะแสจากประชาชน",
    "fire": "เพลิงไหม้",
    "medical": "เจ็บป่วยฉุกเฉิน",
}
#: Characters CAP forbids in identifier and sender.
_FORBIDDEN = str.maketrans({" ": "_", ",": "_", "<": "_", "&": "_"})


def cap_time(ts: float, tz: tzinfo) -> str:
    """Return ``YYYY-MM-DDThh:mm:ss+07:00``: whole seconds, an explicit offset (never ``Z``)."""
    stamp = datetime.fromtimestamp(int(ts), tz).isoformat(timespec="seconds")
    # A zone at UTC would print +00:00 already; only a naive time would lack the offset.
    return stamp if stamp[-6] in "+-" else stamp + "+00:00"


def identifier(station_id: str, inc: dict[str, Any], *, first: bool) -> str:
    """Return the message identifier of this version of the incident (stable per version)."""
    base = f"ssz.{station_id}.{inc['hub_id']}.{inc['id']}".translate(_FORBIDDEN)
    if first:
        return base
    return f"{base}.v{int(float(inc.get('updated_at') or 0) * 1000)}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    node = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        node.text = text
    return node


def _polygon(ring: list[list[float]] | None) -> str | None:
    """Return a CAP polygon (``lat,lon`` pairs, closed, at least 4 points) or None."""
    if not ring or len(ring) < 3:
        return None
    points = [(float(p[0]), float(p[1])) for p in ring]
    if points[0] != points[-1]:
        points.append(points[0])
    return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in points)


def build_alert(
    inc: dict[str, Any],
    hub: dict[str, Any] | None,
    *,
    station_id: str,
    station_name: str,
    cfg: CapConfig,
    tz: tzinfo,
    web_url: str | None = None,
) -> bytes:
    """Return the CAP 1.2 message for the incident's current version (UTF-8 XML)."""
    ET.register_namespace("", CAP_NS)
    status = str(inc.get("status") or "open")
    first = status == "open" or not inc.get("updated_at") or inc.get("updated_at") == inc.get("opened_at")
    sender = cfg.sender or f"ccoc.{station_id}".translate(_FORBIDDEN)
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", identifier(station_id, inc, first=first))
    _sub(alert, "sender", sender)
    sent_ts = float((inc.get("opened_at") if first else inc.get("updated_at")) or 0)
    _sub(alert, "sent", cap_time(sent_ts, tz))
    # A drill is an Exercise, whatever the feed's usual status (CAP 1.2 §3.2.1; DESIGN §13).
    _sub(alert, "status", "Exercise" if inc.get("drill") else cfg.status)
    _sub(alert, "msgType", "Alert" if first else "Update")
    _sub(alert, "source", f"SafetyHub hub {inc['hub_id']}")
    _sub(alert, "scope", cfg.scope)
    if cfg.scope == "Restricted":
        _sub(alert, "restriction", cfg.restriction)
    if cfg.scope == "Private" and cfg.addresses:
        _sub(alert, "addresses", cfg.addresses)
    if not first:
        original = identifier(station_id, inc, first=True)
        _sub(alert, "references", f"{sender},{original},{cap_time(float(inc.get('opened_at') or 0), tz)}")
    _sub(alert, "incidents", str(inc["id"]).translate(_FORBIDDEN))

    kind = str(inc.get("kind") or "other")
    info = _sub(alert, "info")
    _sub(info, "language", "th-TH")
    _sub(info, "category", _CATEGORY.get(kind, "Other"))
    _sub(info, "event", _EVENT_TH.get(kind, kind))
    closed = status == "closed"
    _sub(info, "responseType", "AllClear" if closed else "Monitor")
    _sub(info, "urgency", "Past" if closed else "Immediate")
    _sub(info, "severity", _SEVERITY.get(str(inc.get("severity") or ""), "Unknown"))
    _sub(info, "certainty", "Observed" if kind in ("sos", "alarm") else "Likely")
    _sub(info, "senderName", station_name)
    hub_name = (hub or {}).get("name") or inc["hub_id"]
    headline = str(inc.get("title") or kind)
    _sub(info, "headline", headline[:160])
    lines = [f"{headline} — {inc.get('place') or hub_name}", f"สถานะ/status: {status}"]
    if inc.get("drill"):
        lines.insert(0, "ฝึกซ้อม ไม่ใช่เหตุจริง / DRILL, not a real alarm")
    if inc.get("acknowledged_by"):
        lines.append(f"รับทราบโดย/acknowledged by: {inc['acknowledged_by']}")
    _sub(info, "description", "\n".join(lines))
    if web_url:
        _sub(info, "web", web_url)
    for name, value in (
        ("hub_id", inc["hub_id"]),
        ("incident_id", inc["id"]),
        ("status", status),
        ("severity", inc.get("severity") or ""),
    ):
        param = _sub(info, "parameter")
        _sub(param, "valueName", name)
        _sub(param, "value", str(value))

    area = _sub(info, "area")
    _sub(area, "areaDesc", str(inc.get("place") or hub_name))
    registry = (hub or {}).get("registry") or {}
    zone = (registry.get("plugins") or {}).get("zone") or {}
    polygon = _polygon(zone.get("polygon"))
    if polygon:
        _sub(area, "polygon", polygon)
    location = inc.get("location") or (hub or {}).get("location")
    if isinstance(location, dict) and location.get("lat") is not None and location.get("lon") is not None:
        # A point as a small circle (radius in km): CAP has no bare point.
        _sub(area, "circle", f"{float(location['lat']):.6f},{float(location['lon']):.6f} 0.1")
    body: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


class CapPusher:
    """Pushes CAP messages to the configured URL through a durable outbox, retrying with backoff."""

    def __init__(self, hub: Hub, cfg: CapConfig) -> None:
        self.hub = hub
        self.cfg = cfg
        self._wake = asyncio.Event()
        # One push at a time: the timer and a caller must not send the same row twice.
        self._lock = asyncio.Lock()
        self.pushed = 0
        self.failed = 0

    async def enqueue(self, ident: str, hub_id: str, incident_id: str, xml: bytes) -> None:
        """Queue one message (a repeat of the same identifier is ignored)."""
        await self.hub.storage.execute(
            "INSERT OR IGNORE INTO ccoc_cap_outbox (identifier, hub_id, incident_id, xml, created, next_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ident, hub_id, incident_id, xml, self.hub.clock.time(), self.hub.clock.time()),
        )
        self._wake.set()

    async def pending(self) -> list[dict[str, Any]]:
        """Return messages not yet accepted by the receiver."""
        rows = await self.hub.storage.fetchall(
            "SELECT identifier, hub_id, incident_id, attempts, next_at, last_error FROM ccoc_cap_outbox "
            "WHERE sent_at IS NULL ORDER BY created"
        )
        return [dict(r) for r in rows]

    async def push_due(self) -> int:
        """Send every due message once; return how many the receiver accepted."""
        async with self._lock:
            return await self._push_due()

    async def _push_due(self) -> int:
        import aiohttp

        assert self.cfg.push_url is not None
        now = self.hub.clock.time()
        rows = await self.hub.storage.fetchall(
            "SELECT * FROM ccoc_cap_outbox WHERE sent_at IS NULL AND next_at <= ? ORDER BY created LIMIT 100",
            (now,),
        )
        headers = {"Content-Type": f"{CAP_CONTENT_TYPE}; charset=utf-8"}
        if self.cfg.push_token:
            headers["Authorization"] = f"Bearer {self.cfg.push_token}"
        accepted = 0
        timeout = aiohttp.ClientTimeout(total=self.cfg.push_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for row in rows:
                error: str | None = None
                try:
                    async with session.post(
                        self.cfg.push_url, data=bytes(row["xml"]), headers=headers
                    ) as resp:
                        if resp.status >= 300:
                            error = f"HTTP {resp.status}: {(await resp.text())[:200]}"
                except (aiohttp.ClientError, TimeoutError, OSError) as err:
                    error = f"{type(err).__name__}: {err}"[:300]
                if error is None:
                    accepted += 1
                    self.pushed += 1
                    await self.hub.storage.execute(
                        "UPDATE ccoc_cap_outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL "
                        "WHERE identifier = ?",
                        (self.hub.clock.time(), row["identifier"]),
                    )
                else:
                    self.failed += 1
                    first = self.cfg.push_retry
                    # Doubling at most ten times, and never more than an hour apart.
                    delay = Backoff(first, min(3600.0, first * 2**10)).delay(int(row["attempts"]) + 1)
                    _LOGGER.warning(
                        "CAP push of %s failed (%s); retry in %.0f s", row["identifier"], error, delay
                    )
                    await self.hub.storage.execute(
                        "UPDATE ccoc_cap_outbox SET attempts = attempts + 1, last_error = ?, next_at = ? "
                        "WHERE identifier = ?",
                        (error, self.hub.clock.time() + delay, row["identifier"]),
                    )
        return accepted

    async def run(self) -> None:
        """Push whenever something is queued, and retry on a timer."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.cfg.push_retry)
            self._wake.clear()
            try:
                await self.push_due()
                # Accepted messages are kept a month (to answer "did they get it?"), then dropped.
                await self.hub.storage.execute(
                    "DELETE FROM ccoc_cap_outbox WHERE sent_at IS NOT NULL AND sent_at < ?",
                    (self.hub.clock.time() - _KEEP_SENT,),
                )
            except Exception:
                _LOGGER.exception("CAP push failed")
