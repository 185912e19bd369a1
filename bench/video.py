"""Video on the hub: CPU per live stream and per recorded camera, loop lag, ffmpeg against PyAV.

Sources are 720p H.264 files (15 fps, a keyframe every 2 s, ~2 Mbit/s, made once
with x264 at the start) played in real time (``-re``, looped), as a camera sends
them; a real hub (real clock, no web server) restreams them with
:mod:`integrations.video`.  CPU is measured as the hub process's own CPU time
plus that of its ffmpeg children (``/proc/<pid>/stat``), over a fixed window.

Workloads:

* **live**: one camera, one subscriber reading every fragment (a viewer);
* **recorded**: one camera recorded continuously (segments written and indexed);
* **site**: 8 recorded cameras plus 2 live viewers on two of them: event-loop lag
  (a 20 ms sleeper's overshoot) and total CPU;
* **engine**: the same remux (file → fragmented MP4, ``-c copy``) by an ffmpeg
  subprocess and by PyAV in-process, for one stream in real time.  PyAV is not a
  project dependency: the bench uses it when ``import av`` works (for example with
  ``PYTHONPATH`` pointing at ``pip install --target DIR av``) and says so otherwise.

Targets (issue 13): ≤ 2 % of one core per live stream, ≤ 1 % per recorded camera,
loop lag p99 ≤ 10 ms with 8 recorded + 2 live.

Usage: ``python -m bench.video [--quick] [--seconds S]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub.hub import Hub  # noqa: E402
from hub.testing import wait_for, write_config  # noqa: E402
from integrations.camera import CameraEntity, add_camera  # noqa: E402
from integrations.camera.config import RecordConfig  # noqa: E402
from integrations.video import VideoRuntime  # noqa: E402
from integrations.video.const import RUNTIME as VIDEO_RUNTIME  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")

_PYAV_REMUX = r"""
import io, sys, time, resource
import av
path, seconds = sys.argv[1], float(sys.argv[2])
start = time.monotonic()
cpu0 = resource.getrusage(resource.RUSAGE_SELF)
out_bytes = 0
while time.monotonic() - start < seconds:
    src = av.open(path)
    vin = src.streams.video[0]
    sink = io.BytesIO()
    dst = av.open(sink, "w", format="mp4",
                  options={"movflags": "empty_moov+default_base_moof+frag_keyframe", "frag_duration": "500000"})
    vout = dst.add_stream_from_template(vin)
    t0 = time.monotonic()
    for packet in src.demux(vin):
        if packet.dts is None:
            continue
        due = float(packet.dts * vin.time_base)
        wait = due - (time.monotonic() - t0)
        if wait > 0:
            time.sleep(wait)  # real time, like ffmpeg -re
        packet.stream = vout
        dst.mux(packet)
        out_bytes += sink.tell()
        sink.seek(0)
        sink.truncate()
        if time.monotonic() - start >= seconds:
            break
    dst.close()
    src.close()
cpu1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
print(cpu / (time.monotonic() - start), out_bytes)
"""


class FileCamera(CameraEntity):
    """A camera whose stream is a local file played in real time (``file:`` source, looped)."""

    def __init__(self, hub: Hub, object_id: str, path: Path, record: RecordConfig | None) -> None:
        super().__init__(hub, object_id, object_id)
        self.path = path
        self.record = record
        self.available = True

    async def fetch_snapshot(self) -> bytes:
        raise NotImplementedError

    def stream_source(self, profile: str = "main") -> str | None:
        return f"file:{self.path}"


def make_source(path: Path, seconds: int) -> Path:
    """Write a 720p15 H.264 test stream at ~2 Mbit/s with a keyframe every 2 s."""
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=15", "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M", "-maxrate", "2M", "-bufsize", "2M",
            "-g", "30", "-pix_fmt", "yuv420p", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def _child_cpu(pid: int) -> float:
    """Return a process's CPU seconds (user + system) so far, 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _ffmpeg_pids(runtime: VideoRuntime) -> list[int]:
    return [r._proc.pid for r in runtime.restreams() if r._proc is not None]


async def _lag_sampler(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(0.02)
        lags.append((loop.time() - t - 0.02) * 1000)


async def _viewer(runtime: VideoRuntime, camera: str, stop: asyncio.Event, got: list[int]) -> None:
    async with runtime.restream(camera).subscribe() as sub:
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(sub.__anext__(), 1)
            except TimeoutError:
                continue
            got[0] += len(chunk)


async def _workload(
    work: Path, source: Path, *, recorded: int, live: int, seconds: float, warmup: float
) -> dict[str, Any]:
    """Run ``recorded`` recorded cameras and ``live`` viewers; return CPU and lag over ``seconds``."""
    folder = work / f"hub-{recorded}-{live}-{time.monotonic_ns()}"
    path = write_config(folder, "video: {segment_seconds: 4, disk_budget_gb: 5, min_free_gb: 0.5}\n")
    hub = Hub(path, web=False)
    await hub.start()
    runtime = hub.data[VIDEO_RUNTIME]
    cameras = max(recorded, live)
    for n in range(cameras):
        rec = RecordConfig(mode="continuous") if n < recorded else None
        add_camera(hub, FileCamera(hub, f"cam{n}", source, rec))
    runtime.start_recorders()
    stop = asyncio.Event()
    got = [0]
    viewers = [asyncio.create_task(_viewer(runtime, f"camera.cam{n}", stop, got)) for n in range(live)]
    await wait_for(lambda: all(r.status.online for r in runtime.restreams()), 30, "every stream online")
    await asyncio.sleep(warmup)
    pids = _ffmpeg_pids(runtime)
    lags: list[float] = []
    sampler = asyncio.create_task(_lag_sampler(stop, lags))
    wall0, cpu0 = time.monotonic(), time.process_time()
    child0 = {pid: _child_cpu(pid) for pid in pids}
    written0 = sum(r.written for r in runtime.recorders.values())
    await asyncio.sleep(seconds)
    wall = time.monotonic() - wall0
    hub_cpu = time.process_time() - cpu0
    child_cpu = sum(_child_cpu(pid) - child0[pid] for pid in pids)
    written = sum(r.written for r in runtime.recorders.values()) - written0
    restarts = sum(r.status.restarts for r in runtime.restreams())
    rates = [r.status.bitrate_kbps or 0.0 for r in runtime.restreams()]
    bitrate = statistics.mean(rates) if rates else 0.0
    stop.set()
    await asyncio.gather(sampler, *viewers, return_exceptions=True)
    await hub.stop()
    ordered = sorted(lags)
    return {
        "cameras": cameras,
        "recorded": recorded,
        "live": live,
        "pulls": len(pids),
        "hub_cpu_pct": 100 * hub_cpu / wall,
        "ffmpeg_cpu_pct": 100 * child_cpu / wall,
        "lag_p50_ms": statistics.median(ordered) if ordered else 0.0,
        "lag_p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0,
        "segments_written": written,
        "live_mbit_s": got[0] * 8 / wall / 1e6,
        "bitrate_kbps": bitrate,
        "restarts": restarts,
    }


def _ffmpeg_remux_cpu(source: Path, seconds: float) -> float:
    """CPU share of one core of ``ffmpeg -re ... -c copy -f mp4 (fragmented)`` to a pipe, one stream."""
    proc = subprocess.Popen(
        [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1",
            "-i", str(source), "-map", "0:v:0", "-c", "copy", "-f", "mp4",
            "-movflags", "empty_moov+default_base_moof+frag_keyframe", "-frag_duration", "500000",
            "-flush_packets", "1", "pipe:1",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)
    c0, t0 = _child_cpu(proc.pid), time.monotonic()
    time.sleep(seconds)
    share = (_child_cpu(proc.pid) - c0) / (time.monotonic() - t0)
    proc.kill()
    proc.wait()
    return share


def _pyav_remux_cpu(source: Path, seconds: float) -> float | None:
    """CPU share of one core of the same remux by PyAV in a Python process, or None without PyAV."""
    proc = subprocess.run(
        [sys.executable, "-c", _PYAV_REMUX, str(source), str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if proc.returncode != 0:
        return None
    return float(proc.stdout.split()[0])


async def run(seconds: float, quick: bool) -> dict[str, Any]:
    """Measure every workload; return a JSON-friendly dict."""
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        work = Path(tmp)
        source = make_source(work / "cam720p.mp4", 20)
        warmup = 2.0 if quick else 5.0
        idle = await _workload(work, source, recorded=0, live=0, seconds=seconds, warmup=warmup)
        live = await _workload(work, source, recorded=0, live=1, seconds=seconds, warmup=warmup)
        recorded = await _workload(work, source, recorded=1, live=0, seconds=seconds, warmup=warmup)
        site = await _workload(work, source, recorded=8, live=2, seconds=seconds, warmup=warmup)
        engine_s = min(seconds, 20.0)
        ffmpeg_share = _ffmpeg_remux_cpu(source, engine_s)
        pyav_share = _pyav_remux_cpu(source, engine_s)
    return {
        "seconds": seconds,
        "idle_hub": idle,
        "live_1": live,
        "recorded_1": recorded,
        "site_8_recorded_2_live": site,
        "engine": {
            "ffmpeg_subprocess_pct": 100 * ffmpeg_share,
            "pyav_in_process_pct": None if pyav_share is None else 100 * pyav_share,
        },
    }


def _per_stream(sample: dict[str, Any], idle: dict[str, Any]) -> tuple[float, float]:
    """Return (hub process %, ffmpeg %) for one stream above an idle hub."""
    return sample["hub_cpu_pct"] - idle["hub_cpu_pct"], sample["ffmpeg_cpu_pct"]


def collect(quick: bool) -> list[Any]:
    """Return results for ``python -m bench`` (see bench/runner.py)."""
    from bench.runner import Result

    logging.basicConfig(level=logging.ERROR)
    out = asyncio.run(run(15.0 if quick else 60.0, quick))
    idle = out["idle_hub"]
    live_hub, live_ff = _per_stream(out["live_1"], idle)
    rec_hub, rec_ff = _per_stream(out["recorded_1"], idle)
    site = out["site_8_recorded_2_live"]
    engine = out["engine"]
    results = [
        Result("CPU per live stream (hub + ffmpeg)", "% of a core", [live_hub + live_ff], target="≤ 2",
               note=f"hub {live_hub:.2f} %, ffmpeg {live_ff:.2f} %; 720p15 ~2 Mbit/s"),
        Result("CPU per recorded camera (hub + ffmpeg)", "% of a core", [rec_hub + rec_ff], target="≤ 1",
               note=f"hub {rec_hub:.2f} %, ffmpeg {rec_ff:.2f} %"),
        Result("8 recorded + 2 live: loop lag p99", "ms", [site["lag_p99_ms"]], target="≤ 10",
               note=f"p50 {site['lag_p50_ms']:.2f} ms; {site['pulls']} pulls for 8 cameras"),
        Result("8 recorded + 2 live: CPU (hub + ffmpeg)", "% of a core",
               [site["hub_cpu_pct"] + site["ffmpeg_cpu_pct"]]),
        Result("remux, ffmpeg subprocess", "% of a core", [engine["ffmpeg_subprocess_pct"]]),
    ]  # fmt: skip
    if engine["pyav_in_process_pct"] is not None:
        results.append(Result("remux, PyAV in-process", "% of a core", [engine["pyav_in_process_pct"]]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 s windows instead of 60 s")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--hub-only", action="store_true", help="skip the station part (bench/video_live.py)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    out = asyncio.run(run(seconds, args.quick))
    print(json.dumps(out, indent=2))
    idle = out["idle_hub"]
    live_hub, live_ff = _per_stream(out["live_1"], idle)
    rec_hub, rec_ff = _per_stream(out["recorded_1"], idle)
    site = out["site_8_recorded_2_live"]
    engine = out["engine"]
    print()
    print(
        f"per live stream:     {live_hub + live_ff:5.2f} % of a core (hub {live_hub:.2f}, ffmpeg {live_ff:.2f}); target ≤ 2"
    )
    print(
        f"per recorded camera: {rec_hub + rec_ff:5.2f} % of a core (hub {rec_hub:.2f}, ffmpeg {rec_ff:.2f}); target ≤ 1"
    )
    print(
        f"8 recorded + 2 live: loop lag p50 {site['lag_p50_ms']:.2f} ms, p99 {site['lag_p99_ms']:.2f} ms (target ≤ 10); "
        f"CPU {site['hub_cpu_pct'] + site['ffmpeg_cpu_pct']:.1f} % of a core; {site['pulls']} RTSP-equivalent pulls"
    )
    pyav = engine["pyav_in_process_pct"]
    ratio = f", PyAV/ffmpeg = {pyav / engine['ffmpeg_subprocess_pct']:.2f}" if pyav else ""
    print(
        f"remux engine: ffmpeg subprocess {engine['ffmpeg_subprocess_pct']:.2f} %, "
        f"PyAV {'not installed' if pyav is None else f'{pyav:.2f} %'}{ratio}"
    )  # fmt: skip
    if not args.hub_only:
        # The station's part (bench/video_live.py): first frame after the click, latency, relay CPU.
        from bench import video_live

        video_live.report(asyncio.run(video_live.run(args.quick)))


if __name__ == "__main__":
    main()
