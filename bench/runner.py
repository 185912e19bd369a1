"""One runner for every benchmark: ``python -m bench [--quick]``.

Each benchmark module exposes ``collect(quick: bool) -> list[Result]`` next to
its own printing ``main``.  The runner starts every module in a child process
of its own (a fresh interpreter: no warm caches, no leftover tasks, its RSS is
its own, and a crash or a hang cannot take the others down), collects its
results as JSON, prints one table per benchmark (median, p99 and min–max over
the samples) and writes everything to ``bench/results.json``.

A module that is missing, fails or runs out of time is reported as such and
the runner goes on with the next one.

With ``--ha PYTHON`` (the interpreter of a virtualenv holding Home Assistant
2024.3.3) the runner also runs ``bench/ha_compare.py`` under that interpreter:
Home Assistant's own event-bus and automation workloads, measured the same way
as ours, and prints both side by side (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results.json"


@dataclass
class Result:
    """One measured quantity of one benchmark, with every sample taken.

    ``samples`` are repeats of the whole workload (three runs of 1M events) or
    individual observations (the latency of each SOS press); either way the
    table shows their median, p99 and min–max.  ``better`` says which way is
    good, ``target`` is the project's goal as text (``"≤ 25"``), ``ha`` Home
    Assistant 2024.3.3's figure on the reference machine in the same unit,
    when there is one (notes/home-assistant.md).
    """

    name: str
    unit: str
    samples: list[float]
    better: str = "lower"
    target: str | None = None
    ha: float | None = None
    note: str = ""
    #: Set by the runner: which benchmark produced it.
    bench: str = ""

    @property
    def median(self) -> float:
        """Return the median sample."""
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def p99(self) -> float:
        """Return the 99th percentile (nearest rank; the maximum for fewer than 100 samples)."""
        if not self.samples:
            return math.nan
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]

    def as_dict(self, trim: bool = True) -> dict[str, Any]:
        """Return the JSON form, with the summary figures next to the samples.

        ``trim=False`` keeps every sample: a child process hands its results to the runner
        that way, and the runner trims only what it writes to ``results.json``.
        """
        out = asdict(self)
        out.update(
            median=self.median,
            p99=self.p99,
            min=min(self.samples) if self.samples else None,
            max=max(self.samples) if self.samples else None,
            n=len(self.samples),
        )
        if trim and len(self.samples) > 200:
            # Thousands of latency samples bloat the file; the summary keeps what matters.
            out["samples"] = None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Rebuild a result from its JSON form (samples as sent by a child process)."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Bench:
    """A benchmark module and its time limits (seconds) in quick and full mode."""

    name: str
    module: str
    quick_timeout: float
    full_timeout: float
    what: str
    extra_args: tuple[str, ...] = field(default=())


#: Every benchmark, in the order they run.  The footprint goes first, on a quiet machine.
BENCHES: tuple[Bench, ...] = (
    Bench("footprint", "bench.footprint", 120, 300, "demo hub RSS and start-up time"),
    Bench("event_bus", "bench.event_bus", 120, 600, "HA's event-bus workloads, 1M events"),
    Bench("automations", "bench.automations", 300, 1500, "HA's automation workload, K = 10…10,000"),
    Bench("mqtt_ingest", "bench.mqtt_ingest", 180, 600, "Zigbee2MQTT SOS buttons through Mosquitto"),
    Bench("cameras", "bench.cameras", 300, 900, "200 ONVIF cameras: loop lag, CPU, snapshots"),
    Bench(
        "video", "bench.video", 300, 900, "restream and recording: CPU per stream, loop lag, ffmpeg vs PyAV"
    ),
    Bench("sos_line", "bench.sos_line", 180, 600, "SOS press → LINE message on the fake LINE API"),
    Bench("federation", "bench.federation", 420, 1500, "1,000 hubs → station: ingest and SOS latency"),
    Bench("scale", "bench.scale", 420, 1500, "station on PostgreSQL, 1 and 2 workers: ingest, CPU, SOS"),
    Bench("sos_writes", "bench.sos_writes", 120, 300, "SQLite transactions and rows per SOS press"),
    Bench(
        "station_kpis", "bench.station_kpis", 180, 600, "monthly figures per hub/zone/station; ingest cost"
    ),
    Bench("soak", "bench.soak", 300, 1800, "compressed 24 h: memory growth and slowdown"),
    Bench(
        "templates",
        "bench.templates",
        120,
        300,
        "render budget: ordinary templates' cost, hostile ones stopped",
    ),
    Bench(
        "video_live",
        "bench.video_live",
        240,
        600,
        "live video at the station: first frame, latency, relay CPU",
    ),
    Bench("footage", "bench.footage", 180, 420, "5-minute footage request: station → hub → delivered"),
    Bench(
        "region", "bench.region", 240, 900, "1,500 stations' month → region: ingest, ranking page, exports"
    ),
    Bench("ui_config", "bench.ui_config", 120, 300, "web UI config writer: one validated save vs check"),
)


# -- the child side ---------------------------------------------------------------------------


def _adapt_cameras(module: Any, quick: bool) -> list[Result]:
    """Turn ``bench.cameras.run``'s dict into results (the module has no ``collect`` yet)."""
    import asyncio
    import logging

    logging.basicConfig(level=logging.ERROR)
    seconds, snapshots = (15.0, 20) if quick else (60.0, 100)
    out = asyncio.run(module.run(200, seconds, 10.0, snapshots))
    ev, snap = out["events"], out["snapshots"]
    note = f"{ev['subscribed']}/{ev['cameras']} cameras subscribed"
    return [
        Result("loop lag p99, 200 cameras", "ms", [ev["lag_p99_ms"]], target="≤ 10", note=note),
        Result("loop lag p50, 200 cameras", "ms", [ev["lag_p50_ms"]]),
        Result("CPU, share of one core", "%", [ev["cpu_share_of_one_core"] * 100]),
        Result("ONVIF events handled", "events/s", [ev["events_per_s"]], better="higher"),
        Result("all cameras subscribed after", "s", [ev["ready_s"]]),
        Result("snapshot fetch p50", "ms", [snap["fetch_p50_ms"]]),
        Result("camera.snapshot service p50", "ms", [snap["service_call_p50_ms (fetch+check+store+index)"]]),
        Result("RTSP frame grab median", "ms", [snap["rtsp_frame_grab_median_ms"]]),
    ]


def _adapt_federation(module: Any, quick: bool) -> list[Result]:
    """Run ``bench.federation`` and catch the dict it hands to ``report`` (it has no ``collect`` yet)."""
    captured: dict[str, Any] = {}
    original = module.report

    def keep(args: Any, results: dict[str, Any], work: Path) -> None:
        captured.update(results)
        original(args, results, work)

    module.report = keep
    argv = sys.argv
    sys.argv = ["bench.federation", *(["--quick"] if quick else [])]
    try:
        module.main()
    finally:
        sys.argv, module.report = argv, original
    r = captured
    out = []
    for mode in ("single", "batched"):
        if mode in r:
            out.append(
                Result(
                    f"station ingest ({mode})",
                    "events/s",
                    [r[mode]["rate"]],
                    better="higher",
                    target="≥ 20,000",
                    note=f"missing {r[mode]['missing']}",
                )
            )
    if "outbox" in r:
        out.append(
            Result("hub outbox until acknowledged", "events/s", [r["outbox"]["e2e_rate"]], better="higher")
        )
    for key, label, target in (
        ("sos_idle", "idle", "≤ 25"),
        ("sos_loaded", "station at half load", "≤ 50"),
        ("station_backlog", "first SOS behind 100k events at the station", "≤ 50"),
        ("outbox_backlog", "first SOS behind 100k events in the hub outbox", "≤ 50"),
    ):
        if key in r:
            s = r[key]
            out.append(Result(f"SOS → station ack p50 ({label})", "ms", [s["ack_p50"]]))
            out.append(Result(f"SOS → station ack p99 ({label})", "ms", [s["ack_p99"]], target=target))
    return out


def _adapt_sos_line(module: Any, quick: bool) -> list[Result]:
    """Run ``bench.sos_line.run`` (50 presses/s; 5 s quick, 20 s full) and turn its figures into results."""
    import asyncio
    import logging

    logging.basicConfig(level=logging.ERROR)
    f = asyncio.run(module.run(50.0, 5.0 if quick else 20.0, False))
    note = f"{f['presses']} presses at {f['achieved_rate']:.1f}/s, no camera; max {f['max']:.1f} ms"
    return [
        Result("SOS press → LINE push p50", "ms", [f["p50"]], note=note),
        Result("SOS press → LINE push p90", "ms", [f["p90"]]),
        Result("SOS press → LINE push p99", "ms", [f["p99"]], target="≤ 20"),
    ]


def _printed_only(module: Any, quick: bool) -> list[Result]:
    """Last resort for a module with neither ``collect`` nor an adapter: run its ``main`` for the printout."""
    argv = sys.argv
    sys.argv = [module.__name__, *(["--quick"] if quick else [])]
    try:
        module.main()
    finally:
        sys.argv = argv
    return []


#: Modules that do not (yet) expose ``collect``: how to get results out of them anyway.
ADAPTERS: dict[str, Callable[[Any, bool], list[Result]]] = {
    "bench.cameras": _adapt_cameras,
    "bench.federation": _adapt_federation,
    "bench.sos_line": _adapt_sos_line,
}


def child(module_name: str, quick: bool, out: Path) -> int:
    """Run one benchmark module in this process and write its results to ``out`` as JSON."""
    started = time.perf_counter()
    report: dict[str, Any] = {"module": module_name, "status": "ok", "results": [], "error": None}
    try:
        module = importlib.import_module(module_name)
        collect = getattr(module, "collect", None)
        if collect is not None:
            results = collect(quick)
        elif module_name in ADAPTERS:
            results = ADAPTERS[module_name](module, quick)
        elif hasattr(module, "main"):
            results = _printed_only(module, quick)
            report["status"] = "printed"
            report["error"] = "no collect(quick): its own printout follows, no figures in results.json"
        else:
            raise RuntimeError(f"{module_name} has neither collect(quick) nor main()")
        report["results"] = [r.as_dict(trim=False) for r in results]
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        report["status"] = "missing" if module_name.startswith(missing) else "failed"
        report["error"] = f"{type(exc).__name__}: {exc}"
    except BaseException as exc:  # noqa: BLE001 - a benchmark's failure is a result to report
        report["status"] = "failed"
        report["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        report["traceback"] = traceback.format_exc()[-4000:]
    report["seconds"] = time.perf_counter() - started
    out.write_text(json.dumps(report, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


# -- the parent side ---------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(bench: str, results: Sequence[Result], ha: dict[str, float] | None = None) -> str:
    """Return one benchmark's results as a fixed-width table.

    ``ha`` holds figures measured in this run under Home Assistant
    (``--ha``), keyed by result name; they replace the reference figures.
    """
    header = (
        f"{'measure':<44}{'unit':<11}{'median':>9}{'p99':>9}{'min–max':>19}{'n':>6}"
        f"{'target':>11}{'HA':>9}{'HA/ours':>8}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        live = (ha or {}).get(r.name)
        ref = live if live is not None else r.ha
        ratio = "—"
        if ref and r.median and not math.isnan(r.median):
            factor = ref / r.median if r.better == "lower" else r.median / ref
            ratio = f"{factor:.1f}×"
        span = f"{_fmt(min(r.samples))}–{_fmt(max(r.samples))}" if r.samples else "—"
        ha_cell = _fmt(ref) + ("*" if live is not None else "") if ref else "—"
        lines.append(
            f"{r.name[:43]:<44}{r.unit[:10]:<11}{_fmt(r.median):>9}{_fmt(r.p99):>9}{span:>19}"
            f"{len(r.samples):>6}{(r.target or '—'):>11}{ha_cell:>9}{ratio:>8}"
        )
        if r.note:
            lines.append(f"    {r.note}")
    return "\n".join(lines)


def run_child(bench: Bench, quick: bool, verbose: bool) -> dict[str, Any]:
    """Run one benchmark in a fresh interpreter; return its report."""
    spec = importlib.util.find_spec(bench.module)
    if spec is None:
        return {
            "module": bench.module,
            "status": "missing",
            "results": [],
            "seconds": 0.0,
            "error": f"{bench.module.replace('.', '/')}.py does not exist (yet)",
        }
    timeout = bench.quick_timeout if quick else bench.full_timeout
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "bench.runner", "--child", bench.module, "--out", str(out)]
        if quick:
            cmd.append("--quick")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "SAFETYHUB_ENTRYPOINTS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        started = time.perf_counter()
        log = Path(tmp) / "output.txt"
        with log.open("wb") as sink:
            # A new session: on a time-out the whole group (broker, station, peers) is killed.
            proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                proc.wait(timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
        output = log.read_text(encoding="utf-8", errors="replace")
        if verbose and output.strip():
            print(output.rstrip())
        if timed_out:
            return {
                "module": bench.module,
                "status": "timeout",
                "results": [],
                "error": f"no result within {timeout:.0f} s",
                "seconds": time.perf_counter() - started,
                "output": output[-4000:],
            }
        if not out.exists():
            return {
                "module": bench.module,
                "status": "failed",
                "results": [],
                "seconds": time.perf_counter() - started,
                "error": f"the child exited with {proc.returncode}",
                "output": output[-4000:],
            }
        report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        report["output"] = output[-20_000:]
        return report


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def machine() -> dict[str, Any]:
    """Describe the machine: CPU model, cores, memory, Python, load average."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    with contextlib.suppress(ValueError, OSError):
        mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average": os.getloadavg(),
    }


def run_ha(python: str, quick: bool) -> dict[str, Any]:
    """Run ``bench/ha_compare.py`` under Home Assistant's interpreter; return its JSON report."""
    script = REPO / "bench" / "ha_compare.py"
    cmd = [python, str(script), *(["--quick"] if quick else [])]
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=3600 if not quick else 900,
            cwd=tempfile.gettempdir(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "results": []}
    if done.returncode != 0:
        return {"status": "failed", "error": done.stderr.strip()[-2000:], "results": []}
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; print tables; write bench/results.json."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke mode (< 5 min in all)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="leave these out")
    parser.add_argument(
        "--ha", metavar="PYTHON", help="Home Assistant 2024.3.3's python: run its workloads too and compare"
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="where to write the JSON (bench/results.json)"
    )
    parser.add_argument("--verbose", action="store_true", help="also print each benchmark's own output")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.quick, args.out)
    if args.list:
        for b in BENCHES:
            print(f"{b.name:<13}{b.module:<20}{b.what}")
        return 0
    names = {b.name for b in BENCHES}
    unknown = [n for n in [*(args.only or []), *args.skip] if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    chosen = [b for b in BENCHES if (not args.only or b.name in args.only) and b.name not in args.skip]
    mode = "quick" if args.quick else "full"
    info = machine()
    started = time.perf_counter()
    print(f"SafetyHub benchmarks, {mode} mode, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}, "
        f"load {info['load_average'][0]:.2f}"
    )
    ha_report: dict[str, Any] | None = None
    ha_by_bench: dict[str, dict[str, float]] = {}
    if args.ha:
        print(f"\n== Home Assistant workloads under {args.ha} ...", flush=True)
        ha_report = run_ha(args.ha, args.quick)
        if ha_report.get("status") == "ok":
            print(
                f"   Home Assistant {ha_report.get('version')}: done in {ha_report.get('seconds', 0):.0f} s"
            )
            for item in ha_report["results"]:
                ha_by_bench.setdefault(item["bench"], {})[item["name"]] = statistics.median(item["samples"])
        else:
            print(f"   FAILED: {ha_report.get('error')}")
    reports: dict[str, Any] = {}
    for bench in chosen:
        print(f"\n== {bench.name}: {bench.what}", flush=True)
        report = run_child(bench, args.quick, args.verbose)
        reports[bench.name] = report
        results = [Result.from_dict(r) for r in report.get("results", [])]
        for r in results:
            r.bench = bench.name
        report["results"] = [r.as_dict() for r in results]  # thousands of latencies: summary only
        if report["status"] == "ok":
            print(table(bench.name, results, ha_by_bench.get(bench.name)))
            print(f"({report['seconds']:.0f} s)")
        elif report["status"] == "printed":
            print(f"   {report['error']}")
            print("\n".join("   " + line for line in report.get("output", "").rstrip().splitlines()))
        else:
            print(f"   {report['status'].upper()}: {report.get('error')}")
            tail = (report.get("traceback") or report.get("output") or "").strip().splitlines()[-6:]
            for line in tail:
                print(f"   | {line}")
    total = time.perf_counter() - started
    summary = {name: r["status"] for name, r in reports.items()}
    print(
        f"\n{len(chosen)} benchmarks in {total / 60:.1f} min: "
        + ", ".join(f"{n} {s}" for n, s in summary.items())
    )
    if ha_by_bench:
        print(
            "HA* = measured in this run under Home Assistant; HA without * = notes/home-assistant.md reference"
        )
    document = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": mode,
        "machine": info,
        "seconds": total,
        "benchmarks": reports,
        "home_assistant": ha_report,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(f"wrote {args.out}")
    # Missing modules are reported, not failures; a benchmark that broke or hung is.
    return 1 if any(s in ("failed", "timeout") for s in summary.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
