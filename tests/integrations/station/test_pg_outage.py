"""PostgreSQL goes away in the middle of ingest: nothing is acknowledged that was not committed.

The station's connections are cut (``pg_terminate_backend``) and the database
refuses new ones for a while, as during a restart or a failover.  Whatever the
hub sends meanwhile is not acknowledged, so the hub keeps it; an SOS that
arrives meanwhile is held and stored as soon as the database is back (without
waiting for the hub to send it again); the ingest resumes by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from psycopg.conninfo import conninfo_to_dict

from hub.testing_postgres import PostgresServer, fresh_database
from integrations.federation.testing import (
    HUB_PASSWORDS,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.integrations.station.wire import sos_opened, telemetry, topic


async def test_nothing_is_acknowledged_while_the_database_is_away_and_ingest_resumes(
    make_hub: Any,
    mosquitto_factory: Any,
    postgres_server: PostgresServer,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    lab = FederationLab(tmp_path / "lab", mosquitto_factory)
    url = fresh_database(postgres_server, request)
    dbname = conninfo_to_dict(url)["dbname"]
    station = await make_hub(lab.station_block(database=url), base=station_config(), folder=tmp_path / "st")
    await register_hubs(station, "test-hub")
    st = station.data[STATION_RUNTIME]
    assert await st.ingest.link.wait_connected(10)
    assert await st.ingest.urgent_link.wait_connected(10)

    before = [telemetry(n) for n in range(200)]
    during = [telemetry(n) for n in range(200, 400)]
    alarm_id, _, alarm = sos_opened()
    acked: set[str] = set()
    async with aiomqtt.Client(
        lab.broker.host,
        lab.broker.port,
        username="test-hub",
        password=HUB_PASSWORDS["test-hub"],
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as hub:
        await hub.subscribe(topic("ack"), qos=1)

        async def collect() -> None:
            async for msg in hub.messages:
                acked.update(json.loads(bytes(msg.payload))["ids"])

        collector = asyncio.create_task(collect())
        try:
            for _, payload in before:
                await hub.publish(topic("event"), payload, qos=1)
            await until(lambda: {m for m, _ in before} <= acked)

            # The database goes away: connections cut, new ones refused.
            postgres_server.admin(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            postgres_server.admin(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'"
            )
            for _, payload in during:
                await hub.publish(topic("event"), payload, qos=1)
            await hub.publish(topic("incident"), alarm, qos=1)
            await asyncio.sleep(2.0)
            assert not acked & ({m for m, _ in during} | {alarm_id}), "acknowledged without a database"

            # It comes back: the held SOS is stored and acknowledged without being sent again,
            # and what the hub sends again (its outbox) is stored.
            postgres_server.admin(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
            await until(lambda: alarm_id in acked, within=20)
            for _ in range(10):
                missing = [p for m, p in during if m not in acked]
                if not missing:
                    break
                for payload in missing:
                    await hub.publish(topic("event"), payload, qos=1)
                with contextlib.suppress(AssertionError):
                    await until(lambda: {m for m, _ in during} <= acked, within=3)
            assert {m for m, _ in during} <= acked
        finally:
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector

    stored = await st.store.database.read(lambda db: [r[0] for r in db.execute("SELECT id FROM messages")])
    assert len(stored) == len(set(stored)) == 401
    assert acked <= set(stored)
    assert (await st.store.incidents())[0]["kind"] == "sos"
