"""Just enough ISO-BMFF (MP4) to cut a fragmented stream: boxes, codec, keyframes, durations.

ffmpeg writes the restream as fragmented MP4 on its stdout: an init segment
(``ftyp`` + ``moov``) and then ``moof`` + ``mdat`` pairs.  The hub never
decodes video; it only needs to know, per fragment, whether it starts on a
keyframe (a new viewer, a new recording segment and a laggard's resume must
start there), its decode time and its duration; and, from the ``moov``, the
codec (H.265 is refused with a clear message: browsers cannot play it in MSE).
The layouts are from ISO/IEC 14496-12 (§8.8 movie fragments) and 14496-15 (avcC).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = (
    "BoxError",
    "BoxReader",
    "Fragment",
    "TrackInfo",
    "iter_boxes",
    "parse_init",
    "parse_fragment",
    "rebase_fragment",
)

#: Containers whose children are boxes (the ones walked here).
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts"})
#: A box larger than this is treated as corruption (a 4K I-frame is a few MB).
MAX_BOX = 64 * 1024 * 1024
_NON_SYNC = 0x00010000


class BoxError(ValueError):
    """The byte stream is not well-formed MP4."""


def iter_boxes(
    data: bytes | memoryview, start: int = 0, end: int | None = None
) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, payload_start, box_end)`` of the boxes in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise BoxError("truncated 64-bit box header")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise BoxError(f"box {kind!r} of {size} bytes overruns its parent")
        yield bytes(kind), pos + header, pos + size
        pos += size


def _find(data: bytes, path: list[bytes], start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    """Return the payload span of the first box at ``path`` (e.g. [moov, trak, mdia])."""
    for kind, body, box_end in iter_boxes(data, start, end):
        if kind == path[0]:
            if len(path) == 1:
                return body, box_end
            found = _find(data, path[1:], body, box_end)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class TrackInfo:
    """What the init segment says about the (single) video track."""

    #: Sample entry four-cc: ``avc1``/``avc3`` (H.264), ``hvc1``/``hev1`` (H.265), ...
    fourcc: str
    #: RFC 6381 codec string for MSE (``avc1.64001f``), or the four-cc when unknown.
    codec: str
    timescale: int
    width: int
    height: int
    #: Default sample duration and flags from ``trex`` (used when fragments leave them out).
    default_duration: int = 0
    default_flags: int = 0

    @property
    def is_h264(self) -> bool:
        """Return whether browsers (MSE) can play it: H.264 only."""
        return self.fourcc in ("avc1", "avc3")

    @property
    def is_h265(self) -> bool:
        """Return whether the camera sends H.265 (HEVC)."""
        return self.fourcc in ("hvc1", "hev1")

    @property
    def mime(self) -> str:
        """Return the MIME type with codecs for ``MediaSource.isTypeSupported``."""
        return f'video/mp4; codecs="{self.codec}"'


def parse_init(data: bytes) -> TrackInfo:
    """Parse ``ftyp``+``moov``; raise BoxError when there is no video track."""
    moov = _find(data, [b"moov"])
    if moov is None:
        raise BoxError("no moov box in the init segment")
    default_duration = default_flags = 0
    trex = _find(data, [b"mvex", b"trex"], *moov)
    if trex is not None:
        # version/flags, track_ID, default_sample_description_index, duration, size, flags
        default_duration = struct.unpack_from(">I", data, trex[0] + 12)[0]
        default_flags = struct.unpack_from(">I", data, trex[0] + 20)[0]
    for kind, body, end in iter_boxes(data, *moov):
        if kind != b"trak":
            continue
        hdlr = _find(data, [b"mdia", b"hdlr"], body, end)
        if hdlr is None or data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
            continue
        mdhd = _find(data, [b"mdia", b"mdhd"], body, end)
        if mdhd is None:
            raise BoxError("video track without mdhd")
        version = data[mdhd[0]]
        timescale = struct.unpack_from(">I", data, mdhd[0] + (20 if version == 1 else 12))[0]
        stsd = _find(data, [b"mdia", b"minf", b"stbl", b"stsd"], body, end)
        if stsd is None:
            raise BoxError("video track without stsd")
        entries = list(iter_boxes(data, stsd[0] + 8, stsd[1]))
        if not entries:
            raise BoxError("video track without a sample entry")
        fourcc_b, entry, entry_end = entries[0]
        fourcc = fourcc_b.decode("latin-1")
        width, height = struct.unpack_from(">HH", data, entry + 24)
        codec = fourcc
        children = entry + 78  # VisualSampleEntry's fixed fields
        for child, cbody, _cend in iter_boxes(data, children, entry_end):
            if child == b"avcC":
                codec = f"{fourcc}.{data[cbody + 1]:02x}{data[cbody + 2]:02x}{data[cbody + 3]:02x}"
            elif child == b"hvcC":
                codec = f"{fourcc}.h265"
        return TrackInfo(fourcc, codec, timescale or 90000, width, height, default_duration, default_flags)
    raise BoxError("the stream has no video track")


@dataclass(frozen=True)
class Fragment:
    """One ``moof`` + ``mdat`` pair of the restream."""

    data: bytes
    #: Whether the first sample is a sync sample (an IDR frame for H.264).
    keyframe: bool
    #: Decode time of the first sample, in the track's timescale.
    decode_time: int
    #: Sum of the sample durations, in the track's timescale.
    duration: int
    samples: int


def parse_fragment(moof: bytes, mdat: bytes, track: TrackInfo) -> Fragment:
    """Read keyframe, decode time and duration from ``moof`` (the first track fragment)."""
    traf = _find(moof, [b"moof", b"traf"])
    if traf is None:
        raise BoxError("moof without traf")
    default_duration, default_flags = track.default_duration, track.default_flags
    decode_time = 0
    first_flags: int | None = None
    duration = samples = 0
    for kind, body, _end in iter_boxes(moof, *traf):
        if kind == b"tfhd":
            flags = int.from_bytes(moof[body + 1 : body + 4], "big")
            pos = body + 8  # version/flags, track_ID
            if flags & 0x01:
                pos += 8
            if flags & 0x02:
                pos += 4
            if flags & 0x08:
                default_duration = struct.unpack_from(">I", moof, pos)[0]
                pos += 4
            if flags & 0x10:
                pos += 4
            if flags & 0x20:
                default_flags = struct.unpack_from(">I", moof, pos)[0]
        elif kind == b"tfdt":
            if moof[body] == 1:
                decode_time = struct.unpack_from(">Q", moof, body + 4)[0]
            else:
                decode_time = struct.unpack_from(">I", moof, body + 4)[0]
        elif kind == b"trun":
            flags = int.from_bytes(moof[body + 1 : body + 4], "big")
            count = struct.unpack_from(">I", moof, body + 4)[0]
            pos = body + 8
            if flags & 0x01:
                pos += 4
            run_first: int | None = None
            if flags & 0x04:
                run_first = struct.unpack_from(">I", moof, pos)[0]
                pos += 4
            per_sample = 4 * sum(1 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
            if pos + per_sample * count > len(moof):
                raise BoxError("trun overruns its moof")
            for n in range(count):
                sample_flags = default_flags
                if flags & 0x100:
                    duration += struct.unpack_from(">I", moof, pos)[0]
                    pos += 4
                else:
                    duration += default_duration
                if flags & 0x200:
                    pos += 4
                if flags & 0x400:
                    sample_flags = struct.unpack_from(">I", moof, pos)[0]
                    pos += 4
                if flags & 0x800:
                    pos += 4
                if n == 0 and samples == 0:
                    first_flags = run_first if run_first is not None else sample_flags
            samples += count
    keyframe = first_flags is not None and not first_flags & _NON_SYNC
    return Fragment(moof + mdat, keyframe, decode_time, duration, samples)


def rebase_fragment(data: bytes, base: int) -> bytes:
    """Return ``data`` (moof+mdat) with its decode time lowered by ``base``.

    Recording segments start their timeline at zero, so each file plays on
    its own and ffmpeg's concat demuxer can join any run of them.
    """
    out = bytearray(data)
    traf = _find(data, [b"moof", b"traf"])
    if traf is None:
        raise BoxError("moof without traf")
    for kind, body, _end in iter_boxes(data, *traf):
        if kind == b"tfdt":
            if data[body] == 1:
                value = struct.unpack_from(">Q", data, body + 4)[0]
                struct.pack_into(">Q", out, body + 4, max(0, value - base))
            else:
                value = struct.unpack_from(">I", data, body + 4)[0]
                struct.pack_into(">I", out, body + 4, max(0, value - base))
    return bytes(out)


class BoxReader:
    """Split a byte stream into top-level boxes as bytes arrive (ffmpeg's stdout)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[bytes, bytes]]:
        """Add ``chunk``; return the complete ``(type, whole box)`` pairs now available."""
        self._buf += chunk
        out: list[tuple[bytes, bytes]] = []
        pos = 0
        buf = self._buf
        while len(buf) - pos >= 8:
            size, kind = struct.unpack_from(">I4s", buf, pos)
            if size == 1:
                if len(buf) - pos < 16:
                    break
                (size,) = struct.unpack_from(">Q", buf, pos + 8)
            if size < 8 or size > MAX_BOX:
                raise BoxError(f"box {bytes(kind)!r} claims {size} bytes")
            if len(buf) - pos < size:
                break
            out.append((bytes(kind), bytes(buf[pos : pos + size])))
            pos += size
        if pos:
            del buf[:pos]
        return out

    @property
    def pending(self) -> int:
        """Return how many bytes wait for the rest of their box."""
        return len(self._buf)
