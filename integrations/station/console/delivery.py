"""Commands from the console to hubs: sent, queued for an offline hub, or refused, never dropped.

Two kinds of command, because they age differently:

* **durable** ones (acknowledge, dispatch, note, close an incident, and the
  audit copy of a camera view) still mean the same in an hour.  When the hub
  is offline they are queued here, in the station database, shown as
  "queued" on the board, and sent the moment the hub is back.  A sent one
  without an answer is sent again under the *same id* (the hub runs a
  command id at most once), so nothing is lost to a broker that expired it.
* **device** commands (flash a light, turn a camera, take a picture, post to
  LINE) are refused at once, with the reason, when the hub is not online: a
  light flashing an hour late is worse than an officer who knows it did not.
  One sent but never answered becomes "expired" once the broker would have
  dropped it.

Every command is also recorded in the federation store (so the hub's answer
is matched by :mod:`integrations.station.runtime`) and in the station's
audit log.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from hub.core.ids import ulid
from integrations.federation.const import (
    ALLOWED_COMMANDS,
    FOOTAGE_REQUEST_COMMAND,
    KIND_CMD,
    PROTOCOL_VERSION,
    STATION_VIEW_COMMAND,
)
from integrations.federation.link import LinkNotConnected, publish_properties
from integrations.federation.protocol import dumps, topic
from integrations.station.const import AUDIT_COMMAND, STATUS_ONLINE
from integrations.station.store import CommandRecord

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.station.console.config import ConsoleConfig
    from integrations.station.runtime import Station

__all__ = ("Delivery", "ConsoleError", "DURABLE_COMMANDS", "EVENT_CCOC_COMMAND", "FINAL_STATES")

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


class ConsoleError(Exception):
    """A request the console refuses, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def _row_dict(row: Any) -> dict[str, Any]:
    item = dict(row)
    item["data"] = json.loads(item["data"] or "{}")
    item["result"] = json.loads(item["result"]) if item.get("result") else None
    item["durable"] = bool(item["durable"])
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
        row = await self.hub.storage.fetchone("SELECT * FROM ccoc_commands WHERE id = ?", (command_id,))
        return _row_dict(row) if row is not None else None

    async def commands(
        self, *, hub_id: str | None = None, incident_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Return commands, newest first."""
        where: list[str] = []
        params: list[Any] = []
        if hub_id:
            where.append("hub_id = ?")
            params.append(hub_id)
        if incident_id:
            where.append("incident_id = ?")
            params.append(incident_id)
        sql = "SELECT * FROM ccoc_commands" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(max(1, min(limit, 1000)))
        return [_row_dict(r) for r in await self.hub.storage.fetchall(sql, params)]

    async def pending_by_incident(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Return unfinished incident actions (ack, dispatch, note, close), keyed by (hub id, incident id)."""
        rows = await self.hub.storage.fetchall(
            "SELECT * FROM ccoc_commands WHERE state IN ('queued', 'sent') AND incident_id IS NOT NULL "
            "AND command LIKE 'incident.%' ORDER BY created_at"
        )
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            item = _row_dict(row)
            out.setdefault((item["hub_id"], item["incident_id"]), []).append(item)
        return out

    async def pending_for(self, hub_id: str, incident_id: str) -> list[dict[str, Any]]:
        """Return one incident's unfinished actions (the board item of one announce)."""
        rows = await self.hub.storage.fetchall(
            "SELECT * FROM ccoc_commands WHERE hub_id = ? AND incident_id = ? AND state IN ('queued', 'sent') "
            "AND command LIKE 'incident.%' ORDER BY created_at",
            (hub_id, incident_id),
        )
        return [_row_dict(row) for row in rows]

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
        await self.hub.storage.execute(
            "INSERT INTO ccoc_commands (id, hub_id, command, data, incident_id, actor, actor_name, actor_role, "
            "unit, durable, created_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
            (
                command_id,
                hub_id,
                command,
                json.dumps(data, ensure_ascii=False),
                incident_id,
                user,
                name,
                role,
                unit,
                int(durable),
                now,
            ),
        )
        # The federation store matches the hub's answer to this id (runtime._command_result).
        await self.station.store.add_command(
            CommandRecord(command_id, hub_id, command, data, user, role, now, "queued")
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
        except LinkNotConnected as err:
            if row["durable"]:
                _LOGGER.warning("Console: broker down; %s for %s stays queued", row["command"], row["hub_id"])
                return
            await self._finish(row["id"], row["hub_id"], "failed", None, f"the station broker is down: {err}")
            raise ConsoleError(f"the station broker is not connected: {err}", 503) from None
        await self.hub.storage.execute(
            "UPDATE ccoc_commands SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ? "
            "AND state IN ('queued', 'sent')",
            (self.hub.clock.time(), command_id),
        )

    # -- answers and the passing of time ---------------------------------------------------------

    async def on_result(self, data: dict[str, Any]) -> None:
        """Record a hub's answer (the station's ``station_command_result`` event)."""
        command_id = str(data.get("command_id") or "")
        status = str(data.get("status") or "error")
        row = await self.get(command_id)
        if row is None:
            return  # sent through the REST API, not the console
        record = await self.station.store.command(command_id)
        result = record.result if record is not None else None
        await self._finish(command_id, str(data.get("hub_id")), status, result, data.get("error"))

    async def _finish(self, command_id: str, hub_id: str, state: str, result: Any, error: Any) -> None:
        await self.hub.storage.execute(
            "UPDATE ccoc_commands SET state = ?, result = ?, error = ?, result_at = ? WHERE id = ? "
            "AND hub_id = ?",
            (
                state,
                json.dumps(result, ensure_ascii=False, default=str) if result is not None else None,
                str(error) if error is not None else None,
                self.hub.clock.time(),
                command_id,
                hub_id,
            ),
        )
        item = await self.get(command_id)
        if item is not None:
            self._announce(item)

    async def flush(self, hub_id: str) -> int:
        """Send a returning hub what was queued for it, oldest first; return how many."""
        async with self._lock:
            rows = await self.hub.storage.fetchall(
                "SELECT id FROM ccoc_commands WHERE hub_id = ? AND state = 'queued' ORDER BY created_at, id",
                (hub_id,),
            )
            for row in rows:
                if not self.hub_online(hub_id):
                    break
                await self._publish(row["id"])
                item = await self.get(row["id"])
                if item is not None:
                    self._announce(item)
            return len(rows)

    async def tick(self) -> None:
        """Re-send unanswered durable commands; expire unanswered device commands."""
        now = self.hub.clock.time()
        expiry = float(self.station.cfg.command_expiry)
        rows = await self.hub.storage.fetchall(
            "SELECT id, hub_id, durable, sent_at FROM ccoc_commands WHERE state = 'sent'"
        )
        for row in rows:
            waited = now - float(row["sent_at"] or now)
            if row["durable"]:
                if waited >= self.cfg.resend_after and self.hub_online(row["hub_id"]):
                    await self._publish(row["id"])
            elif waited >= expiry:
                await self._finish(
                    row["id"],
                    row["hub_id"],
                    "expired",
                    None,
                    f"no answer from the hub within {expiry:.0f} s; the broker has dropped the command",
                )
        for hub_id in {
            r["hub_id"]
            for r in await self.hub.storage.fetchall(
                "SELECT DISTINCT hub_id FROM ccoc_commands WHERE state = 'queued'"
            )
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
