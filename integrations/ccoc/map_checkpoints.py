"""ตู้แดง patrol checkpoints on the CCOC map, with each box's last proven check-in.

The boxes come from each hub's registry (``plugins.patrol_qr.checkpoints``:
id, name, location, risk; never a sheet link) and the last visits from its
health report (``info.patrol_qr.last_visits``, refreshed every
``health_interval``).  A box visited within :data:`FRESH_HOURS` is drawn filled
red; one not visited since, or never, is drawn hollow, so a gap shows at a glance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from hub.i18n import format_time
from integrations.ccoc.labels import labels

__all__ = ("FRESH_HOURS", "Checkpoint", "checkpoints", "COLOUR")

#: A box visited within this many hours counts as recently patrolled on the map.
FRESH_HOURS = 24
#: The red of a ตู้แดง.
COLOUR = "#dc2626"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One box on the map."""

    hub_id: str
    hub_name: str
    id: str
    name: str
    lat: float
    lon: float
    risk: str
    #: Latest proven check-in (UNIX seconds), None if none reported.
    last_visit: float | None
    #: ``fresh`` (visited within FRESH_HOURS), ``stale`` or ``never``.
    state: str
    #: "ตู้แดงซอย 3 · ตรวจล่าสุด 1 ม.ค. 2569 14:30", in the page's language.
    label: str

    def as_dict(self) -> dict[str, Any]:
        """Return the map script's form."""
        return {
            "hub_id": self.hub_id,
            "hub_name": self.hub_name,
            "id": self.id,
            "name": self.name,
            "lat": self.lat,
            "lon": self.lon,
            "risk": self.risk,
            "last_visit": self.last_visit,
            "state": self.state,
            "label": self.label,
            "colour": COLOUR,
        }


def _last_visits(health: Mapping[str, Any]) -> dict[str, float]:
    info = ((health.get("info") or {}).get("patrol_qr") or {}) if isinstance(health, Mapping) else {}
    out: dict[str, float] = {}
    for item in info.get("last_visits") or [] if isinstance(info, Mapping) else []:
        if isinstance(item, Mapping) and isinstance(item.get("ts"), int | float):
            out[str(item.get("checkpoint_id"))] = float(item["ts"])
    return out


def checkpoints(hubs: Iterable[Mapping[str, Any]], *, now: float, tz: tzinfo, lang: str) -> list[Checkpoint]:
    """Return every hub's boxes that have a position, with their last visit."""
    words = labels(lang)
    box_word, last_word, never_word = words["checkpoint"], words["last_checkin"], words["never_checked"]
    out: list[Checkpoint] = []
    for hub in hubs:
        registry = hub.get("registry") or {}
        patrol = (registry.get("plugins") or {}).get("patrol_qr") or {}
        boxes = patrol.get("checkpoints") if isinstance(patrol, Mapping) else None
        if not isinstance(boxes, list):
            continue
        visits = _last_visits(hub.get("health") or {})
        for box in boxes:
            loc = box.get("location") if isinstance(box, Mapping) else None
            if not isinstance(loc, Mapping) or not isinstance(loc.get("lat"), int | float):
                continue
            if not isinstance(loc.get("lon"), int | float):
                continue
            cp_id = str(box.get("id") or "")
            name = str(box.get("name") or cp_id or box_word)
            last = visits.get(cp_id)
            if last is None:
                state, when = "never", never_word
            else:
                state = "fresh" if now - last <= FRESH_HOURS * 3600 else "stale"
                when = f"{last_word.lower()} {format_time(last, lang, tz, seconds=False)}"
            out.append(
                Checkpoint(
                    hub_id=str(hub.get("id") or ""),
                    hub_name=str(hub.get("name") or hub.get("id") or ""),
                    id=cp_id,
                    name=name,
                    lat=float(loc["lat"]),
                    lon=float(loc["lon"]),
                    risk=str(box.get("risk") or ""),
                    last_visit=last,
                    state=state,
                    label=f"{name} · {when}",
                )
            )
    return out
