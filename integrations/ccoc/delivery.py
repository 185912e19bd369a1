"""Commands from the console to hubs: sent, queued for an offline hub, or refused, never dropped.

Two kinds of command, because they age differently:

* **durable** ones (acknowledge, dispatch, note, close an incident, and the
  audit copy of a camera view) still mean the same in an hour.  When the hub
  is offline they are queued in the station store's command table, shown as
  "queued" on the board, and sent the moment the hub is back.  A sent one
  without an answer is sent again under the *same id* (the hub runs a
  command id at most once), so nothing is lost to a broker that expired it.
* **device** commands (flash a light, turn a camera, take a picture, post to
  LINE) are refused at once, with the reason, when the hub is not online: a
  light flashing an hour late is worse than an officer who knows it did not.
  One sent but never answered becomes "expired" once the broker would have
  dropped it.

Each command is one row of the station store's command table (the REST
API's commands are rows there too; the hub's answer is matched by
:mod:`integrations.station.runtime`) and an entry in the station's audit log.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.core.ids import ulid
from hub.http.routes import json_error
from hub.mqtt import MqttNotConnected, publish_properties
from hub.storage import from_json
from integrations.federation.const import (
    ALLOWED_COMMANDS,
    FOOTAGE_REQUEST_COMMAND,
    KIND_CMD,
    PROTOCOL_VERSION,
    STATION_VIEW_COMMAND,
)
from integrations.federation.protocol import dumps, topic
from integrations.station.const import AUDIT_COMMAND, STATUS_ONLINE
from integrations.station.store import CommandRecord

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.ccoc.config import ConsoleConfig
    from integrations.station.runtime import Station

__all__ = (
    "Delivery",
    "ConsoleError",
    "console_errors",
    "DURABLE_COMMANDS",
    "EVENT_CCOC_COMMAND",
    "FINAL_STATES",
)

_LOGGER = logging.getLogger(__name__)

#: Still meaningful when delivered late: queued for an offline hub, re-sent until answered.
DURABLE_COMMANDS = frozenset(
    {
        "incident.ack",
        "incident.dispatch",
        "incident.note",
        "incident.close",
        STATION_VIEW_COMMAND,
        FOOTAGE_REQUEST_COMMAND,
    }
)
#: States after which nothing more happens to a command.
FINAL_STATES = frozenset({"ok", "refused", "error", "expired", "failed"})
#: Streamed to consoles (hub/http/stream.py allowlist).
EVENT_CCOC_COMMAND = "ccoc_command"
_TICK = 5.0
_UNFINISHED = ("queued", "sent")


class ConsoleError(Exception):
    """A request the console refuses, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def console_errors(handler: Any) -> Any:
    """Wrap a console route: a ConsoleError becomes a JSON (API) or plain (page) answer with its status."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except ConsoleError as err:
            if request.path.startswith("/api/"):
                return json_error(err.status, str(err), **err.extra)
            return web.Response(status=err.status, text=str(err), content_type="text/plain")

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def _item(record: CommandRecord) -> dict[str, Any]:
    """The console's view of a command (its pages and script call the status ``state``)."""
    item = record.as_dict()
    item["state"] = item.pop("status")
    return item


class Delivery:
    """Sends, queues, re-sends and tracks console commands."""

    def __init__(self, hub: Hub, station: Station, cfg: ConsoleConfig) -> None:
        self.hub = hub
        self.station = station
        self.cfg = cfg
        self._lock = asyncio.Lock()

    # -- state -------------------------------------------------------------------------------

    def hub_online(self, hub_id: str) -> bool:
        """Return whether the hub is online now, as the station's link tracking sees it."""
        status = self.station.ingest.statuses.get(hub_id)
        return status is not None and status.status == STATUS_ONLINE

    def hub_state(self, hub_id: str) -> tuple[str, float | None]:
        """Return the hub's link state and when it was last heard from."""
        status = self.station.ingest.statuses.get(hub_id)
        if status is None:
            return "unknown", None
        return status.status, status.last_seen

    async def get(self, command_id: str) -> dict[str, Any] | None:
        """Return one command."""
        record = await self.station.store.command(command_id)
        return _item(record) if record is not None else None

    async def commands(
        self, *, hub_id: str | None = None, incident_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Return commands, newest first."""
        records = await self.station.store.commands(
            hub_id, incident_id=incident_id, limit=max(1, min(limit, 1000))
        )
        return [_item(r) for r in records]

    async def pending_by_incident(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Return unfinished incident actions (ack, dispatch, note, close), keyed by (hub id, incident id)."""
        records = await self.station.store.commands(
            statuses=_UNFINISHED, incident_actions=True, limit=10_000, oldest_first=True
        )
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for record in records:
            out.setdefault((record.hub_id, str(record.incident_id)), []).append(_item(record))
        return out

    async def pending_for(self, hub_id: str, incident_id: str) -> list[dict[str, Any]]:
        """Return one incident's unfinished actions (the board item of one announce)."""
        records = await self.station.store.commands(
            hub_id, incident_id=incident_id, statuses=_UNFINISHED, incident_actions=True, oldest_first=True
        )
        return [_item(r) for r in records]

    async def adopt_old_commands(self) -> int:
        """Move the commands a console from before the merge kept in the hub database; return how many."""
        found = await self.hub.storage.fetchone(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'ccoc_commands_moved'"
        )
        if found is None:
            return 0
        rows = await self.hub.storage.fetchall("SELECT * FROM ccoc_commands_moved")
        records = [
            CommandRecord(
                r["id"],
                r["hub_id"],
                r["command"],
                from_json(r["data"]) or {},
                r["actor"],
                r["actor_role"],
                r["created_at"],
                r["state"],
                from_json(r["result"]),
                r["error"],
                r["result_at"],
                r["incident_id"],
                r["actor_name"],
                r["unit"],
                bool(r["durable"]),
                r["sent_at"],
                int(r["attempts"] or 0),
            )
            for r in rows
        ]
        if records:
            await self.station.store.import_commands(records)
        await self.hub.storage.execute("DROP TABLE ccoc_commands_moved")
        _LOGGER.info("Console: %d command(s) moved into the station's command table", len(records))
        return len(records)

    # -- submitting ------------------------------------------------------------------------------

    async def submit(
        self,
        hub_id: str,
        command: str,
        data: dict[str, Any],
        *,
        user: str,
        role: str,
        name: str = "",
        unit: str = "",
        incident_id: str | None = None,
        ip: str = "",
    ) -> dict[str, Any]:
        """Send a command now, queue it for an offline hub, or raise ConsoleError saying why not."""
        target = f"{hub_id}/{command}"
        durable = command in DURABLE_COMMANDS
        refusal: ConsoleError | None = None
        if hub_id not in self.station.ingest.registered:
            refusal = ConsoleError(f"no hub {hub_id!r} is registered at this station", 404)
        elif command not in ALLOWED_COMMANDS and command not in (
            STATION_VIEW_COMMAND,
            FOOTAGE_REQUEST_COMMAND,
        ):
            refusal = ConsoleError(f"{command!r} is not on the allowlist ({', '.join(ALLOWED_COMMANDS)})")
        elif not durable and not self.hub_online(hub_id):
            state, last_seen = self.hub_state(hub_id)
            refusal = ConsoleError(
                f"hub {hub_id} is {state}: {command} was not sent, because it would run whenever the hub "
                f"returns. Try again once it is online, or contact the site.",
                409,
                hub_status=state,
                last_seen=last_seen,
            )
        if refusal is not None:
            await self.hub.audit.log(
                user,
                AUDIT_COMMAND,
                target,
                role=role,
                detail={"data": data, "error": str(refusal)},
                source="console",
                ip=ip,
                result="refused",
            )
            raise refusal
        now = self.hub.clock.time()
        command_id = ulid()
        # One row, which the hub's answer updates too (runtime._command_result).
        await self.station.store.add_command(
            CommandRecord(
                command_id,
                hub_id,
                command,
                data,
                user,
                role,
                now,
                "queued",
                incident_id=incident_id,
                actor_name=name,
                unit=unit,
                durable=durable,
            )
        )
        await self.hub.audit.log(
            user,
            AUDIT_COMMAND,
            target,
            role=role,
            detail={"command_id": command_id, "data": data, "incident_id": incident_id},
            source="console",
            ip=ip,
        )
        if self.hub_online(hub_id):
            await self._publish(command_id)
        item = await self.get(command_id)
        assert item is not None
        self._announce(item)
        return item

    async def _publish(self, command_id: str) -> None:
        row = await self.get(command_id)
        if row is None or row["state"] in FINAL_STATES:
            return
        payload = dumps(
            {
                "v": PROTOCOL_VERSION,
                "id": row["id"],
                "station": self.station.id,
                "hub": row["hub_id"],
                "command": row["command"],
                "data": row["data"],
                "by": {
                    "user": row["actor"],
                    "name": row["actor_name"],
                    "role": row["actor_role"],
                    "unit": row["unit"],
                },
                "ts": row["created_at"],
            }
        )
        try:
            await self.station.ingest.link.publish(
                topic(self.station.id, row["hub_id"], KIND_CMD),
                payload,
                qos=1,
                properties=publish_properties(expiry=self.station.cfg.command_expiry),
            )
        except MqttNotConnected as err:
            if row["durable"]:
                _LOGGER.warning("Console: broker down; %s for %s stays queued", row["command"], row["hub_id"])
                return
            await self._finish(row["id"], row["hub_id"], "failed", None, f"the station broker is down: {err}")
            raise ConsoleError(f"the station broker is not connected: {err}", 503) from err
        await self.station.store.mark_sent(command_id, self.hub.clock.time())

    # -- answers and the passing of time ---------------------------------------------------------

    async def on_result(self, data: dict[str, Any]) -> None:
        """Show a hub's answer (the station's ``station_command_result`` event; the row is already updated)."""
        item = await self.get(str(data.get("command_id") or ""))
        if item is not None:
            self._announce(item)

    async def _finish(self, command_id: str, hub_id: str, state: str, result: Any, error: Any) -> None:
        await self.station.store.command_result(
            command_id,
            hub_id,
            state,
            result,
            str(error) if error is not None else None,
            self.hub.clock.time(),
        )
        item = await self.get(command_id)
        if item is not None:
            self._announce(item)

    async def flush(self, hub_id: str) -> int:
        """Send a returning hub what was queued for it, oldest first; return how many."""
        async with self._lock:
            rows = await self.station.store.commands(
                hub_id, statuses=("queued",), limit=10_000, oldest_first=True
            )
            for row in rows:
                if not self.hub_online(hub_id):
                    break
                await self._publish(row.id)
                item = await self.get(row.id)
                if item is not None:
                    self._announce(item)
            return len(rows)

    async def tick(self) -> None:
        """Re-send unanswered durable commands; expire unanswered device commands."""
        now = self.hub.clock.time()
        expiry = float(self.station.cfg.command_expiry)
        rows = await self.station.store.commands(statuses=("sent",), limit=10_000, oldest_first=True)
        for row in rows:
            waited = now - float(row.sent_at or now)
            if row.durable:
                if waited >= self.cfg.resend_after and self.hub_online(row.hub_id):
                    await self._publish(row.id)
            elif waited >= expiry:
                await self._finish(
                    row.id,
                    row.hub_id,
                    "expired",
                    None,
                    f"no answer from the hub within {expiry:.0f} s; the broker has dropped the command",
                )
        for hub_id in {
            r.hub_id for r in await self.station.store.commands(statuses=("queued",), limit=10_000)
        }:
            if self.hub_online(hub_id):
                await self.flush(hub_id)

    async def run(self) -> None:
        """The background loop behind :meth:`tick`."""
        while True:
            await self.hub.clock.sleep(_TICK)
            try:
                await self.tick()
            except Exception:
                _LOGGER.exception("Console: command delivery check failed")

    def _announce(self, item: dict[str, Any]) -> None:
        self.hub.bus.fire(
            EVENT_CCOC_COMMAND,
            {
                "id": item["id"],
                "hub_id": item["hub_id"],
                "command": item["command"],
                "incident_id": item["incident_id"],
                "state": item["state"],
                "error": item["error"],
                "actor": item["actor_name"] or item["actor"],
                "created_at": item["created_at"],
            },
        )
