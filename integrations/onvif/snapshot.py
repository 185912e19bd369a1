"""Getting one JPEG from a camera: the snapshot URI (Digest, then Basic) or one RTSP frame via ffmpeg.

Cameras disagree about HTTP auth for snapshots: most want Digest, some
(Yi-hack, many cheap OEM boards, ipycam) only Basic.  Digest is tried first
because it never sends the password in the clear; whichever works is
remembered per camera (and kept in the database) so later snapshots cost one
request.  The body is read with a hard size cap: a camera that streams MJPEG
at the snapshot URL must not fill the hub's memory.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from hub.audit import redact
from integrations.camera.const import MAX_SNAPSHOT_BYTES
from integrations.camera.entity import SnapshotError

__all__ = ("AuthMode", "fetch_http", "grab_rtsp_frame", "with_credentials")

_LOGGER = logging.getLogger(__name__)

AuthMode = Literal["digest", "basic", "none"]
_CHUNK = 64 * 1024


class _AuthRefused(Exception):
    pass


async def _get(
    session: aiohttp.ClientSession, url: str, mode: AuthMode, username: str, password: str, limit: float
) -> bytes:
    kwargs: dict[str, object] = {"timeout": aiohttp.ClientTimeout(total=limit)}
    if username and mode == "basic":
        kwargs["headers"] = {"Authorization": aiohttp.encode_basic_auth(username, password)}
    elif username and mode == "digest":
        kwargs["middlewares"] = (aiohttp.DigestAuthMiddleware(username, password),)
    async with session.get(url, allow_redirects=False, **kwargs) as resp:  # type: ignore[arg-type]
        if resp.status == 401:
            raise _AuthRefused
        if resp.status != 200:
            raise SnapshotError(f"snapshot URL answered HTTP {resp.status}")
        if resp.content_length is not None and resp.content_length > MAX_SNAPSHOT_BYTES:
            raise SnapshotError(f"snapshot of {resp.content_length} bytes is over the limit")
        body = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > MAX_SNAPSHOT_BYTES:
                raise SnapshotError(f"snapshot is over the {MAX_SNAPSHOT_BYTES}-byte limit")
        return bytes(body)


async def fetch_http(
    session: aiohttp.ClientSession,
    url: str,
    username: str,
    password: str,
    *,
    known: AuthMode | None,
    limit: float,
) -> tuple[bytes, AuthMode]:
    """Fetch ``url``; return (body, auth mode that worked).

    ``known`` is the mode that worked last time (tried first).  Raises
    SnapshotError on HTTP errors, oversize bodies, timeouts, and when every
    mode is refused ("authentication failed").
    """
    order: list[AuthMode] = ["digest", "basic"] if username else ["none"]
    if known in order:
        order.remove(known)
        order.insert(0, known)
    try:
        for mode in order:
            try:
                return await _get(session, url, mode, username, password, limit), mode
            except _AuthRefused:
                continue
    except TimeoutError as err:
        raise SnapshotError(f"snapshot URL did not answer within {limit:g} s") from err
    except aiohttp.ClientError as err:
        raise SnapshotError(f"snapshot URL failed: {type(err).__name__}: {err}") from err
    raise SnapshotError("snapshot URL: authentication failed")


def with_credentials(url: str, username: str, password: str) -> str:
    """Return ``url`` with user:password in it (what RTSP clients expect), unless it has some already."""
    parts = urlsplit(url)
    if not username or parts.username:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


async def grab_rtsp_frame(url: str, *, limit: float, ffmpeg: str | None = None) -> bytes:
    """Return one JPEG frame of the stream at ``url``, using ffmpeg over RTSP/TCP.

    TCP interleaving, because UDP RTP needs ports the camera can reach back to
    (and NAT and firewalls in shops rarely allow that).  ffmpeg is killed if it
    runs past ``limit`` seconds; its output is capped like an HTTP snapshot.
    """
    exe = ffmpeg or shutil.which("ffmpeg")
    if exe is None:
        raise SnapshotError("no snapshot URL and ffmpeg is not installed to grab a frame from the stream")
    args = [exe, "-nostdin", "-hide_banner", "-loglevel", "error"]
    if url.startswith(("rtsp://", "rtsps://")):
        args += ["-rtsp_transport", "tcp", "-timeout", str(int(limit * 1_000_000))]
    # A short probe: the first keyframe is all we need, and ffmpeg's default probes for 5 s.
    args += [
        "-analyzeduration",
        "1000000",
        "-probesize",
        "500000",
        "-i",
        url,
        "-frames:v",
        "1",
        "-an",
        "-f",
        "image2",
        "-c:v",
        "mjpeg",
        "-q:v",
        "4",
        "pipe:1",
    ]
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise SnapshotError(f"no frame from the stream within {limit:g} s") from exc
    except asyncio.CancelledError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0 or not out:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        # ffmpeg echoes the URL, password included: this text reaches the UI and incident timelines.
        message = redact(lines[-1]) if lines else f"exit {proc.returncode}"
        raise SnapshotError(f"ffmpeg could not grab a frame: {message}")
    if len(out) > MAX_SNAPSHOT_BYTES:
        raise SnapshotError("frame from the stream is over the size limit")
    return out
