"""Retries that cannot double: every state-changing call repeated with its key after a SIGKILL.

The hub is a real ``safetyhub run`` child federating to a station on a real
Mosquitto.  Each call is made once with an ``Idempotency-Key``, the hub is
SIGKILLed (no shutdown code runs) and restarted, and every call is made again
with the same key, as a client whose answer was cut off would.  The repeats
get the first answers back, and nothing happened twice: one timeline entry per
``incident.ack``/``note``/``dispatch``/``close``, one event at the station per
``federation.send`` without an ``id``, one incident per ``incident.open``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from integrations.federation.testing import FederationLab, register_hubs, station_config
from integrations.mqtt.testing import free_port
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.chaos.conftest import HubProcess, hub_yaml, make_token, until


async def _call(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], key: str
) -> tuple[int, Any, str]:
    async with session.post(url, json=body, headers={"Idempotency-Key": key}) as resp:
        return resp.status, await resp.json(), resp.headers.get("Idempotent-Replayed", "")


async def _station_events(station: Any, event_type: str) -> int:
    rows = await station.data[STATION_RUNTIME].store.messages(hub_id="test-hub", kind="event", limit=10_000)
    return sum(1 for r in rows if json.loads(r["body"])["body"].get("type") == event_type)


async def test_every_call_repeated_after_a_sigkill_runs_once(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    lab = federation_lab
    station = await make_hub(lab.station_block(), base=station_config(), folder=tmp_path / "station")
    await register_hubs(station, "test-hub")
    folder = tmp_path / "hub"
    folder.mkdir()
    port = free_port()
    (folder / "config.yaml").write_text(
        hub_yaml(port) + lab.hub_block(ack_timeout=2, health_interval=3600, registry_interval=86400),
        encoding="utf-8",
    )
    token = await make_token(folder / "data")
    proc = HubProcess(folder, port)
    proc.start()
    try:
        await proc.ready()
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            svc = f"{proc.url}/api/services"
            status, opened, _ = await _call(
                session, f"{svc}/incident/open", {"kind": "manual", "title": "ของหาย"}, "open-1"
            )
            assert status == 200, opened
            incident_id = opened["service_response"]["incident_id"]
            calls = [
                (f"{svc}/incident/ack", {"incident_id": incident_id, "text": "รับทราบ"}, "ack-1"),
                (f"{svc}/incident/note", {"incident_id": incident_id, "text": "ยังหาอยู่"}, "note-1"),
                (f"{svc}/incident/dispatch", {"incident_id": incident_id, "unit": "สายตรวจ 1"}, "dispatch-1"),
                (f"{proc.url}/api/incidents/{incident_id}/note", {"text": "ผ่านอีกทาง"}, "note-2"),
                (f"{svc}/federation/send", {"event_type": "shop_note", "data": {"n": 1}}, "fed-1"),
                (f"{svc}/incident/close", {"incident_id": incident_id, "text": "เจอแล้ว"}, "close-1"),
            ]
            first = []
            for url, body, key in calls:
                status, answer, replayed = await _call(session, url, body, key)
                assert status == 200 and not replayed, (url, answer)
                first.append(answer)

            proc.kill()  # no shutdown: whatever was not committed is gone
            proc.start()
            await proc.ready()

            status, again, replayed = await _call(
                session, f"{svc}/incident/open", {"kind": "manual", "title": "ของหาย"}, "open-1"
            )
            assert status == 200 and again["service_response"]["incident_id"] == incident_id
            for (url, body, key), answer in zip(calls, first, strict=True):
                status, repeat, replayed = await _call(session, url, body, key)
                assert status == 200 and replayed == "true", (url, repeat)
                assert repeat == answer
            # the same key for another request is refused, not replayed
            status, refused, _ = await _call(
                session, f"{svc}/incident/note", {"incident_id": incident_id, "text": "อื่น"}, "note-1"
            )
            assert status == 422, refused

            async with session.get(f"{proc.url}/api/incidents/{incident_id}") as resp:
                incident = await resp.json()
            async with session.get(f"{proc.url}/api/incidents") as resp:
                listed = await resp.json()
        kinds = [entry["kind"] for entry in incident["timeline"]]
        assert kinds.count("acknowledged") == 1 and kinds.count("dispatched") == 1, kinds
        assert kinds.count("closed") == 1 and kinds.count("note") == 2, kinds
        assert [i["id"] for i in listed] == [incident_id]
        await until(lambda: _station_events(station, "shop_note"), within=20)
        assert await _station_events(station, "shop_note") == 1
    finally:
        code = proc.stop()
    assert code == 0, proc.log_tail()
