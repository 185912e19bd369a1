"""SQLite writes per SOS press: how many transactions and row statements one press costs the hub.

The SOS path of DESIGN §7 as shipped, in one process: the demo's SOS button,
camera and lamp, the ``sos_alert`` blueprint (incident, snapshot, flash, LINE
card), LINE pointing at the fake LINE API on 127.0.0.1, and federation with
its outbox (its broker is a closed port on 127.0.0.1: the outbox is written
whether or not the station is reachable, and no ack deletes rows during the
count, so the figure is the press's own writes).

Counted with SQLite's statement trace on the hub's one connection, so nothing
escapes: every ``INSERT``/``UPDATE``/``DELETE``/``REPLACE`` is a row statement,
and every commit is a transaction (an explicit ``COMMIT``, or a write statement
run on its own in autocommit mode).  Rows written by triggers are not counted
(SQLite traces a trigger as its outer statement again; repeats are skipped).
Each press is counted alone: pressed, then
waited for until its LINE note is written and the batch writer's queue (recorder
history) is flushed.  Reads (SELECT) are counted apart; they include the bench's own
polling, which is the same before and after a change.

Usage: ``python -m bench.sos_writes [--presses 20]``; ``collect(quick)`` gives the
figures to ``python -m bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench.runner import Result
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.hub import Hub
from hub.testing import BASE_CONFIG
from integrations.line.testing import FakeLineApi

GROUP = "C" + "1" * 32

CONFIG = """\
demo: {{place: ตลาดทดสอบ ประตู 1}}
federation: {{station: bench-station, broker: "mqtt://127.0.0.1:{port}", username: test-hub,
             password: bench-password-1234, reconnect_min: 30, reconnect_max: 60}}
automation:
  - id: bench_sos
    alias: Bench SOS
    use_blueprint:
      path: sos_alert.yaml
      input:
        sos_button: sos.demo_market
        cameras: [camera.demo_gate]
        lights: [light.demo_lamp]
        line_targets: [big6]
"""

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class _Counter:
    """Counts transactions and row statements from SQLite's trace callback (database thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_tx = False
        self.transactions = 0
        self.statements = 0
        self.reads = 0
        self.tables: dict[str, int] = {}
        self._last = ""

    def __call__(self, sql: str) -> None:
        head = sql.lstrip().split(None, 3)
        verb = head[0].upper() if head else ""
        with self._lock:
            # A trigger's program is traced with its outer statement's text again: count the
            # statement once (a trigger's own writes are not counted, see the module docstring).
            if sql == self._last and verb in _WRITES:
                return
            self._last = sql
            if verb == "BEGIN":
                self.in_tx = True
            elif verb in ("COMMIT", "END"):
                self.in_tx = False
                self.transactions += 1
            elif verb == "ROLLBACK":
                self.in_tx = False
            elif verb == "SELECT":
                self.reads += 1
            elif verb in _WRITES or (verb == "WITH" and any(w in sql.upper() for w in _WRITES)):
                self.statements += 1
                table = _table(sql)
                self.tables[table] = self.tables.get(table, 0) + 1
                if not self.in_tx:
                    self.transactions += 1

    def take(self) -> tuple[int, int, int, dict[str, int]]:
        with self._lock:
            out = (self.transactions, self.statements, self.reads, dict(self.tables))
            self.transactions, self.statements, self.reads, self.tables = 0, 0, 0, {}
            return out


def _table(sql: str) -> str:
    words = sql.replace("(", " ").split()
    upper = [w.upper() for w in words]
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in upper:
            index = upper.index(marker) + 1
            if index < len(words):
                return words[index]
    return "?"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _trace(hub: Hub, counter: _Counter) -> None:
    # The trace is set on the writer thread's own connection, through the engine's public
    # "run this on the database thread" (hub/database.py); the hub never traces itself.
    db: Any = hub.storage._db  # noqa: SLF001 - the bench, not the hub, looks inside
    await db.run(lambda conn: conn.set_trace_callback(counter))


async def _settle(hub: Hub, incident_id: str) -> None:
    mgr = hub.data[INCIDENT_RUNTIME]
    for _ in range(500):
        inc = await mgr.get(incident_id)
        kinds = [e.kind for e in inc.timeline]
        if "line" in kinds and "snapshot" in kinds:
            break
        await asyncio.sleep(0.01)
    else:
        raise RuntimeError(f"incident {incident_id} never got its snapshot and LINE notes")
    await hub.block_till_done()
    await asyncio.sleep(0.3)  # outbox group commits and tasks the notes started
    await hub.storage.flush()


async def run(presses: int) -> dict[str, Any]:
    """Press ``presses`` times, one at a time; return per-press counts."""
    logging.getLogger().setLevel(logging.CRITICAL)
    fake = await FakeLineApi(None, quota_limit=None).start()
    fake.add_group("Big 6", {"U" + "a" * 32: "สมชาย"}, group_id=GROUP)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            line = fake.config_yaml({"big6": GROUP})
            public = BASE_CONFIG.replace(
                "web: {host: 127.0.0.1, port: 0}",
                "web: {host: 127.0.0.1, port: 0, public_url: 'https://hub.example.org'}",
            )
            config.write_text(public + line + CONFIG.format(port=_closed_port()), "utf-8")
            hub = Hub(config, web=False)
            await hub.start()
            try:
                assert not hub.config_errors, hub.config_errors
                counter = _Counter()
                await _trace(hub, counter)
                await hub.block_till_done()
                await hub.storage.flush()
                counter.take()
                mgr = hub.data[INCIDENT_RUNTIME]
                tx: list[float] = []
                rows: list[float] = []
                reads: list[float] = []
                tables: dict[str, int] = {}
                for n in range(presses):
                    before = {i.id for i in await mgr.find(limit=1000)}
                    await hub.services.call(
                        "sos", "press", {"entity_id": "sos.demo_market", "action": f"p{n}"}
                    )
                    new = [i for i in await mgr.find(limit=1000) if i.id not in before]
                    for _ in range(200):
                        if new:
                            break
                        await asyncio.sleep(0.01)
                        new = [i for i in await mgr.find(limit=1000) if i.id not in before]
                    await _settle(hub, new[0].id)
                    t, s, r, per_table = counter.take()
                    tx.append(t)
                    rows.append(s)
                    reads.append(r)
                    for table, count in per_table.items():
                        tables[table] = tables.get(table, 0) + count
            finally:
                await hub.stop()
    finally:
        await fake.close()
    return {
        "transactions": tx,
        "statements": rows,
        "reads": reads,
        "tables": {k: v / presses for k, v in tables.items()},
    }


def collect(quick: bool) -> list[Result]:
    """Return the figures for ``python -m bench``."""
    out = asyncio.run(run(5 if quick else 20))
    return [
        Result("transactions per SOS press", "commits", out["transactions"]),
        Result("row writes per SOS press", "statements", out["statements"]),
        Result("reads per SOS press (incl. the bench's own)", "SELECTs", out["reads"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="SQLite writes per SOS press")
    parser.add_argument("--presses", type=int, default=20)
    args = parser.parse_args()
    out = asyncio.run(run(args.presses))
    tx, rows = out["transactions"], out["statements"]
    print(f"SQLite writes per SOS press ({args.presses} presses, each counted alone)")
    print(f"{'metric':<30}{'median':>9}{'min':>9}{'max':>9}")
    print(f"{'transactions (commits)':<30}{statistics.median(tx):>9.1f}{min(tx):>9.0f}{max(tx):>9.0f}")
    print(f"{'row statements':<30}{statistics.median(rows):>9.1f}{min(rows):>9.0f}{max(rows):>9.0f}")
    reads = out["reads"]
    label = "SELECTs (with the bench's own)"
    print(f"{label:<30}{statistics.median(reads):>9.1f}{min(reads):>9.0f}{max(reads):>9.0f}")
    print("row statements per press, by table:")
    for table, count in sorted(out["tables"].items(), key=lambda kv: -kv[1]):
        print(f"  {table:<28}{count:>9.1f}")


if __name__ == "__main__":
    main()
