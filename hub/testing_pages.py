"""Test kit for the web pages: browser-like sessions, form fields, and every page the router serves.

``page_paths(hub)`` lists the GET pages from the router itself (core, plugins,
station), so a crawl or a layout test covers a page the day it is added.
Paths with parameters are filled from links found on pages already visited.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "PASSWORD",
    "browser_session",
    "hidden",
    "page_routes",
    "route_regex",
    "links",
    "PageRoute",
    "discover_pages",
)

PASSWORD = "correct horse battery"
#: Routes that serve a file (an image, a tile, a CSV), not a page.
_FILE = re.compile(r"\.(?:jpe?g|png|webp|gif|svg|csv|json|pdf|mp4|m3u8|ts|js|css|ico|txt)$")


async def browser_session(hub: Hub, role: str = "admin", *, lang: str | None = None) -> aiohttp.ClientSession:
    """A cookie-keeping session logged in through the login form as a user of ``role``.

    The caller closes it.  ``lang`` sets the language cookie, as the header's switch does.
    """
    name = f"page-{role}"
    if await hub.auth.user_by_name(name) is None:
        await hub.auth.add_user(name, PASSWORD, role)
    session = aiohttp.ClientSession(base_url=hub.http.url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get("/login", allow_redirects=False) as resp:
        page = await resp.text()
    form = {"csrf_token": hidden(page, "csrf_token", "login-form"), "username": name, "password": PASSWORD}
    async with session.post("/login", data=form, allow_redirects=False) as resp:
        if resp.status != 303:
            await session.close()
            raise AssertionError(f"login as {name} failed: {resp.status}")
    if lang is not None:
        session.cookie_jar.update_cookies({"lang": lang})
    return session


def hidden(page: str, name: str, form_id: str | None = None) -> str:
    """Return a hidden field's value (inside form ``form_id`` when given)."""
    if form_id is not None:
        page = page.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    match = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', page)
    if match is None:
        raise AssertionError(f"no hidden field {name}")
    return html.unescape(match.group(1))


@dataclass(frozen=True)
class PageRoute:
    """A GET page of the router: its path pattern and whether it needs a login."""

    path: str
    public: bool
    role: str

    @property
    def has_params(self) -> bool:
        return "{" in self.path


def page_routes(hub: Hub) -> list[PageRoute]:
    """Every HTML page route (GET, not an API route) the hub's router serves."""
    out = []
    for route in hub.http.routes:
        if route.method != "GET" or route.api or route.path.startswith("/api/") or _FILE.search(route.path):
            continue
        out.append(PageRoute(route.path, route.public, route.role))
    return out


def route_regex(path: str) -> re.Pattern[str]:
    """A regex matching concrete paths of a route pattern (``/x/{id}`` → ``/x/[^/]+``)."""
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            inner = part[1:-1]
            pattern = inner.split(":", 1)[1] if ":" in inner else "[^/]+"
            out += f"(?:{pattern})"
        else:
            out += re.escape(part)
    return re.compile(out + r"\Z")


def links(page: str) -> list[str]:
    """Every same-site link (``href="/..."``) of a page, without query strings."""
    found = []
    for href in re.findall(r'href="(/[^"#]*)"', page):
        href = html.unescape(href)
        if href.startswith("//"):
            continue
        found.append(href)
    return found


def _page_links(hub: Hub, page: str) -> list[str]:
    """Links, and this hub's own full URLs shown as text (a poll's share link), as paths."""
    found = links(page)
    base = hub.http.url.rstrip("/")
    for url in re.findall(re.escape(base) + r"(/[^\s\"<]*)", page):
        found.append(html.unescape(url))
    return found


async def discover_pages(
    hub: Hub, session: aiohttp.ClientSession, seeds: list[str] | tuple[str, ...] = (), *, per_route: int = 2
) -> tuple[dict[str, str], set[str]]:
    """Visit every routed page, following links into parameter routes; return ({path: html}, unreached).

    ``seeds`` add paths no page links to (signed links handed out on paper or in
    LINE).  ``unreached`` are the parameter routes no visited page linked to.
    """
    routes = page_routes(hub)
    pending: list[str] = [*(r.path for r in routes if not r.has_params), "/no/such/page", *seeds]
    param_routes = {r.path: route_regex(r.path) for r in routes if r.has_params}
    fixed = {r.path for r in routes if not r.has_params}
    #: Fixed pages opened with a query (a blueprint's form, a filter): a few of each.
    queried: dict[str, int] = {}
    reached: dict[str, int] = {}
    pages: dict[str, str] = {}
    seen: set[str] = set()
    while pending:
        path = pending.pop(0)
        if path in seen:
            continue
        seen.add(path)
        for pattern, regex in param_routes.items():
            if regex.match(path.split("?", 1)[0]):
                reached.setdefault(pattern, 1)
        async with session.get(path, allow_redirects=True) as resp:
            if "text/html" not in resp.headers.get("Content-Type", ""):
                continue
            page = await resp.text()
        pages[path] = page
        for href in _page_links(hub, page):
            if href in seen:
                continue
            bare, _sep, query = href.partition("?")
            if query and bare in fixed and queried.get(bare, 0) < per_route:
                queried[bare] = queried.get(bare, 0) + 1
                pending.append(href)
                continue
            for pattern, regex in param_routes.items():
                if regex.match(href.split("?", 1)[0]) and reached.get(pattern, 0) < per_route:
                    reached[pattern] = reached.get(pattern, 0) + 1
                    pending.append(href)
    return pages, set(param_routes) - set(reached)
