"""Station → hub commands: the allowlist, the officer's identity, audit on both sides, the answer back."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.ids import ulid
from hub.hub import Hub
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import STATION_ID, STATION_PASSWORD, FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME

LIGHTS = "light:\n  - {id: gate_lamp, simulated: true}\n"


async def api(station: Hub, role: str = "operator", name: str = "somchai") -> aiohttp.ClientSession:
    user = await station.auth.add_user(name, "correct horse battery", role)
    token = await station.auth.create_token(user, "test")
    return aiohttp.ClientSession(base_url=station.http.url, headers={"Authorization": f"Bearer {token}"})


async def raw_command(lab: FederationLab, payload: dict[str, Any] | bytes, hub_id: str = "test-hub") -> None:
    """Publish a command as the station's broker account, bypassing the station's own checks."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    async with aiomqtt.Client(
        lab.broker.host,
        lab.broker.port,
        username="ccoc",
        password=STATION_PASSWORD,
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as client:
        await client.publish(f"ssz/v1/{STATION_ID}/{hub_id}/cmd", body, qos=1)


def command(name: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "id": ulid(),
        "station": STATION_ID,
        "hub": "test-hub",
        "command": name,
        "data": data,
        "by": {"user": "somchai", "name": "ร.ต.อ. สมชาย", "role": "operator"},
        # now (at the latest): the hub refuses commands older than their expiry
        "ts": time.time(),
        **extra,
    }


async def results_at_station(station: Hub) -> dict[str, dict[str, Any]]:
    msgs = await station.data[STATION_RUNTIME].store.messages(kind="event")
    out = {}
    for m in msgs:
        body = json.loads(m["body"])["body"]
        if body["type"] == "command_result":
            out[body["data"]["command_id"]] = body["data"]
    return out


async def test_light_flash_round_trip_with_audit_on_both_sides(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", hub_extra=LIGHTS)
    async with await api(station) as session:
        resp = await session.post(
            "/api/hubs/test-hub/commands",
            json={
                "command": "light.flash",
                "data": {"entity_id": "light.gate_lamp", "seconds": 30},
                "name": "ร.ต.อ. สมชาย",
                "wait": 10,
            },
        )
        body = await resp.json()
    assert resp.status == 200, body
    assert (body["status"], body["actor"], body["hub_id"]) == ("ok", "somchai", "test-hub")
    assert hub.states.get("light.gate_lamp").state == "on"  # the flash has started
    # The hub's audit names the officer and the station.
    [entry] = await hub.audit.query(action="federation.command")
    assert (entry.actor, entry.target, entry.result, entry.source) == (
        "station:test-station/somchai",
        "light.flash",
        "ok",
        "station",
    )
    assert entry.detail["command_id"] == body["id"]
    assert entry.detail["officer"]["name"] == "ร.ต.อ. สมชาย"
    # The station's audit has the request and the hub's answer.
    sent = await station.audit.query(action="station.command")
    answered = await station.audit.query(action="station.command.result")
    assert [(a.actor, a.target, a.result) for a in sent] == [("somchai", "test-hub/light.flash", "ok")]
    assert [(a.actor, a.result, a.detail["command_id"]) for a in answered] == [
        ("hub:test-hub", "ok", body["id"])
    ]
    async with await api(station, "viewer", "viewer1") as session:
        listed = await (await session.get("/api/hubs/test-hub/commands")).json()
        one = await (await session.get(f"/api/hubs/test-hub/commands/{body['id']}")).json()
    assert [c["id"] for c in listed] == [body["id"]] and one["status"] == "ok"


async def test_an_officer_acknowledges_a_hub_incident_from_the_station(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st")
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ร้านทอง")
    st = station.data[STATION_RUNTIME]
    await until(lambda: st.store.incident(inc.id, "test-hub"))
    record = await st.send_command(
        "test-hub",
        "incident.ack",
        {"incident_id": inc.id, "text": "รับทราบ ส่งสายตรวจ"},
        user="somchai",
        role="operator",
        name="ร.ต.อ. สมชาย",
    )
    done = await st.wait_command(record.id, 10)
    assert done is not None and done.status == "ok", done
    local = await hub.data[INCIDENT_RUNTIME].get(inc.id)
    assert (local.status, local.acknowledged_by) == ("acknowledged", "ร.ต.อ. สมชาย (test-station)")
    # ...and the acknowledgement comes back up like any other timeline entry.
    federated = await until(lambda: _acked(st, inc.id))
    assert federated["timeline"][-1]["text"] == "รับทราบ ส่งสายตรวจ"


async def _acked(st: Any, incident_id: str) -> Any:
    item = await st.store.incident(incident_id, "test-hub")
    return item if item and item["status"] == "acknowledged" else None


async def test_commands_outside_the_rules_are_refused_and_audited(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, testcams: str
) -> None:
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        hub_extra=LIGHTS + testcams,
        commands={"line_aliases": ["big6"]},
    )
    cases = {
        "not allowed": command("sos.reset", {"entity_id": "sos.gate"}),
        "never camera": command("camera.snapshot", {"entity_id": "camera.home_never"}),
        "registry camera": command("camera.snapshot", {"entity_id": "camera.shop_registry"}),
        "raw LINE group": command("line.send", {"to": "C0123456789abcdef0123456789abcdef", "message": "hi"}),
        "not a light": command("light.turn_on", {"entity_id": "camera.gate_always"}),
        "bad data": command("light.flash", {"entity_id": "light.gate_lamp", "seconds": -1}),
        "other hub": command("light.turn_on", {"entity_id": "light.gate_lamp"}, hub="hub-b"),
        "unknown incident": command("incident.close", {"incident_id": "01NOPE"}),
    }
    anonymous = command("light.turn_on", {"entity_id": "light.gate_lamp"})
    del anonymous["by"]
    for payload in [*cases.values(), anonymous]:
        await raw_command(federation_lab, payload)
    await raw_command(federation_lab, b"not json at all")
    expected_ids = {c["id"] for c in cases.values()} | {anonymous["id"]}
    results = await until(lambda: _when_all(station, expected_ids), within=15)
    statuses = {name: (results[c["id"]]["status"], results[c["id"]]["error"]) for name, c in cases.items()}
    assert {k: v[0] for k, v in statuses.items()} == {
        "not allowed": "refused",
        "never camera": "refused",
        "registry camera": "refused",
        "raw LINE group": "refused",
        "not a light": "error",
        "bad data": "refused",
        "other hub": "refused",
        "unknown incident": "refused",
    }
    assert "is not allowed" in statuses["not allowed"][1]
    assert statuses["never camera"][1] == "no camera camera.home_never"  # not even "it exists"
    assert "aliases" in statuses["raw LINE group"][1]
    assert results[anonymous["id"]]["status"] == "refused"
    assert results[anonymous["id"]]["error"] == "no officer identity"
    assert hub.states.get("light.gate_lamp").state != "on"  # nothing ran

    async def all_audited() -> list[Any] | None:
        # The garbage message has no id to wait for: its audit row may land just after the others.
        found = await hub.audit.query(action="federation.command", limit=50)
        return found if len(found) >= len(cases) + 2 else None

    audit = await until(all_audited, within=15)
    assert len(audit) == len(cases) + 2  # every case, the anonymous one and the garbage
    assert all(a.result in ("refused", "error") for a in audit)
    assert {a.actor for a in audit} >= {"station:test-station/somchai", "station:test-station/unknown"}


async def _when_all(station: Hub, ids: set[str]) -> dict[str, Any] | None:
    got = await results_at_station(station)
    return got if ids <= set(got) else None


async def test_a_command_delivered_twice_runs_once(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", hub_extra=LIGHTS)
    once = command("light.turn_on", {"entity_id": "light.gate_lamp"})
    await raw_command(federation_lab, once)
    await raw_command(federation_lab, once)  # QoS 1 may deliver again; so may a confused station
    await until(lambda: _when_all(station, {once["id"]}))
    assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
    assert len(await hub.audit.query(action="federation.command")) == 1
    assert hub.states.get("light.gate_lamp").state == "on"


async def test_the_station_api_checks_before_sending(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", hub_extra=LIGHTS)
    async with await api(station) as operator, await api(station, "viewer", "viewer1") as viewer:
        resp = await operator.post(
            "/api/hubs/test-hub/commands", json={"command": "hub.shutdown", "data": {}}
        )
        assert resp.status == 400 and "allowlist" in (await resp.json())["error"]
        resp = await operator.post("/api/hubs/hub-zzz/commands", json={"command": "light.flash", "data": {}})
        assert resp.status == 404
        resp = await operator.post("/api/hubs/test-hub/commands", json={"command": "light.flash", "wait": 99})
        assert resp.status == 400
        resp = await viewer.post("/api/hubs/test-hub/commands", json={"command": "light.flash", "data": {}})
        assert resp.status == 403
        # Without waiting, the answer is "sent" and arrives later.
        resp = await operator.post(
            "/api/hubs/test-hub/commands",
            json={"command": "light.turn_on", "data": {"entity_id": "light.gate_lamp"}},
        )
        assert resp.status == 202 and (await resp.json())["status"] == "sent"
    refused = [a for a in await station.audit.query(action="station.command") if a.result == "refused"]
    assert {a.target for a in refused} == {"test-hub/hub.shutdown", "hub-zzz/light.flash"}


async def test_a_stale_command_expires_at_the_hub(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    """A day-old ``light.turn_on`` (a late broker delivery, a replay) must not run (issue 15 item 18)."""
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", hub_extra=LIGHTS)
    day_ago = hub.clock.time() - 86400
    stale = command("light.turn_on", {"entity_id": "light.gate_lamp"}, ts=day_ago)
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ร้านทอง")
    # an acknowledgement queued at the station while the hub was offline is still welcome
    late_ack = command("incident.ack", {"incident_id": inc.id, "text": "รับทราบ"}, ts=day_ago)
    await raw_command(federation_lab, stale)
    await raw_command(federation_lab, late_ack)
    results = await until(lambda: _when_all(station, {stale["id"], late_ack["id"]}), within=15)
    assert results[stale["id"]]["status"] == "refused"
    assert "expired" in results[stale["id"]]["error"]
    assert hub.states.get("light.gate_lamp").state != "on"
    assert results[late_ack["id"]]["status"] == "ok"
    [entry] = [a for a in await hub.audit.query(action="federation.command") if a.result == "refused"]
    assert "expired" in str(entry.detail)


async def test_expiry_is_judged_in_the_stations_time(make_hub) -> None:
    """A hub whose clock is an hour slow still runs a fresh command once an ack showed the offset."""
    from types import SimpleNamespace

    from integrations.federation.commands import CommandRunner
    from integrations.federation.config import FederationConfig

    async def result(answer: dict[str, Any]) -> str:
        return "sent"

    hub = await make_hub()
    cfg = FederationConfig.model_validate(
        {"station": "s1", "broker": "mqtt://127.0.0.1:1883", "username": "test-hub", "password": "x" * 12}
    )
    runner = CommandRunner(hub, cfg, result)
    station_now = hub.clock.time() + 3600  # the station's clock; the hub's is an hour behind

    def doc(age: float) -> Any:
        return SimpleNamespace(command="light.turn_on", ts=station_now - age)

    runner.station_clock(station_now)  # an ack's ts
    assert runner._expired(doc(5)) is None
    assert (runner._expired(doc(86400)) or "").startswith("expired: sent 86400 s ago")
    assert (runner._expired(doc(700)) or "").startswith("expired: sent 700 s ago")  # max_age 600 s
