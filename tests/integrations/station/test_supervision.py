"""Supervision in alarm-centre terms: a hub's heartbeat sets the station's detection time, and a
hub that goes quiet is an incident on the CCOC board within it (closed when the hub is back)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hub.core.clock import FakeClock
from hub.core.ids import ulid
from hub.hub import Hub
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.protocol import envelope
from integrations.federation.testing import (
    HUB_PASSWORDS,
    STATION_ID,
    FederationLab,
    register_hubs,
    start_pair,
    station_config,
    until,
)
from integrations.station.const import RUNTIME as STATION_RUNTIME
from integrations.station.supervision_config import SupervisionConfig

#: Test-sized: heartbeat 20 s, two may be missed, 10 s of grace: detection 50 s, checked each second.
SUPERVISION = {"missed_beats": 2, "grace": 10, "check_interval": 1}


def _topic(kind: str) -> str:
    return f"ssz/v1/{STATION_ID}/test-hub/{kind}"


def _health(status: str, ts: float, **body: Any) -> bytes:
    return envelope(ulid(), STATION_ID, "test-hub", "health", ts, {"status": status, **body})


def _client(lab: FederationLab, **kw: Any) -> aiomqtt.Client:
    return aiomqtt.Client(
        lab.broker.host,
        lab.broker.port,
        username="test-hub",
        password=HUB_PASSWORDS["test-hub"],
        protocol=aiomqtt.ProtocolVersion.V5,
        **kw,
    )


@pytest.fixture
async def station(make_hub: Any, federation_lab: FederationLab, tmp_path: Path) -> Hub:
    hub: Hub = await make_hub(
        federation_lab.station_block(supervision=SUPERVISION), base=station_config(), folder=tmp_path / "st"
    )
    await register_hubs(hub)
    assert await hub.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    return hub


async def _board(station: Hub) -> list[dict[str, Any]]:
    return [i for i in await station.data[CCOC_RUNTIME].board() if i["kind"] == "supervision"]


def test_detection_time_is_interval_times_missed_beats_plus_grace() -> None:
    sup = SupervisionConfig.model_validate(
        {
            "missed_beats": 3,
            "grace": 30,
            "default_interval": 60,
            "max_interval": 600,
            "hubs": {"a": {"interval": 15}},
        }
    )
    assert sup.interval("b", None) == (60, "default")
    assert sup.interval("b", 120) == (120, "hub")
    assert sup.interval("b", 86400) == (600, "hub")  # a hub may not claim to be supervised once a day
    assert sup.interval("a", 120) == (15, "station")  # the station's own figure wins
    assert sup.detection_time(60) == 210


async def test_a_silent_hub_is_an_incident_on_the_board_within_its_detection_time(
    station: Hub, federation_lab: FederationLab, clock: FakeClock
) -> None:
    ingest = station.data[STATION_RUNTIME].ingest
    async with _client(federation_lab) as hub:
        await hub.publish(_topic("health"), _health("online", clock.time(), heartbeat_interval=20), qos=1)
        await until(lambda: ingest.heartbeats.get("test-hub") == 20)
        assert ingest.supervision("test-hub") | {} == {
            "interval": 20,
            "interval_source": "hub",
            "declared_interval": 20,
            "missed_beats": 2,
            "grace": 10,
            "detection_time": 50,
        }
        last_heard = ingest.statuses["test-hub"].last_seen
        assert last_heard is not None
        # The heartbeat stops (a hung box: the connection stays up, nothing comes).
        await clock.advance(45)
        assert await _board(station) == []
        await clock.advance(6)
        await until(_board_has_one(station))
        (item,) = await _board(station)
        assert item["hub_id"] == "test-hub" and item["status"] == "open" and item["severity"] == "high"
        assert item["title"] == "ฮับขาดการติดต่อ: test-hub"
        assert not item["drill"]
        inc = await station.data[STATION_RUNTIME].store.incident(item["id"], "test-hub")
        assert inc is not None
        # Opened within the detection time (and one check interval) of the last word.
        assert inc["opened_at"] - last_heard <= 50 + SUPERVISION["check_interval"]
        assert inc["data"]["check"] == "hub_silent" and inc["data"]["detection_time"] == 50
        assert "เกินเวลาตรวจจับ 50 วินาที" in inc["timeline"][0]["text"]
        # Only one, however long it stays quiet.
        await clock.advance(120)
        assert len(await _board(station)) == 1
        # Back: the incident closes, saying how long the hub was gone.
        await hub.publish(_topic("health"), _health("online", clock.time(), heartbeat_interval=20), qos=1)
        await until(_board_is_empty(station))
        inc = await station.data[STATION_RUNTIME].store.incident(item["id"], "test-hub")
        assert inc is not None and inc["status"] == "closed"
        assert inc["timeline"][-1]["text"].startswith("ฮับกลับมาออนไลน์")


def _board_has_one(station: Hub) -> Any:
    async def check() -> bool:
        return len(await _board(station)) == 1

    return check


def _board_is_empty(station: Hub) -> Any:
    async def check() -> bool:
        return await _board(station) == []

    return check


async def test_a_hub_whose_connection_dies_is_an_incident_at_once_a_clean_stop_only_if_it_stays_away(
    station: Hub, federation_lab: FederationLab, clock: FakeClock
) -> None:
    import socket

    ingest = station.data[STATION_RUNTIME].ingest
    will = _health("offline", clock.time(), reason="connection lost")
    client = _client(federation_lab, will=aiomqtt.Will(_topic("health"), will, qos=1, retain=True))
    await client.__aenter__()
    await client.publish(_topic("health"), _health("online", clock.time(), heartbeat_interval=20), qos=1)
    await until(lambda: ingest.statuses["test-hub"].status == "online")
    client._client.socket().shutdown(socket.SHUT_RDWR)  # no goodbye: the broker sends the will
    await until(_board_has_one(station))
    (item,) = await _board(station)
    assert item["title"] == "ฮับหลุดการเชื่อมต่อ: test-hub"
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)

    async with _client(federation_lab) as hub:
        await hub.publish(_topic("health"), _health("online", clock.time(), heartbeat_interval=20), qos=1)
        await until(_board_is_empty(station))
        # A clean stop (an upgrade, a restart) is no alarm while it is shorter than the detection time.
        await hub.publish(_topic("health"), _health("offline", clock.time(), reason="hub stopped"), qos=1)
        await until(lambda: ingest.statuses["test-hub"].status == "offline")
        await clock.advance(40)
        assert await _board(station) == []
        await clock.advance(12)
        await until(_board_has_one(station))
        (item,) = await _board(station)
        assert item["title"] == "ฮับปิดแล้วไม่กลับมา: test-hub"


async def test_an_officer_acts_on_a_supervision_incident_at_the_station(
    station: Hub, federation_lab: FederationLab, clock: FakeClock
) -> None:
    ingest = station.data[STATION_RUNTIME].ingest
    async with _client(federation_lab) as hub:
        await hub.publish(_topic("health"), _health("online", clock.time(), heartbeat_interval=20), qos=1)
        await until(lambda: ingest.statuses["test-hub"].status == "online")
    await clock.advance(55)
    await until(_board_has_one(station))
    (item,) = await _board(station)
    user = await station.auth.add_user("somchai", "correct horse battery", "operator")
    token = await station.auth.create_token(user, "t")
    import aiohttp

    async with aiohttp.ClientSession(
        base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as op:
        url = f"/api/ccoc/incidents/test-hub/{item['id']}"
        resp = await op.post(f"{url}/ack", json={"text": "รับทราบ โทรหาเจ้าของร้าน"})
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["local"] is True
        resp = await op.post(f"{url}/close", json={"text": "ร้านปิดไฟดับ"})
        assert resp.status == 200
    inc = await station.data[STATION_RUNTIME].store.incident(item["id"], "test-hub")
    assert inc is not None and inc["status"] == "closed" and inc["acknowledged_by"] == "somchai"
    assert [e["kind"] for e in inc["timeline"]] == ["opened", "acknowledged", "closed"]
    # Nothing was sent to the hub about it.
    assert await station.data[STATION_RUNTIME].store.commands("test-hub") == []


async def test_the_hub_reports_its_heartbeat_and_schema_and_the_station_learns_them(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        health_interval=30,
        station_extra={"supervision": SUPERVISION},
    )
    ingest = station.data[STATION_RUNTIME].ingest
    await until(lambda: ingest.heartbeats.get("test-hub") == 30)
    assert ingest.supervision("test-hub")["detection_time"] == 70

    async def stored() -> dict[str, Any] | None:
        item = await station.data[STATION_RUNTIME].store.hub("test-hub")
        health = (item or {}).get("health") or {}
        return health if health.get("schema") else None

    health = await until(stored)
    assert health["schema"]["federation"] == hub.schema_versions["federation"]
    assert health["version"] == hub.version


def test_the_grade_is_the_best_single_path_category_met() -> None:
    from integrations.station.supervision_figures import grade

    assert grade(180, 0.05) == "SP4"  # the default: 60 s × 2 + 60 s
    assert grade(210, 0.05) == "SP3"
    assert grade(15, None) == "SP6"  # no SOS this month: the reporting time alone
    assert grade(180, 100) == "SP2"  # a slow month: 95 % within 120 s, not within 60 s
    assert grade(40 * 24 * 3600, 0.05) is None


async def test_the_hubs_page_shows_each_hubs_achieved_supervision(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    import aiohttp

    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        health_interval=30,
        station_extra={"supervision": SUPERVISION},
    )
    ingest = station.data[STATION_RUNTIME].ingest
    await until(lambda: ingest.heartbeats.get("test-hub") == 30)
    await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ประตูตลาด")

    async def arrived() -> dict[str, list[float]]:
        return await station.data[STATION_RUNTIME].store.sos_latencies(0, 4e9)

    latencies = await until(arrived)
    assert len(latencies["test-hub"]) == 1

    async def schema_known() -> bool:
        item = await station.data[STATION_RUNTIME].store.hub("test-hub")
        return bool(((item or {}).get("health") or {}).get("schema"))

    await until(schema_known)
    station.data[CCOC_RUNTIME].hubs.invalidate()
    user = await station.auth.add_user("somchai", "correct horse battery", "viewer")
    token = await station.auth.create_token(user, "t")
    async with aiohttp.ClientSession(
        base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as viewer:
        page = await (await viewer.get("/ccoc/hubs")).text()
        api = await (await viewer.get("/api/hubs/test-hub")).json()
    cell = page.split('data-hub-supervision="test-hub"', 1)[1].split("</td>", 1)[0]
    assert "สัญญาณชีพทุก 30 วินาที" in cell and "ตามที่ฮับแจ้ง" in cell
    assert "ตรวจพบความขัดข้องภายใน 70 วินาที" in cell
    assert "(n=1)" in cell and "p99" in cell
    assert "ระดับ EN 50136: SP5" in cell  # 70 s: within SP5's 90 s reporting time
    schema = page.split('data-hub-schema="test-hub"', 1)[1].split("</small>", 1)[0]
    assert f"federation {hub.schema_versions['federation']}" in schema
    assert hub.version in page
    sup = api["supervision"]
    assert (sup["interval"], sup["detection_time"], sup["grade"], sup["sos_count"]) == (30, 70, "SP5", 1)


async def test_a_supervision_incident_is_not_pushed_as_a_public_cap_alert(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
    from integrations.mqtt.testing import free_port

    cap = {"push_url": f"http://127.0.0.1:{free_port()}/cap", "push_retry": 3600}
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", station_extra={"console": {"cap": cap}}
    )
    mgr = hub.data[INCIDENT_RUNTIME]
    sos = await mgr.open("sos", title="SOS ประตู")
    fault = await mgr.open("supervision", title="ปุ่ม SOS ไม่ส่งสัญญาณ: ประตู")
    console = station.data[CCOC_RUNTIME]
    seen: list[str] = []
    station.bus.listen("ccoc_incident", lambda e: seen.append(e.data["incident"]["id"]))

    async def queued() -> set[str]:
        return {row["incident_id"] for row in await console.cap.pending()}

    await until(lambda: fault.id in seen and sos.id in seen)  # both announced on the board
    assert await until(queued) == {sos.id}
