"""The contributor kit: pytest fixtures for testing SafetyHub and its plugins.

Registered through the ``pytest11`` entry point, so any project that installs
``safetyhub`` gets these fixtures.  They build a *real* hub: real storage in
a temp dir, a real web server on 127.0.0.1 with a free port, and a clock you
move by hand instead of sleeping.  See ``docs/plugins.md``.

Because *every* pytest run in an environment with safetyhub installed loads
this module, it must load without the test extras: without pytest-asyncio
the async fixtures say what to install when a test asks for them, and the
fake LINE API and Mosquitto fixtures (which need it too) are left out.
Nothing else here may import a test-only package at module level.
"""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

from hub.bootstrap import LoadedConfig, load
from hub.core.clock import FakeClock
from hub.hub import Hub

__all__ = ("BASE_CONFIG", "write_config", "HubFactory", "ClientFactory", "wait_for")

try:
    import pytest_asyncio

    HAVE_PYTEST_ASYNCIO = True
except ImportError:  # a plain `pip install safetyhub`: the kit's async parts need `safetyhub[test]`
    HAVE_PYTEST_ASYNCIO = False

_F = TypeVar("_F", bound=Callable[..., Any])


def _async_fixture(func: _F) -> _F:
    """Return an async pytest-asyncio fixture, or one that says what to install when used."""
    if HAVE_PYTEST_ASYNCIO:
        return pytest_asyncio.fixture(func)  # type: ignore[return-value]
    name = func.__name__

    def missing(request: pytest.FixtureRequest) -> None:
        pytest.fail(
            f"safetyhub's {name!r} fixture needs pytest-asyncio: pip install 'safetyhub[test]'",
            pytrace=False,
        )

    missing.__name__ = name
    missing.__doc__ = func.__doc__
    return pytest.fixture(name=name)(missing)  # type: ignore[return-value]


async def wait_for(condition: Callable[[], object], within: float = 5.0, what: str = "condition") -> None:
    """Poll ``condition`` in real time (network peers answer in real time, whatever the hub's clock says)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


#: The smallest valid config; tests append their own blocks.
BASE_CONFIG = """\
hub:
  id: test-hub
  name: ตลาดทดสอบ
  zone: test-zone
  location: {lat: 14.5896, lon: 100.4550}
  timezone: Asia/Bangkok
  data_dir: ./data
  web: {host: 127.0.0.1, port: 0}
"""

HubFactory = Callable[..., Awaitable[Hub]]
ClientFactory = Callable[..., Awaitable[aiohttp.ClientSession]]


def write_config(
    folder: Path, extra: str = "", *, base: str = BASE_CONFIG, name: str = "config.yaml"
) -> Path:
    """Write ``base`` plus ``extra`` (dedented) to ``folder/name`` and return the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(base + textwrap.dedent(extra), encoding="utf-8")
    return path


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test calls ``await clock.advance(s)``."""
    return FakeClock()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A temp config folder for one test."""
    folder = tmp_path / "config"
    folder.mkdir()
    return folder


@pytest.fixture
def load_config(config_dir: Path) -> Callable[[str], LoadedConfig]:
    """Load a config snippet (added to the base config) the way ``check`` does."""

    def _load(extra: str = "", base: str = BASE_CONFIG) -> LoadedConfig:
        return load(write_config(config_dir, extra, base=base))

    return _load


@_async_fixture
async def make_hub(config_dir: Path, clock: FakeClock) -> AsyncIterator[HubFactory]:
    """Start hubs from config snippets; all are stopped when the test ends.

    ``await make_hub("sos:\\n  - {id: a, simulated: true}\\n")`` returns a running
    hub with the base config plus that block, the fake clock and a web server.
    Pass ``real_clock=True`` for code that must see wall time (network peers).
    """
    hubs: list[Hub] = []

    async def _make(
        extra: str = "",
        *,
        base: str = BASE_CONFIG,
        real_clock: bool = False,
        web: bool = True,
        folder: Path | None = None,
    ) -> Hub:
        path = write_config(folder or config_dir, extra, base=base)
        hub = Hub(path, clock=None if real_clock else clock, web=web)
        await hub.start()
        hubs.append(hub)
        return hub

    yield _make
    for hub in reversed(hubs):
        await hub.stop()


@_async_fixture
async def hub(make_hub: HubFactory) -> Hub:
    """A running hub with the base config."""
    return await make_hub()


@_async_fixture
async def client_for(hub: Hub) -> AsyncIterator[ClientFactory]:
    """Make HTTP clients for ``hub`` authenticated with a token of a role."""
    sessions: list[aiohttp.ClientSession] = []

    async def _client(
        role: str = "admin", *, target: Hub | None = None, anonymous: bool = False
    ) -> aiohttp.ClientSession:
        h = target or hub
        headers = {}
        if not anonymous:
            user = await h.auth.user_by_name(f"test-{role}")
            if user is None:
                user = await h.auth.add_user(f"test-{role}", "correct horse battery", role)
            headers["Authorization"] = f"Bearer {await h.auth.create_token(user, 'test')}"
        session = aiohttp.ClientSession(
            base_url=h.http.url, headers=headers, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        sessions.append(session)
        return session

    yield _client
    for session in sessions:
        await session.close()


@_async_fixture
async def hub_client(client_for: ClientFactory) -> aiohttp.ClientSession:
    """An HTTP client for ``hub`` with an admin bearer token."""
    return await client_for("admin")


@pytest.fixture
def no_entrypoint_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Load only the tree's own plugins (not whatever else is pip-installed)."""
    monkeypatch.setenv("SAFETYHUB_ENTRYPOINTS", "0")
    yield


# The Mosquitto fixtures (``mosquitto``, ``mosquitto_factory``) join the kit.
# The fake LINE Messaging API (``fake_line_factory``, ``FakeLineApi``) joins the kit.
# Both define async fixtures, so they come only with pytest-asyncio.
if HAVE_PYTEST_ASYNCIO:
    from integrations.line.testing import *  # noqa: E402, F403
    from integrations.mqtt.testing import *  # noqa: E402, F403
