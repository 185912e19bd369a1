"""Hub footprint: resident memory of the demo hub and the time from start to /api/health.

Starts ``safetyhub run`` (the embedded demo) as a subprocess in a temp dir,
polls ``/api/health`` on loopback, reads VmRSS from /proc once the hub has
served a few requests, and stops it with SIGINT.  Targets: RSS ≤ 60 MB,
start → health ≤ 1.5 s (medians over repeats).

Usage: ``python -m bench.footprint [--repeats N]``; ``collect(quick)`` gives the
same figures to ``python -m bench``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.runner import Result

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_once() -> tuple[float, float]:
    """Return (seconds from spawn to a 200 from /api/health, RSS in MB)."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as cwd:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "run", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/api/health"
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=1) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    time.sleep(0.01)
                if time.perf_counter() - start > 30:
                    raise RuntimeError("hub did not answer within 30 s")
            ready = time.perf_counter() - start
            for _ in range(20):
                urllib.request.urlopen(url, timeout=1).read()
            time.sleep(0.5)
            rss = _rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    return ready, rss


def collect(quick: bool) -> list[Result]:
    """Return the figures for ``python -m bench`` (5 runs; quick: 2)."""
    runs = [measure_once() for _ in range(2 if quick else 5)]
    return [
        Result("start → /api/health", "s", [r[0] for r in runs], target="≤ 1.5"),
        Result("RSS of the demo hub", "MB", [r[1] for r in runs], target="≤ 60"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="demo hub RSS and start-up time")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one run")
    args = parser.parse_args()
    runs = [measure_once() for _ in range(1 if args.quick else args.repeats)]
    starts = [r[0] for r in runs]
    rss = [r[1] for r in runs]
    print(f"demo hub footprint, {len(runs)} runs")
    print(f"{'metric':<26}{'median':>9}{'min':>9}{'max':>9}{'target':>9}")
    print(
        f"{'start → /api/health (s)':<26}{statistics.median(starts):>9.2f}{min(starts):>9.2f}{max(starts):>9.2f}{'1.5':>9}"
    )
    print(f"{'RSS (MB)':<26}{statistics.median(rss):>9.1f}{min(rss):>9.1f}{max(rss):>9.1f}{'60':>9}")


if __name__ == "__main__":
    main()
