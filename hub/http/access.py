"""Admin routes that give and take back access: tokens and users.

Every change is audited, refused attempts too (``result: refused``): who
tried to remove the last admin matters as much as who removed a user.  A
revoked token or a disabled user fails on the very next request, and open
event streams re-check their credential at once (:mod:`hub.http.stream`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.auth import AuthError, LastAdmin, UnknownAccess
from hub.core.services import ROLES
from hub.http.routes import Route, current_user, json_dumps, json_error, read_json_object
from hub.http.server import HUB_KEY

__all__ = ("routes", "MAX_TOKEN_DAYS")

#: Longest lifetime a token may be given through the API (ten years).
MAX_TOKEN_DAYS = 3650


def _refusal(err: AuthError) -> web.Response:
    if isinstance(err, UnknownAccess):
        return json_error(404, str(err))
    if isinstance(err, LastAdmin):
        return json_error(409, str(err))
    return json_error(400, str(err))


async def _audit(
    request: web.Request, action: str, target: str, detail: dict[str, Any], result: str = "ok"
) -> None:
    hub = request.app[HUB_KEY]
    admin = current_user(request)
    await hub.audit.log(
        admin.username, action, target, role=admin.role, detail=detail, ip=request.remote or "", result=result
    )


async def list_tokens(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    user_id = request.query.get("user_id") or None
    return web.json_response([t.as_dict() for t in await hub.auth.tokens(user_id)], dumps=json_dumps)


async def create_token(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    body = await read_json_object(request)
    name = str(body.get("name") or "api")[:100]
    expires_in = body.get("expires_in")
    if expires_in is not None and (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not 0 < expires_in <= MAX_TOKEN_DAYS * 86400
    ):
        return json_error(400, f"expires_in must be seconds, more than 0 and at most {MAX_TOKEN_DAYS} days")
    user = await hub.auth.user_by_name(str(body.get("username", "")))
    if user is None:
        return json_error(404, f"no enabled user {body.get('username')!r}")
    token, info = await hub.auth.issue_token(user, name, expires_in=expires_in)
    await _audit(
        request, "token.create", info.id, {"user": user.username, "name": name, "expires_at": info.expires_at}
    )
    return web.json_response({**info.as_dict(), "token": token}, status=201, dumps=json_dumps)


async def revoke_token(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    token_id = request.match_info["token_id"]
    try:
        info = await hub.auth.revoke_token(token_id)
    except AuthError as err:
        return _refusal(err)
    await _audit(request, "token.revoke", token_id, {"user": info.username, "name": info.name})
    return web.json_response(info.as_dict(), dumps=json_dumps)


async def update_user(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    user_id = request.match_info["user_id"]
    body = await read_json_object(request)
    role, disabled = body.get("role"), body.get("disabled")
    if role is None and disabled is None:
        return json_error(400, "send role and/or disabled")
    if role is not None and role not in ROLES:
        return json_error(400, f"role must be one of {', '.join(ROLES)}")
    if disabled is not None and not isinstance(disabled, bool):
        return json_error(400, "disabled must be true or false")
    steps: list[tuple[str, Any]] = []
    if role is not None:
        steps.append(("user.role", lambda: hub.auth.set_role(user_id, role)))
    if disabled is True:
        steps.append(("user.disable", lambda: hub.auth.disable_user(user_id)))
    elif disabled is False:
        steps.append(("user.enable", lambda: hub.auth.enable_user(user_id)))
    for action, step in steps:
        try:
            before = await step()
        except AuthError as err:
            await _audit(request, action, user_id, {"role": role, "error": str(err)}, result="refused")
            return _refusal(err)
        await _audit(
            request, action, user_id, {"user": before["username"], "from": before["role"], "role": role}
        )
    after = await hub.auth.find_user(user_id)
    return web.json_response(after, dumps=json_dumps)


async def delete_user(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    user_id = request.match_info["user_id"]
    try:
        gone = await hub.auth.delete_user(user_id)
    except AuthError as err:
        await _audit(request, "user.delete", user_id, {"error": str(err)}, result="refused")
        return _refusal(err)
    await _audit(request, "user.delete", user_id, {"user": gone["username"], "role": gone["role"]})
    return web.json_response(gone, dumps=json_dumps)


def routes() -> list[Route]:
    """Return the token and user management routes (admin only)."""
    tags = ("users",)
    return [
        Route(
            "GET",
            "/api/tokens",
            list_tokens,
            role="admin",
            summary="API tokens (never their values)",
            tags=tags,
        ),
        Route(
            "POST",
            "/api/tokens",
            create_token,
            role="admin",
            summary="Create a token for a user; the value is shown once",
            tags=tags,
            request_schema={
                "type": "object",
                "required": ["username"],
                "properties": {
                    "username": {"type": "string"},
                    "name": {"type": "string"},
                    "expires_in": {"type": "number", "description": "seconds until it stops working"},
                },
            },
        ),
        Route(
            "DELETE",
            "/api/tokens/{token_id}",
            revoke_token,
            role="admin",
            summary="Revoke a token: it fails at once, open streams included",
            tags=tags,
        ),
        Route(
            "PATCH",
            "/api/users/{user_id}",
            update_user,
            role="admin",
            summary="Change a user's role or disable/enable them (never the last admin)",
            tags=tags,
            request_schema={
                "type": "object",
                "properties": {
                    "role": {"type": "string", "enum": list(ROLES)},
                    "disabled": {"type": "boolean"},
                },
            },
        ),
        Route(
            "DELETE",
            "/api/users/{user_id}",
            delete_user,
            role="admin",
            summary="Delete a user with their tokens and sessions (never the last admin)",
            tags=tags,
        ),
    ]
