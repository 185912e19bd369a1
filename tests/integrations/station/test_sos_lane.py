"""An SOS never waits behind telemetry at the station: its own writer, queue priority and reader.

Checked by counts and order, not by time: how many telemetry rows were
committed before the SOS row (``messages.seq`` is the commit order), and
which ack the hub receives first.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hub.hub import Hub
from integrations.federation.testing import (
    HUB_PASSWORDS,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.store import Inbound
from integrations.station.store_sqlite import TELEMETRY_CHUNK, SqliteStationStore
from tests.integrations.station.wire import TS, sos_opened, telemetry, topic


def inbound(msg_id: str, raw: bytes, kind: str) -> Inbound:
    from integrations.federation.protocol import parse_envelope

    return Inbound(msg_id, "test-hub", kind, TS, TS, raw, parse_envelope(raw))


@pytest.fixture
async def station(make_hub: Any, federation_lab: FederationLab, tmp_path: Path) -> Hub:
    hub = await make_hub(federation_lab.station_block(), base=station_config(), folder=tmp_path / "st")
    await register_hubs(hub)
    assert await hub.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    assert await hub.data[STATION_RUNTIME].ingest.urgent_link.wait_connected(10)
    return hub


async def committed_before(store: SqliteStationStore, msg_id: str) -> int:
    """Return how many telemetry rows were committed before message ``msg_id``."""
    return await store.database.read(
        lambda db: db.execute(
            "SELECT COUNT(*) FROM messages WHERE kind = 'event' AND seq < "
            "(SELECT seq FROM messages WHERE id = ?)",
            (msg_id,),
        ).fetchone()[0]
    )


async def test_an_urgent_write_goes_between_two_telemetry_transactions(tmp_path: Path) -> None:
    store = SqliteStationStore(tmp_path / "station.db")
    await store.open()
    try:
        await store.register_hub("test-hub", "", TS)
        batch = [inbound(*telemetry(n), "event") for n in range(10_000)]
        bulk = asyncio.create_task(store.ingest(batch, {"test-hub": (10_000, TS, TS)}, {}))
        await asyncio.sleep(0)  # the first telemetry transaction is queued (or running)
        msg_id, _, raw = sos_opened()
        alarm = inbound(msg_id, raw, "incident")
        result = await store.ingest([alarm], {}, {}, urgent=True)
        assert result.new_keys == {("test-hub", alarm.id)}
        await bulk
        # At most the one telemetry transaction already running went first, not the 10,000.
        assert await committed_before(store, alarm.id) <= TELEMETRY_CHUNK
        assert await store.count_messages(kind="event") == 10_000
        assert (await store.hub("test-hub"))["received"] == 10_000
    finally:
        await store.close()


async def test_reads_never_wait_for_the_writer(tmp_path: Path) -> None:
    store = SqliteStationStore(tmp_path / "station.db")
    await store.open()
    gate = threading.Event()
    try:
        # The writer thread is busy (a long telemetry commit, a locked file...).
        busy = asyncio.create_task(store.database.write(lambda db: gate.wait(10)))
        await asyncio.sleep(0.05)
        # The console's reads are answered meanwhile, from the reader connection.
        assert await asyncio.wait_for(store.incidents(status="active"), 5) == []
        assert await asyncio.wait_for(store.hubs(), 5) == []
        assert not busy.done()
    finally:
        gate.set()
        await busy
        await store.close()


async def test_10000_queued_telemetry_events_do_not_delay_an_sos(
    station: Hub, federation_lab: FederationLab
) -> None:
    ingest = station.data[STATION_RUNTIME].ingest
    store = station.data[STATION_RUNTIME].store
    assert isinstance(store, SqliteStationStore)
    acks: list[str] = []
    async with aiomqtt.Client(
        federation_lab.broker.host,
        federation_lab.broker.port,
        username="test-hub",
        password=HUB_PASSWORDS["test-hub"],
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as hub_a:
        await hub_a.subscribe(topic("ack"), qos=1)

        async def collect() -> None:
            async for msg in hub_a.messages:
                acks.extend(json.loads(msg.payload)["ids"])

        collector = asyncio.create_task(collect())
        events = [telemetry(n) for n in range(10_000)]
        # 10,000 telemetry events reach the station (as paho hands them over) ...
        for _, raw in events:
            ingest._on_message(topic("event"), raw, None)
        # ... and the writer has started on them when the SOS arrives.
        await until(lambda: len(ingest._batch) < 10_000, interval=0)
        sos_id, _, raw = sos_opened()
        ingest._on_message(topic("incident"), raw, None)
        await until(lambda: len(acks) >= 10_001, within=60)
        collector.cancel()
    assert await store.count_messages(kind="event") == 10_000
    # The SOS was committed after at most two short telemetry transactions ...
    assert await committed_before(store, sos_id) <= 2 * TELEMETRY_CHUNK
    # ... and acknowledged before any of the telemetry queued ahead of it.
    assert acks.index(sos_id) == 0
    assert sorted(acks[1:]) == sorted(i for i, _ in events)


async def test_acks_for_messages_stored_while_no_link_is_up_are_sent_at_the_next_connect(
    station: Hub, federation_lab: FederationLab
) -> None:
    ingest = station.data[STATION_RUNTIME].ingest
    await ingest.link.stop()
    await ingest.urgent_link.stop()
    # A broker delivers a persistent session's queue right after CONNACK, before our
    # subscription is confirmed: messages are stored while no link counts as up.
    msg_id, raw = telemetry(1)
    ingest._on_message(topic("event"), raw, None)
    await until(lambda: ingest.stored == 1)
    assert ingest.stats()["unsent_acks"] == 1
    async with aiomqtt.Client(
        federation_lab.broker.host,
        federation_lab.broker.port,
        username="test-hub",
        password=HUB_PASSWORDS["test-hub"],
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as hub_a:
        await hub_a.subscribe(topic("ack"), qos=1)
        ingest.link.start(station.create_background_task)
        ingest.urgent_link.start(station.create_background_task)
        async with asyncio.timeout(10):
            async for msg in hub_a.messages:
                if msg_id in json.loads(msg.payload)["ids"]:
                    break
    assert ingest.stats()["unsent_acks"] == 0


async def test_the_station_is_back_soon_after_a_short_broker_outage(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    # The shipped backoff (1 s growing to 30 s), not the lab's fast one.
    station = await make_hub(
        federation_lab.station_block(reconnect_min=1.0, reconnect_max=30.0),
        base=station_config(),
        folder=tmp_path / "st",
        real_clock=True,
    )
    link = station.data[STATION_RUNTIME].ingest.link
    assert await link.wait_connected(10)
    connects = link.connects
    federation_lab.broker.stop()
    await until(lambda: not link.connected)
    await asyncio.sleep(3)  # a broker restart's worth of outage: the backoff has grown
    federation_lab.broker.start()
    # Fast retries for the first seconds after the loss: back within a retry or two.
    assert await link.wait_connected(2.5)
    assert link.connects == connects + 1
