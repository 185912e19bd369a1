"""Web UI config writer: what one save costs, next to a plain ``safetyhub check``.

Every save validates the whole config with ``check``'s own code on the files as
they would be (an in-memory overlay), then writes them through temp files and
renames.  This measures, for a config that already holds N SOS buttons:

- ``check/N``: ms for ``hub.bootstrap.load`` of the config (what ``check`` does);
- ``save/N``: ms for ``UIConfig.add_item`` of one more button (read, etag,
  validate, write, re-read for the new etag), with no hub to apply it to.

The ratio save/check says how much the writer adds to the validation it cannot
skip.  Usage: ``python -m bench.ui_config [--quick]``; ``collect(quick)`` gives the
same figures to ``python -m bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.runner import Result
from hub.bootstrap import load
from hub.config.ui_writer import UIConfig

HEAD = "hub: {id: bench-hub, name: Bench, timezone: Asia/Bangkok}\n"


def _config(folder: Path, buttons: int) -> Path:
    lines = [HEAD, "sos:\n"] if buttons else [HEAD]
    lines += [f"  - {{id: b{i}, simulated: true}}  # button {i}\n" for i in range(buttons)]
    path = folder / "config.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


async def _saves(path: Path, count: int) -> list[float]:
    ui = UIConfig(path)
    out: list[float] = []
    for n in range(count):
        start = time.perf_counter()
        await ui.add_item("sos", {"id": f"ui{n}", "simulated": True})
        out.append((time.perf_counter() - start) * 1000)
    return out


def measure(sizes: list[int], repeats: int) -> dict[int, dict[str, list[float]]]:
    data: dict[int, dict[str, list[float]]] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = _config(Path(tmp), size)
            checks = []
            for _ in range(repeats):
                start = time.perf_counter()
                loaded = load(path)
                checks.append((time.perf_counter() - start) * 1000)
                assert not loaded.errors, loaded.errors
            saves = asyncio.run(_saves(path, repeats))
        data[size] = {"check": checks, "save": saves}
    return data


def collect(quick: bool) -> list[Result]:
    sizes, repeats = ([0, 100], 3) if quick else ([0, 100, 500], 7)
    results: list[Result] = []
    for size, row in measure(sizes, repeats).items():
        results.append(
            Result(f"check/{size}", "ms", row["check"], note=f"load() of a config with {size} buttons")
        )
        results.append(
            Result(f"save/{size}", "ms", row["save"], note="UIConfig.add_item, validated and written")
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes, repeats = ([0, 100], 3) if args.quick else ([0, 100, 500], 7)
    data = measure(sizes, repeats)
    print(f"UI config writer, {repeats} runs each (median ms)")
    print(f"{'buttons':>8}{'check':>10}{'save':>10}{'ratio':>8}")
    for size, row in data.items():
        check, save = statistics.median(row["check"]), statistics.median(row["save"])
        print(f"{size:>8}{check:>10.1f}{save:>10.1f}{save / check:>7.2f}×")


if __name__ == "__main__":
    main()
