"""The station's monthly figures at scale: ``station_kpis`` time, and what keeping reports costs ingest.

A station with H hubs in H/10 zones (each registry with two ตู้แดง boxes), a month in which each
hub sent R ``kpi_month`` reports (a busy hub reports after every burst of check-ins) with 15
figures each, some patrol gap alerts, and M motion events around them.  Measured on one SQLite
store in a temp folder, as the station keeps it:

* **station_kpis**: seconds per call (the KPI page and the region uplink each make one);
* **ingest, motion events**: events/s stored, with the programme's partial index in place and,
  back to back, with it dropped: the ratio is what the index costs telemetry (it should be ~1);
* **ingest, kpi reports**: reports/s stored (each also upserts the hub's newest-per-month row).

Usage: ``python -m bench.station_kpis [--hubs 100] [--reports 300] [--motion 200000]``;
``collect(quick)`` gives the figures to ``python -m bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.runner import Result
from hub.core.ids import ulid
from integrations.federation.protocol import envelope, parse_envelope
from integrations.station.kpis import month_bounds, station_kpis
from integrations.station.store import Inbound
from integrations.station.store_sqlite import SqliteStationStore

BKK = ZoneInfo("Asia/Bangkok")
MONTH = "2026-01"
STATION = "bench-station"
BATCH = 200
ROUNDS = 4
_INDEX = (
    "CREATE INDEX ix_messages_programme ON messages (type, sent_at) WHERE kind = 'event' AND "
    "type IN ('kpi_month', 'patrol_checkin', 'patrol_checkin_accepted', 'patrol_gap', "
    "'people_poll_results', 'big6_resolution_overdue')"
)


def _inbound(hub_id: str, kind: str, at: float, body: dict[str, Any]) -> Inbound:
    msg_id = ulid()
    raw = envelope(msg_id, STATION, hub_id, kind, at, body)
    return Inbound(msg_id, hub_id, kind, at, at, raw, parse_envelope(raw))


def _registry(hub_id: str, zone: str) -> dict[str, Any]:
    boxes = [
        {"id": f"box{i}", "name": f"ตู้แดง {i}", "location": {"lat": 14.59 + i / 1000, "lon": 100.45}}
        for i in range(2)
    ]
    return {
        "hub": {"id": hub_id, "name": f"ฮับ {hub_id}", "zone": zone},
        "cameras": [{"entity_id": "camera.gate", "share": "always"}],
        "plugins": {"patrol_qr": {"checkpoints": boxes}},
    }


def _report(seq: int) -> dict[str, Any]:
    slots = [
        {"id": "patrols", "source": "patrol_qr", "value": seq},
        {"id": "patrol_checkins", "source": "patrol_qr", "value": seq * 2},
        {"id": "patrol_flagged", "source": "patrol_qr", "value": 1},
        {"id": "patrol_coverage", "source": "patrol_qr", "value": 80.0, "unit": "%", "n": 90, "sum": 7200},
        {"id": "patrol_officer_volunteer", "source": "patrol_qr", "value": 50.0, "unit": "%", "n": seq},
        {"id": "poll_responses", "source": "people_poll", "value": seq},
        {"id": "big6_meeting_held", "source": "big6", "value": 1},
        {"id": "big6_sectors_present", "source": "big6", "value": 4, "unit": "/6", "n": 1, "sum": 4},
        {"id": "big6_resolutions", "source": "big6", "value": 3},
        {"id": "big6_resolutions_done", "source": "big6", "value": 33.3, "unit": "%", "n": 3, "sum": 100},
    ]
    for q in ("fear_of_crime", "trust_police", "safe_at_night", "lighting", "response"):
        slots.append(
            {"id": f"poll_{q}", "source": "people_poll", "label_th": "คำถาม " + q, "value": 3.2,
             "unit": "/5", "n": seq, "sum": 3.2 * seq}
        )  # fmt: skip
    return {"month": MONTH, "final": False, "slots": slots}


async def _ingest(store: SqliteStationStore, items: list[Inbound]) -> float:
    """Store ``items`` in batches as ingest does; return seconds."""
    started = time.perf_counter()
    for i in range(0, len(items), BATCH):
        await store.ingest(items[i : i + BATCH], {}, {})
    return time.perf_counter() - started


async def run(hubs: int, reports: int, motion: int, calls: int = 7) -> dict[str, Any]:
    """Build the month and measure; return the figures."""
    start, end = month_bounds(MONTH, BKK)
    span = end - start
    with tempfile.TemporaryDirectory(prefix="bench-kpis-") as folder:
        store = SqliteStationStore(Path(folder) / "station.db")
        await store.open()
        try:
            ids = [f"hub-{i:04d}" for i in range(hubs)]
            for hub_id in ids:
                await store.register_hub(hub_id, "", start)
            await _ingest(
                store,
                [_inbound(h, "registry", start, _registry(h, f"zone-{i // 10}")) for i, h in enumerate(ids)],
            )
            kpi_items = [
                _inbound(h, "event", start + span * (r + 1) / (reports + 1), {
                    "type": "kpi_month", "data": _report(r), "time": start + span * (r + 1) / (reports + 1)})
                for r in range(reports)
                for h in ids
            ]  # fmt: skip
            gaps = [
                _inbound(h, "event", start + 86400 * d, {
                    "type": "patrol_gap", "data": {"checkpoint_id": "box0", "shift": "night", "days": 3},
                    "time": start + 86400 * d})
                for d in range(0, 30, 3)
                for h in ids
            ]  # fmt: skip

            def motions(n: int) -> list[Inbound]:
                return [
                    _inbound(ids[i % hubs], "event", start + span * i / n, {
                        "type": "camera_motion", "data": {"entity_id": "camera.gate"},
                        "time": start + span * i / n})
                    for i in range(n)
                ]  # fmt: skip

            reports_s = await _ingest(store, kpi_items)
            await _ingest(store, gaps)
            # With and without the index in turns, so a growing table or a busy neighbour
            # does not favour one side.
            with_index: list[float] = []
            without_index: list[float] = []
            for _ in range(ROUNDS):
                with_index.append(motion / ROUNDS / await _ingest(store, motions(motion // ROUNDS)))
                await store.database.run(lambda db: db.execute("DROP INDEX ix_messages_programme"))
                without_index.append(motion / ROUNDS / await _ingest(store, motions(motion // ROUNDS)))
                await store.database.run(lambda db: db.execute(_INDEX))
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                k = await station_kpis(store, MONTH, tz=BKK)
                times.append(time.perf_counter() - t0)
            assert k.station.reported == hubs and k.station.value("patrols") == (reports - 1) * hubs
            assert k.station.gap_alerts == 10 * hubs
        finally:
            await store.close()
    return {
        "kpis_s": times,
        "reports_per_s": len(kpi_items) / reports_s,
        "motion_with_index": with_index,
        "motion_without_index": without_index,
        "stored": len(kpi_items) + len(gaps) + 2 * (motion // ROUNDS) * ROUNDS,
    }


def collect(quick: bool) -> list[Result]:
    """Return the figures for ``python -m bench``."""
    hubs, reports, motion = (20, 100, 20_000) if quick else (100, 300, 200_000)
    out = asyncio.run(run(hubs, reports, motion))
    note = f"{hubs} hubs, {reports} reports each, {motion} motion events"
    return [
        Result("station_kpis, one month", "s", out["kpis_s"], note=note),
        Result("ingest kpi_month reports", "reports/s", [out["reports_per_s"]], better="higher", note=note),
        Result("ingest motion, programme index", "events/s", out["motion_with_index"], better="higher"),
        Result("ingest motion, no index", "events/s", out["motion_without_index"], better="higher"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="the station's monthly figures at scale")
    parser.add_argument("--hubs", type=int, default=100)
    parser.add_argument("--reports", type=int, default=300, help="kpi_month reports per hub in the month")
    parser.add_argument("--motion", type=int, default=200_000)
    args = parser.parse_args()
    out = asyncio.run(run(args.hubs, args.reports, args.motion))
    kp = out["kpis_s"]
    print(f"station_kpis ({args.hubs} hubs, {args.reports} reports each, {out['stored']:,} messages stored)")
    print(
        f"  station_kpis: median {statistics.median(kp) * 1000:.1f} ms (min {min(kp) * 1000:.1f}, max {max(kp) * 1000:.1f})"
    )
    print(f"  ingest kpi_month reports: {out['reports_per_s']:,.0f} reports/s")
    on, off = statistics.median(out["motion_with_index"]), statistics.median(out["motion_without_index"])
    print(
        f"  ingest motion events (median of {ROUNDS} turns): {on:,.0f}/s with the programme index, "
        f"{off:,.0f}/s without (ratio {on / off:.2f})"
    )


if __name__ == "__main__":
    main()
