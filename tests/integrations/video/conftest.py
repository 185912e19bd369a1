"""Peers for the video tests: ipycam's real RTSP (H.264) server, ffmpeg-made files, and a test camera."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hub.hub import Hub
from integrations.camera import CameraEntity, Owner, add_camera
from integrations.camera.config import RecordConfig
from integrations.federation.testing import federation_lab  # noqa: F401  (footage tests: station + hub)
from tests.integrations.onvif.conftest import HARNESS, IpyCam, _start_ipycam, _stop, free_port
from tests.integrations.onvif.conftest import make_device as make_device  # the fake ONVIF device fixture

__all__ = ("StreamCamera", "make_h264", "VIDEO_BLOCK")

#: A hub ``video:`` block with test-sized timings (a stall is noticed in 2 s, not 10).
VIDEO_BLOCK = "video: {stall_seconds: 2, offline_after: 1, idle_stop_seconds: 0.2, segment_seconds: 1}\n"


class StreamCamera(CameraEntity):
    """A camera whose stream address the test sets (ipycam's RTSP, a file, a dead port)."""

    def __init__(
        self, hub: Hub, object_id: str, main: str | None, sub: str | None = None, *, share: str = "never"
    ) -> None:
        super().__init__(hub, object_id, object_id, share=share, owner=Owner("ร้านทดสอบ", "02-000-0000"))
        self.main, self.sub = main, sub
        self.available = True

    async def fetch_snapshot(self) -> bytes:
        raise NotImplementedError

    def stream_uri(self) -> str | None:
        return self.main

    def stream_source(self, profile: str = "main") -> str | None:
        return self.main if profile == "main" else self.sub


def add_stream_camera(
    hub: Hub,
    object_id: str,
    main: str | None,
    sub: str | None = None,
    *,
    record: RecordConfig | None = None,
    share: str = "never",
) -> StreamCamera:
    camera = StreamCamera(hub, object_id, main, sub, share=share)
    camera.record = record
    add_camera(hub, camera)
    return camera


def make_h264(
    path: Path, seconds: float = 6, *, gop: int = 10, rate: int = 10, codec: str = "libx264"
) -> Path:
    """Write an MP4 of ffmpeg's test pattern (H.264 by default) with a keyframe every ``gop`` frames."""
    args = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size=320x240:rate={rate}",
        "-t",
        str(seconds),
        "-c:v",
        codec,
        "-g",
        str(gop),
        "-pix_fmt",
        "yuv420p",
    ]
    if codec == "libx264":
        args += ["-x264-params", f"keyint={gop}:min-keyint={gop}:scenecut=0"]
    elif codec == "libx265":
        args += ["-x265-params", f"keyint={gop}:min-keyint={gop}:log-level=error", "-tag:v", "hvc1"]
    subprocess.run([*args, str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def ipycam() -> Iterator[IpyCam]:
    """ipycam (a real ONVIF camera with an H.264 RTSP server) on 127.0.0.1."""
    cam = _start_ipycam("--fix-ptz-ns", "--preauth-time")
    yield cam
    _stop(cam)


@pytest.fixture(scope="session")
def ffprobe() -> str:
    exe = shutil.which("ffprobe")
    if exe is None:
        pytest.fail("ffprobe is required (apt-get install ffmpeg)")
    return exe


async def probe(ffprobe: str, path: Path) -> dict[str, Any]:
    """Return ffprobe's JSON description (streams and format) of ``path``; fail on any ffprobe error."""
    proc = await asyncio.create_subprocess_exec(
        ffprobe,
        "-v",
        "error",
        "-show_streams",
        "-show_format",
        "-count_packets",
        "-of",
        "json",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    result: dict[str, Any] = json.loads(out)
    return result


@pytest_asyncio.fixture
async def client_of() -> AsyncIterator[Callable[..., Awaitable[aiohttp.ClientSession]]]:
    """Make HTTP clients with a bearer token of a role, for a hub the test started."""
    sessions: list[aiohttp.ClientSession] = []

    async def _client(hub: Hub, role: str = "admin") -> aiohttp.ClientSession:
        user = await hub.auth.user_by_name(f"test-{role}")
        if user is None:
            user = await hub.auth.add_user(f"test-{role}", "correct horse battery", role)
        token = await hub.auth.create_token(user, "test")
        session = aiohttp.ClientSession(base_url=hub.http.url, headers={"Authorization": f"Bearer {token}"})
        sessions.append(session)
        return session

    yield _client
    for session in sessions:
        await session.close()


def start_private_ipycam(onvif_port: int | None = None, rtsp_port: int | None = None) -> IpyCam:
    """Start an ipycam this test may stop, pause or restart (on the same ports)."""
    onvif_port, rtsp_port = onvif_port or free_port(), rtsp_port or free_port()
    cmd = [sys.executable, str(HARNESS), str(onvif_port), str(rtsp_port), "admin", "secret"]
    workdir = tempfile.mkdtemp(prefix="ipycam-")
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=workdir,
        start_new_session=True,  # its ffmpeg children can be paused together with it
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("READY"):
            return IpyCam(onvif_port, rtsp_port, proc, workdir)
    proc.kill()
    raise RuntimeError("ipycam did not start")


@pytest.fixture
def private_ipycam() -> Iterator[list[IpyCam]]:
    """A list the test appends its own ipycams to; all are stopped at the end."""
    cams: list[IpyCam] = []
    yield cams
    for cam in cams:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cam.proc.pid, signal.SIGCONT)
        if cam.proc.poll() is None:
            _stop(cam)


def ffmpeg_children(marker: str) -> list[int]:
    """Return the pids of this process's ffmpeg children whose command line contains ``marker``."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if (
            ppid == me
            and cmdline
            and cmdline[0].endswith(b"ffmpeg")
            and any(marker.encode() in a for a in cmdline)
        ):
            found.append(int(entry.name))
    return found
