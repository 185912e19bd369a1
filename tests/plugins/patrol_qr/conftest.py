"""Fixtures for the patrol_qr tests: phones that scan a QR and check in.

Plain helpers (the config, links, counts) are in ``patrol_helpers.py``.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest_asyncio

from hub.hub import Hub
from integrations.federation.testing import federation_lab  # noqa: F401  (test_patrol_station)


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no field {name} in page"
    return html.unescape(match.group(1))


@dataclass
class Answer:
    """A page the hub sent back."""

    status: int
    text: str

    @property
    def reason(self) -> str | None:
        match = re.search(r'data-reason="([^"]+)"', self.text)
        return match.group(1) if match else None


class Phone:
    """A phone's browser: keeps cookies, sends no token unless it is an officer's app."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def get(self, path: str) -> Answer:
        async with self.session.get(path, allow_redirects=False) as resp:
            return Answer(resp.status, await resp.text())

    async def post(self, path: str, data: dict[str, Any]) -> Answer:
        async with self.session.post(path, data=data, allow_redirects=False) as resp:
            return Answer(resp.status, await resp.text())

    async def check_in(self, link: str, **fields: Any) -> Answer:
        """Scan the QR (GET), then send the form with ``fields``."""
        page = await self.get(link)
        if page.status != 200 or 'id="checkin-form"' not in page.text:
            return page
        data = {
            "form_exp": _hidden(page.text, "form_exp"),
            "form_sig": _hidden(page.text, "form_sig"),
            "csrf_token": _hidden(page.text, "csrf_token"),
            **{k: str(v) for k, v in fields.items()},
        }
        return await self.post(link, data)


@pytest_asyncio.fixture
async def phones() -> AsyncIterator[Callable[..., Any]]:
    """Make phones: ``await phones(hub)`` (no account) or ``await phones(hub, "officer1", "operator")``.

    A phone with an account sends a bearer token, like an officer's app would.
    """
    sessions: list[aiohttp.ClientSession] = []

    async def _make(hub: Hub, username: str | None = None, role: str = "operator") -> Phone:
        headers = {}
        if username is not None:
            user = await hub.auth.user_by_name(username) or await hub.auth.add_user(
                username, "patrol-pass-1", role
            )
            headers["Authorization"] = f"Bearer {await hub.auth.create_token(user, 'phone')}"
        session = aiohttp.ClientSession(
            base_url=hub.http.url, headers=headers, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        sessions.append(session)
        return Phone(session)

    yield _make
    for session in sessions:
        await session.close()
