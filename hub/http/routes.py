"""Route declarations shared by the core and plugins."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from aiohttp import web

__all__ = (
    "Route",
    "Handler",
    "json_error",
    "json_dumps",
    "read_json_object",
    "USER_KEY",
    "CSRF_KEY",
    "current_user",
    "audit_request",
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER_KEY: web.RequestKey[Any] = web.RequestKey("safetyhub_user")
CSRF_KEY: web.RequestKey[str | None] = web.RequestKey("safetyhub_csrf")


@dataclass(frozen=True)
class Route:
    """One HTTP route and who may use it.

    Every route requires a login session or a bearer token whose role is at
    least ``role``.  ``public=True`` routes skip that and must protect
    themselves (signature, signed link); ``summary`` says how.
    """

    method: str
    path: str
    handler: Handler
    role: str = "viewer"
    public: bool = False
    summary: str = ""
    #: Cookie-authenticated unsafe methods must carry the CSRF token.
    csrf: bool = True
    tags: tuple[str, ...] = ()
    #: OpenAPI fragments: request body schema and extra responses.
    request_schema: dict[str, Any] | None = None
    responses: dict[str, Any] = field(default_factory=dict)
    #: OpenAPI header parameters the route reads ({"name", "description", "schema"}).
    headers: tuple[dict[str, Any], ...] = ()
    #: Pages are left out of /api/openapi.json.
    api: bool = True


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date | time):
        return obj.isoformat()
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    as_dict = getattr(obj, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    return str(obj)


def json_dumps(obj: Any) -> str:
    """Encode an API answer: Thai kept readable, datetimes as ISO 8601, never a 500 on an odd attribute."""
    return json.dumps(obj, ensure_ascii=False, default=_default)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """Return the request's JSON object body ({} when empty); ValueError if it is not an object.

    The body size limit has already been applied by the app (413), and a
    ``json.JSONDecodeError`` becomes a 400 in the error middleware.
    """
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    """Return a JSON error response ``{"error": message}``."""
    return web.json_response({"error": message, **extra}, status=status)


def current_user(request: web.Request) -> Any:
    """Return the logged-in :class:`hub.auth.User` or None."""
    return request.get(USER_KEY)


async def audit_request(
    request: web.Request, action: str, target: str, detail: Mapping[str, Any] | None = None
) -> None:
    """Audit what the signed-in user did through ``request`` (actor ``?`` if nobody is), with its IP."""
    from hub.http.server import HUB_KEY  # the server imports this module

    user = current_user(request)
    await request.app[HUB_KEY].audit.log(
        user.username if user is not None else "?",
        action,
        target,
        role=user.role if user is not None else "",
        detail=detail,
        ip=request.remote or "",
    )
