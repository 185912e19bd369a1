"""Live video at the station (issue 13, station part): first frame, added latency, relay CPU.

Processes, all on 127.0.0.1: Mosquitto (the station's real password file and
ACL), the **station** (``safetyhub run`` with a ``station:`` block, in a
process of its own so its CPU is its own), the **hub** (a real Hub in this
process, with the ``video`` and ``federation`` integrations; it dials out to
the station as in production), ipycam (a real ONVIF camera serving H.264
over RTSP, run with ``--stamp``: every frame carries its wall-clock time as
black/white blocks), and the viewers (HTTP clients of ``live_url`` here).

Measured:

* **time to first frame after the click**: from ``POST /api/ccoc/views`` (the
  officer's click) until the first keyframe fragment is whole at the viewer,
  cold (nobody watching, the hub not pulling the camera): federation command →
  hub policy check → dial-out → RTSP pull → first fragment → relay.  Target
  ≤ 2 s.  Also shown: when ffmpeg, decoding what the viewer receives, gives
  its first frame (an upper bound: ffmpeg's start on a pipe is slower than a
  browser's Media Source Extensions).
* **added latency**: for every decoded frame, the viewer's clock minus the
  wall-clock time ipycam drew into it (camera encode + RTSP + restream +
  uplink + relay + decode; the decode makes it an upper bound of fragment
  arrival).  Target p50 ≤ 1 s.
* **station CPU relaying one upstream to 20 viewers**: the station process's
  CPU time over a window with 20 viewers reading one camera's main stream (a
  looped 720p file at ~2 Mbit/s, so the relay moves real bytes), and with one
  viewer, as % of one core.

Usage: ``python -m bench.video_live [--quick]``; ``python -m bench.video`` runs it after the
hub's part of the video benchmarks (restream, recording CPU, loop lag).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from hub.hub import Hub  # noqa: E402
from integrations.camera import CameraEntity, Owner, add_camera  # noqa: E402
from integrations.mqtt.testing import Mosquitto, find_mosquitto, free_port  # noqa: E402
from integrations.station.broker import acl_text, hash_password, write_passwd  # noqa: E402
from integrations.video.mp4 import BoxReader  # noqa: E402

STATION, STATION_USER, HUB_ID = "bench-station", "ccoc", "bench-hub"
PASSWORD = "bench-password-123"
HARNESS = REPO / "tests" / "integrations" / "onvif" / "ipycam_peer.py"
WIDTH, HEIGHT = 320, 240
STAMP_BITS, STAMP_W, STAMP_H = 40, 8, 16  # as ipycam_peer.py draws them


class BenchCamera(CameraEntity):
    """A camera whose stream address the bench sets (ipycam's RTSP, a looped file)."""

    def __init__(self, hub: Hub, object_id: str, url: str) -> None:
        super().__init__(hub, object_id, object_id, share="always", owner=Owner("ร้านทดสอบ", "02-000-0000"))
        self.url = url
        self.available = True

    async def fetch_snapshot(self) -> bytes:
        raise NotImplementedError

    def stream_uri(self) -> str | None:
        return self.url

    def stream_source(self, profile: str = "main") -> str | None:
        return self.url if profile == "main" else None


async def idle_cpu(station: subprocess.Popen[bytes], seconds: float) -> dict[str, float]:
    """The station's CPU with nothing streamed (its own housekeeping), for comparison."""
    cpu0, t0 = _cpu_seconds(station.pid), time.monotonic()
    await asyncio.sleep(seconds)
    return {"cpu_pct": (_cpu_seconds(station.pid) - cpu0) / (time.monotonic() - t0) * 100, "mbit_out": 0.0}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "SAFETYHUB_ENTRYPOINTS": "0", "PYTHONUNBUFFERED": "1"}


# -- peers ---------------------------------------------------------------------------------------


def start_ipycam(work: Path) -> tuple[subprocess.Popen[str], str]:
    onvif_port, rtsp_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HARNESS), str(onvif_port), str(rtsp_port), "admin", "secret", "--stamp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
        cwd=work,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY"):
            return proc, f"rtsp://127.0.0.1:{rtsp_port}/video_main"
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("ipycam did not start")


def make_file(path: Path, seconds: int) -> Path:
    """A 720p, 25 fps H.264 file of ~2 Mbit/s (busy picture), looped by the restream."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=size=1280x720:rate=25,noise=alls=12:allf=t", "-t", str(seconds), "-c:v", "libx264",
         "-preset", "veryfast", "-b:v", "2M", "-maxrate", "2M", "-bufsize", "2M", "-g", "25",
         "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


async def start_station(
    work: Path, broker: Mosquitto, broker_dir: Path
) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start the station process; return it, its URL and an operator's token."""
    from integrations.station.store_sqlite import SqliteStationStore

    folder = work / "station"
    folder.mkdir()
    port = free_port()
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""\
        hub: {{id: bench-ccoc, name: Bench CCOC, timezone: Asia/Bangkok, data_dir: ./data,
              web: {{host: 127.0.0.1, port: {port}}}}}
        station:
          id: {STATION}
          broker: {broker.url}
          username: {STATION_USER}
          password: {PASSWORD}
          broker_dir: {broker_dir}
          reconnect_min: 0.1
          reconnect_max: 1
          console: {{view_seconds: 3600}}
        """),
        encoding="utf-8",
    )
    store = SqliteStationStore(folder / "data" / "station.db")
    await store.open()
    await store.register_hub(HUB_ID, HUB_ID, time.time())
    await store.close()
    cli = [sys.executable, "-m", "hub.cli"]

    def setup_and_spawn() -> tuple[subprocess.Popen[bytes], str]:
        subprocess.run([*cli, "user", "add", "bench-officer", "--role", "operator", "-c", "config.yaml"],
                       input=b"bench-officer-pass\nbench-officer-pass\n", cwd=folder, env=_env(), check=True,
                       capture_output=True)  # fmt: skip
        made = subprocess.run([*cli, "token", "create", "bench-officer", "-c", "config.yaml"], cwd=folder,
                              env=_env(), check=True, capture_output=True, text=True)  # fmt: skip
        log = (folder / "station.log").open("wb")
        proc = subprocess.Popen(
            [*cli, "run", "-c", "config.yaml"], cwd=folder, env=_env(), stdout=log, stderr=subprocess.STDOUT
        )
        return proc, made.stdout.strip().splitlines()[-1].strip()

    proc, token = await asyncio.to_thread(setup_and_spawn)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url + "/api/health") as resp:
                    if resp.status == 200:
                        return proc, url, token
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
    raise SystemExit(f"the station did not start; see {folder / 'station.log'}")


async def start_hub(work: Path, broker: Mosquitto, station_url: str, cameras: dict[str, str]) -> Hub:
    from hub.testing import BASE_CONFIG, write_config
    from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME

    folder = work / "hub"
    folder.mkdir()
    extra = textwrap.dedent(f"""\
        federation: {{station: {STATION}, broker: {broker.url}, username: {HUB_ID}, password: {PASSWORD},
                      station_url: {station_url}, reconnect_min: 0.1, reconnect_max: 1}}
        video: {{idle_stop_seconds: 1, uplink_kbps: 20000}}
        """)
    base = BASE_CONFIG.replace("id: test-hub", f"id: {HUB_ID}")
    hub = Hub(write_config(folder, extra, base=base), clock=None, web=False)
    await hub.start()
    for object_id, url in cameras.items():
        add_camera(hub, BenchCamera(hub, object_id, url))
    fed = hub.data[FEDERATION_RUNTIME]
    await fed.link.wait_connected(20)
    await fed.send_registry(force=True)
    return hub


# -- the viewer ------------------------------------------------------------------------------------


class Decoder:
    """ffmpeg decoding what a viewer receives into grey frames, read as they come out."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, float]] = []  # (arrival time, stamped time)
        self.first_frame: float | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "ffmpeg", "-nostdin", "-loglevel", "error", "-probesize", "4096", "-analyzeduration", "0",
            "-fflags", "nobuffer", "-flags", "low_delay", "-f", "mp4", "-i", "pipe:0",
            "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        size = WIDTH * HEIGHT
        while True:
            try:
                frame = await self.proc.stdout.readexactly(size)
            except asyncio.IncompleteReadError:
                return
            now = time.time()
            if self.first_frame is None:
                self.first_frame = now
            stamp = _read_stamp(frame)
            if stamp is not None:
                self.frames.append((now, stamp))

    def feed(self, data: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(data)

    async def close(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.proc.wait(), 5)
        if self.proc.returncode is None:
            self.proc.kill()
        if self._reader is not None:
            self._reader.cancel()


def _read_stamp(frame: bytes) -> float | None:
    y = STAMP_H // 2
    value = 0
    for bit in range(STAMP_BITS):
        x = bit * STAMP_W + STAMP_W // 2
        value = (value << 1) | (1 if frame[y * WIDTH + x] > 128 else 0)
    now_ms = int(time.time() * 1000)
    # Undo the modulo: the stamp is the recent past.
    base = now_ms - (now_ms % (1 << STAMP_BITS))
    ms = base + value
    if ms > now_ms + 1000:
        ms -= 1 << STAMP_BITS
    seconds = ms / 1000
    return seconds if 0 <= time.time() - seconds < 60 else None


async def watch(
    session: aiohttp.ClientSession,
    camera: str,
    seconds: float,
    *,
    profile: str = "main",
    decode: bool = False,
) -> dict[str, Any]:
    """Open a view (the click), read live_url for ``seconds``; return the timings."""
    clicked = time.time()
    async with session.post(
        "/api/ccoc/views", json={"hub_id": HUB_ID, "entity_id": camera, "reason": "bench"}
    ) as resp:
        view = await resp.json()
        assert resp.status == 201, view
    decoder = Decoder() if decode else None
    if decoder is not None:
        await decoder.start()
    first_byte: float | None = None
    first_fragment: float | None = None
    boxes = BoxReader()
    received = 0
    async with session.get(f"{view['live_url']}?profile={profile}") as resp:
        assert resp.status == 200, await resp.text()
        deadline = time.monotonic() + seconds
        async for chunk in resp.content.iter_any():
            if first_byte is None:
                first_byte = time.time()
            received += len(chunk)
            if first_fragment is None and any(kind == b"mdat" for kind, _box in boxes.feed(chunk)):
                first_fragment = time.time()  # the first keyframe is whole at the viewer: a picture
            if decoder is not None:
                decoder.feed(chunk)
            if time.monotonic() >= deadline:
                break
    out: dict[str, Any] = {
        "clicked": clicked,
        "first_byte": first_byte,
        "first_fragment": first_fragment,
        "bytes": received,
    }
    if decoder is not None:
        await decoder.close()
        out["first_frame"] = decoder.first_frame
        out["latencies"] = [arrived - stamped for arrived, stamped in decoder.frames]
    return out


async def wait_idle(hub: Hub) -> None:
    """Wait until nothing is streamed or pulled (a cold start for the next click)."""
    from integrations.video.const import RUNTIME as VIDEO_RUNTIME
    from integrations.video.uplink import LIVE_UPLINKS

    for _ in range(200):
        uplinks = hub.data.get(LIVE_UPLINKS)
        pulling = any(r.running for r in hub.data[VIDEO_RUNTIME].restreams())
        if not (uplinks and uplinks.active) and not pulling:
            return
        await asyncio.sleep(0.1)


# -- the measurements ----------------------------------------------------------------------------


async def first_frames(hub: Hub, session: aiohttp.ClientSession, runs: int) -> dict[str, list[float]]:
    ttff, ttfb, decoded, latencies = [], [], [], []
    for _ in range(runs):
        await wait_idle(hub)
        await asyncio.sleep(0.5)
        got = await watch(session, "camera.stamped", 6, decode=True)
        if got["first_fragment"] is not None:
            ttff.append(got["first_fragment"] - got["clicked"])
        if got["first_frame"] is not None:
            decoded.append(got["first_frame"] - got["clicked"])
        if got["first_byte"] is not None:
            ttfb.append(got["first_byte"] - got["clicked"])
        latencies += got["latencies"][5:]  # past the start-up burst of the GOP cache
    return {"ttff": ttff, "ttfb": ttfb, "decoded": decoded, "latency": latencies}


async def relay_cpu(
    hub: Hub, station: subprocess.Popen[bytes], url: str, token: str, viewers: int, seconds: float
) -> dict[str, float]:
    """Station CPU while ``viewers`` read one camera's upstream, over a window in the middle."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
        first = asyncio.ensure_future(watch(session, "camera.busy", seconds + 6))
        await asyncio.sleep(3)  # the upstream is up
        others = [
            asyncio.ensure_future(watch(session, "camera.busy", seconds + 2)) for _ in range(viewers - 1)
        ]
        await asyncio.sleep(1)
        cpu0, t0 = _cpu_seconds(station.pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, t1 = _cpu_seconds(station.pid), time.monotonic()
        results = [*(await asyncio.gather(*others)), await first]
    mbit = sum(r["bytes"] for r in results) * 8 / 1e6
    span = seconds + 2 + 3  # roughly how long each viewer read
    return {"cpu_pct": (cpu1 - cpu0) / (t1 - t0) * 100, "mbit_out": mbit / span}


async def run(quick: bool) -> dict[str, Any]:
    binary = find_mosquitto()
    if binary is None or shutil.which("ffmpeg") is None:
        raise SystemExit("mosquitto and ffmpeg are needed (apt-get install mosquitto ffmpeg)")
    work = Path(tempfile.mkdtemp(prefix="livebench-"))
    broker_dir = work / "broker-files"
    broker_dir.mkdir()
    write_passwd(broker_dir / "passwd", {u: hash_password(PASSWORD) for u in (STATION_USER, HUB_ID)})
    (broker_dir / "acl").write_text(acl_text(STATION, STATION_USER, [HUB_ID]), encoding="utf-8")
    broker = Mosquitto(
        work / "broker", binary=binary, password_file=broker_dir / "passwd", acl_file=broker_dir / "acl"
    )
    broker.start()
    cam, rtsp = start_ipycam(work)
    busy = make_file(work / "busy.mp4", 10)
    station, url, token = await start_station(work, broker, broker_dir)
    hub = await start_hub(work, broker, url, {"stamped": rtsp, "busy": f"file:{busy}"})
    results: dict[str, Any] = {}
    try:
        await asyncio.sleep(2)  # the station has the hub's registry
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(base_url=url, headers=headers) as session:
            results.update(await first_frames(hub, session, 3 if quick else 8))
        seconds = 8 if quick else 20
        results["relay_1"] = await relay_cpu(hub, station, url, token, 1, seconds)
        await wait_idle(hub)
        results["relay_0"] = await idle_cpu(station, seconds)
        await wait_idle(hub)
        results["relay_20"] = await relay_cpu(hub, station, url, token, 20, seconds)
    finally:
        await hub.stop()
        station.send_signal(signal.SIGTERM)
        try:
            station.wait(20)
        except subprocess.TimeoutExpired:
            station.kill()
        cam.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            cam.wait(5)
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    return results


def collect(quick: bool) -> list[Any]:
    """Return the figures for ``python -m bench`` (bench/runner.py)."""
    from bench.runner import Result

    r = asyncio.run(run(quick))
    return [
        Result("time to first frame after the click", "s", r["ttff"], target="≤ 2",
               note="cold: command → hub → dial-out → RTSP pull → relay → first keyframe whole at the viewer"),
        Result("time to first byte after the click", "s", r["ttfb"]),
        Result("time to first frame decoded by ffmpeg at the viewer", "s", r["decoded"],
               note="includes ffmpeg's own start on a pipe; a browser's MSE is quicker"),
        Result("added latency, camera wallclock → decoded at the viewer", "s", r["latency"], target="≤ 1 p50"),
        Result("station CPU, nothing streamed", "% of a core", [r["relay_0"]["cpu_pct"]]),
        Result("station CPU, 1 viewer of a 2 Mbit/s stream", "% of a core", [r["relay_1"]["cpu_pct"]]),
        Result("station CPU, 20 viewers of one upstream", "% of a core", [r["relay_20"]["cpu_pct"]],
               note=f"{r['relay_20']['mbit_out']:.0f} Mbit/s relayed out"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    report(asyncio.run(run(args.quick)))


def report(r: dict[str, Any]) -> None:
    """Print the station part's figures (also from ``python -m bench.video``)."""
    print("\nLive video at the station (loopback)")
    for name, key, target in (
        ("time to first frame after the click", "ttff", "≤ 2 s"),
        ("time to first byte after the click", "ttfb", ""),
        ("  … first frame decoded by ffmpeg (upper bound)", "decoded", ""),
        ("added latency (camera wallclock → decoded)", "latency", "p50 ≤ 1 s"),
    ):
        values = r[key]
        if values:
            print(
                f"  {name:<46} median {statistics.median(values):6.2f} s   p90 {_pct(values, 0.9):6.2f} s"
                f"   n={len(values)}   {target}"
            )
    for viewers in (0, 1, 20):
        fig = r[f"relay_{viewers}"]
        print(
            f"  station CPU, {viewers:>2} viewer(s) of one upstream        {fig['cpu_pct']:6.1f} % of a core"
            f"   ({fig['mbit_out']:.1f} Mbit/s out)"
        )


if __name__ == "__main__":
    main()
