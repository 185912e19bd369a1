"""The running console: follows the station's bus, feeds the live board, and owns the parts.

It turns the station's ``federated_incident`` / ``federated_snapshot`` events
into ``ccoc_incident`` (the incident as the board shows it, thumbnails and
queued commands included), hub link changes into ``ccoc_hub``, and command
answers into ``ccoc_command``; ``/api/stream`` carries all three to the
browsers.  It also records hub link history for the KPIs, delivers queued
commands when a hub returns, and feeds the CAP push.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from hub.core.bus import Event
from integrations.ccoc.board import HubDirectory, board_item
from integrations.ccoc.cap import CapPusher, build_alert, identifier
from integrations.ccoc.delivery import Delivery
from integrations.ccoc.kpi import record_status
from integrations.ccoc.live import LIVE, LiveRelay
from integrations.ccoc.viewing import Viewing
from integrations.station.const import (
    EVENT_COMMAND_RESULT,
    EVENT_HUB_OFFLINE,
    EVENT_HUB_ONLINE,
    EVENT_HUB_SILENT,
    EVENT_INCIDENT,
    EVENT_PEER_COMMAND,
    EVENT_PEER_HUB,
    EVENT_PEER_INCIDENT,
    EVENT_SNAPSHOT,
)

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.ccoc.config import ConsoleConfig
    from integrations.station.runtime import Station

__all__ = ("Console", "EVENT_CCOC_INCIDENT", "EVENT_CCOC_HUB")

_LOGGER = logging.getLogger(__name__)

#: Streamed to consoles (hub/http/stream.py allowlist).
EVENT_CCOC_INCIDENT = "ccoc_incident"
EVENT_CCOC_HUB = "ccoc_hub"


class Console:
    """The CCOC console of one station."""

    def __init__(self, hub: Hub, station: Station, cfg: ConsoleConfig) -> None:
        self.hub = hub
        self.station = station
        self.cfg = cfg
        self.hubs = HubDirectory(station)
        self.delivery = Delivery(hub, station, cfg)
        self.viewing = Viewing(hub, station, cfg, self.delivery, self.hubs)
        self.cap = CapPusher(hub, cfg.cap) if cfg.cap.push_url else None
        self.live = LiveRelay(hub, self)
        self._unsubs: list[Any] = []
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Follow the bus and start the delivery (and CAP push) loops."""
        await self.delivery.adopt_old_commands()
        bus = self.hub.bus
        self._unsubs += [
            bus.listen(EVENT_INCIDENT, self._on_incident),
            bus.listen(EVENT_SNAPSHOT, self._on_snapshot),
            bus.listen(EVENT_HUB_ONLINE, self._on_hub),
            bus.listen(EVENT_HUB_OFFLINE, self._on_hub),
            bus.listen(EVENT_HUB_SILENT, self._on_hub),
            bus.listen(EVENT_COMMAND_RESULT, self._on_result),
            bus.listen(EVENT_PEER_INCIDENT, self._on_peer_incident),
            bus.listen(EVENT_PEER_HUB, self._on_peer_hub),
            bus.listen(EVENT_PEER_COMMAND, self._on_result),
        ]
        now = self.hub.clock.time()
        for status in list(self.station.ingest.statuses.values()):
            await record_status(self.hub, status.hub_id, status.status, status.status_since or now)
        spawn = self.hub.create_background_task
        self._tasks.append(spawn(self.delivery.run(), "console delivery"))
        if self.cap is not None:
            self._tasks.append(spawn(self.cap.run(), "console CAP push"))
        await self.live.start()
        self.hub.data[LIVE] = self.live

    async def stop(self) -> None:
        """Stop following the bus and the loops."""
        self.hub.data.pop(LIVE)
        await self.live.stop()
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- the board ---------------------------------------------------------------------------------

    async def item(self, hub_id: str, incident_id: str) -> dict[str, Any] | None:
        """Return one incident as the board shows it."""
        inc = await self.station.store.incident(incident_id, hub_id)
        if inc is None:
            return None
        # One incident's commands by index: every announce used to read every pending command.
        pending = await self.delivery.pending_for(hub_id, incident_id)
        return board_item(inc, await self.hubs.get(hub_id), pending)

    async def board(self, limit: int = 300) -> list[dict[str, Any]]:
        """Return every open incident, newest first."""
        pending = await self.delivery.pending_by_incident()
        directory = await self.hubs.all()
        items = []
        for summary in await self.station.store.incidents(status="active", limit=limit):
            inc = await self.station.store.incident(summary["id"], summary["hub_id"])
            if inc is not None:
                key = (inc["hub_id"], inc["id"])
                items.append(board_item(inc, directory.get(inc["hub_id"]), pending.get(key, [])))
        return items

    async def announce(self, hub_id: str, incident_id: str, change: str = "updated") -> None:
        """Put the incident's current board view on the bus (and in the CAP push)."""
        item = await self.item(hub_id, incident_id)
        if item is None:
            return
        self.hub.bus.fire(EVENT_CCOC_INCIDENT, {"change": change, "incident": item})
        # A hub or button that stopped reporting is a fault for the CCOC, not a public alert.
        if self.cap is not None and change != "snapshot" and item["kind"] != "supervision":
            await self.queue_cap(hub_id, incident_id)

    async def cap_xml(self, hub_id: str, incident_id: str) -> tuple[str, bytes] | None:
        """Return (identifier, CAP XML) of the incident's current version, or None."""
        inc = await self.station.store.incident(incident_id, hub_id)
        if inc is None:
            return None
        hub = await self.hubs.get(hub_id)
        public = self.hub.core.web.public_url
        web_url = f"{public.rstrip('/')}/ccoc/incidents/{hub_id}/{incident_id}" if public else None
        xml = build_alert(
            inc,
            hub,
            station_id=self.station.id,
            station_name=self.hub.name,
            cfg=self.cfg.cap,
            tz=self.hub.clock.tz,
            web_url=web_url,
        )
        first = inc.get("status") == "open" or inc.get("updated_at") == inc.get("opened_at")
        return identifier(self.station.id, inc, first=first), xml

    async def queue_cap(self, hub_id: str, incident_id: str) -> None:
        """Queue the incident's current CAP message for the push."""
        if self.cap is None:
            return
        made = await self.cap_xml(hub_id, incident_id)
        if made is not None:
            await self.cap.enqueue(made[0], hub_id, incident_id, made[1])

    # -- listeners ----------------------------------------------------------------------------------

    async def _on_incident(self, event: Event) -> None:
        data = event.data
        try:
            await self.announce(
                str(data["hub_id"]), str(data["incident_id"]), str(data.get("action") or "updated")
            )
        except Exception:
            _LOGGER.exception("Console: could not announce incident %s", data.get("incident_id"))

    async def _on_snapshot(self, event: Event) -> None:
        incident_id = event.data.get("incident_id")
        if incident_id:
            with contextlib.suppress(Exception):
                await self.announce(str(event.data["hub_id"]), str(incident_id), "snapshot")

    async def _on_hub(self, event: Event) -> None:
        hub_id = str(event.data.get("hub_id"))
        status = {EVENT_HUB_ONLINE: "online", EVENT_HUB_OFFLINE: "offline", EVENT_HUB_SILENT: "silent"}[
            event.event_type
        ]
        self.hubs.invalidate()
        # When the link changed, not when this listener got its turn: a hub is online from
        # the message that showed it (the station may store it a moment later).
        seen = event.data.get("last_seen")
        at = float(seen) if status == "online" and isinstance(seen, int | float) else event.time_fired
        try:
            await record_status(self.hub, hub_id, status, at)
            self.hub.bus.fire(
                EVENT_CCOC_HUB,
                {
                    "hub_id": hub_id,
                    "status": status,
                    "last_seen": event.data.get("last_seen"),
                    "reason": event.data.get("reason"),
                },
            )
            if status == "online":
                await self.delivery.flush(hub_id)
        except Exception:
            _LOGGER.exception("Console: could not handle hub %s going %s", hub_id, status)

    async def _on_peer_incident(self, event: Event) -> None:
        # Another station worker stored it (its CAP push and automations ran there): only
        # this worker's boards need to see it.
        data = event.data
        try:
            item = await self.item(str(data["hub_id"]), str(data["incident_id"]))
            if item is not None:
                self.hub.bus.fire(
                    EVENT_CCOC_INCIDENT, {"change": str(data.get("change") or "updated"), "incident": item}
                )
        except Exception:
            _LOGGER.exception("Console: could not show another worker's incident %s", data.get("incident_id"))

    def _on_peer_hub(self, event: Event) -> None:
        self.hubs.invalidate()
        data = event.data
        self.hub.bus.fire(
            EVENT_CCOC_HUB,
            {"hub_id": data.get("hub_id"), "status": data.get("status"), "last_seen": None, "reason": None},
        )

    async def _on_result(self, event: Event) -> None:
        try:
            await self.delivery.on_result(dict(event.data))
        except Exception:
            _LOGGER.exception("Console: could not record a command result")
