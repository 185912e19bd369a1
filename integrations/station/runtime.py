"""The running station: its store, its intake, and the commands it sends to hubs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from hub.core.ids import ulid
from hub.mqtt import MqttNotConnected, publish_properties
from integrations.federation.const import ALLOWED_COMMANDS, KIND_CMD, PROTOCOL_VERSION
from integrations.federation.protocol import dumps, topic
from integrations.station.cluster import PeerRelay
from integrations.station.const import (
    AUDIT_COMMAND,
    EVENT_COMMAND_RESULT,
    RECORDED_ELSEWHERE,
)
from integrations.station.ingest import Ingest
from integrations.station.store import CommandRecord, Inbound
from integrations.station.store_pg import PgStationStore
from integrations.station.store_sqlite import SqliteStationStore
from integrations.station.supervision import HubSupervisor
from integrations.station.workers import Workers

if TYPE_CHECKING:
    from pathlib import Path

    from hub.hub import Hub
    from integrations.station.config import DatabaseConfig, StationConfig
    from integrations.station.store import StationStore

__all__ = ("Station", "CommandError", "make_store")

_LOGGER = logging.getLogger(__name__)


def make_store(database: DatabaseConfig, data_dir: Path) -> StationStore:
    """Return the store ``station.database`` names: a SQLite file in ``data_dir`` or PostgreSQL."""
    if database.backend == "postgresql":
        assert database.url is not None  # the config's check
        return PgStationStore(database.url)
    return SqliteStationStore(data_dir / database.path)


class CommandError(Exception):
    """A command cannot be sent (unknown hub, not on the allowlist, broker down)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Station:
    """One CCOC station."""

    def __init__(self, hub: Hub, cfg: StationConfig, store: StationStore | None = None) -> None:
        self.hub = hub
        self.cfg = cfg
        self.id = cfg.id
        self.store: StationStore = store or make_store(cfg.database, hub.data_dir)
        self.ingest = Ingest(hub, cfg, self.store, on_command_result=self._command_result)
        self.supervisor = HubSupervisor(hub, self)
        self._waiters: dict[str, list[asyncio.Future[CommandRecord]]] = {}
        #: The other station workers' news (PostgreSQL only): integrations.station.cluster.
        self.peers: PeerRelay | None = None
        #: The registry of workers and their signed calls (PostgreSQL only): integrations.station.workers.
        self.workers: Workers | None = None

    async def start(self) -> None:
        """Open the database and start ingesting (and, on a shared database, hearing the other workers)."""
        self.hub.recorded_directly.update(RECORDED_ELSEWHERE)
        await self.store.open()
        if isinstance(self.store, PgStationStore):
            self.peers = PeerRelay(self.hub, self, self.store)
            await self.peers.start()
            self.workers = Workers(self.hub, self, self.store)
            await self.workers.start()
        await self.ingest.start()
        await self.supervisor.start()

    async def stop(self) -> None:
        """Stop ingesting and close the database."""
        try:
            await self.supervisor.stop()
            await self.ingest.stop()
        finally:
            try:
                if self.workers is not None:
                    await self.workers.stop()
                if self.peers is not None:
                    await self.peers.stop()
            finally:
                await self.store.close()

    # -- commands --------------------------------------------------------------------------------

    async def send_command(
        self,
        hub_id: str,
        command: str,
        data: dict[str, Any],
        *,
        user: str,
        role: str,
        name: str = "",
        unit: str = "",
        ip: str = "",
    ) -> CommandRecord:
        """Record, audit and publish a command; raise CommandError if it cannot go."""
        target = f"{hub_id}/{command}"
        refusal: str | None = None
        if hub_id not in self.ingest.registered:
            refusal = f"no hub {hub_id!r} is registered at this station"
            status = 404
        elif command not in ALLOWED_COMMANDS:
            refusal = f"{command!r} is not on the allowlist ({', '.join(ALLOWED_COMMANDS)})"
            status = 400
        if refusal is not None:
            await self.hub.audit.log(
                user,
                AUDIT_COMMAND,
                target,
                role=role,
                detail={"data": data, "error": refusal},
                source="api",
                ip=ip,
                result="refused",
            )
            raise CommandError(refusal, status)
        record = CommandRecord(ulid(), hub_id, command, data, user, role, self.hub.clock.time(), "sent")
        await self.store.add_command(record)
        await self.hub.audit.log(
            user,
            AUDIT_COMMAND,
            target,
            role=role,
            detail={"command_id": record.id, "data": data},
            source="api",
            ip=ip,
        )
        payload = dumps(
            {
                "v": PROTOCOL_VERSION,
                "id": record.id,
                "station": self.id,
                "hub": hub_id,
                "command": command,
                "data": data,
                "by": {"user": user, "name": name, "role": role, "unit": unit},
                "ts": record.created_at,
            }
        )
        try:
            # The expiry keeps a light.flash from firing an hour late when the hub comes back.
            await self.ingest.link.publish(
                topic(self.id, hub_id, KIND_CMD),
                payload,
                qos=1,
                properties=publish_properties(expiry=self.cfg.command_expiry),
            )
        except MqttNotConnected as err:
            await self.store.command_result(
                record.id, hub_id, "failed", None, str(err), self.hub.clock.time()
            )
            raise CommandError(f"the station broker is not connected: {err}", 503) from err
        return record

    async def wait_command(self, command_id: str, within: float) -> CommandRecord | None:
        """Wait up to ``within`` seconds (real time) for a hub's answer; return the command."""
        record = await self.store.command(command_id)
        if record is None or record.status != "sent" or within <= 0:
            return record
        fut: asyncio.Future[CommandRecord] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(command_id, []).append(fut)
        try:
            # Checked again after registering: the answer may have landed in between.
            record = await self.store.command(command_id)
            if record is not None and record.status != "sent":
                return record
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(fut, within)
            return await self.store.command(command_id)
        finally:
            waiters = self._waiters.get(command_id, [])
            if fut in waiters:
                waiters.remove(fut)
            if not waiters:
                self._waiters.pop(command_id, None)

    async def peer_command(self, command_id: str) -> None:
        """Another worker stored the hub's answer: wake whoever waits for it here."""
        waiters = self._waiters.pop(command_id, [])
        if not waiters:
            return
        record = await self.store.command(command_id)
        for fut in waiters:
            if not fut.done() and record is not None:
                fut.set_result(record)

    async def _command_result(self, message: Inbound, data: dict[str, Any]) -> None:
        command_id = str(data.get("command_id") or "")
        status = str(data.get("status") or "error")
        error = data.get("error")
        ok = await self.store.command_result(
            command_id,
            message.hub_id,
            status,
            data.get("result"),
            str(error) if error is not None else None,
            self.hub.clock.time(),
        )
        if not ok:
            _LOGGER.warning("Station: hub %s answered unknown command %s", message.hub_id, command_id)
            return
        await self.hub.audit.log(
            f"hub:{message.hub_id}",
            f"{AUDIT_COMMAND}.result",
            f"{message.hub_id}/{data.get('command')}",
            detail={"command_id": command_id, "error": error},
            source="federation",
            result=status,
        )
        self.hub.bus.fire(
            EVENT_COMMAND_RESULT,
            {
                "hub_id": message.hub_id,
                "command_id": command_id,
                "command": data.get("command"),
                "status": status,
                "error": error,
            },
        )
        record = await self.store.command(command_id)
        for fut in self._waiters.pop(command_id, []):
            if not fut.done() and record is not None:
                fut.set_result(record)
