"""Project-wide test settings; the fixtures themselves come from ``hub.testing``.

It also verifies cleanup, the way Home Assistant's ``verify_cleanup`` does: a test that leaves a
child process running, a thread alive or an asyncio task pending fails the run, named. Two full CI
runs once left an ipycam peer alive an hour later, holding its ports; this catches that the day
it is written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# Only the tree's own plugins: a developer's pip-installed plugins must not
# change what the project's tests see.
os.environ.setdefault("SAFETYHUB_ENTRYPOINTS", "0")

#: The PostgreSQL kit (session server, a fresh database per test) for every test folder.
pytest_plugins = ("hub.testing_postgres",)

#: How long a test's children may take to exit after its fixtures are torn down.
GRACE = 3.0

_leaks: list[str] = []
_current = ["(collection)"]


def _descendants() -> dict[int, str]:
    """Live (not zombie) descendants of this process: pid → command line."""
    parents: dict[int, int] = {}
    states: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        states[int(entry.name)] = fields[0]
        parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                frontier.append(pid)
                if states.get(pid) != "Z":
                    try:
                        cmd = (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
                    except OSError:
                        continue
                    found[pid] = cmd.decode(errors="replace").strip()[:160]
    return found


class _PendingTaskLog(logging.Handler):
    """asyncio logs "Task was destroyed but it is pending!" when a test's loop closes over a task."""

    def emit(self, record: logging.LogRecord) -> None:
        if "Task was destroyed but it is pending" in record.getMessage():
            _leaks.append(f"{_current[0]}: left an asyncio task pending: {record.getMessage()[:200]}")


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger("asyncio").addHandler(_PendingTaskLog(level=logging.ERROR))


@pytest.fixture(autouse=True)
def verify_cleanup(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up first, torn down last: what the test's own fixtures left behind is a leak."""
    _current[0] = request.node.nodeid
    before_procs = set(_descendants())
    before_threads = set(threading.enumerate())
    yield
    deadline = time.monotonic() + GRACE
    left = {p: c for p, c in _descendants().items() if p not in before_procs}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {p: c for p, c in _descendants().items() if p not in before_procs}
    for pid, cmd in left.items():
        _leaks.append(f"{request.node.nodeid}: left process {pid} running: {cmd}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # so one leak does not hold ports for the tests after it
    threads = [t for t in threading.enumerate() if t not in before_threads and t.is_alive()]
    deadline = time.monotonic() + GRACE
    while threads and time.monotonic() < deadline:
        time.sleep(0.05)
        threads = [t for t in threads if t.is_alive()]
    for thread in threads:
        _leaks.append(f"{request.node.nodeid}: left thread {thread.name!r} alive")
    _current[0] = "(between tests)"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """With pytest-xdist, gather the leaks each worker found (it has no terminal of its own)."""
    _leaks.extend(getattr(node, "workeroutput", {}).get("leaks", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        # An xdist worker: its children were checked after each test; the controller reports.
        workeroutput["leaks"] = list(_leaks)
        return
    for pid, cmd in _descendants().items():
        _leaks.append(f"(session end): process {pid} still running: {cmd}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if _leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.section("verify_cleanup: left behind", sep="=", red=True)
            for leak in _leaks:
                reporter.line(leak, red=True)
        if session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
