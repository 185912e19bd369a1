"""Station workers on one PostgreSQL keep one hub link history: the same "hubs online" on every worker.

(And the officers' camera views and the monthly samples: a worker's own, from before, join the
shared ones too.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.core.clock import FakeClock
from hub.storage import Storage
from hub.testing_postgres import table_columns
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.ccoc.kpi import hubs_online_share, links, record_status
from integrations.ccoc.migrations import MIGRATIONS, SHARED_PG_MIGRATIONS
from integrations.federation.testing import FederationLab, station_config


async def test_one_link_history_for_every_worker_with_what_each_kept_before(
    make_hub: Any, mosquitto_factory: Any, postgres_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    start = clock.time()
    # Worker B ran before the history was shared: its own file says old-hub was online from start.
    own = Storage(tmp_path / "b" / "data" / "safetyhub.db")
    own.add_migrations("station", MIGRATIONS)  # where the station plugin registers them
    await own.open()
    await own.execute(
        "INSERT INTO ccoc_hub_status (hub_id, ts, status) VALUES ('old-hub', ?, 'online')", (start,)
    )
    await own.execute(
        "INSERT INTO ccoc_views (id, ts, username, role, hub_id, entity_id, incident_id, reason, what, expires) "
        "VALUES ('01JD0000000000000000000001', ?, 'somchai', 'operator', 'old-hub', 'camera.gate', 'inc-1', "
        "'ตามหาคนร้าย', 'snapshot', ?)",
        (start, start + 600),
    )
    await own.execute(
        "INSERT INTO ccoc_kpi_samples (month, key, value, data, ts) VALUES ('2025-12', 'hubs_registered', 7, NULL, ?)",
        (start,),
    )
    await own.close()
    a, b = [
        await make_hub(
            lab.station_block(share_group="ccoc", database=postgres_url),
            base=station_config(),
            folder=tmp_path / n,
        )
        for n in ("a", "b")
    ]
    # Worker A alone hears hub-x go offline half-way (B was down then).
    await record_status(a, "hub-x", "online", start)
    await clock.advance(50)
    await record_status(a, "hub-x", "offline", clock.time())
    await clock.advance(50)
    await links(b)  # B's old rows join the shared history
    for worker in (a, b):
        assert await hubs_online_share(worker, ["hub-x"], start, clock.time()) == pytest.approx(0.5)
        assert await hubs_online_share(worker, ["old-hub"], start, clock.time()) == pytest.approx(1.0)
    assert await a.storage.fetchall("SELECT 1 FROM ccoc_hub_status WHERE hub_id = 'hub-x'") == []
    # B's sample of a past month is A's too (the month's "now" figures, recorded on B).
    sample = await (await links(a)).fetchone(
        "SELECT key, value FROM ccoc_kpi_samples WHERE month = '2025-12'"
    )
    assert sample is not None and (sample["key"], sample["value"]) == ("hubs_registered", 7)
    # B's own camera view from before is on A's incident page too.
    [view] = await a.data[CCOC_RUNTIME].viewing.views("old-hub", "inc-1")
    assert (view["username"], view["reason"]) == ("somchai", "ตามหาคนร้าย")


@pytest.mark.parametrize("table", ["ccoc_hub_status", "ccoc_views", "ccoc_kpi_samples"])
async def test_each_shared_table_has_the_columns_of_the_console_s_own(
    tmp_path: Path, postgres_url: str, table: str
) -> None:
    from hub.storage_pg import SharedStorage

    lite, pg = Storage(tmp_path / "hub.db"), SharedStorage(postgres_url)
    lite.add_migrations("ccoc", MIGRATIONS)
    await lite.open()
    await pg.open()
    try:
        await pg.apply_migrations("ccoc_shared", SHARED_PG_MIGRATIONS)
        lite_cols, pg_cols = await table_columns(lite, table), await table_columns(pg, table)
    finally:
        await lite.close()
        await pg.close()
    assert lite_cols == pg_cols and pg_cols
