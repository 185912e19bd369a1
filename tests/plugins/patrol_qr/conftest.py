"""Fixtures for the patrol_qr tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest_asyncio
from patrol_helpers import Phone

from hub.hub import Hub


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
