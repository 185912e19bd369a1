"""A hub that said goodbye stays offline until it says something new.

What it sent before the goodbye may still arrive after it: the incident
lane's second copy, or its retained registry replayed when the station
subscribes again.  Neither is a sign of life.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiomqtt

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


def _topic(kind: str) -> str:
    return f"ssz/v1/{STATION_ID}/test-hub/{kind}"


def _health(status: str, ts: float) -> bytes:
    return envelope(ulid(), STATION_ID, "test-hub", "health", ts, {"status": status, "reason": "hub stopped"})


def _event(ts: float) -> bytes:
    return envelope(ulid(), STATION_ID, "test-hub", "event", ts, {"type": "note", "data": {}, "time": ts})


async def test_a_message_from_before_the_goodbye_does_not_bring_the_hub_back(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    station: Hub = await make_hub(
        federation_lab.station_block(), base=station_config(), folder=tmp_path / "st"
    )
    await register_hubs(station)
    ingest = station.data[STATION_RUNTIME].ingest
    assert await ingest.link.wait_connected(10)
    t = 1_767_225_600.0
    async with aiomqtt.Client(
        federation_lab.broker.host,
        federation_lab.broker.port,
        username="test-hub",
        password=HUB_PASSWORDS["test-hub"],
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as hub:
        await hub.publish(_topic("health"), _health("online", t), qos=1)
        await until(lambda: ingest.statuses["test-hub"].status == "online")
        await hub.publish(_topic("health"), _health("offline", t + 10), qos=1)
        await until(lambda: ingest.statuses["test-hub"].status == "offline")
        # Sent at t + 5, before the goodbye, but arriving after it.
        await hub.publish(_topic("event"), _event(t + 5), qos=1)
        await until(lambda: ingest.stored >= 3)
        assert ingest.statuses["test-hub"].status == "offline"
        # Something new: the hub is back.
        await hub.publish(_topic("event"), _event(t + 20), qos=1)
        await until(lambda: ingest.statuses["test-hub"].status == "online")
        # After another goodbye, its "online" always counts, even from a clock set back.
        await hub.publish(_topic("health"), _health("offline", t + 30), qos=1)
        await until(lambda: ingest.statuses["test-hub"].status == "offline")
        await hub.publish(_topic("health"), _health("online", t - 3600), qos=1)
        await until(lambda: ingest.statuses["test-hub"].status == "online")
