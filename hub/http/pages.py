"""The core's server-rendered pages: login, onboarding, overview, incidents, plugins, users.

Pages read the hub directly and change it only through the JSON API (the
buttons ``fetch`` ``/api/...`` with the session's CSRF token), so there is
one code path with one set of checks and audit entries for every change.
The exceptions are the forms that must work before anyone is logged in
(login, onboarding), which protect themselves with a double-submit cookie and
a throttle (login: per address and user name, plus a global bound; onboarding: per
address), and the harmless language switch.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import MultiDictProxy

from hub.auth import SESSION_SECONDS, AuthError, User, role_at_least
from hub.components.incident import STATUSES, IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.services import ROLES
from hub.core.throttle import Throttle
from hub.http.routes import Handler, Route, current_user
from hub.http.server import HUB_KEY, PRECSRF_COOKIE, SESSION_COOKIE
from hub.http.templating import LANG_COOKIE, is_local_path, render
from hub.i18n import normalize_lang, translate
from hub.storage import StorageUnavailable

if TYPE_CHECKING:
    from hub.hub import Hub
    from hub.storage_pg import SharedLoginFailures

__all__ = ("routes", "GLOBAL_LOGIN_FAILURES")

_LOGGER = logging.getLogger(__name__)

#: Failed attempts allowed per client IP per window, for login and onboarding.
MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
#: Wrong logins per window across all users and addresses before everyone waits.
GLOBAL_LOGIN_FAILURES = 100
#: Status filters the incident list accepts ("" = all).
STATUS_FILTERS = ("", "active", *STATUSES)
#: Domains shown first on the overview: the SOS path is what matters at 2 a.m.
_DOMAIN_ORDER = ("sos", "light", "camera", "binary_sensor")
_LANG_MAX_AGE = 365 * 24 * 3600
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,64}")

Form = MultiDictProxy[Any]


# -- helpers -------------------------------------------------------------------


def _field(form: Form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _same(a: str, b: str) -> bool:
    """Compare secrets in constant time; bytes, because compare_digest rejects non-ASCII str."""
    return bool(a) and bool(b) and secrets.compare_digest(a.encode(), b.encode())


def _client(request: web.Request) -> str:
    # request.remote only: X-Forwarded-For is set by the client unless a proxy
    # we know of overwrites it, so trusting it would let anyone dodge the throttle.
    return request.remote or "unknown"


def _local_or_root(target: str | None) -> str:
    return target if target is not None and is_local_path(target) else "/"


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _precsrf(request: web.Request) -> str:
    """Return the visitor's pre-login CSRF token, reusing a well-formed cookie.

    Reuse keeps two open tabs (login in one, onboarding in the other) working.
    """
    existing = request.cookies.get(PRECSRF_COOKIE, "")
    return existing if _TOKEN_RE.fullmatch(existing) else secrets.token_urlsafe(32)


def _with_precsrf(request: web.Request, response: web.Response, token: str) -> web.Response:
    response.set_cookie(
        PRECSRF_COOKIE, token, path="/", httponly=True, samesite="Strict", secure=request.secure
    )
    return response


def _precsrf_ok(request: web.Request, form: Form) -> bool:
    return _same(request.cookies.get(PRECSRF_COOKIE, ""), _field(form, "csrf_token"))


def _logged_in(request: web.Request, sid: str, location: str) -> web.Response:
    response = _redirect(location)
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )
    response.del_cookie(PRECSRF_COOKIE, path="/")
    return response


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    """Return the HTML error page."""
    return render(request, "error.html", status=status, status_code=status, message=message)


def _t(request: web.Request, key: str, **fmt: object) -> str:
    from hub.http.templating import request_lang

    return translate(key, request_lang(request), **fmt)


def _user(request: web.Request) -> User:
    # The middleware has already refused anonymous requests to non-public pages.
    user: User = current_user(request)
    return user


def _domain_key(domain: str) -> tuple[int, str]:
    return (_DOMAIN_ORDER.index(domain) if domain in _DOMAIN_ORDER else len(_DOMAIN_ORDER), domain)


def _plugin_rows(hub: Hub) -> list[dict[str, Any]]:
    return [p.as_dict() for p in sorted(hub.plugin_infos(), key=lambda p: p.domain)]


# -- the pages ------------------------------------------------------------------


class _Pages:
    """Handlers plus the state they share (throttles), one instance per app."""

    def __init__(self) -> None:
        # Per (address, user name): behind a reverse proxy every visitor has the proxy's
        # address, and guessing one name must not lock out the others.  The global
        # bound caps guessing across all names (spraying).
        self.login_throttle = Throttle(MAX_FAILURES, WINDOW_SECONDS, global_limit=GLOBAL_LOGIN_FAILURES)
        self.onboarding_throttle = Throttle(MAX_FAILURES, WINDOW_SECONDS)
        #: Processes sharing one accounts database (station workers) count failed logins together.
        self._shared_failures: SharedLoginFailures | None = None
        # Two onboarding posts racing must not both see "no users yet".
        self.onboarding_lock = asyncio.Lock()

    def _shared(self, hub: Hub) -> SharedLoginFailures | None:
        # Imported here: PostgreSQL's module is only needed where the hub shares a database.
        from hub.storage_pg import SharedLoginFailures, SharedStorage

        if self._shared_failures is None and isinstance(hub.shared_storage, SharedStorage):
            self._shared_failures = SharedLoginFailures(
                hub.shared_storage, MAX_FAILURES, WINDOW_SECONDS, GLOBAL_LOGIN_FAILURES
            )
        return self._shared_failures

    # -- login / logout ----------------------------------------------------------

    def _login_page(
        self,
        request: web.Request,
        status: int = 200,
        error: str | None = None,
        next_path: str = "",
        username: str = "",
    ) -> web.Response:
        token = _precsrf(request)
        response = render(
            request,
            "login.html",
            status=status,
            precsrf=token,
            error=error,
            next_path=next_path,
            username=username,
        )
        return _with_precsrf(request, response, token)

    async def login_form(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        next_path = request.query.get("next", "")
        next_path = next_path if is_local_path(next_path) else ""
        try:
            if not await hub.auth.has_users():
                return _redirect("/onboarding")
        except StorageUnavailable:
            return self._login_page(request, 503, _t(request, "login.unavailable"), next_path)
        return self._login_page(request, next_path=next_path)

    async def login_submit(self, request: web.Request) -> web.Response:
        try:
            return await self._login_submit(request)
        except StorageUnavailable as err:
            # The shared accounts database (station workers) is down: refused, and said so.
            _LOGGER.warning("Login refused: %s", err)
            form = await request.post()
            next_path = _field(form, "next")
            response = self._login_page(
                request,
                503,
                _t(request, "login.unavailable"),
                next_path if is_local_path(next_path) else "",
                _field(form, "username").strip()[:64],
            )
            response.headers["Retry-After"] = "5"
            return response

    async def _login_submit(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        form = await request.post()
        ip = _client(request)
        now = hub.clock.time()
        next_path = _field(form, "next")
        next_path = next_path if is_local_path(next_path) else ""
        username = _field(form, "username").strip()[:64]
        throttle_key = f"{ip}\n{username.casefold()}"
        wait = self.login_throttle.retry_after(throttle_key, now)
        shared = self._shared(hub)
        if wait is None and shared is not None:
            wait = await shared.retry_after(throttle_key, now)
        if wait is not None:
            # Not audited: the failures that led here were, and a scripted
            # flood of refusals must not flood the append-only log.
            response = self._login_page(
                request, 429, _t(request, "login.throttled", minutes=_minutes(wait)), next_path, username
            )
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        if not _precsrf_ok(request, form):
            return self._login_page(request, 403, _t(request, "login.expired"), next_path, username)
        user = await hub.auth.check_password(username, _field(form, "password"))
        if user is None:
            self.login_throttle.fail(throttle_key, now)
            if shared is not None:
                await shared.fail(throttle_key, now)
            await hub.audit.log(
                username or "?",
                "login",
                username,
                ip=ip,
                result="denied",
                detail={"reason": "wrong username or password"},
            )
            return self._login_page(request, 401, _t(request, "login.failed"), next_path, username)
        self.login_throttle.forget(throttle_key)
        if shared is not None:
            await shared.forget(throttle_key)
        sid, _csrf = await hub.auth.create_session(user)
        await hub.audit.log(user.username, "login", user.username, role=user.role, ip=ip)
        return _logged_in(request, sid, next_path or "/")

    async def logout(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        user = _user(request)
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            await hub.auth.end_session(sid)
        await hub.audit.log(user.username, "logout", user.username, role=user.role, ip=_client(request))
        response = _redirect("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    # -- onboarding ----------------------------------------------------------------

    def _onboarding_page(
        self, request: web.Request, status: int = 200, error: str | None = None, username: str = ""
    ) -> web.Response:
        token = _precsrf(request)
        response = render(
            request, "onboarding.html", status=status, precsrf=token, error=error, username=username
        )
        return _with_precsrf(request, response, token)

    async def onboarding_form(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        if await hub.auth.has_users():
            return _redirect("/login")
        return self._onboarding_page(request)

    async def onboarding_submit(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        if await hub.auth.has_users():
            return _redirect("/login")
        form = await request.post()
        ip = _client(request)
        now = hub.clock.time()
        username = _field(form, "username").strip()[:64]
        wait = self.onboarding_throttle.retry_after(ip, now)
        if wait is not None:
            response = self._onboarding_page(
                request, 429, _t(request, "login.throttled", minutes=_minutes(wait)), username
            )
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        if not _precsrf_ok(request, form):
            return self._onboarding_page(request, 403, _t(request, "login.expired"), username)
        expected = hub.onboarding_code
        if expected is None:
            return self._onboarding_page(request, 403, _t(request, "onboarding.no_code"), username)
        # People copy "1234 5678" with spaces from a console; spaces carry no secret.
        code = "".join(_field(form, "code").split())
        if not _same(code, expected):
            self.onboarding_throttle.fail(ip, now)
            await hub.audit.log(
                username or "?",
                "onboarding",
                username,
                ip=ip,
                result="denied",
                detail={"reason": "wrong one-time code"},
            )
            return self._onboarding_page(request, 403, _t(request, "onboarding.wrong_code"), username)
        password = _field(form, "password")
        if password != _field(form, "password2"):
            return self._onboarding_page(request, 400, _t(request, "onboarding.mismatch"), username)
        async with self.onboarding_lock:
            if await hub.auth.has_users():
                return _redirect("/login")
            try:
                user = await hub.auth.add_user(username, password, "admin")
            except AuthError as err:
                return self._onboarding_page(request, 400, str(err), username)
            hub.onboarding_code = None
        sid, _csrf = await hub.auth.create_session(user)
        await hub.audit.log(
            user.username,
            "onboarding",
            user.username,
            role=user.role,
            ip=ip,
            detail={"created_role": "admin"},
        )
        # Straight on to the setup wizard (name, zone, map pin, language, time zone), unless
        # this is the embedded demo, which has no config file to write.
        return _logged_in(request, sid, "/setup" if hub.ui_config is not None else "/")

    # -- overview ------------------------------------------------------------------

    async def overview(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        user = _user(request)
        groups: dict[str, list[Any]] = {}
        for state in hub.states.all():
            # Open incidents have their own section; listing their mirror
            # entities again would show every incident twice.
            if state.domain == "incident":
                continue
            groups.setdefault(state.domain, []).append(state)
        entity_groups = [
            (domain, sorted(groups[domain], key=lambda s: (s.name, s.entity_id)))
            for domain in sorted(groups, key=_domain_key)
        ]
        manager = hub.data.get(INCIDENT_RUNTIME)
        incidents = await manager.find(status="active") if manager is not None else []
        incidents = await _with_federated(hub, incidents, "active", 100)
        plugins = _plugin_rows(hub)
        return render(
            request,
            "overview.html",
            entity_groups=entity_groups,
            incidents=incidents,
            plugins=plugins,
            plugins_ok=sum(1 for p in plugins if p["status"] == "set_up"),
            plugins_failed=[p for p in plugins if p["status"] == "failed"],
            config_errors=[str(e) for e in hub.config_errors],
            can_press_sos=role_at_least(user.role, "operator") and hub.services.has("sos", "press"),
        )

    # -- incidents -----------------------------------------------------------------

    async def incidents(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        status = request.query.get("status", "")
        if status not in STATUS_FILTERS:
            return error_page(request, 400, _t(request, "incidents.bad_status", status=status))
        manager = hub.data.get(INCIDENT_RUNTIME)
        items = await manager.find(status=status or None, limit=200) if manager is not None else []
        items = await _with_federated(hub, items, status or None, 200)
        return render(
            request, "incidents.html", incidents=items, filter_status=status, filters=STATUS_FILTERS
        )

    async def incident(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        incident_id = request.match_info["incident_id"]
        manager = hub.data.get(INCIDENT_RUNTIME)
        try:
            if manager is None:
                raise IncidentNotFound(incident_id)
            inc = await manager.get(incident_id)
        except IncidentNotFound:
            return error_page(request, 404, _t(request, "incident.not_found", id=incident_id))
        names = {u.id: u.username for u in await hub.auth.users()}
        user = _user(request)
        timeline = [
            {
                "ts": entry.ts,
                "actor": _actor_name(entry.actor, names),
                "kind": entry.kind,
                "text": entry.text,
                "data": entry.data or {},
                "attachments": _attachments(hub, user, entry),
            }
            for entry in inc.timeline
        ]
        return render(
            request,
            "incident.html",
            incident=inc,
            timeline=timeline,
            can_act=role_at_least(user.role, "operator") and inc.status != "closed",
        )

    # -- plugins and users ---------------------------------------------------------

    async def plugins(self, request: web.Request) -> web.Response:
        hub = request.app[HUB_KEY]
        return render(
            request,
            "plugins.html",
            plugins=_plugin_rows(hub),
            config_errors=[str(e) for e in hub.config_errors],
        )

    async def users(self, request: web.Request) -> web.Response:
        from hub.components.onboarding.strings import translator
        from hub.http.templating import request_lang

        hub = request.app[HUB_KEY]
        return render(
            request,
            "users.html",
            users=await hub.auth.all_users(),
            roles=ROLES,
            tr=translator(request_lang(request)),
        )

    # -- language --------------------------------------------------------------------

    async def set_lang(self, request: web.Request) -> web.Response:
        form = await request.post()
        response = _redirect(_local_or_root(_field(form, "next")))
        lang = normalize_lang(_field(form, "lang"))
        if lang is not None:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=_LANG_MAX_AGE,
                path="/",
                httponly=True,
                samesite="Lax",
                secure=request.secure,
            )
        return response


def _attachments(hub: Hub, user: Any, entry: Any) -> list[dict[str, Any]]:
    """Return an entry's attachments as the page shows them to ``user``.

    A plugin that knows the entry (the camera plugin: snapshot ids) says what each is
    and whether this user may see it.  Otherwise only local paths become links: an
    attachment string from a plugin or a remote station must not become a javascript: URL.
    """
    if entry.attachments:
        for _info, found in hub.plugins.hooks.timeline_attachments(hub=hub, user=user, entry=entry):
            if found is not None:
                return [
                    {
                        "text": str(a.get("text") or ""),
                        "href": a["href"] if is_local_path(str(a.get("href") or "")) else None,
                        "withheld": bool(a.get("withheld")),
                    }
                    for a in found
                ]
    return [{"text": a, "href": a if is_local_path(a) else None} for a in entry.attachments]


def _actor_name(actor: str, names: dict[str, str]) -> str:
    """Show ``user:<id>`` actors by name; anything else (``hub``, ``line:…``) as written."""
    if actor.startswith("user:"):
        return names.get(actor[5:], actor)
    return actor


def routes() -> list[Route]:
    """Return the core page routes (a fresh throttle state per call, i.e. per app)."""
    p = _Pages()

    def page(method: str, path: str, handler: Handler, **kw: Any) -> Route:
        return Route(method, path, handler, api=False, tags=("pages",), **kw)

    return [
        page(
            "GET", "/login", p.login_form, public=True, summary="Login form; sets the pre-login CSRF cookie"
        ),
        page(
            "POST",
            "/login",
            p.login_submit,
            public=True,
            csrf=False,
            summary="Log in; own double-submit CSRF check, 5 failures per IP per 5 minutes",
        ),
        page("POST", "/logout", p.logout, summary="End the session"),
        page(
            "GET",
            "/onboarding",
            p.onboarding_form,
            public=True,
            summary="Create the first admin; only while there are no users",
        ),
        page(
            "POST",
            "/onboarding",
            p.onboarding_submit,
            public=True,
            csrf=False,
            summary="Needs the one-time console code; own double-submit CSRF check; throttled per IP",
        ),
        page("GET", "/", p.overview, summary="Overview"),
        page("GET", "/incidents", p.incidents, summary="Incident list"),
        page("GET", "/incidents/{incident_id}", p.incident, summary="Incident detail and timeline"),
        page("GET", "/plugins", p.plugins, summary="Plugins and config errors"),
        page("GET", "/users", p.users, role="admin", summary="Users"),
        page(
            "POST",
            "/lang",
            p.set_lang,
            public=True,
            csrf=False,
            summary="Set the UI language cookie; harmless, so no CSRF check",
        ),
    ]


async def _with_federated(hub: Hub, local: list[Any], status: str | None, limit: int) -> list[Any]:
    """Add the incidents of other sources (a station's federated ones), newest first.

    A station's own incident table is nearly empty: its incidents come from
    its hubs.  Without these its home and Incidents pages said "no open
    incidents" while the CCOC board showed open SOS.  Each source's item
    carries the ``url`` of its own page.
    """
    from hub.http.api import INCIDENT_SOURCES

    sources = hub.data.get(INCIDENT_SOURCES) or ()
    if not sources:
        return local
    items: list[Any] = list(local)
    for source in sources:
        items += await source.incidents(status=status, limit=limit)

    def opened(item: Any) -> float:
        value = item.get("opened_at") if isinstance(item, dict) else getattr(item, "opened_at", None)
        return float(value or 0.0)

    items.sort(key=opened, reverse=True)
    return items[:limit]
