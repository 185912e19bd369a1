"""``GET /api/openapi.json``: generated from the same route table that serves."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from hub.http.routes import Route
from hub.http.server import HUB_KEY

__all__ = ("routes", "build_spec")

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[^}]*)?\}")


def build_spec(hub: Any, routes: list[Route]) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document for ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not route.api or not route.path.startswith("/api/"):
            continue
        path = _PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        op: dict[str, Any] = {
            "summary": route.summary or route.handler.__name__,
            "operationId": f"{route.method.lower()}_{route.handler.__module__.split('.')[-1]}_{route.handler.__name__}",
            "tags": list(route.tags),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(route.path)
            ]
            + [{"in": "header", "required": False, **header} for header in route.headers],
            "responses": {"200": {"description": "OK"}, **route.responses},
        }
        if route.public:
            op["security"] = []
        else:
            op["x-required-role"] = route.role
            op["responses"].setdefault("401", {"description": "authentication required"})
            op["responses"].setdefault("403", {"description": f"requires role {route.role}"})
        if route.request_schema is not None:
            op["requestBody"] = {"content": {"application/json": {"schema": route.request_schema}}}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SafetyHub API",
            "version": hub.version,
            "description": "Everything but routes marked `security: []` needs a session or a bearer token.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "shub_session"},
            }
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


async def openapi(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response(build_spec(hub, hub.http.routes))


def routes() -> list[Route]:
    """Return the spec route."""
    return [Route("GET", "/api/openapi.json", openapi, summary="This API's OpenAPI document", tags=("core",))]
