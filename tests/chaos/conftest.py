"""The chaos rig: the SOS path of DESIGN §7 with one part of the world broken at a time.

Every chaos test runs the shipped ``sos_alert`` blueprint on a real hub
(in-process, or as a ``safetyhub run`` child when the fault needs a real
process to kill or a private filesystem), the fake LINE API of
``integrations.line.testing`` at the network edge, and then checks the same three
promises (:func:`check_promises`):

* no SOS and no incident lost: every press that the hub accepted has
  exactly one incident;
* no duplicate LINE message: each incident's card reached each group once;
* the hub is still healthy: ``GET /api/health`` answers ``{"status": "ok"}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from integrations.line.testing import FakeLineApi, LineRequest

REPO = Path(__file__).resolve().parents[2]
BIG6 = "C" + "6" * 32
EYES = "C" + "7" * 32
GROUPS = {"big6": BIG6, "pineapple_eyes": EYES}

#: A simulated button and the shipped blueprint alerting both groups.
SOS_BLOCK = """\
sos:
  - {id: gate, name: ปุ่ม SOS ประตูตลาด, place: ประตู 1, simulated: true}
automation:
  - id: sos_gate
    alias: SOS ประตูตลาด
    use_blueprint:
      path: sos_alert.yaml
      input:
        sos_button: sos.gate
        line_targets: [big6, pineapple_eyes]
"""


class FlakyLine(FakeLineApi):
    """The fake LINE API, failing a chosen share of pushes with a 5xx.

    ``fail_every = 2`` answers every second push 500 *before* accepting it
    (nothing delivered), the way LINE's front end fails under load; the fault
    itself comes from the fake's own injection (``fail``), armed per request.
    """

    fail_every = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pushes_seen = 0
        self.injected = 0

    async def _answer(self, request: web.Request, raw: bytes, record: LineRequest) -> web.StreamResponse:
        if self.fail_every and record.path == "/v2/bot/message/push":
            self._pushes_seen += 1
            if self._pushes_seen % self.fail_every == 0:
                self.injected += 1
                self.fail(500, message="chaos: LINE is failing half of its requests")
        return await super()._answer(request, raw, record)


def line_yaml(fake: FakeLineApi) -> str:
    """Return the ``line:`` block for ``fake`` with both groups."""
    return fake.config_yaml(GROUPS)


@pytest_asyncio.fixture
async def line_fake() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Start fake LINE APIs (``await line_fake(FlakyLine)``) with the two groups; closed after the test."""
    fakes: list[FakeLineApi] = []

    async def _make(cls: type[FakeLineApi] = FakeLineApi) -> Any:
        fake = cls(quota_limit=None)
        await fake.start()
        fakes.append(fake)
        fake.add_group("ภาคีเครือข่าย Big 6", {"U" + "a" * 32: "สมชาย"}, group_id=BIG6)
        fake.add_group("ตาสับปะรด", {"U" + "b" * 32: "ป้าแดง"}, group_id=EYES)
        return fake

    yield _make
    for fake in fakes:
        await fake.close()


def cards(fake: FakeLineApi, incident_ids: Iterable[str]) -> Counter[tuple[str, str]]:
    """Count accepted pushes per (group, incident): a card carries its incident id in its postbacks."""
    wanted = set(incident_ids)
    counts: Counter[tuple[str, str]] = Counter()
    for delivery in fake.pushes:
        text = json.dumps(delivery.messages, ensure_ascii=False)
        for incident_id in wanted:
            if incident_id in text:
                counts[(delivery.to, incident_id)] += 1
    return counts


def check_promises(
    presses: Iterable[str], incidents: dict[str, list[str]], fake: FakeLineApi | None, health: tuple[int, Any]
) -> None:
    """Assert the three chaos promises.

    ``incidents`` maps each press's action key to the ids of the incidents it
    opened; ``health`` is the (status, JSON body) of ``GET /api/health``.
    """
    presses = list(presses)
    lost = [p for p in presses if not incidents.get(p)]
    doubled = {p: ids for p, ids in incidents.items() if len(ids) > 1}
    assert not lost, f"SOS presses without an incident: {lost}"
    assert not doubled, f"presses that opened more than one incident: {doubled}"
    if fake is not None:
        ids = [ids[0] for ids in incidents.values()]
        counts = cards(fake, ids)
        for incident_id in ids:
            for group in GROUPS.values():
                n = counts[(group, incident_id)]
                assert n == 1, f"incident {incident_id}: {n} cards in group {group} (want exactly 1)"
    status, body = health
    assert status == 200 and body == {**body, "status": "ok"}, (status, body)


async def incidents_by_press(storage: Any) -> dict[str, list[str]]:
    """Return {press action: [incident ids]} from a hub's own database."""
    rows = await storage.fetchall("SELECT id, data FROM incidents WHERE kind = 'sos' ORDER BY opened_at")
    out: dict[str, list[str]] = {}
    for row in rows:
        action = (json.loads(row["data"] or "{}") or {}).get("action")
        out.setdefault(str(action), []).append(row["id"])
    return out


async def get_health(url: str) -> tuple[int, Any]:
    """Return (status, body) of ``GET <url>/api/health``."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/api/health") as resp:
        return resp.status, await resp.json()


async def until(predicate: Any, within: float = 10.0, interval: float = 0.02, message: str = "") -> Any:
    """Poll ``predicate`` (sync or async) in real time until truthy; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {within}s")
        await asyncio.sleep(interval)


class HubProcess:
    """``safetyhub run`` in a child process, killed and restarted on demand.

    ``wrap`` prefixes the command (``unshare ...`` for a private filesystem).
    """

    def __init__(self, folder: Path, port: int, wrap: list[str] | None = None) -> None:
        self.folder = folder
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.wrap = wrap or []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "hub.log"
        self.starts = 0

    def start(self) -> None:
        """Start the hub (it answers on :attr:`url` once :meth:`ready` returns)."""
        env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0", "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*self.wrap, sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml"],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        self.starts += 1

    @property
    def pid(self) -> int:
        """Return the child's pid."""
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait; return the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of the hub's log, for failure messages."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    async def ready(self, within: float = 30) -> None:
        """Wait until ``/api/health`` answers 200."""

        async def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the hub exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                return (await get_health(self.url))[0] == 200
            except (aiohttp.ClientError, OSError):
                return False

        await until(up, within=within, interval=0.05, message=f"hub not up: {self.log_tail()}")


async def make_token(data_dir: Path, role: str = "operator") -> str:
    """Create a user and an API token in a hub's database before it starts."""
    from hub.auth import Auth
    from hub.storage import Storage

    storage = Storage(data_dir / "safetyhub.db")
    await storage.open()
    try:
        auth = Auth(storage)
        user = await auth.add_user(f"chaos-{role}", "correct horse battery", role)
        return str(await auth.create_token(user, "chaos"))
    finally:
        await storage.close()


def hub_yaml(port: int, data_dir: str = "./data", hub_id: str = "test-hub") -> str:
    """Return a ``hub:`` block for a child-process hub listening on ``port``."""
    return (
        f"hub:\n  id: {hub_id}\n  name: ตลาดทดสอบ\n  zone: test-zone\n  timezone: Asia/Bangkok\n"
        f"  location: {{lat: 14.5896, lon: 100.4550}}\n  data_dir: {data_dir}\n"
        f"  web: {{host: 127.0.0.1, port: {port}, public_url: 'https://talat.example.org'}}\n"
    )


@pytest.fixture
def chaos_timeout() -> float:
    """How long (real seconds) a chaos test waits for the world to settle."""
    return 30.0


# The station broker with real accounts and ACL, from the federation test kit.
from integrations.federation.testing import federation_lab  # noqa: E402, F401
