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

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integrations.federation.testing import FederationLab, register_hubs, station_config
from integrations.mqtt.testing import free_port
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.chaos.conftest import (
    GROUPS,
    SOS_BLOCK,
    HubProcess,
    cards,
    check_promises,
    get_health,
    hub_yaml,
    make_token,
)

ROUNDS = 3
PER_ROUND = 2


async def station_incidents(station: Any) -> dict[str, int]:
    """Return {incident id: number of stored 'opened' messages} at the station."""
    rows = await station.data[STATION_RUNTIME].store.messages(
        hub_id="test-hub", kind="incident", limit=10_000
    )
    counts: dict[str, int] = {}
    for row in rows:
        if row.get("type") == "opened":
            counts[row["incident_id"]] = counts.get(row["incident_id"], 0) + 1
    return counts


def _read_incidents(data_dir: Path) -> dict[str, list[str]]:
    """Read {press action: [incident ids]} from a (running) hub's database, read-only."""
    db = data_dir / "safetyhub.db"
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as conn:
        rows = conn.execute("SELECT id, data FROM incidents WHERE kind = 'sos' ORDER BY opened_at").fetchall()
    out: dict[str, list[str]] = {}
    for incident_id, data in rows:
        out.setdefault(str((json.loads(data or "{}") or {}).get("action")), []).append(incident_id)
    return out


@pytest.mark.slow
async def test_repeated_sigkill_during_federation_loses_nothing(
    make_hub: Any, federation_lab: FederationLab, line_fake: Any, tmp_path: Path
) -> None:
    lab = federation_lab
    station = await make_hub(lab.station_block(), base=station_config(), folder=tmp_path / "station")
    await register_hubs(station, "test-hub")
    fake = await line_fake()
    folder = tmp_path / "hub"
    folder.mkdir()
    port = free_port()
    (folder / "config.yaml").write_text(
        hub_yaml(port)
        + lab.hub_block(ack_timeout=2, health_interval=3600, registry_interval=86400)
        + fake.config_yaml(GROUPS, "retry: {backoff: 0.05, max_backoff: 0.5}")
        + SOS_BLOCK,
        encoding="utf-8",
    )
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
                    async with session.post(
                        f"{proc.url}/api/services/sos/press", json={"entity_id": "sos.gate", "action": action}
                    ) as resp:
                        assert resp.status == 200, await resp.text()
                    accepted.append(action)
                proc.kill()  # mid-flight: the automation, the LINE sends and the outbox are all busy
                proc.start()
                await proc.ready()

        await _settle(folder / "data", station, fake)
        health = await get_health(proc.url)
    finally:
        code = proc.stop()
    assert code == 0, proc.log_tail()
    assert proc.starts == ROUNDS + 1
    status, body = health
    assert status == 200 and body["status"] == "ok", health

    incidents = _read_incidents(folder / "data")
    at_station = await station_incidents(station)
    mine = {ids[0] for ids in incidents.values()}
    counts = cards(fake, mine)
    # Never twice: one incident per press, one stored copy per incident, one card per group.
    assert all(len(ids) == 1 for ids in incidents.values()), incidents
    assert set(at_station) <= mine, "the station holds incidents the hub does not have"
    assert all(n == 1 for n in at_station.values()), f"stored twice at the station: {at_station}"
    assert all(n == 1 for n in counts.values()), f"a LINE card went out twice: {counts}"
    assert len(fake.pushes) == sum(counts.values()), "a LINE push that belongs to no incident"
    rows = await station.data[STATION_RUNTIME].store.messages(
        hub_id="test-hub", kind="incident", limit=10_000
    )
    assert all(json.loads(r["body"])["hub"] == "test-hub" for r in rows)

    # Never lost: each accepted press has its incident, at the station and on LINE.  A press is
    # answered only once its row and the rows of the runs it started are committed; a run the
    # kill cut short is re-run at the next start, and its calls repeat with their idempotency
    # keys (the same incident, LINE retry keys LINE has already seen).
    lost = [p for p in accepted if not incidents.get(p)]
    unfederated = sorted(mine - set(at_station))
    unalerted = sorted(i for i in mine if any(counts[(g, i)] == 0 for g in GROUPS.values()))
    assert (lost, unfederated, unalerted) == ([], [], []), "lost after SIGKILLs: presses, station, LINE"
    check_promises(accepted, incidents, fake, health)


async def _settle(data_dir: Path, station: Any, fake: Any, quiet: float = 5.0, within: float = 45.0) -> None:
    """Wait until everything the hub opened reached the station and LINE, or nothing moved for ``quiet`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last, changed = None, loop.time()
    while loop.time() < deadline:
        opened = {ids[0] for ids in _read_incidents(data_dir).values()}
        found = await station_incidents(station)
        now = (len(opened), len(found), len(fake.pushes))
        if opened and opened <= set(found) and len(fake.pushes) >= len(opened) * len(GROUPS):
            await asyncio.sleep(1.0)  # room for a late duplicate to show
            return
        if now != last:
            last, changed = now, loop.time()
        elif loop.time() - changed > quiet:
            return
        await asyncio.sleep(0.2)
