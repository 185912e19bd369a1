"""Build and run the aiohttp application.

Authentication is enforced in one middleware from each route's declaration,
so a plugin cannot forget it: a route is private unless it says ``public``.
"""

from __future__ import annotations

import errno
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from hub.auth import role_at_least
from hub.core.errors import HubError, Refused, StartupError
from hub.http.routes import CSRF_KEY, USER_KEY, Route, json_error
from hub.storage import StorageUnavailable, is_passing

if TYPE_CHECKING:
    from hub.hub import Hub
    from hub.plugins import PluginInfo

__all__ = ("HttpServer", "HUB_KEY", "ROUTES_KEY", "SESSION_COOKIE", "PRECSRF_COOKIE", "MAX_BODY")

_LOGGER = logging.getLogger(__name__)

HUB_KEY: web.AppKey[Hub] = web.AppKey("hub")
ROUTES_KEY: web.AppKey[dict[int, Route]] = web.AppKey("routes")
SESSION_COOKIE = "shub_session"
#: Double-submit CSRF cookie for forms shown before login (login, onboarding).
PRECSRF_COOKIE = "shub_precsrf"
#: Largest request body accepted; bigger bodies get 413 before any handler.
MAX_BODY = 1024 * 1024
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"

Middleware = Callable[
    [web.Request, Callable[[web.Request], Awaitable[web.StreamResponse]]], Awaitable[web.StreamResponse]
]


def _route_meta(request: web.Request) -> Route | None:
    route = request.match_info.route
    return request.app[ROUTES_KEY].get(id(route))


async def _resolve_user(request: web.Request) -> tuple[Any, str | None, bool]:
    """Return (user, csrf token or None, via_cookie)."""
    hub = request.app[HUB_KEY]
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return await hub.auth.user_for_token(header[7:].strip()), None, False
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        found = await hub.auth.session(sid)
        if found is not None:
            return found[0], found[1], True
    return None, None, False


def _unauthenticated(request: web.Request) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        return json_error(401, "authentication required", hint="log in or send Authorization: Bearer <token>")
    # 401, not a bare redirect, so scripts see the refusal; a browser follows the refresh.
    target = "/login?" + urlencode({"next": request.path_qs})
    body = (
        f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={target}">'
        f'<title>401</title><a href="{target}">Log in / เข้าสู่ระบบ</a>'
    )
    return web.Response(status=401, text=body, content_type="text/html")


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Enforce each route's role and CSRF rule."""
    meta = _route_meta(request)
    if meta is None:
        # Static files and unmatched paths (404/405) carry no data.
        return await handler(request)
    try:
        user, csrf, via_cookie = await _resolve_user(request)
    except StorageUnavailable as err:
        # The shared accounts database is down (station workers): nobody's credential can be
        # checked.  A public route (the login page, a hub's upload) still answers.
        request[USER_KEY], request[CSRF_KEY] = None, None
        if not meta.public:
            return _unavailable(request, err)
        user, csrf, via_cookie = None, None, False
    request[USER_KEY] = user
    request[CSRF_KEY] = csrf
    if meta.public:
        return await handler(request)
    if user is None:
        return _unauthenticated(request)
    if not role_at_least(user.role, meta.role):
        if request.path.startswith("/api/"):
            return json_error(403, f"requires role {meta.role}")
        return _error_page(request, 403, "error.needs_role", role=f"role.{meta.role}")
    if via_cookie and meta.csrf and request.method in _UNSAFE:
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
        if not sent or csrf is None or not secrets.compare_digest(sent, csrf):
            return json_error(403, "missing or wrong CSRF token")
    return await handler(request)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn hub errors into JSON answers; nothing a client sends crashes the hub."""
    page = _is_page(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404 and getattr(request.match_info, "http_exception", None) is not None:
            return await _no_route(request)
        if page and exc.status in (400, 403, 404, 409, 413) and exc.content_type != "text/html":
            # A page's handler said "no such camera": the site's own page, in the reader's language.
            key = {403: "error.forbidden", 404: "error.not_found"}.get(exc.status, "error.bad_request")
            return _error_page(
                request, exc.status, key, detail=exc.text if exc.status not in (403, 404) else None
            )
        raise
    except Refused as err:
        if page:
            return _error_page(request, err.status, "error.bad_request", detail=str(err))
        return json_error(err.status, str(err))
    except ValueError as err:
        if page:
            return _error_page(request, 400, "error.bad_request", detail=str(err))
        return json_error(400, str(err))
    except HubError as err:
        if page:
            return _error_page(request, 500, "error.internal", detail=str(err))
        return json_error(500, str(err))
    except json.JSONDecodeError:
        return json_error(400, "body is not valid JSON")
    except StorageUnavailable as err:
        return _unavailable(request, err)
    except Exception as err:
        if is_passing(err):
            # Not a bug: the disk is full or another process holds the database.  Say so,
            # so the operator frees space instead of reading a stack trace.
            _LOGGER.error(
                "%s %s refused: the database cannot write now (%s)", request.method, request.path, err
            )
            return json_error(503, f"the database cannot write now ({err}); try again later")
        _LOGGER.exception("Unhandled error serving %s %s", request.method, request.path)
        if page:
            return _error_page(request, 500, "error.internal")
        return json_error(500, "internal error; see the hub log")


def _unavailable(request: web.Request, err: StorageUnavailable) -> web.StreamResponse:
    """503: the shared database cannot be reached; a page says so in the reader's language."""
    _LOGGER.warning("%s %s refused: %s", request.method, request.path, err)
    if _is_page(request):
        response = _error_page(request, 503, "error.database_unavailable")
    else:
        response = json_error(503, "the shared database cannot be reached now; try again in a moment")
    response.headers["Retry-After"] = "5"
    return response


def _is_page(request: web.Request) -> bool:
    """Whether the request is for a page (HTML), not the API or a file."""
    meta = _route_meta(request)
    return meta is not None and not meta.api and not request.path.startswith(("/api/", "/static/"))


def _error_page(
    request: web.Request, status: int, key: str, *, detail: str | None = None, **fmt: str
) -> web.StreamResponse:
    """The site's error page (its layout, navigation and language); a library's words only as detail."""
    from hub.http.templating import render, request_lang
    from hub.i18n import translate

    lang = request_lang(request)
    message = translate(key, lang, **{name: translate(value, lang) for name, value in fmt.items()})
    return render(
        request,
        "error.html",
        status=status,
        status_code=status,
        message=message,
        details=[detail] if detail else [],
    )


async def _no_route(request: web.Request) -> web.StreamResponse:
    """Answer a path no route serves with the site's own 404 page (API and static paths: plain)."""
    if request.path.startswith(("/api/", "/static/")):
        # Clients and the route sweep read a plain router miss as "nothing here to refuse".
        return web.Response(status=404, text="404: Not Found")
    from hub.http.pages import error_page
    from hub.http.templating import request_lang
    from hub.i18n import translate

    if USER_KEY not in request:
        # The auth middleware skips unmatched paths; the page's navigation needs the user.
        try:
            request[USER_KEY], request[CSRF_KEY], _ = await _resolve_user(request)
        except StorageUnavailable:
            request[USER_KEY], request[CSRF_KEY] = None, None  # a 404 needs no account
    return error_page(request, 404, translate("error.not_found", request_lang(request)))


def _while_configured(
    hub: Hub, info: PluginInfo, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Serve a plugin's route only once the plugin is configured.

    A plugin the web UI can configure is imported at start even without a block, so
    that its pages exist the moment it is set up live (`hub.reload`); until then its
    routes answer the site's 404 rather than reach code that was never set up.
    """

    async def guarded(request: web.Request) -> web.StreamResponse:
        if hub.idle(info):
            return await _no_route(request)
        return await handler(request)

    return guarded


@web.middleware
async def headers_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Add security headers; no CDN means 'self' covers everything."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "media-src 'self' data:; frame-ancestors 'none'",
    )
    if isinstance(response, web.HTTPException):
        raise response
    return response


class HttpServer:
    """The hub's aiohttp application and its listening socket."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.routes: list[Route] = []
        self.app = self.build_app()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.host = hub.core.web.host

    def build_app(self) -> web.Application:
        """Create the application with every core and plugin route."""
        from hub.http import api, openapi, pages, stream
        from hub.http.templating import setup_templates

        hub = self.hub
        app = web.Application(
            client_max_size=MAX_BODY,
            middlewares=[headers_middleware, error_middleware, auth_middleware],
        )
        app[HUB_KEY] = hub
        app[ROUTES_KEY] = {}
        routes: list[Route] = [*api.routes(), *stream.routes(), *openapi.routes(), *pages.routes()]
        owners: dict[int, PluginInfo] = {}
        for info, plugin_routes in hub.plugins.hooks.register_routes(hub=hub):
            for route in plugin_routes or ():
                if not isinstance(route, Route):
                    hub.plugins.record_hook_error(
                        info, "register_routes", TypeError(f"not a Route: {route!r}")
                    )
                    continue
                routes.append(route)
                owners[id(route)] = info
        self.routes = routes
        for route in routes:
            owner = owners.get(id(route))
            handler = route.handler if owner is None else _while_configured(hub, owner, route.handler)
            added = app.router.add_route(route.method, route.path, handler)
            app[ROUTES_KEY][id(added)] = route
        app.router.add_static("/static/core/", WEB_DIR / "static", append_version=True)
        for _info, dirs in hub.plugins.hooks.static_dirs():
            for name, folder in (dirs or {}).items():
                if Path(folder).is_dir():
                    app.router.add_static(f"/static/{name}/", Path(folder))
        setup_templates(app, hub)
        stream.setup(app)
        return app

    async def start(self) -> None:
        """Listen on the configured host and port (port 0 picks a free one)."""
        web_cfg = self.hub.core.web
        host = self.hub.web_host or web_cfg.host
        port = web_cfg.port if self.hub.web_port is None else self.hub.web_port
        # shutdown_timeout bounds how long open SSE streams can delay a stop.
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError as err:
            await self.stop()
            if err.errno == errno.EADDRINUSE:
                raise StartupError(f"port {port} is already in use") from err
            raise StartupError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.host = host
        self.port = sockets[0].getsockname()[1] if sockets else port
        _LOGGER.info("Web UI at http://%s:%s", host, self.port)

    async def stop(self) -> None:
        """Close streams and the listening socket."""
        from hub.http import stream

        await stream.close_all(self.app)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """Return the base URL the server listens on."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
