"""Commands from the station: an allowlist, an officer's name on each, an audit entry for all.

The CCOC may ask a hub to light an area, turn a camera, take a picture, post
to the hub's LINE groups, acknowledge, annotate and close an incident, or start
an SOS drill (a test press that every screen and message marks as a drill).
Nothing else: any other command, a command without an officer's identity,
one addressed to another hub, or one naming a device the hub does not share
is refused.  Every command, carried out or refused, gets an audit entry on
the hub and a ``command_result`` back to the station through the outbox, so
the answer survives an outage like everything else.

A command is executed at most once: its id is recorded before it runs, and a
copy the broker delivers again (QoS 1 is at-least-once) is ignored.  And only
while it is fresh: a command older than its expiry (its ``ts`` against the
hub's clock; ``commands.max_age`` for device commands, ``durable_max_age`` for
the officer records the station queues while a hub is offline) is refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.core.context import Context
from hub.core.errors import HubError
from hub.keys import HubKey
from integrations.federation.collect import scrub
from integrations.federation.const import (
    ALLOWED_COMMANDS,
    DURABLE_COMMANDS,
    EVENT_COMMAND_RESULT,
    FOOTAGE_REQUEST_COMMAND,
    LIVE_COMMAND,
    STATION_VIEW_COMMAND,
)
from integrations.federation.protocol import ID_RE, CommandDoc

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.federation.config import FederationConfig

__all__ = (
    "CommandRunner",
    "CommandRefused",
    "EVENT_FEDERATION_COMMAND",
    "STATION_HANDLERS",
    "register_station_command",
)

_LOGGER = logging.getLogger(__name__)

#: Fired on the hub's bus for every command handled (for automations and the UI).
EVENT_FEDERATION_COMMAND = "federation_command"
#: The audit action of a station command.
AUDIT_ACTION = "federation.command"

ResultSender = Callable[[dict[str, Any]], Awaitable[str]]
#: A command an integration answers itself: it checks the owner's policy and raises
#: CommandRefused to refuse; what it returns is the command's result.
StationHandler = Callable[[CommandDoc], Awaitable[Any]]
#: Station commands outside the device allowlist that an integration may take on (the owner's
#: policy on this hub decides them, not ``commands.allow``).
HANDLED_COMMANDS = frozenset({FOOTAGE_REQUEST_COMMAND})
STATION_HANDLERS: HubKey[dict[str, StationHandler]] = HubKey("federation_station_handlers")


def register_station_command(hub: Hub, name: str, handler: StationHandler) -> Callable[[], None]:
    """Let an integration answer one of :data:`HANDLED_COMMANDS`; return the unregister callable."""
    if name not in HANDLED_COMMANDS:
        raise ValueError(
            f"{name} is not a command integrations may handle ({', '.join(sorted(HANDLED_COMMANDS))})"
        )
    handlers = hub.data.get(STATION_HANDLERS)
    if handlers is None:
        handlers = {}
        hub.data[STATION_HANDLERS] = handlers
    handlers[name] = handler

    def unregister() -> None:
        if handlers.get(name) is handler:
            del handlers[name]

    return unregister


class CommandRefused(Exception):
    """The command is not allowed (allowlist, identity, target, policy)."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Lights(_Data):
    entity_id: str | list[str]


class _TurnOn(_Lights):
    brightness: int | None = Field(default=None, ge=0, le=255)
    transition: float | None = Field(default=None, ge=0, le=300)
    effect: str | None = None


class _TurnOff(_Lights):
    transition: float | None = Field(default=None, ge=0, le=300)


class _Flash(_Lights):
    seconds: float = Field(default=10, gt=0, le=3600)
    pattern: str = "normal"


class _Ptz(_Data):
    entity_id: str
    preset: str = Field(min_length=1, max_length=100)


class _Snapshot(_Data):
    entity_id: str | list[str]
    incident_id: str | None = None


class _Incident(_Data):
    incident_id: str = Field(min_length=1, max_length=64)
    text: str = Field(default="", max_length=2000)


class _Note(_Incident):
    text: str = Field(min_length=1, max_length=2000)


class _Dispatch(_Incident):
    unit: str = Field(min_length=1, max_length=200)


class _Drill(_Data):
    #: The hub's button to drill (``sos.<id>``); none: its first button.
    entity_id: str | None = Field(default=None, pattern=r"^sos\.[a-z0-9_]+$")


class _StationView(_Data):
    """An officer's view of a camera image at the station, mirrored to the owner's audit log."""

    entity_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    incident_id: str | None = Field(default=None, max_length=64)
    snapshot_id: str | None = Field(default=None, max_length=200)
    what: Literal["snapshot", "live", "stream"] = "snapshot"
    viewed_at: float = Field(ge=0)
    view_id: str | None = Field(default=None, max_length=64)
    #: Live views: the officer started or stopped watching (the owner's page shows who watches now).
    phase: Literal["start", "stop"] | None = None
    seconds: float | None = Field(default=None, ge=0)
    #: One officer's player (an officer may have two open): pairs a start with its stop.
    viewer_id: str | None = Field(default=None, max_length=64)


_SCHEMAS: dict[str, type[_Data]] = {
    "light.turn_on": _TurnOn,
    "light.turn_off": _TurnOff,
    "light.flash": _Flash,
    "camera.ptz_preset": _Ptz,
    "camera.snapshot": _Snapshot,
    "incident.ack": _Incident,
    "incident.dispatch": _Dispatch,
    "incident.note": _Note,
    "incident.close": _Incident,
    "sos.drill": _Drill,
}


def _ids(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class CommandRunner:
    """Checks, runs, audits and answers station commands."""

    def __init__(self, hub: Hub, cfg: FederationConfig, send_result: ResultSender) -> None:
        self.hub = hub
        self.cfg = cfg
        self.station = cfg.station
        self.allowed = frozenset(cfg.commands.allow) & frozenset(ALLOWED_COMMANDS)
        self._send_result = send_result
        self.handled = 0
        self.refused = 0
        #: Station clock minus hub clock, in seconds (0 until the first ack says otherwise).
        self.station_offset = 0.0

    def line_aliases(self) -> set[str]:
        """Return the LINE aliases the station may address."""
        if self.cfg.commands.line_aliases is not None:
            return set(self.cfg.commands.line_aliases)
        line = self.hub.loaded.blocks.get("line") if self.hub.loaded is not None else None
        groups = getattr(line, "groups", None)
        if groups is None and isinstance(line, dict):
            groups = line.get("groups")
        return set(groups) if isinstance(groups, dict) else set()

    async def handle(self, payload: bytes) -> None:
        """Handle one ``cmd`` message (never raises)."""
        try:
            await self._handle(payload)
        except Exception:
            _LOGGER.exception("Federation: failed to handle a station command")

    async def _handle(self, payload: bytes) -> None:
        try:
            cmd = CommandDoc.model_validate_json(payload)
        except (ValidationError, ValueError) as err:
            await self._refuse_unparsed(payload, err)
            return
        actor = f"station:{self.station}/{cmd.by.user}"
        if cmd.station != self.station or cmd.hub != self.hub.id:
            await self._finish(
                cmd,
                actor,
                "refused",
                None,
                f"addressed to {cmd.station}/{cmd.hub}, this is {self.station}/{self.hub.id}",
            )
            return
        if not await self._first_time(cmd, actor):
            _LOGGER.debug("Federation: command %s delivered again; already handled", cmd.id)
            return
        expired = self._expired(cmd)
        if expired is not None:
            await self._finish(cmd, actor, "refused", None, expired)
            return
        try:
            result = await self._run(cmd)
        except CommandRefused as err:
            await self._finish(cmd, actor, "refused", None, str(err))
        except (HubError, ValueError, LookupError) as err:
            await self._finish(cmd, actor, "error", None, str(err.__cause__ or err))
        else:
            await self._finish(cmd, actor, "ok", result, None)

    def station_clock(self, station_ts: float) -> None:
        """Learn how far the station's clock is from the hub's (``ts`` of a fresh ack)."""
        self.station_offset = station_ts - self.hub.clock.time()

    def _expired(self, cmd: CommandDoc) -> str | None:
        """Return why ``cmd`` is too old to run, or None."""
        durable = cmd.command in DURABLE_COMMANDS
        limit = self.cfg.commands.durable_max_age if durable else self.cfg.commands.max_age
        # In the station's time: a shop box whose clock is off (no RTC, no NTP yet) must still
        # run a fresh command.  The offset comes from the station's acks, which are sent at once.
        age = self.hub.clock.time() + self.station_offset - cmd.ts
        if age <= limit:
            return None
        return f"expired: sent {age:.0f} s ago, {cmd.command} is valid for {limit:.0f} s"

    async def _first_time(self, cmd: CommandDoc, actor: str) -> bool:
        # One statement, so two copies handled at the same moment cannot both win.
        inserted = await self.hub.storage.execute_rowcount(
            "INSERT OR IGNORE INTO federation_commands (id, received_at, command, actor, status) "
            "VALUES (?, ?, ?, ?, 'running')",
            (cmd.id, self.hub.clock.time(), cmd.command, actor),
        )
        return inserted == 1

    async def _run(self, cmd: CommandDoc) -> Any:
        name = cmd.command
        if name == STATION_VIEW_COMMAND:
            return await self._station_view(cmd)
        if name in HANDLED_COMMANDS:
            handler = (self.hub.data.get(STATION_HANDLERS) or {}).get(name)
            if handler is None:
                raise CommandRefused(f"{name}: this hub does not offer it (no recordings set up)")
            return await handler(cmd)
        if name not in self.allowed:
            raise CommandRefused(f"{name} is not allowed from the station")
        if name == LIVE_COMMAND:
            return await self._live(cmd)
        context = Context(origin="federation")
        if name == "line.send":
            return await self._line_send(cmd, context)
        schema = _SCHEMAS[name]
        try:
            data = schema.model_validate(cmd.data).model_dump(exclude_none=True)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'data'}: {e['msg']}" for e in err.errors()
            )
            raise CommandRefused(f"{name}: {problems}") from err
        domain, service = name.split(".", 1)
        if domain == "camera":
            self._check_cameras(cmd, _ids(data["entity_id"]), service)
        if domain == "incident":
            data["by"] = f"{cmd.by.name or cmd.by.user} ({self.station})"
            from hub.components.incident import IncidentNotFound
            from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

            try:
                await self.hub.data[INCIDENT_RUNTIME].get(data["incident_id"], timeline=False)
            except IncidentNotFound as err:
                raise CommandRefused(f"no incident {data['incident_id']} at this hub") from err
        if not self.hub.services.has(domain, service):
            raise CommandRefused(f"{name} is not available on this hub")
        return await self.hub.services.call(domain, service, data, context)

    def _check_cameras(self, cmd: CommandDoc, entity_ids: list[str], service: str) -> None:
        """Refuse cameras the station may not address; the owner's policy decides (DESIGN §9)."""
        from integrations.camera.entity import CameraEntity
        from integrations.camera.policy import Party, may_share

        party = Party.station(self.station, cmd.by.user)
        for entity_id in entity_ids:
            try:
                camera = self.hub.entities.get(entity_id, CameraEntity)
            except LookupError as err:
                raise CommandRefused(f"no camera {entity_id}") from err
            if camera.share == "never":
                # The station is not told such a camera exists.
                raise CommandRefused(f"no camera {entity_id}")
            if service == "snapshot":
                decision = may_share(self.hub, camera, party, "snapshot")
                if not decision:
                    raise CommandRefused(f"{entity_id}: {decision.text('en')}")

    async def _station_view(self, cmd: CommandDoc) -> dict[str, Any]:
        """Write an officer's view of one of our cameras to this hub's audit log (the owner's copy)."""
        from integrations.camera.const import AUDIT_STREAM, AUDIT_VIEW
        from integrations.camera.entity import CameraEntity

        try:
            view = _StationView.model_validate(cmd.data)
        except ValidationError as err:
            raise CommandRefused(f"{STATION_VIEW_COMMAND}: {_first_error(err)}") from err
        try:
            camera = self.hub.entities.get(view.entity_id, CameraEntity)
        except LookupError as err:
            raise CommandRefused(f"no camera {view.entity_id}") from err
        entry = await self.hub.audit.log(
            f"station:{self.station}/{cmd.by.user}",
            AUDIT_STREAM if view.what == "stream" else AUDIT_VIEW,
            camera.entity_id,
            role="station",
            detail={
                "what": view.what,
                "reason": view.reason,
                "incident_id": view.incident_id,
                "snapshot_id": view.snapshot_id,
                "viewed_at": view.viewed_at,
                "view_id": view.view_id,
                "officer": cmd.by.name or cmd.by.user,
                "command_id": cmd.id,
                **({"phase": view.phase} if view.phase else {}),
                **({"seconds": view.seconds} if view.seconds is not None else {}),
            },
            source="station",
        )
        if view.what == "live":
            from integrations.video.uplink import live_uplinks

            live_uplinks(self.hub, self.cfg).station_view(
                camera.entity_id,
                officer=cmd.by.name or cmd.by.user,
                reason=view.reason,
                view_id=view.view_id or "",
                viewer_id=view.viewer_id or view.view_id or "",
                incident_id=view.incident_id,
                phase=view.phase,
                at=self.hub.clock.time(),  # the owner reads "since" on their own clock
            )
        return {"audit_id": entry}

    async def _live(self, cmd: CommandDoc) -> dict[str, Any]:
        """Stream a camera to the station if the owner's policy allows (the hub dials out)."""
        from integrations.video.uplink import LiveRefused, live_uplinks

        try:
            return await live_uplinks(self.hub, self.cfg).start(cmd)
        except LiveRefused as err:
            raise CommandRefused(str(err)) from err

    async def _line_send(self, cmd: CommandDoc, context: Context) -> Any:
        data = dict(cmd.data)
        targets: list[str] = []
        for key in ("to", "target", "targets"):
            value = data.get(key)
            if isinstance(value, str):
                targets.append(value)
            elif isinstance(value, list):
                targets += [str(v) for v in value]
        if not targets:
            raise CommandRefused("line.send needs a target: one of this hub's LINE aliases")
        aliases = self.line_aliases()
        outside = [t for t in targets if t not in aliases]
        if outside:
            raise CommandRefused(f"line.send may only address this hub's aliases; not {', '.join(outside)}")
        if not self.hub.services.has("line", "send"):
            raise CommandRefused("LINE is not set up on this hub")
        return await self.hub.services.call("line", "send", data, context)

    async def _finish(self, cmd: CommandDoc, actor: str, status: str, result: Any, error: str | None) -> None:
        self.handled += 1
        if status == "refused":
            self.refused += 1
            _LOGGER.warning("Federation: refused %s from %s: %s", cmd.command, actor, error)
        clean_result = scrub(result) if result is not None else None
        await self.hub.audit.log(
            actor,
            AUDIT_ACTION,
            cmd.command,
            role=cmd.by.role or "station",
            detail={"command_id": cmd.id, "data": cmd.data, "officer": cmd.by.model_dump(), "error": error},
            source="station",
            result=status,
        )
        await self.hub.storage.execute(
            "INSERT INTO federation_commands (id, received_at, command, actor, status, result) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
            "result = excluded.result",
            (
                cmd.id,
                self.hub.clock.time(),
                cmd.command,
                actor,
                status,
                json.dumps({"result": clean_result, "error": error}, ensure_ascii=False, default=str),
            ),
        )
        self.hub.bus.fire(
            EVENT_FEDERATION_COMMAND,
            {"command_id": cmd.id, "command": cmd.command, "status": status, "actor": actor, "error": error},
        )
        await self._send_result(
            {
                "type": EVENT_COMMAND_RESULT,
                "data": {
                    "command_id": cmd.id,
                    "command": cmd.command,
                    "status": status,
                    "result": clean_result,
                    "error": error,
                    "by": cmd.by.model_dump(),
                },
            }
        )

    async def _refuse_unparsed(self, payload: bytes, err: Exception) -> None:
        """Audit a command that is not our schema; answer it if it at least has an id."""
        self.refused += 1
        raw: Any = None
        with contextlib.suppress(ValueError):
            raw = json.loads(payload)
        raw = raw if isinstance(raw, dict) else {}
        by = raw.get("by") if isinstance(raw.get("by"), dict) else {}
        user = str(by.get("user") or "unknown")[:100]
        command = str(raw.get("command") or "?")[:100]
        reason = "no officer identity" if not by.get("user") else f"not a valid command: {_first_error(err)}"
        actor = f"station:{self.station}/{user}"
        _LOGGER.warning("Federation: refused a command from %s: %s", actor, reason)
        await self.hub.audit.log(
            actor,
            AUDIT_ACTION,
            command,
            role="station",
            source="station",
            result="refused",
            detail={"command_id": raw.get("id"), "error": reason},
        )
        msg_id = raw.get("id")
        if isinstance(msg_id, str) and ID_RE.match(msg_id):
            await self._send_result(
                {
                    "type": EVENT_COMMAND_RESULT,
                    "data": {
                        "command_id": msg_id,
                        "command": command,
                        "status": "refused",
                        "result": None,
                        "error": reason,
                        "by": {"user": user},
                    },
                }
            )


def _first_error(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'message'}: {first['msg']}"
    return str(err)[:200]
