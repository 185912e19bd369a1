"""One command table: the console's and the REST API's commands are rows of the station store's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.core.ids import ulid
from hub.hub import Hub
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.ccoc.migrations import MIGRATIONS
from integrations.federation.testing import FederationLab, register_hubs, station_config
from integrations.station.const import RUNTIME as STATION_RUNTIME


@pytest.fixture
async def station(make_hub: Any, federation_lab: FederationLab, tmp_path: Path) -> Hub:
    hub = await make_hub(federation_lab.station_block(), base=station_config(), folder=tmp_path / "st")
    await register_hubs(hub)
    return hub


async def test_a_console_command_is_one_row_in_the_station_store(station: Hub) -> None:
    console = station.data[CCOC_RUNTIME]
    incident_id = ulid()
    # The hub is offline: a durable incident action is queued, in the one table.
    item = await console.delivery.submit(
        "test-hub",
        "incident.ack",
        {"incident_id": incident_id, "text": "รับทราบ"},
        user="officer",
        role="operator",
        name="ด.ต. สมชาย",
        incident_id=incident_id,
    )
    assert item["state"] == "queued" and item["durable"] is True
    [record] = await station.data[STATION_RUNTIME].store.commands("test-hub")
    assert (record.id, record.status, record.incident_id, record.actor_name) == (
        item["id"],
        "queued",
        incident_id,
        "ด.ต. สมชาย",
    )
    assert [i["id"] for i in await console.delivery.pending_for("test-hub", incident_id)] == [item["id"]]
    tables = {
        r["name"] for r in await station.storage.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert not {"ccoc_commands", "ccoc_commands_moved"} & tables


async def test_commands_a_console_kept_in_the_hub_database_are_moved(station: Hub) -> None:
    # As a console from before the merge left them (its v1 table, renamed by its v2 migration).
    v1 = MIGRATIONS[0].split("CREATE INDEX ix_ccoc_commands_incident")[0]
    await station.storage.execute(v1.strip().rstrip(";").replace("ccoc_commands", "ccoc_commands_moved"))
    old_id = ulid()
    await station.storage.execute(
        "INSERT INTO ccoc_commands_moved (id, hub_id, command, data, incident_id, actor, actor_name, actor_role, "
        "unit, durable, created_at, state, sent_at, attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            old_id,
            "test-hub",
            "incident.dispatch",
            '{"unit": "สายตรวจ 1"}',
            "INC1",
            "op",
            "ด.ต. ก",
            "operator",
            "สายตรวจ 1",
            1,
            1_767_225_600.0,
            "sent",
            1_767_225_601.0,
            2,
        ),
    )
    assert await station.data[CCOC_RUNTIME].delivery.adopt_old_commands() == 1
    record = await station.data[STATION_RUNTIME].store.command(old_id)
    assert record is not None
    assert (record.status, record.unit, record.durable, record.attempts, record.data) == (
        "sent",
        "สายตรวจ 1",
        True,
        2,
        {"unit": "สายตรวจ 1"},
    )
    assert (
        await station.storage.fetchone("SELECT name FROM sqlite_master WHERE name = 'ccoc_commands_moved'")
        is None
    )
    assert await station.data[CCOC_RUNTIME].delivery.adopt_old_commands() == 0
