"""Chaos: the hub process is SIGKILLed again and again while SOS incidents federate to the station.

The hub is a real ``safetyhub run`` child (federation to a station on a
Mosquitto with the station's accounts and ACL, LINE pointing at the fake
API); the station runs in the test.  Each round presses SOS twice through
the REST API and kills the hub right after the second press was accepted,
while its incident, its LINE cards and its outbox rows are still in flight.
After the last restart the hub must have exactly one incident per accepted
press, the station must hold each of them once, each card must have reached
each LINE group once, and the hub must be healthy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.storage import Storage
from hub.testing_mqtt import free_port
from integrations.federation.testing import FederationLab, register_hubs, station_config
from integrations.station.runtime import STATION
from tests.chaos.conftest import (
    GROUPS,
    SOS_BLOCK,
    HubProcess,
    check_promises,
    get_health,
    hub_yaml,
    incidents_by_press,
    make_token,
    until,
)

ROUNDS = 3
PER_ROUND = 2


async def station_incidents(station: Any) -> dict[str, int]:
    """Return {incident id: number of stored 'opened' messages} at the station."""
    rows = await station.data[STATION].store.messages(hub_id="test-hub", kind="incident", limit=10_000)
    counts: dict[str, int] = {}
    for row in rows:
        if row.get("type") == "opened":
            counts[row["incident_id"]] = counts.get(row["incident_id"], 0) + 1
    return counts


async def hub_incidents(data_dir: Path) -> dict[str, list[str]]:
    storage = Storage(data_dir / "safetyhub.db")
    await storage.open()
    try:
        return await incidents_by_press(storage)
    finally:
        await storage.close()


@pytest.mark.slow
async def test_repeated_sigkill_during_federation_loses_nothing(
        make_hub: Any, federation_lab: FederationLab, line_fake: Any, tmp_path: Path) -> None:
    lab = federation_lab
    station = await make_hub(lab.station_block(), base=station_config(), folder=tmp_path / "station")
    await register_hubs(station, "test-hub")
    fake = await line_fake()
    folder = tmp_path / "hub"
    folder.mkdir()
    port = free_port()
    (folder / "config.yaml").write_text(
        hub_yaml(port) + lab.hub_block(ack_timeout=2, health_interval=3600, registry_interval=86400)
        + fake.config_yaml(GROUPS, "retry: {backoff: 0.05, max_backoff: 0.5}") + SOS_BLOCK, encoding="utf-8")
    token = await make_token(folder / "data")
    proc = HubProcess(folder, port)
    accepted: list[str] = []
    proc.start()
    try:
        await proc.ready()
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            for round_no in range(ROUNDS):
                for n in range(PER_ROUND):
                    action = f"round{round_no}-{n}"
                    async with session.post(f"{proc.url}/api/services/sos/press",
                                            json={"entity_id": "sos.gate", "action": action}) as resp:
                        assert resp.status == 200, await resp.text()
                    accepted.append(action)
                proc.kill()  # mid-flight: the automation, the LINE sends and the outbox are all busy
                proc.start()
                await proc.ready()
        want = len(accepted)

        async def settled() -> bool:
            found = await station_incidents(station)
            pushes = len(fake.pushes)
            return len(found) >= want and pushes >= want * len(GROUPS)

        await until(settled, within=45, interval=0.2,
                    message=f"station {await station_incidents(station)}, {len(fake.pushes)} LINE pushes")
        health = await get_health(proc.url)
    finally:
        code = proc.stop()
    assert code == 0, proc.log_tail()
    assert proc.starts == ROUNDS + 1
    incidents = await hub_incidents(folder / "data")
    check_promises(accepted, incidents, fake, health)
    at_station = await station_incidents(station)
    mine = {ids[0] for ids in incidents.values()}
    assert set(at_station) == mine, "the station and the hub disagree about the incidents"
    assert all(n == 1 for n in at_station.values()), f"stored twice at the station: {at_station}"
    rows = await station.data[STATION].store.messages(hub_id="test-hub", kind="incident", limit=10_000)
    assert all(json.loads(r["body"])["hub"] == "test-hub" for r in rows)
