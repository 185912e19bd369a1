"""ONVIF cameras at scale: event-loop lag and CPU with 200 PullPoint loops, and snapshot latency.

Starts the fake ONVIF event responder (``python -m integrations.onvif.testing``)
in its own process with N cameras on 127.0.0.1, each toggling motion every
``--motion-every`` seconds and long-polling PullMessages for up to 60 s like a
real camera; then runs a real hub (real clock, no web server) with those N
cameras configured.  After every camera has connected and subscribed, it
samples the event loop's lag (a 20 ms sleeper's overshoot) and this process's
CPU time.  Finally it starts ipycam (a real ONVIF device, see
tests/integrations/onvif/ipycam_peer.py) and times snapshot fetches: over the
snapshot URI (HTTP Basic, remembered after Digest was refused) and one frame
over RTSP with ffmpeg.

Targets: loop-lag p99 ≤ 10 ms with 200 cameras.

Usage: ``python -m bench.cameras [--quick] [--cameras N] [--seconds S]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
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
from hub.testing import BASE_CONFIG, write_config  # noqa: E402
from integrations.onvif import CAMERAS  # noqa: E402
from integrations.onvif.snapshot import grab_rtsp_frame  # noqa: E402

HARNESS = REPO / "tests" / "integrations" / "onvif" / "ipycam_peer.py"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _spawn(cmd: list[str], cwd: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=cwd
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY"):
            return proc, line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{cmd[1:3]} did not start")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _lag_sampler(samples: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(0.02)
        samples.append((loop.time() - start - 0.02) * 1000)


async def _events_phase(ports: list[int], seconds: float, workdir: Path) -> dict[str, Any]:
    items = "".join(
        f"  - {{id: cam{i}, host: 127.0.0.1, port: {port}, username: admin, password: secret}}\n"
        for i, port in enumerate(ports)
    )
    base = BASE_CONFIG.replace("data_dir: ./data", f"data_dir: {workdir / 'data'}")
    hub = Hub(write_config(workdir / "events", "onvif:\n" + items, base=base), web=False)
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    await hub.start()
    cameras = list(hub.data[CAMERAS].values())
    lag: list[float] = []
    stop = asyncio.Event()
    sampler = loop.create_task(_lag_sampler(lag, stop))
    connected = await asyncio.gather(*(c.wait_connected(120) for c in cameras))
    while sum(1 for c in cameras if c.pullpoint is not None and c.pullpoint.status == "running") < len(
        cameras
    ):
        if time.perf_counter() - t0 > 180:
            break
        await asyncio.sleep(0.2)
    ready = time.perf_counter() - t0
    startup_cpu = time.process_time() - cpu0
    startup_lag = list(lag)
    lag.clear()
    handled0 = sum(c.router.handled for c in cameras)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu = (time.process_time() - cpu1) / (time.perf_counter() - wall1)
    handled = sum(c.router.handled for c in cameras) - handled0
    steady = list(lag)
    stop.set()
    await sampler
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    running = sum(1 for c in cameras if c.pullpoint is not None and c.pullpoint.status == "running")
    t_stop = time.perf_counter()
    await hub.stop()
    return {
        "cameras": len(cameras),
        "connected": sum(connected),
        "subscribed": running,
        "ready_s": round(ready, 1),
        "startup_cpu_s": round(startup_cpu, 1),
        "startup_lag_p99_ms": round(_pct(startup_lag, 0.99), 1) if startup_lag else None,
        "lag_p50_ms": round(_pct(steady, 0.50), 2),
        "lag_p99_ms": round(_pct(steady, 0.99), 2),
        "lag_max_ms": round(max(steady), 1),
        "cpu_share_of_one_core": round(cpu, 3),
        "events_per_s": round(handled / seconds, 1),
        "max_rss_mb": round(rss),
        "stop_s": round(time.perf_counter() - t_stop, 1),
    }


async def _snapshot_phase(onvif_port: int, rtsp_port: int, count: int, workdir: Path) -> dict[str, Any]:
    base = BASE_CONFIG.replace("data_dir: ./data", f"data_dir: {workdir / 'data2'}")
    cfg = (
        f"onvif:\n  - {{id: loop, host: 127.0.0.1, port: {onvif_port}, username: admin, password: secret}}\n"
    )
    hub = Hub(write_config(workdir / "snap", cfg, base=base), web=False)
    await hub.start()
    camera = hub.data[CAMERAS]["camera.loop"]
    if not await camera.wait_connected(30):
        raise RuntimeError(f"ipycam did not connect: {camera.error}")
    fetch: list[float] = []
    stored: list[float] = []
    first = time.perf_counter()
    await camera.fetch_snapshot()  # Digest refused, then Basic: remembered
    first_ms = (time.perf_counter() - first) * 1000
    for _ in range(count):
        t = time.perf_counter()
        await camera.fetch_snapshot()
        fetch.append((time.perf_counter() - t) * 1000)
    for _ in range(max(5, count // 4)):
        t = time.perf_counter()
        await hub.services.call("camera", "snapshot", {"entity_id": "camera.loop"})
        stored.append((time.perf_counter() - t) * 1000)
    rtsp: list[float] = []
    for _ in range(3):
        t = time.perf_counter()
        await grab_rtsp_frame(f"rtsp://127.0.0.1:{rtsp_port}/video_main", limit=20)
        rtsp.append((time.perf_counter() - t) * 1000)
    auth = camera.snapshot_auth
    await hub.stop()
    return {
        "first_fetch_ms (digest refused, then basic)": round(first_ms, 1),
        "fetch_p50_ms": round(statistics.median(fetch), 1),
        "fetch_p95_ms": round(_pct(fetch, 0.95), 1),
        "service_call_p50_ms (fetch+check+store+index)": round(statistics.median(stored), 1),
        "rtsp_frame_grab_median_ms": round(statistics.median(rtsp), 1),
        "snapshot_auth": auth,
    }


async def run(cameras: int, seconds: float, motion_every: float, snapshots: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        responder, line = _spawn(
            [
                sys.executable,
                "-m",
                "integrations.onvif.testing",
                "--count",
                str(cameras),
                "--motion-every",
                str(motion_every),
            ],
            tmp,
        )
        try:
            ports = json.loads(line.split(" ", 1)[1])["ports"]
            events = await _events_phase(ports, seconds, workdir)
        finally:
            _stop(responder)
        from tests.integrations.onvif.conftest import free_port

        onvif_port, rtsp_port = free_port(), free_port()
        ipycam, _ = _spawn(
            [
                sys.executable,
                str(HARNESS),
                str(onvif_port),
                str(rtsp_port),
                "admin",
                "secret",
                "--fix-ptz-ns",
                "--preauth-time",
            ],
            tmp,
        )
        try:
            snapshot = await _snapshot_phase(onvif_port, rtsp_port, snapshots, workdir)
        finally:
            _stop(ipycam)
    return {"events": events, "snapshots": snapshot}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="measure 15 s and 20 snapshots")
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--motion-every", type=float, default=10.0, help="each camera's on/off motion cycle")
    parser.add_argument("--snapshots", type=int, default=100)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.snapshots = 15.0, 20
    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(run(args.cameras, args.seconds, args.motion_every, args.snapshots))
    events = result["events"]
    print(json.dumps(result, indent=2, ensure_ascii=False))
    verdict = "OK" if events["lag_p99_ms"] <= 10 else "OVER TARGET"
    print(
        f"\n{events['cameras']} cameras, {events['subscribed']} subscribed: loop lag p99 {events['lag_p99_ms']} ms "
        f"(target ≤ 10 ms: {verdict}), CPU {events['cpu_share_of_one_core'] * 100:.1f} % of one core, "
        f"{events['events_per_s']} events/s; snapshot p50 {result['snapshots']['fetch_p50_ms']} ms"
    )


if __name__ == "__main__":
    main()
