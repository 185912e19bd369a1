"""The MP4 box reader on real ffmpeg output, split anywhere, and on broken input."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from integrations.video.mp4 import BoxError, BoxReader, parse_fragment, parse_init, rebase_fragment
from tests.integrations.video.conftest import make_h264


def _fragmented(src: Path, dest: Path) -> bytes:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-c", "copy",
         "-f", "mp4", "-movflags", "empty_moov+default_base_moof+frag_keyframe", "-frag_duration", "500000",
         str(dest)],
        check=True,
    )  # fmt: skip
    return dest.read_bytes()


@pytest.fixture(scope="module")
def fmp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("mp4")
    return _fragmented(make_h264(folder / "src.mp4", 3, gop=10), folder / "frag.mp4")


def test_boxes_split_at_every_byte_boundary_come_out_whole(fmp4: bytes) -> None:
    whole = BoxReader().feed(fmp4)
    for step in (1, 7, 4096):
        reader = BoxReader()
        pieces = []
        for i in range(0, len(fmp4), step):
            pieces += reader.feed(fmp4[i : i + step])
        assert pieces == whole and reader.pending == 0


def test_init_and_fragments_of_an_h264_stream(fmp4: bytes) -> None:
    boxes = BoxReader().feed(fmp4)
    track = parse_init(boxes[0][1] + boxes[1][1])
    assert track.is_h264 and not track.is_h265 and track.codec.startswith("avc1.")
    assert track.mime == f'video/mp4; codecs="{track.codec}"'
    frags = [parse_fragment(boxes[i][1], boxes[i + 1][1], track) for i in range(2, len(boxes) - 1, 2)
             if boxes[i][0] == b"moof"]  # fmt: skip
    keyframes = [f for f in frags if f.keyframe]
    assert len(keyframes) == 3  # one per second of a 3 s clip with a keyframe every 10 frames
    assert sum(f.samples for f in frags) == 30
    assert [f.decode_time for f in frags] == sorted(f.decode_time for f in frags)
    later = frags[2]
    rebased = parse_fragment(rebase_fragment(later.data, later.decode_time), b"", track)
    assert rebased.decode_time == 0 and rebased.duration == later.duration


def test_h265_is_recognised(tmp_path: Path) -> None:
    data = _fragmented(make_h264(tmp_path / "hevc.mp4", 1, codec="libx265"), tmp_path / "frag.mp4")
    boxes = BoxReader().feed(data)
    track = parse_init(boxes[0][1] + boxes[1][1])
    assert track.is_h265 and not track.is_h264


def test_broken_input_is_refused() -> None:
    with pytest.raises(BoxError, match="claims"):
        BoxReader().feed(struct.pack(">I4s", 3, b"moof"))
    with pytest.raises(BoxError, match="claims"):
        BoxReader().feed(struct.pack(">I4sQ", 1, b"mdat", 2**40))
    big = struct.pack(">I4sQ", 1, b"free", 24) + b"x" * 8  # a 64-bit size header is read
    assert BoxReader().feed(big) == [(b"free", big)]
    with pytest.raises(BoxError, match="no moov"):
        parse_init(struct.pack(">I4s", 8, b"ftyp"))
