"""The core REST API (HA-compatible shapes where HA has them)."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from hub.auth import role_at_least
from hub.components.incident import KINDS, IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.context import Context
from hub.core.errors import ServiceNotFound
from hub.core.state import valid_entity_id
from hub.http.idempotency import check_key, idempotent
from hub.http.routes import Route, current_user, json_dumps, json_error, read_json_object
from hub.http.server import HUB_KEY
from hub.keys import HubKey

__all__ = ("routes", "IncidentSource", "INCIDENT_SOURCES")

#: Events only the hub itself may fire.
RESERVED_EVENTS = frozenset(
    {"state_changed", "service_registered", "hub_start", "hub_stop", "incident_opened", "incident_updated"}
)


class IncidentSource(Protocol):
    """Incidents kept outside this hub's own table, listed beside them by ``/api/incidents``.

    A station registers its federated incidents here; each item is an
    incident dict as the API returns it, with the ``hub_id`` it came from.
    """

    async def incidents(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        hub_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Return incidents, newest first."""

    async def incident(self, incident_id: str, hub_id: str | None = None) -> dict[str, Any] | None:
        """Return one incident with its timeline, or None."""


#: Extra incident sources (the station role adds its federated incidents).
INCIDENT_SOURCES: HubKey[list[IncidentSource]] = HubKey("incident_sources")


def _context(request: web.Request) -> Context:
    user = current_user(request)
    return Context(user_id=user.id if user else None, origin="api")


async def health(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response(
        {
            "status": "ok" if hub.state == "running" else str(hub.state),
            "version": hub.version,
            # The database schema each component is at, so an upgrade can be checked from outside.
            "schema": hub.schema_versions,
        }
    )


async def metrics(request: web.Request) -> web.Response:
    from hub.metrics import CONTENT_TYPE_LATEST, METRICS

    found = request.app[HUB_KEY].data.get(METRICS)
    if found is None:
        return json_error(503, "metrics are not running")
    body = await found.render()
    # prometheus_client's content type carries a charset, which aiohttp wants apart.
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def api_root(request: web.Request) -> web.Response:
    return web.json_response({"message": "API running.", "hub": request.app[HUB_KEY].id})


async def get_states(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response([s.as_dict() for s in hub.states.all()], dumps=json_dumps)


async def get_state(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    state = hub.states.get(request.match_info["entity_id"])
    if state is None:
        return json_error(404, f"entity {request.match_info['entity_id']} not found")
    return web.json_response(state.as_dict(), dumps=json_dumps)


async def post_state(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    entity_id = request.match_info["entity_id"]
    if not valid_entity_id(entity_id):
        return json_error(400, f"invalid entity id {entity_id!r}")
    body = await read_json_object(request)
    if "state" not in body:
        return json_error(400, "body needs a 'state'")
    attrs = body.get("attributes") or {}
    if not isinstance(attrs, dict):
        return json_error(400, "'attributes' must be an object")
    existed = hub.states.get(entity_id) is not None
    state = hub.states.set(
        entity_id,
        str(body["state"]),
        attrs,
        force_update=bool(body.get("force_update")),
        context=_context(request),
    )
    user = current_user(request)
    await hub.audit.log(
        user.username,
        "state.set",
        entity_id,
        role=user.role,
        detail={"state": state.state},
        ip=request.remote or "",
    )
    return web.json_response(state.as_dict(), status=200 if existed else 201, dumps=json_dumps)


async def get_services(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response(
        [
            {"domain": domain, "services": {name: svc.describe() for name, svc in svcs.items()}}
            for domain, svcs in sorted(hub.services.services().items())
        ]
    )


async def call_service(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    domain, name = request.match_info["domain"], request.match_info["service"]
    try:
        svc = hub.services.get(domain, name)
    except ServiceNotFound as err:
        return json_error(404, str(err))
    user = current_user(request)
    if not role_at_least(user.role, svc.role):
        return json_error(403, f"{domain}.{name} requires role {svc.role}")
    body = await read_json_object(request)
    key = check_key(request)
    if isinstance(key, web.Response):
        return key

    async def run(native_key: str | None = None) -> web.Response:
        ctx = _context(request)
        changed: list[dict[str, Any]] = []

        def collect(event: Any) -> None:
            if event.context is ctx and event.data.get("new_state") is not None:
                changed.append(event.data["new_state"].as_dict())

        unsub = hub.bus.listen("state_changed", collect)
        try:
            result = await hub.services.call(domain, name, body, ctx, key=native_key)
            await hub.bus.drained()
        finally:
            unsub()
        await hub.audit.log_done(
            user.username,
            "service.call",
            f"{domain}.{name}",
            role=user.role,
            detail={"data": body},
            ip=request.remote or "",
        )
        return web.json_response({"changed_states": changed, "service_response": result}, dumps=json_dumps)

    if key is None:
        return await run()
    if svc.idempotent:
        # the service writes its effect and the key together: no record needed here
        return await run(key)
    return await idempotent(request, key, body, run)


async def fire_event(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    event_type = request.match_info["event_type"]
    if event_type in RESERVED_EVENTS:
        return json_error(400, f"event {event_type} is fired by the hub only")
    body = await read_json_object(request)
    hub.bus.fire(event_type, body, _context(request))
    user = current_user(request)
    await hub.audit.log(user.username, "event.fire", event_type, role=user.role, ip=request.remote or "")
    return web.json_response({"message": f"Event {event_type} fired."})


async def list_incidents(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return json_error(400, "limit must be an integer")
    kind = request.query.get("kind")
    if kind and kind not in KINDS:
        return json_error(400, f"kind must be one of {', '.join(KINDS)}")
    status, hub_id = request.query.get("status"), request.query.get("hub_id") or None
    items: list[dict[str, Any]] = []
    if hub_id is None or hub_id == hub.id:
        incidents = await hub.data[INCIDENT_RUNTIME].find(status, kind, limit)
        items = [{**i.as_dict(timeline=False), "hub_id": hub.id} for i in incidents]
    if hub_id != hub.id:
        for source in hub.data.get(INCIDENT_SOURCES) or ():
            items += await source.incidents(status=status, kind=kind, hub_id=hub_id, limit=limit)
        items.sort(key=lambda item: item.get("opened_at") or 0, reverse=True)
    return web.json_response(items[: max(1, min(limit, 1000))], dumps=json_dumps)


async def create_incident(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    body = await read_json_object(request)
    key = check_key(request)
    if isinstance(key, web.Response):
        return key
    # incident.open honours the key itself: a repeat gets the incident it opened
    result = await hub.services.call("incident", "open", body, _context(request), key=key)
    return web.json_response(result["incident"], status=201, dumps=json_dumps)


async def get_incident(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    incident_id, hub_id = request.match_info["incident_id"], request.query.get("hub_id") or None
    try:
        if hub_id not in (None, hub.id):
            raise IncidentNotFound(f"incident {incident_id} not found")
        inc = await hub.data[INCIDENT_RUNTIME].get(incident_id)
    except IncidentNotFound as err:
        for source in hub.data.get(INCIDENT_SOURCES) or ():
            found = await source.incident(incident_id, hub_id)
            if found is not None:
                return web.json_response(found, dumps=json_dumps)
        return json_error(404, str(err))
    return web.json_response({**inc.as_dict(), "hub_id": hub.id}, dumps=json_dumps)


async def incident_action(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    action = request.match_info["action"]
    if action not in ("ack", "close", "note", "dispatch"):
        return json_error(404, f"unknown action {action}")
    body = await read_json_object(request)
    user = current_user(request)
    body["incident_id"] = request.match_info["incident_id"]
    body.setdefault("by", user.username)
    key = check_key(request)
    if isinstance(key, web.Response):
        return key

    async def run() -> web.Response:
        try:
            await hub.services.call("incident", action, body, _context(request))
        except Exception as err:
            if isinstance(err.__cause__, IncidentNotFound):
                return json_error(404, str(err.__cause__))
            raise
        inc = await hub.data[INCIDENT_RUNTIME].get(request.match_info["incident_id"])
        return web.json_response(inc.as_dict(), dumps=json_dumps)

    return await run() if key is None else await idempotent(request, key, body, run)


async def list_plugins(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response(
        {
            "plugins": [p.as_dict() for p in sorted(hub.plugin_infos(), key=lambda p: p.domain)],
            "config_errors": [str(e) for e in hub.config_errors],
        }
    )


async def list_audit(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    entries = await hub.audit.query(
        actor=request.query.get("actor") or None,
        action=request.query.get("action") or None,
        target=request.query.get("target") or None,
    )
    return web.json_response([e.__dict__ for e in entries], dumps=json_dumps)


async def list_users(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    # disabled users too (flagged): an admin must see whom they can re-enable
    return web.json_response(await hub.auth.all_users(), dumps=json_dumps)


async def create_user(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    body = await read_json_object(request)
    from hub.auth import AuthError

    try:
        user = await hub.auth.add_user(
            str(body.get("username", "")), str(body.get("password", "")), str(body.get("role", "viewer"))
        )
    except AuthError as err:
        return json_error(400, str(err))
    admin = current_user(request)
    await hub.audit.log(
        admin.username,
        "user.add",
        user.username,
        role=admin.role,
        detail={"role": user.role},
        ip=request.remote or "",
    )
    return web.json_response(user.as_dict(), status=201)


_IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "description": "The same key again (from the same user, within a day) repeats nothing: the first "
    "call's answer comes back (Idempotent-Replayed: true). 422 if the key was used for another request; "
    "409 while the first call runs, or if the hub restarted in its middle (check, then use a new key).",
    "schema": {"type": "string", "pattern": "^[ -~]{1,200}$"},
}


def routes() -> list[Route]:
    """Return the core API routes."""
    from hub.http import access

    inc = ("incidents",)
    return [
        *access.routes(),
        Route(
            "GET",
            "/api/health",
            health,
            public=True,
            summary="Liveness: status and version only",
            tags=("core",),
        ),
        Route("GET", "/api/", api_root, summary="API root", tags=("core",)),
        Route(
            "GET",
            "/api/metrics",
            metrics,
            summary="Prometheus metrics: SOS presses and latency, outbox, link, LINE, cameras, loop lag, "
            "database writes, incidents by state (no personal data in labels)",
            tags=("core",),
        ),
        Route("GET", "/api/states", get_states, summary="All entity states", tags=("states",)),
        Route("GET", "/api/states/{entity_id}", get_state, summary="One entity's state", tags=("states",)),
        Route(
            "POST",
            "/api/states/{entity_id}",
            post_state,
            role="admin",
            summary="Set an entity's state (admin)",
            tags=("states",),
            request_schema={
                "type": "object",
                "required": ["state"],
                "properties": {"state": {"type": "string"}, "attributes": {"type": "object"}},
            },
        ),
        Route("GET", "/api/services", get_services, summary="Services and their fields", tags=("services",)),
        Route(
            "POST",
            "/api/services/{domain}/{service}",
            call_service,
            role="operator",
            summary="Call a service (its own role applies)",
            tags=("services",),
            request_schema={"type": "object"},
            headers=(_IDEMPOTENCY_HEADER,),
        ),
        Route(
            "POST",
            "/api/events/{event_type}",
            fire_event,
            role="operator",
            summary="Fire an event",
            tags=("events",),
            request_schema={"type": "object"},
        ),
        Route(
            "GET",
            "/api/incidents",
            list_incidents,
            tags=inc,
            summary="Incidents, newest first, each with its hub_id (a station adds its hubs'; ?hub_id= filters)",
        ),
        Route(
            "POST",
            "/api/incidents",
            create_incident,
            role="operator",
            summary="Open an incident",
            tags=inc,
            request_schema={"type": "object"},
            headers=(_IDEMPOTENCY_HEADER,),
        ),
        # Incident ids are ULIDs: no dot, so ``<id>.cap`` (the station console's CAP 1.2
        # export, registered by a plugin after these core routes) is not swallowed here.
        Route(
            "GET",
            "/api/incidents/{incident_id:[0-9A-Za-z_-]+}",
            get_incident,
            summary="One incident with timeline",
            tags=inc,
        ),
        Route(
            "POST",
            "/api/incidents/{incident_id}/{action}",
            incident_action,
            role="operator",
            summary="ack | close | note | dispatch",
            tags=inc,
            request_schema={"type": "object"},
            headers=(_IDEMPOTENCY_HEADER,),
        ),
        Route("GET", "/api/plugins", list_plugins, summary="Plugins with status and errors", tags=("core",)),
        Route("GET", "/api/audit", list_audit, role="admin", summary="Audit log", tags=("core",)),
        Route("GET", "/api/users", list_users, role="admin", summary="Users", tags=("users",)),
        Route(
            "POST",
            "/api/users",
            create_user,
            role="admin",
            summary="Create a user",
            tags=("users",),
            request_schema={"type": "object", "required": ["username", "password", "role"]},
        ),
    ]
