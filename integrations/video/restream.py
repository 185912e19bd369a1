"""One restream per camera and profile: a supervised ffmpeg that remuxes RTSP to fragmented MP4.

    demand (viewers, recorder, frame grab) > 0 ──► ffmpeg -c copy ──► stdout
                                                    │   (never transcodes)
            BoxReader → init (ftyp+moov) / Fragment (moof+mdat)
                 │
                 ├─► Subscription queues (bounded; a laggard drops to the next keyframe)
                 ├─► GOP cache (a new viewer starts at the last keyframe, at once)
                 └─► status: fps, bitrate, last frame, online/offline + reason

Why a subprocess and not PyAV in the hub's process: ffmpeg's demuxer and
muxer run on another core, a hung camera socket can never block the event
loop, and a crash in a camera's broken stream kills one child, not the hub
(``bench/video.py`` measures the CPU of both; see docs/video.md).

The pull starts on first demand and stops ``idle_stop`` seconds after the
last subscriber leaves.  A stream with no fragment for ``offline_after``
seconds shows *offline*; with no data or no keyframe for ``stall_seconds`` it
is killed and restarted with backoff on the hub clock; an H.265 stream is
refused with a clear reason and retried rarely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from hub.audit import redact
from hub.core.retry import Backoff
from integrations.video.const import (
    BACKOFF_FIRST,
    BACKOFF_MAX,
    FRAGMENT_US,
    GOP_CACHE_BYTES,
    QUEUE_BYTES,
    QUEUE_FRAGMENTS,
    STDERR_LINES,
    UNSUPPORTED_RETRY,
)
from integrations.video.mp4 import BoxError, BoxReader, Fragment, TrackInfo, parse_fragment, parse_init
from integrations.video.strings import reason_text

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "Profile",
    "Restream",
    "StreamError",
    "StreamOptions",
    "StreamStatus",
    "Subscription",
    "ffmpeg_input_args",
)

_LOGGER = logging.getLogger(__name__)

Profile = Literal["main", "sub"]
State = Literal["idle", "starting", "online", "offline"]
_READ = 256 * 1024
#: Reasons that waiting will not fix (a frame grab gives up at once).
_UNPLAYABLE = frozenset({"h265", "codec", "ffmpeg_missing", "no_stream", "no_sub"})
#: ffmpeg's probe of the input (µs); also the start-up allowance added to ``stall_seconds``.
#: The probe is most of a cold start (ipycam, first fragment out: 5.8 s with ffmpeg's default,
#: 3.3 s at 2 s, 1.7 s at 0.5 s, 1.3 s at 0); the SDP names the codec, and half a second still
#: covers a camera whose SDP lacks the parameter sets (the first keyframe carries them).
_PROBE_US = 500_000


class StreamError(Exception):
    """A frame could not be had from the stream (offline, unsupported, timed out)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class StreamOptions:
    """Timing of one restream (from the ``video:`` block)."""

    stall_seconds: float = 10.0
    offline_after: float = 5.0
    idle_stop: float = 2.0
    fragment_us: int = FRAGMENT_US
    queue_fragments: int = QUEUE_FRAGMENTS
    queue_bytes: int = QUEUE_BYTES
    ffmpeg: str = "ffmpeg"


@dataclass
class StreamStatus:
    """What the camera page, the station's health view and the API show about a stream."""

    state: State = "idle"
    #: Why it is not online (a :data:`integrations.video.strings.REASONS` code), or None.
    reason: str | None = "idle"
    #: Extra facts for the reason text (``codec``, ``seconds``) and ffmpeg's last line (redacted).
    detail: dict[str, Any] = field(default_factory=dict)
    fps: float | None = None
    bitrate_kbps: float | None = None
    #: Hub-clock time the last fragment arrived.
    last_frame: float | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    restarts: int = 0
    retry_at: float | None = None
    subscribers: int = 0

    @property
    def online(self) -> bool:
        """Return whether fragments are flowing."""
        return self.state == "online"

    def text(self, lang: str = "th") -> str:
        """Return the reason in plain Thai or English ("" when online)."""
        if self.state == "online":
            return ""
        fmt = {k: v for k, v in self.detail.items() if k in ("codec", "seconds")}
        return reason_text(self.reason, lang, **fmt)

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """Return a JSON-friendly form (both languages unless ``lang`` is given)."""
        out: dict[str, Any] = {
            "state": self.state,
            "online": self.online,
            "reason": self.reason if self.state != "online" else None,
            "fps": self.fps,
            "bitrate_kbps": self.bitrate_kbps,
            "last_frame": self.last_frame,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "restarts": self.restarts,
            "retry_at": self.retry_at,
            "subscribers": self.subscribers,
        }
        if lang is None:
            out["text_th"], out["text_en"] = self.text("th"), self.text("en")
        else:
            out["text"] = self.text(lang)
        return out


# -- subscriptions -------------------------------------------------------------------


@dataclass(frozen=True)
class _Init:
    session: int
    data: bytes
    track: TrackInfo


_Item = _Init | tuple[int, Fragment]


class Subscription:
    """One consumer of a restream: an async iterator of fragmented-MP4 bytes.

    Use it as ``async with restream.subscribe() as sub: async for chunk in sub: ...``.
    The first chunk is the init segment (``ftyp``+``moov``); then come
    ``moof``+``mdat`` fragments, the first of them starting at a keyframe.  When
    the camera reconnects a new init segment follows, then fragments from a
    keyframe again (in MSE, use ``SourceBuffer.mode = "sequence"``).

    A subscriber that falls behind by more than the queue bounds loses what
    was queued and resumes at the next keyframe (``dropped`` counts the lost
    fragments); it never slows the pull or the other subscribers.
    """

    def __init__(self, restream: Restream, max_fragments: int, max_bytes: int) -> None:
        self.restream = restream
        self.max_fragments = max_fragments
        self.max_bytes = max_bytes
        self.dropped = 0
        self._items: deque[_Item] = deque()
        self._bytes = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._need_keyframe = True
        self._session_sent = -1
        self._last_init: _Init | None = None

    # -- feeding (called by the restream, never blocks) --

    def _offer_init(self, init: _Init) -> None:
        self._last_init = init
        self._need_keyframe = True
        self._push(init, len(init.data))

    def _offer(self, session: int, frag: Fragment) -> None:
        if self._need_keyframe:
            if not frag.keyframe:
                self.dropped += 1
                return
            self._need_keyframe = False
            init = self._last_init
            if init is not None and self._session_sent != session and not self._init_queued(session):
                self._push(init, len(init.data))
        if len(self._items) >= self.max_fragments or self._bytes + len(frag.data) > self.max_bytes:
            self._drop()
            self.dropped += 1
            return
        self._push((session, frag), len(frag.data))

    def _init_queued(self, session: int) -> bool:
        return any(isinstance(i, _Init) and i.session == session for i in self._items)

    def _push(self, item: _Item, size: int) -> None:
        self._items.append(item)
        self._bytes += size
        self._wake.set()

    def _drop(self) -> None:
        """Forget what is queued and wait for the next keyframe (the laggard rule)."""
        dropped = sum(1 for i in self._items if not isinstance(i, _Init))
        self.dropped += dropped
        self._items.clear()
        self._bytes = 0
        self._need_keyframe = True

    # -- consuming --

    async def next_item(self) -> _Init | Fragment:
        """Return the next init segment (``_Init``) or fragment; StopAsyncIteration once closed."""
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        item = self._items.popleft()
        if isinstance(item, _Init):
            self._bytes -= len(item.data)
            self._session_sent = item.session
            return item
        self._bytes -= len(item[1].data)
        return item[1]

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        item = await self.next_item()
        return item.data

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving; the pull stops when nobody else needs it."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self.restream._unsubscribe(self)

    @property
    def closed(self) -> bool:
        """Return whether :meth:`close` was called."""
        return self._closed


# -- the restream ----------------------------------------------------------------------


def ffmpeg_input_args(url: str, stall_seconds: float) -> list[str]:
    """Return ffmpeg's input options for ``url`` (RTSP over TCP; a looping file for demos and benches)."""
    timeout_us = str(int(stall_seconds * 1_000_000))
    if url.startswith(("rtsp://", "rtsps://")):
        # TCP interleaving: UDP RTP needs ports the camera can reach back to (NAT, shop firewalls).
        return ["-rtsp_transport", "tcp", "-timeout", timeout_us, "-i", url]
    if url.startswith(("http://", "https://")):
        return ["-rw_timeout", timeout_us, "-i", url]
    if url.startswith("file:"):
        return ["-re", "-stream_loop", "-1", "-i", url]
    return ["-i", url]


#: Jittered so a site's cameras don't sync up (the same rule as the ONVIF reconnect).
_BACKOFF = Backoff(BACKOFF_FIRST, BACKOFF_MAX, jitter=(0.8, 1.2))


def _backoff(failures: int) -> float:
    """Return the wait before restart ``failures + 1``."""
    return _BACKOFF.delay(failures)


def _classify(stderr: list[str], returncode: int | None) -> str:
    """Map ffmpeg's last words to a reason code."""
    text = " ".join(stderr).lower()
    if "401 unauthorized" in text or "server returned 401" in text or "403 forbidden" in text:
        return "auth"
    if "matches no streams" in text or "does not contain any stream" in text:
        return "no_video"
    if "invalid data" in text or "could not find codec" in text:
        return "corrupt"
    return "offline"


class Restream:
    """The single pull of one camera profile, fanned out to every subscriber.

    ``source`` returns the address to pull (credentials included) or None when
    the camera has not told the hub its stream yet.
    """

    def __init__(
        self,
        hub: Hub,
        camera_entity_id: str,
        profile: Profile,
        source: Callable[[], str | None],
        options: StreamOptions | None = None,
        *,
        on_status: Callable[[Restream], None] | None = None,
    ) -> None:
        self.hub = hub
        self.camera_entity_id = camera_entity_id
        self.profile = profile
        self.source = source
        self.options = options or StreamOptions()
        self.on_status = on_status
        self.status = StreamStatus()
        #: How many ffmpeg pulls this restream has started (one at a time, ever).
        self.pulls = 0
        self.track: TrackInfo | None = None
        self._init: _Init | None = None
        self._session = 0
        self._subs: list[Subscription] = []
        self._holds = 0
        self._task: asyncio.Task[None] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._stop_cancel: Callable[[], None] | None = None
        self._gop: list[Fragment] = []
        self._gop_bytes = 0
        self._stats: deque[tuple[float, int, int]] = deque(maxlen=16)
        self._last_data = 0.0
        self._last_keyframe = 0.0
        self._keyframe_seen = asyncio.Event()
        self._jpeg: tuple[tuple[int, int], bytes] | None = None
        self._jpeg_lock = asyncio.Lock()
        self._keyframes = 0
        self._closing = False

    # -- demand --------------------------------------------------------------------

    def subscribe(self, *, max_fragments: int | None = None, max_bytes: int | None = None) -> Subscription:
        """Return a new subscription; the pull starts now if it is not running."""
        sub = Subscription(
            self, max_fragments or self.options.queue_fragments, max_bytes or self.options.queue_bytes
        )
        if self._init is not None:
            sub._offer_init(self._init)
            for frag in self._gop:
                sub._offer(self._init.session, frag)
        self._subs.append(sub)
        self._demand_changed()
        return sub

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[Restream]:
        """Keep the pull running without a queue (a frame grab waiting for a keyframe)."""
        self._holds += 1
        self._demand_changed()
        try:
            yield self
        finally:
            self._holds -= 1
            self._demand_changed()

    def _unsubscribe(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)
        self._demand_changed()

    @property
    def demand(self) -> int:
        """Return how many subscribers and holds need the pull."""
        return len(self._subs) + self._holds

    @property
    def running(self) -> bool:
        """Return whether the supervisor (and so, usually, ffmpeg) runs."""
        return self._task is not None and not self._task.done()

    def _demand_changed(self) -> None:
        self.status.subscribers = len(self._subs)
        if self.demand > 0:
            if self._stop_cancel is not None:
                self._stop_cancel()
                self._stop_cancel = None
            if not self.running:
                self._task = self.hub.create_background_task(
                    self._supervise(), f"restream {self.camera_entity_id} {self.profile}"
                )
        elif self.running and self._stop_cancel is None:
            # A short linger: a page reload or the next recorder segment should not cost a new RTSP session.
            self._stop_cancel = self.hub.clock.call_later(self.options.idle_stop, self._idle_stop)

    def _idle_stop(self) -> None:
        self._stop_cancel = None
        if self.demand == 0:
            self.hub.create_task(self.stop(), f"stop restream {self.camera_entity_id}")

    async def stop(self) -> None:
        """Stop the pull now (hub shutdown, camera removed); subscribers stay and wait."""
        task = self._task
        if self._stop_cancel is not None:
            self._stop_cancel()
            self._stop_cancel = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._kill()
        # What was cached is now the past: a subscriber arriving before the next pull must not be
        # handed it as live (it waits for the new session's init and keyframe instead).
        self._init = None
        self._gop, self._gop_bytes = [], 0
        self._set_status(state="idle", reason="idle", fps=None, bitrate_kbps=None, retry_at=None)
        if self._task is task:
            self._task = None
        if self.demand > 0 and not self._closing:
            self._demand_changed()  # someone subscribed while it was stopping

    async def close(self) -> None:
        """Stop the pull and end every subscription (shutdown)."""
        self._closing = True
        for sub in list(self._subs):
            sub.close()
        await self.stop()

    # -- status --------------------------------------------------------------------

    def _set_status(self, **changes: Any) -> None:
        old = (self.status.state, self.status.reason)
        for key, value in changes.items():
            setattr(self.status, key, value)
        if (self.status.state, self.status.reason) != old and self.on_status is not None:
            self.on_status(self)

    def _offline(self, reason: str, **detail: Any) -> None:
        self._set_status(state="offline", reason=reason, detail=detail, fps=None, bitrate_kbps=None)

    # -- the supervisor ------------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        exe = shutil.which(self.options.ffmpeg)
        while True:
            if exe is None:
                self._offline("ffmpeg_missing")
                await self._retry_in(UNSUPPORTED_RETRY)
                exe = shutil.which(self.options.ffmpeg)
                continue
            url = self.source()
            if not url:
                failures += 1
                self._offline("no_sub" if self.profile == "sub" else "no_stream")
                # A camera still connecting (ONVIF) names its stream soon: ask again within 10 s.
                await self._retry_in(min(10.0, _backoff(failures)))
                continue
            if self.status.state != "offline":
                self._set_status(state="starting", reason="starting", detail={})
            reason, detail, reached = await self._pull(exe, url)
            failures = 1 if reached else failures + 1
            self._offline(reason, **detail)
            self.status.restarts += 1
            delay = UNSUPPORTED_RETRY if reason in ("h265", "codec") else _backoff(failures)
            await self._retry_in(delay)

    async def _retry_in(self, delay: float) -> None:
        self.status.retry_at = self.hub.clock.time() + delay
        try:
            await self.hub.clock.sleep(delay)
        finally:
            self.status.retry_at = None

    def _command(self, exe: str, url: str) -> list[str]:
        return [
            exe,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-fflags",
            "+genpts+discardcorrupt",
            # A camera's SDP names the codec: a short probe gets the first frame out sooner.
            "-analyzeduration",
            str(_PROBE_US),
            "-probesize",
            "1000000",
            *ffmpeg_input_args(url, self.options.stall_seconds),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-an",
            "-sn",
            "-dn",
            "-f",
            "mp4",
            "-movflags",
            "empty_moov+default_base_moof+frag_keyframe",
            "-frag_duration",
            str(self.options.fragment_us),
            # Hand each fragment over at once; ffmpeg otherwise buffers 32 KB (seconds of a substream).
            "-flush_packets",
            "1",
            "pipe:1",
        ]

    async def _pull(self, exe: str, url: str) -> tuple[str, dict[str, Any], bool]:
        """Run one ffmpeg until it ends or stalls; return (reason, detail, whether it went online)."""
        self.pulls += 1
        self._session += 1
        self._init = None
        self._gop, self._gop_bytes = [], 0
        self._stats.clear()
        now = self.hub.clock.time()
        self._last_data = self._last_keyframe = now
        proc = await asyncio.create_subprocess_exec(
            *self._command(exe, url),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._proc = proc
        stderr: deque[str] = deque(maxlen=STDERR_LINES)
        err_task = asyncio.ensure_future(self._read_stderr(proc, stderr))
        watchdog = asyncio.ensure_future(self._watchdog())
        reader_task = asyncio.ensure_future(self._read(proc))
        reached = False
        try:
            done, _ = await asyncio.wait({reader_task, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            reached = self._keyframes > 0
            if watchdog in done:
                reason, detail = watchdog.result()
            else:
                result = reader_task.result()
                if result is not None:
                    reason, detail = result
                else:
                    await self._kill()
                    await asyncio.wait({err_task}, timeout=1)
                    lines = [str(redact(line)) for line in stderr]
                    reason = _classify(lines, proc.returncode)
                    detail = {"ffmpeg": lines[-1]} if lines else {}
        finally:
            for task in (watchdog, reader_task):
                task.cancel()
            await self._kill()
            err_task.cancel()
            await asyncio.gather(watchdog, reader_task, err_task, return_exceptions=True)
            self._keyframes = 0
            self._keyframe_seen.clear()
        if detail.get("ffmpeg"):
            _LOGGER.info(
                "%s (%s): stream ended: %s (%s)",
                self.camera_entity_id,
                self.profile,
                reason,
                detail["ffmpeg"],
            )
        return reason, detail, reached

    async def _read_stderr(self, proc: asyncio.subprocess.Process, lines: deque[str]) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                lines.append(line)

    async def _watchdog(self) -> tuple[str, dict[str, Any]]:
        """Return (reason, detail) once the stream stalls; mark it offline early."""
        opts = self.options
        startup = _PROBE_US / 1_000_000 + 1
        while True:
            await self.hub.clock.sleep(0.5)
            now = self.hub.clock.time()
            # Until the first keyframe, ffmpeg's connect and probe get a little longer.
            quiet = now - self._last_data - (startup if self._keyframes == 0 else 0)
            if self.status.state == "online" and quiet >= opts.offline_after:
                self._offline("stalled")
            if quiet >= opts.stall_seconds:
                return "stalled", {}
            if now - self._last_keyframe - (startup if self._keyframes == 0 else 0) >= opts.stall_seconds:
                return "no_keyframe", {"seconds": round(opts.stall_seconds)}

    async def _read(self, proc: asyncio.subprocess.Process) -> tuple[str, dict[str, Any]] | None:
        """Parse stdout into init and fragments; None at end of stream, else (reason, detail)."""
        assert proc.stdout is not None
        reader = BoxReader()
        header: list[bytes] = []
        moof: bytes | None = None
        while True:
            chunk = await proc.stdout.read(_READ)
            if not chunk:
                return None
            try:
                boxes = reader.feed(chunk)
            except BoxError as err:
                return "corrupt", {"mp4": str(err)}
            for kind, box in boxes:
                if self._init is None:
                    if kind == b"moov":
                        header.append(box)
                        problem = self._got_init(b"".join(header))
                        if problem is not None:
                            return problem
                    elif kind in (b"ftyp", b"free", b"uuid"):
                        header.append(box)
                    continue
                if kind == b"moof":
                    moof = box
                elif kind == b"mdat" and moof is not None:
                    assert self.track is not None
                    try:
                        frag = parse_fragment(moof, box, self.track)
                    except (BoxError, IndexError, ValueError) as err:
                        return "corrupt", {"mp4": str(err)}
                    moof = None
                    self._publish(frag)

    def _got_init(self, data: bytes) -> tuple[str, dict[str, Any]] | None:
        try:
            track = parse_init(data)
        except (BoxError, IndexError, ValueError) as err:
            return "no_video" if "no video" in str(err) else "corrupt", {"mp4": str(err)}
        self.status.codec, self.status.width, self.status.height = track.codec, track.width, track.height
        if track.is_h265:
            return "h265", {"codec": "H.265"}
        if not track.is_h264:
            return "codec", {"codec": track.fourcc}
        self.track = track
        self._init = _Init(self._session, data, track)
        for sub in self._subs:
            sub._offer_init(self._init)
        return None

    def _publish(self, frag: Fragment) -> None:
        assert self._init is not None and self.track is not None
        now = self.hub.clock.time()
        self._last_data = now
        if frag.keyframe:
            self._last_keyframe = now
            self._keyframes += 1
            self._gop, self._gop_bytes = [], 0
            self._keyframe_seen.set()
        if self._keyframes == 0:
            return  # a stream that begins mid-GOP: nothing is playable before its first keyframe
        if self._gop_bytes + len(frag.data) <= GOP_CACHE_BYTES:
            self._gop.append(frag)
            self._gop_bytes += len(frag.data)
        scale = self.track.timescale
        self._stats.append((frag.duration / scale, frag.samples, len(frag.data)))
        seconds = sum(s[0] for s in self._stats)
        if seconds > 0:
            self.status.fps = round(sum(s[1] for s in self._stats) / seconds, 1)
            self.status.bitrate_kbps = round(sum(s[2] for s in self._stats) * 8 / seconds / 1000, 1)
        self.status.last_frame = now
        if self.status.state != "online":
            self._set_status(state="online", reason=None, detail={}, retry_at=None)
        session = self._init.session
        for sub in self._subs:
            sub._offer(session, frag)

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(asyncio.CancelledError):
            await proc.wait()

    # -- frame grabs ---------------------------------------------------------------

    def keyframe_mp4(self) -> bytes | None:
        """Return a tiny MP4 (init + the latest keyframe fragment), or None before the first keyframe."""
        if self._init is None or not self._gop:
            return None
        return self._init.data + self._gop[0].data

    async def latest_jpeg(self, *, within: float = 10.0) -> bytes:
        """Return the latest keyframe as a JPEG (one frame decoded; the stream is never transcoded).

        Starts the pull if nobody is watching and waits up to ``within`` seconds
        (real time) for a keyframe; raises :class:`StreamError` with a reason.
        """
        async with self._jpeg_lock, self.hold():
            deadline = self.hub.loop.time() + within
            while self._keyframes == 0:
                if self.status.state == "offline" and self.status.reason in _UNPLAYABLE:
                    break  # H.265 and friends will not produce a keyframe by waiting
                remaining = deadline - self.hub.loop.time()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._keyframe_seen.wait(), min(remaining, 0.25))
            mp4 = self.keyframe_mp4()
            if self._keyframes == 0 or mp4 is None:
                reason = (self.status.reason if self.status.state == "offline" else None) or "stalled"
                raise StreamError(reason, f"{self.camera_entity_id}: {reason_text(reason, 'en')}")
            key = (self._session, self._keyframes)
            if self._jpeg is not None and self._jpeg[0] == key:
                return self._jpeg[1]  # the same keyframe: the same picture
            data = await decode_jpeg(mp4, self.options.ffmpeg, within)
            self._jpeg = (key, data)
            return data


async def decode_jpeg(mp4: bytes, ffmpeg: str = "ffmpeg", limit: float = 10.0) -> bytes:
    """Decode the first frame of ``mp4`` to JPEG with ffmpeg (a single frame, on another core)."""
    proc = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "mp4",
        "-i",
        "pipe:0",
        "-frames:v",
        "1",
        "-f",
        "image2",
        "-c:v",
        "mjpeg",
        "-q:v",
        "4",
        "pipe:1",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(mp4), limit)
    except (TimeoutError, asyncio.CancelledError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0 or not out.startswith(b"\xff\xd8"):
        lines = err.decode("utf-8", "replace").strip().splitlines()
        raise StreamError("corrupt", f"could not decode a frame: {lines[-1] if lines else proc.returncode}")
    return out
