"""Two station workers in one process, one PostgreSQL: a hub's link state is the same on both.

With a shared subscription each worker sees only a share of a hub's messages,
so a worker alone would call a busy hub "silent", and would keep showing a hub
"online" after the other worker saw its last will.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hub.core.clock import FakeClock
from hub.core.ids import ulid
from hub.hub import Hub
from integrations.federation.testing import FederationLab, register_hubs, station_config, until
from integrations.station.const import EVENT_HUB_SILENT, STATUS_OFFLINE, STATUS_ONLINE
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.store import CommandRecord


async def two_workers(make_hub: Any, lab: FederationLab, url: str, tmp_path: Path) -> tuple[Hub, Hub]:
    workers = []
    for name in ("a", "b"):
        worker = await make_hub(
            lab.station_block(share_group="ccoc", database=url), base=station_config(), folder=tmp_path / name
        )
        workers.append(worker)
    await register_hubs(workers[0], "test-hub")
    await workers[1].data[STATION_RUNTIME].ingest.reload_hubs()
    return workers[0], workers[1]


async def test_a_link_change_seen_by_one_worker_shows_on_the_other(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    a, b = await two_workers(make_hub, lab, postgres_url, tmp_path)
    hubs_on_b: list[dict[str, Any]] = []
    b.bus.listen("ccoc_hub", lambda e: hubs_on_b.append(dict(e.data)))
    ingest_a = a.data[STATION_RUNTIME].ingest
    status = ingest_a.statuses["test-hub"]
    # A sees the hub's last will (its share of the messages): B is told through PostgreSQL.
    ingest_a._set_status(status, STATUS_OFFLINE, {"reason": "connection lost"})
    await until(lambda: b.states.get("station_hub.test_hub").state == STATUS_OFFLINE)
    await until(lambda: any(h["status"] == STATUS_OFFLINE for h in hubs_on_b))
    assert b.data[STATION_RUNTIME].ingest.statuses["test-hub"].status == STATUS_OFFLINE
    assert (await b.data[STATION_RUNTIME].store.hub("test-hub"))["status"] == STATUS_OFFLINE


async def test_a_hub_heard_by_the_other_worker_is_not_silent(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    a, b = await two_workers(make_hub, lab, postgres_url, tmp_path)
    silent: list[str] = []
    b.bus.listen(EVENT_HUB_SILENT, lambda e: silent.append(e.data["hub_id"]))
    ingest_b = b.data[STATION_RUNTIME].ingest
    mine = ingest_b.statuses["test-hub"]
    mine.status, mine.last_seen = STATUS_ONLINE, clock.time()
    # B hears nothing more; A stores the hub's messages 150 s later (its share of them).
    await tick(clock, 150)
    await a.data[STATION_RUNTIME].store.ingest([], {"test-hub": (0, clock.time(), clock.time())}, {})
    heard_by_a = clock.time()
    await tick(clock, 60)  # 210 s since B heard the hub, 60 s since A did
    await until(lambda: mine.last_seen == heard_by_a)
    assert silent == [] and mine.status == STATUS_ONLINE
    # Nobody hears it for 200 s more: now it is silent.
    await tick(clock, 200)
    await until(lambda: silent == ["test-hub"])


async def tick(clock: FakeClock, seconds: int) -> None:
    """Advance the clock a silence check (15 s) at a time; each check reads the database (real time)."""
    for _ in range(seconds // 15):
        await clock.advance(15)
        await asyncio.sleep(0.2)
    await clock.advance(seconds % 15)


async def test_an_answer_stored_by_the_other_worker_wakes_the_officer_waiting_here(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    a, b = await two_workers(make_hub, lab, postgres_url, tmp_path)
    record = CommandRecord(
        ulid(), "test-hub", "light.flash", {}, "officer", "operator", a.clock.time(), "sent"
    )
    await a.data[STATION_RUNTIME].store.add_command(record)
    shown_on_a: list[dict[str, Any]] = []
    a.bus.listen("ccoc_command", lambda e: shown_on_a.append(dict(e.data)))
    # The officer on A sent it and waits up to 20 s; the hub's answer lands on B.
    waiting = asyncio.create_task(a.data[STATION_RUNTIME].wait_command(record.id, 20))
    await asyncio.sleep(0.3)
    assert await b.data[STATION_RUNTIME].store.command_result(
        record.id, "test-hub", "ok", {"lit": True}, None, 1.0
    )
    answered = await asyncio.wait_for(waiting, 5)  # woken by B's news, not by the 20 s timeout
    assert answered is not None and (answered.status, answered.result) == ("ok", {"lit": True})
    await until(lambda: [c["id"] for c in shown_on_a] == [record.id])
