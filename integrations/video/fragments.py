"""Fragmented MP4, box by box: the init segment, the fragments, which ones start on a keyframe.

The live link to the station carries fragmented MP4 (ISO/IEC 14496-12) as
the hub's restream produces it.  Both ends cut the byte stream at box
boundaries: the hub sends one WebSocket message per *unit* (the init segment
``ftyp``+``moov``, or one fragment ``moof``+``mdat``), and the station checks
every unit it relays, because a hub is not trusted to send well-formed media.

A viewer that joins late gets the init segment and then waits for a fragment
that starts with a sync sample (a keyframe): a decoder given a P-frame first
shows grey.  The sync flag is read from the fragment's own sample flags
(``trun`` first-sample flags, per-sample flags, ``tfhd`` defaults, then the
``trex`` defaults of the init segment), and only when none is present from
the first NAL units of the sample data (H.264 IDR or SPS).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ("Unit", "Splitter", "MediaError", "InitInfo", "parse_init", "is_keyframe", "iter_boxes")

#: Largest box accepted: a 10 s fragment at 16 Mbit/s is 20 MB; anything bigger is not our stream.
MAX_BOX = 32 * 1024 * 1024
_FRAGMENT_PREFIX = frozenset({b"styp", b"sidx", b"prft", b"emsg"})
_SKIPPED = frozenset({b"free", b"skip", b"mfra", b"udta", b"uuid"})
_SYNC_NON = 0x00010000  # sample_is_non_sync_sample


class MediaError(ValueError):
    """The bytes are not fragmented MP4 as the live link expects."""


@dataclass(frozen=True)
class Unit:
    """One piece the link carries: the init segment or one fragment."""

    kind: str  # "init" | "fragment"
    data: bytes
    keyframe: bool = False


@dataclass(frozen=True)
class InitInfo:
    """What a player needs from an init segment."""

    codecs: str
    video_track: int | None
    #: trex default_sample_flags per track (used when a fragment names none).
    trex_flags: dict[int, int]

    @property
    def mime(self) -> str:
        """Return the MSE type, e.g. ``video/mp4; codecs="avc1.42e01e"``."""
        return f'video/mp4; codecs="{self.codecs}"'

    @property
    def h264(self) -> bool:
        """Return whether the video is H.264, which every browser's MSE plays."""
        return self.codecs.startswith("avc1") or self.codecs.startswith("avc3")


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, payload start, box end) for each box in ``data[start:end]``; raise on a broken size."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise MediaError("truncated large box header")
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise MediaError(f"box {kind!r} of {size} bytes does not fit")
        yield kind, pos + header, pos + size
        pos += size
    if pos != end:
        raise MediaError("trailing bytes after the last box")


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, s, e in iter_boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def parse_init(init: bytes) -> InitInfo:
    """Read the codecs, the video track and trex defaults from an init segment."""
    moov = None
    for kind, s, e in iter_boxes(init):
        if kind == b"moov":
            moov = (s, e)
    if moov is None:
        raise MediaError("init segment without moov")
    codecs: list[str] = []
    video_track: int | None = None
    trex: dict[int, int] = {}
    for kind, s, e in iter_boxes(init, *moov):
        if kind == b"trak":
            track_id, handler, codec = _trak(init, s, e)
            if handler == b"vide" and video_track is None:
                video_track = track_id
            if codec:
                codecs.append(codec)
        elif kind == b"mvex":
            for k2, s2, e2 in iter_boxes(init, s, e):
                if k2 == b"trex" and e2 - s2 >= 24:
                    track_id, _idx, _dur, _size, flags = struct.unpack_from(">IIIII", init, s2 + 4)
                    trex[track_id] = flags
    if not codecs:
        raise MediaError("init segment names no codec")
    return InitInfo(",".join(codecs), video_track, trex)


def _trak(data: bytes, start: int, end: int) -> tuple[int, bytes, str]:
    track_id, handler, codec = 0, b"", ""
    for kind, s, e in iter_boxes(data, start, end):
        if kind == b"tkhd":
            version = data[s]
            track_id = struct.unpack_from(">I", data, s + (20 if version == 1 else 12))[0]
        elif kind == b"mdia":
            for k2, s2, e2 in iter_boxes(data, s, e):
                if k2 == b"hdlr":
                    handler = data[s2 + 8 : s2 + 12]
                elif k2 == b"minf":
                    codec = _codec(data, s2, e2)
    return track_id, handler, codec


def _codec(data: bytes, minf_s: int, minf_e: int) -> str:
    stbl = _child(data, minf_s, minf_e, b"stbl")
    stsd = _child(data, *stbl, b"stsd") if stbl else None
    if stsd is None:
        return ""
    s, e = stsd
    # stsd: version/flags (4), entry_count (4), then sample entries.
    for kind, es, ee in iter_boxes(data, s + 8, e):
        name = kind.decode("latin-1")
        if kind in (b"avc1", b"avc3"):
            # VisualSampleEntry: 78 bytes before its child boxes.
            avcc = _child(data, es + 78, ee, b"avcC")
            if avcc is None:
                return name
            p = data[avcc[0] + 1 : avcc[0] + 4]
            return f"{name}.{p.hex()}"
        if kind in (b"hvc1", b"hev1"):
            return name
        if kind == b"mp4a":
            return "mp4a.40.2"
        return name
    return ""


def is_keyframe(fragment: bytes, info: InitInfo | None = None) -> bool:
    """Return whether the fragment's video starts with a sync sample."""
    moof = mdat = None
    for kind, s, e in iter_boxes(fragment):
        if kind == b"moof" and moof is None:
            moof = (s, e)
        elif kind == b"mdat" and mdat is None:
            mdat = (s, e)
    if moof is None:
        raise MediaError("fragment without moof")
    video = info.video_track if info is not None else None
    for kind, s, e in iter_boxes(fragment, *moof):
        if kind != b"traf":
            continue
        flags = _first_sample_flags(fragment, s, e, info)
        if flags is None:
            continue
        if video is not None and flags[0] != video:
            continue
        if flags[1] is not None:
            return not flags[1] & _SYNC_NON
    # No flags anywhere: look at the first NAL units (H.264: 5 = IDR slice, 7 = SPS).
    if mdat is not None:
        return _h264_idr(fragment, *mdat)
    return False


def _first_sample_flags(data: bytes, s: int, e: int, info: InitInfo | None) -> tuple[int, int | None] | None:
    track_id = 0
    default: int | None = None
    first: int | None = None
    for kind, bs, _be in iter_boxes(data, s, e):
        if kind == b"tfhd":
            tf_flags = int.from_bytes(data[bs + 1 : bs + 4], "big")
            track_id = struct.unpack_from(">I", data, bs + 4)[0]
            pos = bs + 8
            for bit, width in ((0x1, 8), (0x2, 4), (0x8, 4), (0x10, 4)):
                if tf_flags & bit:
                    pos += width
            if tf_flags & 0x20:
                default = struct.unpack_from(">I", data, pos)[0]
        elif kind == b"trun" and first is None:
            tr_flags = int.from_bytes(data[bs + 1 : bs + 4], "big")
            count = struct.unpack_from(">I", data, bs + 4)[0]
            pos = bs + 8
            if tr_flags & 0x1:
                pos += 4
            if tr_flags & 0x4:
                first = struct.unpack_from(">I", data, pos)[0]
            elif count and tr_flags & 0x400:
                pos += 4 * bool(tr_flags & 0x100) + 4 * bool(tr_flags & 0x200)
                first = struct.unpack_from(">I", data, pos)[0]
    if first is None:
        first = default
    if first is None and info is not None:
        first = info.trex_flags.get(track_id)
    return track_id, first


def _h264_idr(data: bytes, start: int, end: int) -> bool:
    pos = start
    for _ in range(8):
        if pos + 5 > end:
            return False
        length = struct.unpack_from(">I", data, pos)[0]
        nal_type = data[pos + 4] & 0x1F
        if nal_type in (5, 7):
            return True
        if nal_type == 1:
            return False
        pos += 4 + length
    return False


class Splitter:
    """Cut a fragmented-MP4 byte stream (any chunking) into init segments and fragments."""

    def __init__(self, max_box: int = MAX_BOX) -> None:
        self._buf = bytearray()
        self._pending: list[bytes] = []  # boxes of the unit being assembled
        self._max = max_box
        self.info: InitInfo | None = None

    def feed(self, data: bytes) -> list[Unit]:
        """Add bytes; return the units completed by them (raise MediaError on a broken stream)."""
        self._buf += data
        units: list[Unit] = []
        while len(self._buf) >= 8:
            size, kind = struct.unpack_from(">I4s", self._buf, 0)
            header = 8
            if size == 1:
                if len(self._buf) < 16:
                    break
                size = struct.unpack_from(">Q", self._buf, 8)[0]
                header = 16
            if size < header or size > self._max:
                raise MediaError(f"box {kind!r} of {size} bytes is not acceptable")
            if len(self._buf) < size:
                break
            box = bytes(self._buf[:size])
            del self._buf[:size]
            unit = self._box(kind, box)
            if unit is not None:
                units.append(unit)
        return units

    def _box(self, kind: bytes, box: bytes) -> Unit | None:
        if kind == b"ftyp":
            self._pending = [box]
            return None
        if kind == b"moov":
            init = (
                b"".join([*self._pending, box]) if self._pending and self._pending[0][4:8] == b"ftyp" else box
            )
            self._pending = []
            self.info = parse_init(init)
            return Unit("init", init)
        if kind in _FRAGMENT_PREFIX or kind == b"moof":
            if kind == b"moof" and any(b[4:8] == b"moof" for b in self._pending):
                raise MediaError("moof without its mdat")
            self._pending.append(box)
            return None
        if kind == b"mdat":
            if not any(b[4:8] == b"moof" for b in self._pending):
                raise MediaError("mdat without a moof")
            fragment = b"".join([*self._pending, box])
            self._pending = []
            if self.info is None:
                raise MediaError("a fragment before the init segment")
            return Unit("fragment", fragment, is_keyframe(fragment, self.info))
        if kind in _SKIPPED:
            return None
        raise MediaError(f"unexpected box {kind!r} in a live stream")


def check_unit(data: bytes, info: InitInfo | None) -> Unit:
    """Check one unit received whole (a WebSocket message); return it classified."""
    kinds = [k for k, _s, _e in iter_boxes(data)]
    if b"moov" in kinds:
        parse_init(data)
        return Unit("init", data)
    if b"moof" in kinds and b"mdat" in kinds:
        if info is None:
            raise MediaError("a fragment before the init segment")
        return Unit("fragment", data, is_keyframe(data, info))
    raise MediaError("neither an init segment nor a fragment")
