"""Federation: this hub reports to its station over MQTT, through a SQLite outbox.

Incidents, selected events, snapshots (where the camera's owner allows),
the retained registry and the retained health report go up to
``ssz/v1/<station>/<hub>/<kind>``; acks and commands come down.  See
``docs/federation.md`` and DESIGN §8–§9.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub import hookimpl
from hub.config import ConfigError, position_of
from integrations.federation.config import FederationConfig, tls_file_errors
from integrations.federation.const import DOMAIN, ID_PATTERN, PRIO_EVENT, PRIO_INCIDENT, PRIO_SOS
from integrations.federation.migrations import MIGRATIONS

if TYPE_CHECKING:
    from hub.bootstrap import LoadedConfig
    from hub.components.incident import Incident, IncidentRows, TimelineEntry
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("FederationConfig",)

_PRIORITIES = {"sos": PRIO_SOS, "incident": PRIO_INCIDENT, "event": PRIO_EVENT}


class SendSchema(BaseModel):
    """``federation.send``: forward one custom event to the station."""

    model_config = ConfigDict(extra="forbid")
    event_type: str = Field(pattern=r"^[a-z0-9_.]{1,64}$")
    data: dict[str, Any] = {}
    priority: Literal["sos", "incident", "event"] = "event"
    #: Optional message id (a ULID the caller made): a retried call with the same id is
    #: stored once at the station, so a caller unsure whether its call went through may repeat it.
    id: str | None = Field(default=None, pattern=ID_PATTERN)


class BatchSchema(BaseModel):
    """``federation.send_batch``: several events in one outbox transaction (importers, load tests)."""

    model_config = ConfigDict(extra="forbid")
    events: list[SendSchema] = Field(min_length=1, max_length=1000)


@hookimpl
def config_schema() -> Any:
    """Return the ``federation:`` block type."""
    return FederationConfig


@hookimpl
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError] | None:
    """The broker account must be the hub id: the station's ACL names each hub by it."""
    cfg = loaded.blocks.get(DOMAIN)
    if not isinstance(cfg, FederationConfig) or loaded.core is None:
        return None
    errors = []
    if cfg.username is not None and cfg.username != loaded.core.id:
        file, line = position_of(loaded.raw, (DOMAIN, "username")) or (loaded.file_label, None)
        errors.append(
            ConfigError(
                file,
                line,
                "federation.username",
                f"must be the hub id {loaded.core.id!r}: the station's broker lets "
                f"each hub account publish only under its own id",
            )
        )
    errors += tls_file_errors(loaded, DOMAIN, cfg)
    if "station" in loaded.blocks:
        file, line = position_of(loaded.raw, (DOMAIN,)) or (loaded.file_label, None)
        errors.append(
            ConfigError(
                file, line, "federation", "a station does not federate: use either federation: or station:"
            )
        )
    return errors


@hookimpl
def storage_migrations() -> Any:
    """Return the outbox and command tables."""
    return MIGRATIONS


@hookimpl
async def setup(hub: Hub, config: FederationConfig) -> None:
    """Open the outbox and connect to the station's broker."""
    from integrations.federation.const import RUNTIME
    from integrations.federation.uplink import Federation

    fed = Federation(hub, config)
    hub.data[RUNTIME] = fed
    await fed.start()

    async def send(call: Any) -> dict[str, Any]:
        m: SendSchema = call.model
        msg_id = await fed.send_event(m.event_type, m.data, priority=_PRIORITIES[m.priority], msg_id=m.id)
        return {"id": msg_id}

    async def send_batch(call: Any) -> dict[str, Any]:
        m: BatchSchema = call.model
        ids = await asyncio.gather(
            *(
                fed.send_event(e.event_type, e.data, priority=_PRIORITIES[e.priority], msg_id=e.id)
                for e in m.events
            )
        )
        return {"ids": list(ids)}

    hub.services.register(
        DOMAIN,
        "send",
        send,
        SendSchema,
        description="Send an event to the station (stored in the outbox first)",
    )
    hub.services.register(
        DOMAIN,
        "send_batch",
        send_batch,
        BatchSchema,
        description="Send up to 1,000 events to the station in one outbox transaction",
    )


@hookimpl
def hub_started(hub: Hub) -> None:
    """Send the registry once every plugin has had its say."""
    from integrations.federation.const import RUNTIME

    fed = hub.data.get(RUNTIME)
    if fed is not None:
        fed.hub_started()


@hookimpl
def incident_written(
    hub: Hub, incident: Incident, entry: TimelineEntry
) -> IncidentRows | Awaitable[IncidentRows | None] | None:
    """Put the change's message for the station in the incident's own transaction."""
    from integrations.federation.const import RUNTIME

    fed = hub.data.get(RUNTIME)
    return fed.incident_rows(incident, entry) if fed is not None else None


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Say offline and disconnect; queued messages stay in the outbox."""
    from integrations.federation.const import RUNTIME
    from integrations.video.uplink import LIVE_UPLINKS

    uplinks = hub.data.pop(LIVE_UPLINKS)
    if uplinks is not None:
        await uplinks.close()
    fed = hub.data.pop(RUNTIME)
    if fed is not None:
        await fed.stop()


async def _status(request: web.Request) -> web.Response:
    from hub.http.server import HUB_KEY
    from integrations.federation.const import RUNTIME

    fed = request.app[HUB_KEY].data.get(RUNTIME)
    if fed is None:
        return web.json_response({"error": "federation is not running"}, status=503)
    return web.json_response(fed.status())


async def _live(request: web.Request) -> web.Response:
    from hub.http.server import HUB_KEY
    from integrations.video.uplink import LIVE_UPLINKS

    uplinks = request.app[HUB_KEY].data.get(LIVE_UPLINKS)
    entity_id = request.query.get("entity_id") or None
    if uplinks is None:
        return web.json_response({"watching": [], "uplinks": []})
    streams = [u for u in uplinks.stats() if entity_id is None or u["entity_id"] == entity_id]
    return web.json_response({"watching": uplinks.watching(entity_id), "uplinks": streams})


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the status route and who at the station is watching which camera live."""
    from hub.http.routes import Route

    if hub.role != "hub":
        return []
    return [
        Route(
            "GET",
            "/api/federation",
            _status,
            role="operator",
            summary="Station link and outbox status",
            tags=("federation",),
        ),
        Route(
            "GET",
            "/api/federation/live",
            _live,
            role="operator",
            summary="Cameras the station is watching live now: officer, reason, since; uplink bitrate per "
            "stream (entity_id filters)",
            tags=("federation",),
        ),
    ]
