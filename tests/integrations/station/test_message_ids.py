"""Message ids are unique per hub: one hub cannot squat another's, and a conflicting body is refused.

Two hubs on a real Mosquitto with the station's accounts and ACL.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hub.core.ids import ulid
from hub.hub import Hub
from integrations.federation.protocol import envelope
from integrations.federation.testing import (
    HUB_PASSWORDS,
    STATION_ID,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.store_sqlite import MIGRATIONS, SqliteStationStore

TS = 1_767_225_600.0


@pytest.fixture
async def station(make_hub: Any, federation_lab: FederationLab, tmp_path: Path) -> Hub:
    hub = await make_hub(federation_lab.station_block(), base=station_config(), folder=tmp_path / "st")
    await register_hubs(hub)
    assert await hub.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    assert await hub.data[STATION_RUNTIME].ingest.urgent_link.wait_connected(10)
    return hub


def client(lab: FederationLab, hub_id: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        lab.broker.host,
        lab.broker.port,
        username=hub_id,
        password=HUB_PASSWORDS[hub_id],
        protocol=aiomqtt.ProtocolVersion.V5,
    )


def event(msg_id: str, hub_id: str, who: str) -> bytes:
    body = {"type": "sos_pressed", "data": {"entity_id": "sos.gate", "who": who}, "time": TS}
    return envelope(msg_id, STATION_ID, hub_id, "event", TS, body)


async def answers(c: aiomqtt.Client, msg_id: str, count: int = 1) -> list[dict[str, Any]]:
    """Return the next ``count`` acks that name ``msg_id`` (stored or refused)."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        async for msg in c.messages:
            doc = json.loads(msg.payload)
            if msg_id in doc["ids"] or any(r["id"] == msg_id for r in doc["rejected"]):
                out.append(doc)
                if len(out) == count:
                    return out
    return out


def topic(hub_id: str, kind: str) -> str:
    return f"ssz/v1/{STATION_ID}/{hub_id}/{kind}"


async def test_a_hub_cannot_squat_another_hubs_message_id(
    station: Hub, federation_lab: FederationLab
) -> None:
    st = station.data[STATION_RUNTIME]
    msg_id = ulid()
    async with client(federation_lab, "hub-b") as squatter, client(federation_lab, "test-hub") as real:
        await squatter.subscribe(topic("hub-b", "ack"), qos=1)
        await real.subscribe(topic("test-hub", "ack"), qos=1)
        # hub-b learns (or guesses) an id and uses it first ...
        await squatter.publish(topic("hub-b", "event"), event(msg_id, "hub-b", "squatter"), qos=1)
        [first] = await answers(squatter, msg_id)
        assert first["ids"] == [msg_id]
        # ... and the real hub's message under that id is still stored, as its own.
        await real.publish(topic("test-hub", "event"), event(msg_id, "test-hub", "real"), qos=1)
        [second] = await answers(real, msg_id)
        assert second["ids"] == [msg_id] and second["rejected"] == []
    rows = await st.store.messages(kind="event")
    stored = {(r["hub_id"], json.loads(r["body"])["body"]["data"]["who"]) for r in rows if r["id"] == msg_id}
    assert stored == {("hub-b", "squatter"), ("test-hub", "real")}


async def test_a_conflicting_body_under_a_stored_id_is_refused_never_acknowledged(
    station: Hub, federation_lab: FederationLab
) -> None:
    st = station.data[STATION_RUNTIME]
    msg_id = ulid()
    async with client(federation_lab, "test-hub") as hub_a:
        await hub_a.subscribe(topic("test-hub", "ack"), qos=1)
        await hub_a.publish(topic("test-hub", "event"), event(msg_id, "test-hub", "first"), qos=1)
        [stored] = await answers(hub_a, msg_id)
        assert stored["ids"] == [msg_id]
        # The same message again (a re-send, even with a newer envelope time): acknowledged.
        again = envelope(
            msg_id,
            STATION_ID,
            "test-hub",
            "event",
            TS + 60,
            {"type": "sos_pressed", "data": {"entity_id": "sos.gate", "who": "first"}, "time": TS + 60},
        )
        await hub_a.publish(topic("test-hub", "event"), again, qos=1)
        [repeat] = await answers(hub_a, msg_id)
        assert repeat["ids"] == [msg_id]
        # Something else under the same id: refused, and the stored message is unchanged.
        await hub_a.publish(topic("test-hub", "event"), event(msg_id, "test-hub", "other"), qos=1)
        [conflict] = await answers(hub_a, msg_id)
        assert msg_id not in conflict["ids"]
        assert [r["id"] for r in conflict["rejected"]] == [msg_id]
        assert "already used" in conflict["rejected"][0]["reason"]
    rows = [r for r in await st.store.messages(hub_id="test-hub") if r["id"] == msg_id]
    assert [json.loads(r["body"])["body"]["data"]["who"] for r in rows] == ["first"]
    assert st.ingest.stored == 1 and st.ingest.duplicates == 1

    # The refusal is counted on the hub's row with the next write (after the answer went out).
    async def refusal_counted() -> bool:
        found = await st.store.hub("test-hub")
        return found is not None and "already used" in (found["last_reject"] or "")

    await until(refusal_counted)


async def test_a_station_database_from_before_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "station.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO messages (id, hub_id, kind, type, received_at, body) VALUES (?,?,?,?,?,?)",
        ("01JOLD00000000000000000000", "test-hub", "event", "sos_pressed", TS, b"{}"),
    )
    conn.commit()
    conn.close()
    store = SqliteStationStore(path)
    await store.open()
    try:
        assert await store.count_messages(hub_id="test-hub") == 1
        versions = await store.database.read(
            lambda db: [
                r[0] for r in db.execute("SELECT version FROM schema_migrations WHERE component = 'station'")
            ]
        )
        assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
    finally:
        await store.close()
