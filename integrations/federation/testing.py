"""Test kit for federation: a station broker with real accounts and ACL, and config blocks.

Built on ``integrations.mqtt.testing``'s ``mosquitto_factory``: the broker's password
file and ACL are written by the station's own admin code
(:mod:`integrations.station.broker`), so tests exercise what ``add-hub``
produces.  Import the fixture into a ``conftest.py``::

    from integrations.federation.testing import federation_lab  # noqa: F401
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from integrations.station.broker import acl_text, hash_password, write_passwd

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.mqtt.testing import Mosquitto, MosquittoFactory

__all__ = (
    "FederationLab",
    "federation_lab",
    "STATION_ID",
    "HUB_PASSWORDS",
    "start_pair",
    "until",
    "register_hubs",
    "station_config",
    "TINY_JPEG",
    "CAMERA_PASSWORD",
    "config_block",
    "yaml_value",
)

STATION_ID = "test-station"
STATION_USER = "ccoc"
STATION_PASSWORD = "ccoc-password-1234"
#: Accounts the lab creates: the default test hub and a neighbour.
HUB_PASSWORDS = {"test-hub": "hub-a-password-1234", "hub-b": "hub-b-password-1234"}


class FederationLab:
    """A Mosquitto with the station's passwd/ACL, and YAML for both ends."""

    def __init__(
        self,
        folder: Path,
        factory: MosquittoFactory,
        *,
        persistence: bool = True,
        hubs: dict[str, str] | None = None,
    ) -> None:
        """``hubs``: hub id → password (default: :data:`HUB_PASSWORDS`)."""
        folder.mkdir(parents=True, exist_ok=True)
        hubs = dict(HUB_PASSWORDS if hubs is None else hubs)
        self.folder = folder
        self.passwd = folder / "passwd"
        self.acl = folder / "acl"
        self.passwords = {STATION_USER: STATION_PASSWORD, **hubs}
        # Few PBKDF2 rounds: tests log in often and the cost is only the broker's CPU.
        write_passwd(self.passwd, {u: hash_password(p, iterations=101) for u, p in self.passwords.items()})
        self.acl.write_text(acl_text(STATION_ID, STATION_USER, list(hubs)), encoding="utf-8")
        self.broker: Mosquitto = factory(
            password_file=self.passwd, acl_file=self.acl, persistence=persistence
        )
        #: ``station.database`` for the station blocks (None: the default SQLite file); the
        #: station tests set a PostgreSQL URL to run the same test on both engines.
        self.database: str | None = None

    @property
    def url(self) -> str:
        """Return the broker URL."""
        return self.broker.url

    def station_block(self, **extra: Any) -> str:
        """Return a ``station:`` block pointing at the lab broker."""
        opts = {"reconnect_min": 0.05, "reconnect_max": 0.5, **extra}
        if self.database is not None:
            opts.setdefault("database", self.database)
        keys = {"id": STATION_ID, "broker": self.url, "username": STATION_USER, "password": STATION_PASSWORD}
        return config_block("station", keys, opts)

    def hub_block(self, hub_id: str = "test-hub", *, password: str | None = None, **extra: Any) -> str:
        """Return a ``federation:`` block for ``hub_id``."""
        opts = {"reconnect_min": 0.05, "reconnect_max": 0.5, "ack_timeout": 2, **extra}
        keys = {
            "station": STATION_ID,
            "broker": self.url,
            "username": hub_id,
            "password": password or self.passwords[hub_id],
        }
        return config_block("federation", keys, opts)


def config_block(name: str, keys: dict[str, str], opts: dict[str, Any]) -> str:
    """Return a YAML block: ``keys`` written as they are, then ``opts`` as YAML values."""
    lines = [f"{name}:", *(f"  {k}: {v}" for k, v in keys.items())]
    lines += [f"  {k}: {yaml_value(v)}" for k, v in opts.items()]
    return "\n".join(lines) + "\n"


def yaml_value(value: Any) -> str:
    """Return ``value`` as a one-line YAML scalar (a dict, list or URL as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)) or (isinstance(value, str) and "://" in value):
        import json

        return json.dumps(value)
    return str(value)


def station_config(hub_id: str = "ccoc") -> str:
    """Return a ``hub:`` block for a station process."""
    return textwrap.dedent(f"""\
        hub:
          id: {hub_id}
          name: สถานีทดสอบ
          zone: test-zone
          timezone: Asia/Bangkok
          data_dir: ./data
          web: {{host: 127.0.0.1, port: 0}}
        """)


async def register_hubs(station_hub: Hub, *hub_ids: str) -> None:
    """Register hubs in a running station, as ``add-hub`` does."""
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    station = station_hub.data[STATION_RUNTIME]
    for hub_id in hub_ids or tuple(HUB_PASSWORDS):
        await station.store.register_hub(hub_id, hub_id, station_hub.clock.time())
    await station.ingest.reload_hubs()


@pytest.fixture
def federation_lab(mosquitto_factory: MosquittoFactory, tmp_path: Path) -> Iterator[FederationLab]:
    """A persistent Mosquitto with the station's accounts and ACL (``test-hub``, ``hub-b``, ``ccoc``)."""
    yield FederationLab(tmp_path / "lab", mosquitto_factory)


async def until(predicate: Any, within: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` (sync or async) in real time until it is truthy; return its value."""
    import asyncio
    import inspect

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(interval)


async def start_pair(
    make_hub: Any,
    lab: FederationLab,
    station_folder: Path,
    hub_extra: str = "",
    station_extra: dict[str, Any] | None = None,
    **hub_opts: Any,
) -> tuple[Hub, Hub]:
    """Start a station and a hub federated to it; return (hub, station) once both are connected."""
    from integrations.federation.const import RUNTIME
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    station = await make_hub(
        lab.station_block(**(station_extra or {})), base=station_config(), folder=station_folder
    )
    await register_hubs(station)
    hub = await make_hub(lab.hub_block(**hub_opts) + textwrap.dedent(hub_extra))
    assert await station.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    assert await station.data[STATION_RUNTIME].ingest.urgent_link.wait_connected(10)
    assert await hub.data[RUNTIME].link.wait_connected(10)
    return hub, station


#: The password the test cameras are configured with (through ``!secret``).
CAMERA_PASSWORD = "Cam-Pa55word-9f3k"
#: The smallest thing the camera code accepts as a JPEG (SOI ... EOI).
TINY_JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) + b"\xff\xd9"
