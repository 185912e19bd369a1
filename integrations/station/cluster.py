"""Several station workers on one PostgreSQL: what one stores, every worker's consoles see.

Workers share the broker's ``$share/<group>/…`` subscription, so each
message reaches *one* of them; that worker stores it, acknowledges it after
the commit and fires the station's bus events (automations, the CAP push and
LINE run once, where the message landed).  The officers watching the other
workers' consoles must see it too.  PostgreSQL carries that news itself:
the store sends a ``NOTIFY`` in the very transaction that stored the rows
(:class:`~integrations.station.store_pg.PgStationStore`), so it is delivered
only if they committed, and every other worker ``LISTEN``\\ s here and
re-reads what it shows from the database, never from the notice.

A worker that hears of another's incident fires ``station_peer_incident``,
which the CCOC console turns into its live board event (``ccoc_incident``)
and nothing else: the incident's automations ran on the worker that stored
it.  A hub's link change updates this worker's view of the hub and fires
``station_peer_hub`` (the console's ``ccoc_hub``), without re-running the
station's own listeners.  A hub's answer to a command, stored by another
worker, wakes whoever waits for it here (``POST …/commands`` with ``wait``)
and fires ``station_peer_command`` (the console's ``ccoc_command``).  A footage
request another worker changed (its rows are shared) is re-read and announced
to this worker's consoles (``ccoc_footage``).
Notices are small (keys only) and at most a few per batch: telemetry is not
announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from integrations.station.const import (
    EVENT_PEER_COMMAND,
    EVENT_PEER_HUB,
    EVENT_PEER_INCIDENT,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    STATUS_SILENT,
)

if TYPE_CHECKING:
    from hub.database_pg import Listener
    from hub.hub import Hub
    from integrations.station.runtime import Station
    from integrations.station.store_pg import PgStationStore

__all__ = ("PeerRelay", "CHANNEL", "NOTICE_MAX")

_LOGGER = logging.getLogger(__name__)

#: The channel the station's workers talk on (one database per station).
CHANNEL = "ssz_station"
#: Notes per NOTIFY (PostgreSQL's payload limit is 8,000 bytes; a note is under 150).
NOTICE_MAX = 40


def notices(worker: str, notes: list[dict[str, Any]]) -> list[str]:
    """Return the NOTIFY payloads for ``notes`` (sent by ``worker``)."""
    return [
        json.dumps({"w": worker, "n": notes[i : i + NOTICE_MAX]}, separators=(",", ":"), ensure_ascii=True)
        for i in range(0, len(notes), NOTICE_MAX)
    ]


class PeerRelay:
    """Listens for the other workers' notices and replays them to this worker's consoles."""

    def __init__(self, hub: Hub, station: Station, store: PgStationStore) -> None:
        self.hub = hub
        self.station = station
        self.store = store
        self._listener: Listener = store.database.listen(CHANNEL)
        self._tasks: set[asyncio.Task[None]] = set()
        #: Incidents (and their pictures) other workers stored, announced here (API, tests).
        self.heard = 0

    async def start(self) -> None:
        """Start listening (on a thread and connection of its own)."""
        # LISTEN is in place before the first message is taken.
        await self._listener.start(self._heard, name="station-peers")

    async def stop(self) -> None:
        """Stop listening and finish what is being replayed."""
        await self._listener.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _heard(self, payload: str) -> None:
        try:
            notice = json.loads(payload)
            if notice.get("w") == self.store.worker:
                return  # our own: this worker's listeners already ran
            notes = [n for n in notice.get("n") or () if isinstance(n, dict)]
        except (ValueError, AttributeError):
            _LOGGER.warning("Station: a peer notice that is not ours: %.100r", payload)
            return
        task = self.hub.loop.create_task(self._replay(notes), name="station peer notice")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _replay(self, notes: list[dict[str, Any]]) -> None:
        for note in notes:
            try:
                kind = note.get("k")
                if kind in ("incident", "snapshot"):
                    await self._incident(
                        str(note["hub"]), str(note["incident"]), str(note.get("change") or kind)
                    )
                elif kind == "hub":
                    self._hub(str(note["hub"]), str(note["status"]), float(note["at"]))
                elif kind == "command":
                    await self.station.peer_command(str(note["id"]))
                    self.hub.bus.fire(EVENT_PEER_COMMAND, {"command_id": str(note["id"])})
                elif kind == "footage":
                    await self._footage(str(note["id"]))
            except Exception:
                _LOGGER.exception("Station: could not replay a peer's notice %r", note)

    async def _footage(self, request_id: str) -> None:
        # The footage desk's rows are shared: this worker's consoles see the change, read here.
        from integrations.station.footage import FOOTAGE

        desk = self.hub.data.get(FOOTAGE)
        if desk is None:
            return
        found = await desk.get(request_id)
        if found is not None:
            desk.announce_here(found)

    async def _incident(self, hub_id: str, incident_id: str, change: str) -> None:
        self.heard += 1
        self.hub.bus.fire(
            EVENT_PEER_INCIDENT, {"hub_id": hub_id, "incident_id": incident_id, "change": change}
        )

    def _hub(self, hub_id: str, status: str, at: float) -> None:
        if status not in (STATUS_ONLINE, STATUS_OFFLINE, STATUS_SILENT):
            return
        self.station.ingest.peer_status(hub_id, status, at)
        self.hub.bus.fire(EVENT_PEER_HUB, {"hub_id": hub_id, "status": status, "at": at})
