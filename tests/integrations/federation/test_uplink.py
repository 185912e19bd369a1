"""A hub and a station, both real, through a real Mosquitto with the station's accounts and ACL."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from hub.hub import Hub
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import CAMERA_PASSWORD, FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME


async def station_messages(station: Hub, kind: str | None = None) -> list[dict[str, Any]]:
    return await station.data[STATION_RUNTIME].store.messages(kind=kind)


async def test_incident_lifecycle_arrives_with_every_timeline_entry(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st")
    mgr = hub.data[INCIDENT_RUNTIME]
    inc = await mgr.open("sos", title="SOS ประตูตลาด", place="ประตู 1", text="กดปุ่ม")
    await mgr.ack(inc.id, by="แม่ค้า")
    await mgr.note(inc.id, "ตำรวจกำลังไป", by="แม่ค้า")
    await mgr.close(inc.id, by="แม่ค้า", text="เรียบร้อย")
    fed = hub.data[FEDERATION_RUNTIME]
    assert await fed.outbox.wait_empty(10)
    store = station.data[STATION_RUNTIME].store
    got = await store.incident(inc.id, "test-hub")
    assert got is not None
    assert (got["hub_id"], got["status"], got["kind"], got["title"]) == (
        "test-hub",
        "closed",
        "sos",
        "SOS ประตูตลาด",
    )
    assert [e["kind"] for e in got["timeline"]] == ["opened", "acknowledged", "note", "closed"]
    assert got["timeline"][2]["text"] == "ตำรวจกำลังไป"
    assert got["acknowledged_by"] == "แม่ค้า"
    # Timestamps as the hub sent them (its clock) and as the station received them.
    msgs = await station_messages(station, "incident")
    assert [m["type"] for m in msgs] == ["opened", "updated", "updated", "closed"]
    assert all(m["sent_at"] == pytest.approx(hub.clock.time(), abs=1) for m in msgs)


async def test_selected_events_go_up_and_motion_only_when_armed(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, clock: FakeClock
) -> None:
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        health_interval=3600,
        registry_interval=86400,
        share={"armed_hours": ["22:00-06:00"]},
    )
    fed = hub.data[FEDERATION_RUNTIME]
    # The fake clock starts at 07:00 Bangkok: unarmed.
    hub.bus.fire("camera_motion", {"entity_id": "camera.gate"})
    hub.bus.fire("sos_pressed", {"entity_id": "sos.gate", "action": "emergency"})
    hub.bus.fire("sos_supervision", {"entity_id": "sos.gate", "battery": 9})
    hub.bus.fire("some_other_event", {"x": 1})
    await hub.block_till_done()
    await clock.advance(15.5 * 3600)  # 22:30
    assert fed.armed()
    hub.bus.fire("camera_motion", {"entity_id": "camera.gate", "at": "night"})
    await hub.block_till_done()
    assert await fed.outbox.wait_empty(10)
    events = [json.loads(m["body"])["body"] for m in await station_messages(station, "event")]
    assert [(e["type"], e["data"].get("at")) for e in events] == [
        ("sos_pressed", None),
        ("sos_supervision", None),
        ("camera_motion", "night"),
    ]


async def test_registry_has_cameras_by_policy_and_never_a_credential(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, testcams: str
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", hub_extra=testcams)
    store = station.data[STATION_RUNTIME].store
    registry = await until(lambda: _registry(store), within=10)
    raw = json.dumps(registry, ensure_ascii=False)
    assert CAMERA_PASSWORD not in raw
    for word in ("password", "username", "api_key", "sk-test", "rtsp://admin"):
        assert word not in raw, word
    cams = {c["entity_id"]: c for c in registry["cameras"]}
    # 'never' is not even listed, here or in the plugin's own section.
    assert set(cams) == {"camera.gate_always", "camera.stall_alarm", "camera.shop_registry"}
    assert "camera.home_never" not in raw
    assert cams["camera.shop_registry"] == {
        "entity_id": "camera.shop_registry",
        "name": "shop registry",
        "share": "registry",
        "owner": {"name": "ร้านทอง", "phone": "081-000-0000"},
        "location": {"lat": 14.59, "lon": 100.45},
    }
    assert registry["hub"]["zone"] == "test-zone"
    assert registry["plugins"]["testcams"]["cameras"][0]["stream"] == "rtsp://127.0.0.1:554/stream1"
    assert registry["plugins"]["testcams"]["cameras"][0]["note"] == "login admin / ***"
    assert (await store.hub("test-hub"))["cameras"] == 3
    # Every stored copy, raw as the hub sent it, is clean too.
    for msg in await station_messages(station, "registry"):
        assert CAMERA_PASSWORD not in msg["body"] and "password" not in msg["body"]


async def _registry(store: Any) -> dict[str, Any] | None:
    item = await store.hub("test-hub")
    return item["registry"] if item else None


async def test_health_reports_battery_alarms_and_integrations(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, clock: FakeClock
) -> None:
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", hub_extra="sos:\n  - {id: gate, simulated: true}\n"
    )
    hub.states.set("sos.gate", "idle", {"battery": 7, "friendly_name": "ปุ่มประตู"})
    await clock.advance(61)
    store = station.data[STATION_RUNTIME].store

    async def health() -> Any:
        item = await store.hub("test-hub")
        h = item["health"] if item else None
        return h if h and h.get("battery_alarms") else None

    report = await until(health, within=10)
    assert report["status"] == "online" and report["version"] == hub.version
    assert report["battery_alarms"] == [{"entity_id": "sos.gate", "battery": 7, "name": "ปุ่มประตู"}]
    assert report["integrations"]["federation"]["status"] == "set_up"
    assert report["uptime"] >= 60
    # Health is retained: only the newest waits in the outbox (older unsent ones are replaced).
    assert (await store.hub("test-hub"))["status"] == "online"


async def test_snapshots_leave_only_as_the_owner_allows(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, testcams: str
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", hub_extra=testcams)
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    for cam in ("gate_always", "stall_alarm", "shop_registry", "home_never"):
        await hub.services.call("camera", "snapshot", {"entity_id": f"camera.{cam}", "incident_id": inc.id})
    await hub.block_till_done()
    assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
    st = station.data[STATION_RUNTIME]
    got = await st.store.incident(inc.id, "test-hub")
    sent = {s["entity_id"] for s in got["snapshots"]}
    assert sent == {"camera.gate_always", "camera.stall_alarm"}  # on_alarm: the incident is open
    # The bytes at the station are the hub's, untouched.
    for snap in got["snapshots"]:
        row = await hub.storage.fetchone("SELECT * FROM snapshots WHERE id = ?", (snap["snapshot_id"],))
        original = (hub.data_dir / row["path"]).read_bytes()
        stored = await st.store.snapshot("test-hub", snap["id"])
        assert (st.ingest.snapshot_dir / stored["path"]).read_bytes() == original
        assert stored["sha256"] == hashlib.sha256(original).hexdigest()
    # Viewing one at the station is audited there too: who, which camera, which incident.
    user = await station.auth.add_user("duty-officer", "correct horse battery", "operator")
    token = await station.auth.create_token(user, "t")
    snap = got["snapshots"][0]
    async with aiohttp.ClientSession(
        base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as viewer:
        # A view without a reason is refused (and the refusal audited).
        assert (await viewer.get(snap["url"])).status == 400
        resp = await viewer.get(snap["url"], params={"reason": inc.id})
        assert resp.status == 200 and resp.content_type == "image/jpeg"
        assert (await resp.read()).startswith(b"\xff\xd8")
        assert (
            await viewer.get("/api/hubs/test-hub/snapshots/01NOPE.jpg", params={"reason": "x"})
        ).status == 404
    # Newest first: the refusal came before the view.
    view, refused = await station.audit.query(action="station.snapshot.view")
    assert refused.result.startswith("refused")
    assert view.detail["reason"] == inc.id
    assert (view.actor, view.detail["camera"], view.detail["incident_id"]) == (
        "duty-officer",
        snap["entity_id"],
        inc.id,
    )
    # Every hand-out and refusal is in the hub's audit log, for the owner to see.
    views = await hub.audit.query(action="camera.view")
    outcome = {(v.target, v.result) for v in views if v.actor == "station:test-station"}
    assert outcome == {
        ("camera.gate_always", "ok"),
        ("camera.stall_alarm", "ok"),
        ("camera.shop_registry", "refused"),
        ("camera.home_never", "refused"),
    }


async def test_the_station_refusing_a_message_stops_its_resends(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", station_extra={"max_payload": 2048}
    )
    fed = hub.data[FEDERATION_RUNTIME]
    big = await fed.send_event("sos_pressed", {"note": "x" * 4000})
    ok = await fed.send_event("sos_pressed", {"note": "small"})
    await until(lambda: fed.outbox.rejected == 1 and fed.outbox.pending == 0, within=10)
    row = await hub.storage.fetchone("SELECT state, error FROM federation_outbox WHERE id = ?", (big,))
    assert row["state"] == "rejected" and "over the 2048-byte limit" in row["error"]
    ids = [m["id"] for m in await station_messages(station, "event")]
    assert ok in ids and big not in ids
    item = await station.data[STATION_RUNTIME].store.hub("test-hub")
    assert item["rejected"] == 1 and "limit" in item["last_reject"]


async def test_an_incident_and_its_outbox_row_are_one_transaction(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, clock: FakeClock
) -> None:
    """What replaced the start-up repair: the outbox row is on disk exactly when the incident is."""
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st")
    fed, mgr = hub.data[FEDERATION_RUNTIME], hub.data[INCIDENT_RUNTIME]
    await hub.storage.execute("PRAGMA busy_timeout = 50")
    opened: list[Any] = []
    hub.bus.listen("incident_opened", opened.append)

    async def on_disk(incident_id: str) -> tuple[int, int]:
        inc = await hub.storage.fetchone("SELECT COUNT(*) AS n FROM incidents WHERE id = ?", (incident_id,))
        out = await hub.storage.fetchone(
            "SELECT COUNT(*) AS n FROM federation_outbox WHERE kind = 'incident' AND payload LIKE ?",
            (f"%{incident_id}%",),
        )
        return int(inc["n"]), int(out["n"])

    # Another process holds the write lock: the incident is held in memory, and so is its
    # outbox row; neither is on disk, and nothing is queued for sending that is not.
    assert await fed.outbox.wait_empty(10)
    locker = sqlite3.connect(hub.storage.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        held = await mgr.open("sos", title="ระหว่างล็อก")
        assert mgr.held == 1 and await on_disk(held.id) == (0, 0)
        assert fed.outbox.pending == 0
    finally:
        locker.execute("COMMIT")
        locker.close()
    await clock.advance(1)
    await until(lambda: mgr.held == 0)
    assert (await on_disk(held.id))[0] == 1  # its outbox row may already be acknowledged
    # The event names the entry's row, and the message id is fixed by it.
    await hub.block_till_done()
    row = await hub.storage.fetchone("SELECT id, ts FROM incident_timeline WHERE incident_id = ?", (held.id,))
    assert opened[-1].data["entry_id"] == row["id"]
    st = station.data[STATION_RUNTIME]
    got = await until(lambda: st.store.incident(held.id, "test-hub"))
    assert got["title"] == "ระหว่างล็อก"
    # A change the database refuses for good (here the same idempotency key again) rolls
    # back its outbox row with it: the station never hears of an incident the hub lacks.
    first = await mgr.open("sos", title="ครั้งแรก", key="k-1")
    assert await fed.outbox.wait_empty(10)
    again = await mgr.open("sos", title="ครั้งแรก", key="k-1")
    assert again.id == first.id
    rows = await hub.storage.fetchone("SELECT COUNT(*) AS n FROM federation_outbox")
    assert rows["n"] == 0 and fed.outbox.pending == 0
    assert await st.store.count_messages(hub_id="test-hub", kind="incident") == 2
    # The repair tables are gone.
    gone = await hub.storage.fetchone(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'federation_sent'"
    )
    assert gone["n"] == 0
