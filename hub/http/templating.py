"""Jinja2 pages: the template search path and one ``render`` for every page.

Search order (first match wins), as in DESIGN §2 and the ``template_dirs``
hookspec:

1. ``<config dir>/templates``: the installer's overrides;
2. each plugin's ``template_dirs``;
3. ``default:<name>``: the core template even when 1. or 2. shadow it, so an
   override can ``{% extends "default:base.html" %}`` and change one block;
4. the core's ``web/templates``.

This environment renders trusted page templates written by developers; the
*sandboxed* environment for user-written automation templates is a different
thing (``hub.templates``) and never shares this one.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from hub.auth import role_at_least
from hub.http.routes import CSRF_KEY, current_user
from hub.http.server import HUB_KEY, WEB_DIR
from hub.i18n import DEFAULT_LANG, STRINGS, format_time, normalize_lang, translate

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "TEMPLATES_KEY",
    "LANG_COOKIE",
    "setup_templates",
    "render",
    "request_lang",
    "is_local_path",
    "static_url",
)

TEMPLATES_KEY: web.AppKey[jinja2.Environment] = web.AppKey("page_templates", jinja2.Environment)
LANG_COOKIE = "lang"

#: Core navigation: (href, i18n key, least role).
CORE_NAV: tuple[tuple[str, str, str], ...] = (
    ("/", "nav.overview", "viewer"),
    ("/incidents", "nav.incidents", "viewer"),
    ("/plugins", "nav.plugins", "viewer"),
    ("/users", "nav.users", "admin"),
)
#: i18n prefixes app.js needs (state names, statuses, banner text...): sent as
#: JSON in the page, so the browser never has to ask for translations.
_JS_PREFIXES = ("state.", "status.", "kind.", "severity.", "sos.", "live.", "action.", "incident.", "users.")

_STATIC_DIR = WEB_DIR / "static"
# (path, mtime_ns) → version; keyed on mtime so an edited file gets a new
# URL without a restart, and an unchanged one is hashed once.
_versions: dict[tuple[str, int], str] = {}


def setup_templates(app: web.Application, hub: Hub) -> None:
    """Build the page template environment and store it on ``app``."""
    loaders: list[jinja2.BaseLoader] = []
    user_dir = hub.config_dir / "templates"
    if user_dir.is_dir():
        loaders.append(jinja2.FileSystemLoader(user_dir))
    for _info, dirs in hub.plugins.hooks.template_dirs():
        for folder in _as_paths(dirs):
            if folder.is_dir():
                loaders.append(jinja2.FileSystemLoader(folder))
    core = jinja2.FileSystemLoader(WEB_DIR / "templates")
    # ":" like datasette, so "default:base.html" reads as a namespace, not a folder.
    loaders.append(jinja2.PrefixLoader({"default": core}, delimiter=":"))
    loaders.append(core)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app[TEMPLATES_KEY] = env


def _as_paths(dirs: Any) -> list[Path]:
    if dirs is None:
        return []
    if isinstance(dirs, str | Path):
        # A plugin returning one folder instead of a list is an easy slip; accept it.
        return [Path(dirs)]
    return [Path(d) for d in dirs]


def request_lang(request: web.Request) -> str:
    """Return the UI language: the ``lang`` cookie if valid, else the hub's configured one."""
    chosen = normalize_lang(request.cookies.get(LANG_COOKIE))
    if chosen is not None:
        return chosen
    return normalize_lang(request.app[HUB_KEY].core.language) or DEFAULT_LANG


def is_local_path(target: str | None) -> bool:
    """Return whether ``target`` is a path on this site (safe to redirect to).

    ``//evil.example`` and ``/\\evil.example`` are protocol-relative URLs to
    browsers, and control characters can smuggle a different host past naive
    checks; only plain absolute paths pass.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def static_url(path: str) -> str:
    """Return the URL of a static file, with a content version for core files.

    ``path`` is relative to ``/static/`` (``core/app.css``, ``patrol_qr/x.png``).
    Core files get ``?v=<hash>`` so a browser never keeps an old app.js
    after an upgrade; plugin folders are served without versioning.
    """
    path = path.lstrip("/")
    url = "/static/" + path
    if not path.startswith("core/"):
        return url
    file = (_STATIC_DIR / path.removeprefix("core/")).resolve()
    if not file.is_relative_to(_STATIC_DIR.resolve()) or not file.is_file():
        return url
    key = (str(file), file.stat().st_mtime_ns)
    version = _versions.get(key)
    if version is None:
        version = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
        _versions[key] = version
    return f"{url}?v={version}"


def _nav(request: web.Request, hub: Hub, user: Any, lang: str) -> list[dict[str, Any]]:
    """Return the navigation links this user may see."""
    if user is None:
        return []
    links: list[dict[str, Any]] = []
    for href, key, role in CORE_NAV:
        if role_at_least(user.role, role):
            links.append({"href": href, "label": translate(key, lang)})
    for info, result in hub.plugins.hooks.nav_links(hub=hub, user=user.as_dict()):
        if hub.idle(info):
            # Imported for the web UI to set up live, but not set up: its pages answer 404.
            if inspect.iscoroutine(result):
                result.close()
            continue
        if inspect.isawaitable(result):
            # Rendering is synchronous; an async hookimpl would never finish.
            if inspect.iscoroutine(result):
                result.close()
            hub.plugins.record_hook_error(
                info, "nav_links", TypeError("nav_links must return a list, not an awaitable")
            )
            continue
        for link in _as_links(result):
            href = str(link.get("href", ""))
            if not is_local_path(href) or not role_at_least(user.role, str(link.get("role", "viewer"))):
                continue
            label = link.get(f"label_{lang}") or link.get("label_en") or link.get("label_th") or href
            links.append({"href": href, "label": str(label)})
    path = request.path
    for link in links:
        link["active"] = link["href"] == path or (link["href"] != "/" and path.startswith(link["href"] + "/"))
    return links


def _as_links(result: Any) -> Iterable[Mapping[str, Any]]:
    if result is None:
        return []
    return [link for link in result if isinstance(link, Mapping)]


def js_strings(lang: str) -> dict[str, str]:
    """Return the strings app.js needs, in ``lang``."""
    return {key: translate(key, lang) for key in STRINGS if key.startswith(_JS_PREFIXES)}


def render(request: web.Request, template_name: str, status: int = 200, **context: Any) -> web.Response:
    """Render a page with the common context and return it as HTML.

    Every page gets ``hub``, ``user``, ``csrf_token``, ``lang``, ``t``
    (translate bound to ``lang``), ``nav``, ``static_url`` and ``fmt_time``;
    ``context`` adds to or overrides them.
    """
    hub = request.app[HUB_KEY]
    env = request.app[TEMPLATES_KEY]
    user = current_user(request)
    lang = request_lang(request)
    tz = hub.clock.tz

    def t(key: str, /, **fmt: object) -> str:
        return translate(key, lang, **fmt)

    def fmt_time(ts: float | None, seconds: bool = True) -> str:
        return format_time(ts, lang, tz, seconds=seconds)

    values: dict[str, Any] = {
        "hub": hub,
        "user": user,
        "csrf_token": request.get(CSRF_KEY) or "",
        "lang": lang,
        "t": t,
        "nav": _nav(request, hub, user, lang),
        "static_url": static_url,
        "fmt_time": fmt_time,
        "js_strings": js_strings(lang),
        "tz_name": str(getattr(tz, "key", "") or "Asia/Bangkok"),
        "request_path": request.path_qs,
    }
    values.update(context)
    html = env.get_template(template_name).render(values)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    # Pages carry the CSRF token and incident details: never cache them in a
    # shared or back/forward cache on a shop's shared tablet.
    response.headers["Cache-Control"] = "no-store"
    return response
