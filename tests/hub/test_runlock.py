"""One running SafetyHub per data folder: the lock a running hub holds, and what others see."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from hub.runlock import RunLock, RunLockHeld, holder
from hub.testing import BASE_CONFIG

REPO = Path(__file__).resolve().parents[2]


def test_lock_and_holder(tmp_path: Path) -> None:
    assert holder(tmp_path) is None
    lock = RunLock.acquire(tmp_path)
    assert holder(tmp_path) == os.getpid()
    with pytest.raises(RunLockHeld, match=f"process {os.getpid()}"):
        RunLock.acquire(tmp_path)
    lock.release()
    assert holder(tmp_path) is None
    RunLock.acquire(tmp_path).release()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_second_hub_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(BASE_CONFIG, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    port = _port()
    first = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        assert holder(tmp_path / "data") == first.pid
        second = subprocess.run(
            [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml", "--port", str(_port())],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert second.stderr.strip().splitlines()[-1] == (
            f"another SafetyHub is running on {tmp_path / 'data'} (process {first.pid})"
        )
    finally:
        first.terminate()
        first.wait(timeout=30)
    first.kill() if first.poll() is None else None
    # SIGKILL or not, the kernel drops the lock with the process.
    assert holder(tmp_path / "data") is None
