"""A hub that stops reporting is an incident on the CCOC board, within its detection time.

The ingest marks a hub ``silent`` when it has said nothing for its detection
time (``station.supervision``: its heartbeat interval × missed beats + grace),
and ``offline`` when its last will arrives (the broker saw the connection die)
or the hub says goodbye.  An officer watching the board must see that, not a
row turning grey on another page, so the station opens an incident of kind
``supervision`` about the hub:

* silent, or dropped off without a goodbye (its will): at once;
* stopped cleanly (an upgrade, a restart): only if it is not back within its
  detection time, so a restart is not an alarm but a box switched off is;
* back online: the incident is closed with how long the hub was gone.

These incidents are the station's own (``data.station_made``): they live in
the station store beside the hubs' incidents, under the hub's id, so the
board, the KPIs (a kind of their own) and CAP treat them alike; an officer's
acknowledge, note or close on one is written here, never sent to the hub,
which knows nothing of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from hub.core.bus import Event
from hub.core.ids import ulid
from hub.i18n import translate
from integrations.station.const import (
    EVENT_HUB_OFFLINE,
    EVENT_HUB_ONLINE,
    EVENT_HUB_SILENT,
    EVENT_INCIDENT,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    STATUS_SILENT,
)

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.station.runtime import Station

__all__ = ("HubSupervisor", "KIND_SUPERVISION", "STATION_ACTOR", "local_action")

_LOGGER = logging.getLogger(__name__)

KIND_SUPERVISION = "supervision"
STATION_ACTOR = "station"
#: The reason a hub gives when it stops on purpose (integrations.federation.uplink).
_CLEAN_STOP = "hub stopped"


class HubSupervisor:
    """Opens and closes the station's supervision incidents about its hubs."""

    def __init__(self, hub: Hub, station: Station) -> None:
        self.hub = hub
        self.station = station
        self.cfg = station.cfg.supervision
        #: Hub id → its open supervision incident's id.
        self.open: dict[str, str] = {}
        #: Hub id → why it went offline (its will says "connection lost", a goodbye "hub stopped").
        self._reasons: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._unsubs: list[Any] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Pick up incidents left open by a previous run, follow link changes, and check periodically."""
        for inc in await self.station.store.incidents(status="active", kind=KIND_SUPERVISION, limit=1000):
            if (inc.get("data") or {}).get("station_made"):
                self.open.setdefault(inc["hub_id"], inc["id"])
        bus = self.hub.bus
        self._unsubs = [
            bus.listen(e, self._on_link) for e in (EVENT_HUB_SILENT, EVENT_HUB_OFFLINE, EVENT_HUB_ONLINE)
        ]
        self._task = self.hub.create_background_task(self._loop(), "station supervision")

    async def stop(self) -> None:
        """Stop following the bus."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _on_link(self, event: Event) -> None:
        if event.event_type == EVENT_HUB_OFFLINE:
            self._reasons[str(event.data.get("hub_id"))] = str(event.data.get("reason") or "")
        try:
            await self.check()
        except Exception:
            _LOGGER.exception("Station: supervision check failed")

    async def _loop(self) -> None:
        while True:
            await self.hub.clock.sleep(self.cfg.check_interval)
            try:
                await self.check()
            except Exception:
                _LOGGER.exception("Station: supervision check failed")

    async def check(self) -> None:
        """Open an incident for each hub that lost supervision, close the ones whose hub is back."""
        if not self.cfg.incidents:
            return
        async with self._lock:
            ingest = self.station.ingest
            now = self.hub.clock.time()
            for hub_id, status in list(ingest.statuses.items()):
                if hub_id not in ingest.registered:
                    continue
                if status.status == STATUS_ONLINE:
                    if hub_id in self.open:
                        await self._close(hub_id, status.status_since or now)
                    continue
                if hub_id in self.open:
                    continue
                sup = ingest.supervision(hub_id)
                if status.status == STATUS_SILENT:
                    await self._open(hub_id, "hub_silent", status.last_seen, sup)
                elif status.status == STATUS_OFFLINE:
                    reason = self._reasons.get(hub_id)
                    since = status.status_since or now
                    if reason is not None and reason != _CLEAN_STOP:
                        await self._open(hub_id, "hub_lost", status.last_seen, sup)
                    elif now - since >= sup["detection_time"]:
                        # A clean stop (or one from before our restart) that did not come back.
                        await self._open(hub_id, "hub_stopped", status.last_seen, sup)

    async def _name(self, hub_id: str) -> tuple[str, dict[str, Any] | None]:
        item = await self.station.store.hub(hub_id)
        name = str((item or {}).get("name") or hub_id)
        location = (item or {}).get("location")
        return name, location if isinstance(location, dict) else None

    async def _open(self, hub_id: str, check: str, last_seen: float | None, sup: dict[str, Any]) -> None:
        now = self.hub.clock.time()
        lang = self.hub.core.language
        name, location = await self._name(hub_id)
        quiet = max(0.0, now - last_seen) if last_seen is not None else None
        minutes = f"{quiet / 60:.0f}" if quiet is not None else "?"
        incident: dict[str, Any] = {
            "id": ulid(),
            "kind": KIND_SUPERVISION,
            "severity": "high",
            "status": "open",
            "title": translate(f"supervision.{check}_title", lang, name=name),
            "place": name,
            "location": location,
            "entities": [],
            "data": {
                "station_made": True,
                "check": check,
                "last_seen": last_seen,
                "interval": sup["interval"],
                "interval_source": sup["interval_source"],
                "detection_time": sup["detection_time"],
            },
            "opened_at": now,
            "updated_at": now,
        }
        entry = {
            "id": ulid(),
            "ts": now,
            "actor": STATION_ACTOR,
            "kind": "opened",
            "text": translate(
                f"supervision.{check}_text",
                lang,
                minutes=minutes,
                detection=f"{sup['detection_time']:.0f}",
                interval=f"{sup['interval']:.0f}",
            ),
            "data": {"check": check},
        }
        await self.station.store.record_incident(hub_id, incident, entry)
        self.open[hub_id] = str(incident["id"])
        _LOGGER.warning("Station: hub %s lost supervision (%s): incident %s", hub_id, check, incident["id"])
        self._announce(hub_id, incident, entry, "opened")

    async def _close(self, hub_id: str, back_at: float) -> None:
        incident_id = self.open.pop(hub_id)
        inc = await self.station.store.incident(incident_id, hub_id)
        if inc is None or inc.get("status") == "closed":
            return
        now = self.hub.clock.time()
        gone = max(0.0, back_at - float(inc.get("opened_at") or back_at))
        entry = {
            "id": ulid(),
            "ts": now,
            "actor": STATION_ACTOR,
            "kind": "closed",
            "text": translate("supervision.back_text", self.hub.core.language, minutes=f"{gone / 60:.0f}"),
            "data": {"back_at": back_at},
        }
        closed = {**inc, "status": "closed", "closed_at": now, "updated_at": now}
        await self.station.store.record_incident(hub_id, closed, entry)
        self._announce(hub_id, closed, entry, "closed")

    def _announce(self, hub_id: str, inc: dict[str, Any], entry: dict[str, Any], action: str) -> None:
        """Tell the board (and station automations) as a hub's incident message would."""
        self.hub.bus.fire(
            EVENT_INCIDENT,
            {
                "hub_id": hub_id,
                "incident_id": inc["id"],
                "action": action,
                "kind": inc["kind"],
                "status": inc["status"],
                "severity": inc["severity"],
                "title": inc["title"],
                "entry": entry,
                "message_id": entry["id"],
                "station_made": True,
            },
        )


async def local_action(
    hub: Hub,
    station: Station,
    inc: dict[str, Any],
    action: str,
    *,
    text: str,
    actor: str,
    unit: str = "",
) -> dict[str, Any]:
    """Record an officer's acknowledge, dispatch, note or close on a station-made incident."""
    now = hub.clock.time()
    updated = {**inc, "updated_at": now}
    if action == "ack" and not inc.get("acknowledged_at"):
        updated.update(status="acknowledged", acknowledged_at=now, acknowledged_by=actor)
    elif action == "dispatch":
        updated["status"] = "dispatched"
    elif action == "close":
        updated.update(status="closed", closed_at=now)
    entry = {
        "id": ulid(),
        "ts": now,
        "actor": actor,
        "kind": {"ack": "acknowledged", "dispatch": "dispatched", "note": "note", "close": "closed"}[action],
        "text": " ".join(p for p in (unit, text) if p),
        "data": {"unit": unit} if unit else {},
    }
    await station.store.record_incident(inc["hub_id"], updated, entry)
    supervisor: HubSupervisor | None = getattr(station, "supervisor", None)
    if action == "close" and supervisor is not None and supervisor.open.get(inc["hub_id"]) == inc["id"]:
        supervisor.open.pop(inc["hub_id"])  # a hub still down gets a new one at the next check
    hub.bus.fire(
        EVENT_INCIDENT,
        {
            "hub_id": inc["hub_id"],
            "incident_id": inc["id"],
            "action": "closed" if action == "close" else "updated",
            "kind": updated["kind"],
            "status": updated["status"],
            "severity": updated["severity"],
            "title": updated["title"],
            "entry": entry,
            "message_id": entry["id"],
            "station_made": True,
        },
    )
    return {"incident_id": inc["id"], "action": action, "status": updated["status"], "local": True}
