"""Peers for the ONVIF tests: the fake event camera (in-process) and ipycam (a real ONVIF device, subprocess).

Everything listens on 127.0.0.1; ipycam's WS-Discovery multicast is disabled
by the harness (see ipycam_peer.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from integrations.onvif.testing import FakeOnvifDevice

HARNESS = Path(__file__).with_name("ipycam_peer.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def camera_yaml(cam_id: str, port: int, *, password: str = "secret", extra: str = "") -> str:
    """One ``onvif:`` list item for a camera on 127.0.0.1."""
    return (
        f"  - {{id: {cam_id}, host: 127.0.0.1, port: {port}, username: admin, password: {password}, "
        f"timeout: 3{', ' + extra if extra else ''}}}\n"
    )


@pytest_asyncio.fixture
async def fake_device() -> AsyncIterator[FakeOnvifDevice]:
    device = FakeOnvifDevice(max_pull_wait=0.5)
    await device.start()
    yield device
    await device.stop()


@pytest_asyncio.fixture
async def make_device() -> AsyncIterator[Callable[..., Awaitable[FakeOnvifDevice]]]:
    devices: list[FakeOnvifDevice] = []

    async def _make(**kwargs: object) -> FakeOnvifDevice:
        kwargs.setdefault("max_pull_wait", 0.5)
        device = FakeOnvifDevice(**kwargs)  # type: ignore[arg-type]
        await device.start()
        devices.append(device)
        return device

    yield _make
    for device in devices:
        await device.stop()


@dataclass
class IpyCam:
    """A running ipycam subprocess."""

    onvif_port: int
    rtsp_port: int
    proc: subprocess.Popen[str]
    workdir: str

    @property
    def rtsp_url(self) -> str:
        return f"rtsp://127.0.0.1:{self.rtsp_port}/video_main"


def _start_ipycam(*flags: str, faketime: str | None = None) -> IpyCam:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required (apt-get install ffmpeg): ipycam serves RTSP through it")
    onvif_port, rtsp_port = free_port(), free_port()
    cmd = [sys.executable, str(HARNESS), str(onvif_port), str(rtsp_port), "admin", "secret", *flags]
    if faketime is not None:
        exe = shutil.which("faketime")
        if exe is None:
            pytest.fail("faketime is required (apt-get install faketime) for the clock-skew test")
        cmd = [exe, "-f", faketime, *cmd]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workdir = tempfile.mkdtemp(prefix="ipycam-")  # ipycam writes ptz_presets.json to its cwd
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=workdir
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("READY"):
            return IpyCam(onvif_port, rtsp_port, proc, workdir)
    proc.kill()
    raise RuntimeError("ipycam did not start:\n" + "".join(lines[-20:]))


def _stop(cam: IpyCam) -> None:
    cam.proc.terminate()
    try:
        cam.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        cam.proc.kill()
        cam.proc.wait()
    if cam.proc.stdout is not None:
        cam.proc.stdout.close()
    shutil.rmtree(cam.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def ipycam() -> Iterator[IpyCam]:
    """ipycam with the harness's two spec fixes (PTZ namespaces, pre-auth GetSystemDateAndTime)."""
    cam = _start_ipycam("--fix-ptz-ns", "--preauth-time")
    yield cam
    _stop(cam)


@pytest.fixture(scope="session")
def ipycam_stock() -> Iterator[IpyCam]:
    """ipycam as shipped: its PTZ replies use undeclared XML prefixes (a cheap camera's broken XML)."""
    cam = _start_ipycam()
    yield cam
    _stop(cam)


@pytest.fixture
def ipycam_skewed() -> Iterator[IpyCam]:
    """ipycam whose clock runs an hour behind (Debian faketime)."""
    cam = _start_ipycam("--fix-ptz-ns", "--preauth-time", faketime="-1h")
    yield cam
    _stop(cam)
