"""Real-browser fixtures: Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPO = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[object]:
    """A headless Chromium; tests are skipped only where Chromium is not installed."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium not installed (./scripts/test installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningHub:
    url: str
    onboarding_code: str | None
    proc: subprocess.Popen[str]
    cwd: Path


@pytest.fixture
def demo_process(tmp_path: Path) -> Iterator[RunningHub]:
    """``safetyhub run`` with no config (the embedded demo), as a user starts it."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    code = None
    deadline = time.monotonic() + 30
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"onboarding code: (\d+)", line):
            code = m.group(1)
        if "onboarding" in line.lower() and code:
            break
    assert code, "".join(lines)
    try:
        yield RunningHub(f"http://127.0.0.1:{port}", code, proc, tmp_path)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


# The station's pages (tests/e2e/test_phone_width.py) need a broker and registered hubs.
from integrations.federation.testing import federation_lab  # noqa: E402, F401
