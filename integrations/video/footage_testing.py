"""Test kit for footage requests: real H.264 MP4 segments made by ffmpeg, registered in the real index.

Recording itself is the recorder's business (and tested there); footage
tests need *recordings that exist*: short fragmented MP4 segments that each
start on a keyframe, exactly the shape the recorder writes, indexed through
:meth:`RecordingIndex.add` so ``segments()`` and ``clip()`` work on them::

    files = await make_segments(tmp_path / "gen", count=5, seconds=2)
    await register_segments(hub.data[VIDEO_RUNTIME].recordings, "camera.gate", files, start=t0, seconds=2)
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

__all__ = ("make_segments", "register_segments", "SEGMENT_PLUGIN")


async def make_segments(
    folder: Path,
    *,
    count: int,
    seconds: float = 2.0,
    size: str = "320x240",
    rate: int = 25,
    bitrate: str | None = None,
) -> list[Path]:
    """Encode ``count`` × ``seconds`` of a test pattern to H.264 fMP4 segments (keyframe first); return them."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    rate_opts = ["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate] if bitrate else ["-crf", "30"]
    args = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}",
        "-t", f"{count * seconds:g}",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        *rate_opts,
        # A keyframe exactly at every segment boundary, none in between (like a camera's GOP).
        "-g", str(int(rate * seconds)), "-keyint_min", str(int(rate * seconds)), "-sc_threshold", "0",
        "-f", "segment", "-segment_time", f"{seconds:g}", "-segment_format", "mp4",
        "-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof",
        "-reset_timestamps", "1",
        str(folder / "seg%04d.mp4"),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not make test segments: {err.decode(errors='replace')[-300:]}")
    return await asyncio.to_thread(lambda: sorted(folder.glob("seg*.mp4")))


async def register_segments(
    index: Any, camera: str, files: list[Path], *, start: float, seconds: float, repeat: int = 1
) -> list[int]:
    """Copy segment files under the index's root and index them back to back from ``start``.

    ``repeat`` reuses the same files several times over (a long recording
    from a short encode: the concat demuxer re-times each file).
    """
    ids = []
    t = start
    n = 0
    for _ in range(repeat):
        for src in files:
            rel = Path("test") / camera / f"{n:05d}.mp4"
            size = await asyncio.to_thread(_copy, src, Path(index.root) / rel)
            ids.append(await index.add(camera, t, t + seconds, str(rel), size, "continuous"))
            t += seconds
            n += 1
    return ids


def _copy(src: Path, dest: Path) -> int:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest.stat().st_size


#: A drop-in plugin (``plugins/testfootage/__init__.py``, ``dependencies: [video]``) for hubs run as
#: subprocesses: at setup it indexes the segment files listed in its config block through the real index API.
SEGMENT_PLUGIN = """
from pathlib import Path
from typing import Any

from hub import hookimpl


@hookimpl
def config_schema() -> Any:
    return dict[str, Any]


@hookimpl
async def setup(hub: Any, config: dict[str, Any]) -> None:
    from integrations.video.footage_testing import register_segments
    from integrations.video.const import RUNTIME as VIDEO_RUNTIME

    cfg = config
    index = hub.data[VIDEO_RUNTIME].recordings
    if await index.segments(cfg["camera"], cfg["start"], cfg["start"] + 1):
        return  # indexed at an earlier start
    files = sorted(Path(cfg["folder"]).glob("seg*.mp4"))  # noqa: ASYNC240 - a test plugin, once at start
    await register_segments(index, cfg["camera"], files, start=cfg["start"], seconds=cfg["seconds"],
                            repeat=cfg.get("repeat", 1))
"""
