"""The CCOC console against a real hub through a real Mosquitto: board, actions, views, offline hubs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.hub import Hub
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import CAMERA_PASSWORD, FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME

TESTCAMS = Path(__file__).parents[1] / "federation" / "testcams"
CAMS = """
testcams:
  - {id: gate_always, share: always, password: !secret cam_pw}
  - {id: stall_alarm, share: on_alarm, password: !secret cam_pw}
  - {id: shop_registry, share: registry, password: !secret cam_pw}
  - {id: home_never, share: never, password: !secret cam_pw}
zone:
  id: test-zone
  name_th: เขตทดสอบ
  area_km2: 1.0
  polygon: [[14.592, 100.452], [14.592, 100.460], [14.585, 100.460], [14.585, 100.452]]
  communities:
    - {name: ชุมชนตลาดสด, polygon: [[14.590, 100.453], [14.590, 100.456], [14.587, 100.455]]}
"""
STATION_CONSOLE = {"console": {"units": ["สายตรวจ 1", "ชุดเคลื่อนที่เร็ว"]}}


@pytest.fixture
def cams(config_dir: Path) -> str:
    """Install the federation tests' camera drop-in into the hub's config folder."""
    shutil.copytree(TESTCAMS, config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    return CAMS


async def session(station: Hub, role: str, name: str | None = None) -> aiohttp.ClientSession:
    user = await station.auth.add_user(name or f"{role}-1", "correct horse battery", role)
    token = await station.auth.create_token(user, "test")
    return aiohttp.ClientSession(base_url=station.http.url, headers={"Authorization": f"Bearer {token}"})


async def _sos_with_picture(hub: Hub, station: Hub) -> Any:
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ร้านทอง", place="ร้านทองแผง 3")
    await hub.services.call("camera", "snapshot", {"entity_id": "camera.gate_always", "incident_id": inc.id})
    st = station.data[STATION_RUNTIME]

    async def arrived() -> bool:
        found = await st.store.incident(inc.id, "test-hub")
        return bool(found and found["snapshots"])

    await until(arrived)
    return inc


async def test_board_ack_dispatch_and_views_round_trip(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str, clock: Any
) -> None:
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", hub_extra=cams, station_extra=STATION_CONSOLE
    )
    await until(lambda: station.data[STATION_RUNTIME].store.hub("test-hub"))
    console = station.data[CCOC_RUNTIME]
    await until(lambda: _registry(console))
    inc = await _sos_with_picture(hub, station)
    hub_audit_before = len(await hub.audit.query(action="camera.view"))

    async with (
        await session(station, "operator", "somchai") as op,
        await session(station, "viewer") as viewer,
    ):
        board = await (await viewer.get("/api/ccoc/board")).json()
        assert [(i["id"], i["kind"], i["status"], i["hub_name"], i["zone"]) for i in board] == [
            (inc.id, "sos", "open", "ตลาดทดสอบ", "test-zone")
        ]
        thumb = board[0]["snapshots"][0]["thumb"]
        assert (await viewer.get("/api/ccoc/board?kind=alarm")).status == 200
        assert await (await viewer.get("/api/ccoc/board?kind=alarm")).json() == []
        assert await (await viewer.get("/api/ccoc/board?zone=other")).json() == []
        # A viewer sees the board but no pictures; an operator's look is audited with the incident as reason.
        assert (await viewer.get(thumb)).status == 403
        picture = await op.get(thumb)
        assert picture.status == 200 and (await picture.read())[:2] == b"\xff\xd8"

        # Acknowledge: goes to the hub through federation; the hub's incident shows who.
        ack = await op.post(f"/api/ccoc/incidents/test-hub/{inc.id}/ack", json={})
        assert ack.status == 202, await ack.text()
        assert (await ack.json())["state"] == "sent"
        await until(lambda: _hub_status(hub, inc.id, "acknowledged"))
        got = await hub.data[INCIDENT_RUNTIME].get(inc.id)
        assert "somchai" in (got.acknowledged_by or "")
        await until(lambda: _board_status(console, inc.id, "acknowledged"))
        # The command's result is its own message: the incident update (urgent) may be stored first.
        await until(lambda: _command_state(console, inc.id, "ok"))
        cmd = (await console.delivery.commands(incident_id=inc.id))[0]
        assert (cmd["command"], cmd["state"]) == ("incident.ack", "ok")

        # Dispatch needs a unit; a listed one or free text.
        bad = await op.post(f"/api/ccoc/incidents/test-hub/{inc.id}/dispatch", json={"unit": ""})
        assert bad.status == 400 and "unit" in (await bad.json())["error"]
        ok = await op.post(f"/api/ccoc/incidents/test-hub/{inc.id}/dispatch", json={"unit": "สายตรวจ 1"})
        assert ok.status == 202
        await until(lambda: _hub_status(hub, inc.id, "dispatched"))
        timeline = (await hub.data[INCIDENT_RUNTIME].get(inc.id)).timeline
        assert timeline[-1].data == {"unit": "สายตรวจ 1"}
        assert (
            await viewer.post(f"/api/ccoc/incidents/test-hub/{inc.id}/note", json={"text": "x"})
        ).status == 403

        # Views: no reason → refused; with a reason → audited here and mirrored to the owner's hub.
        no_reason = await op.post(
            "/api/ccoc/views", json={"hub_id": "test-hub", "entity_id": "camera.gate_always"}
        )
        assert no_reason.status == 400 and "reason" in (await no_reason.json())["error"]
        registry_only = await op.post(
            "/api/ccoc/views",
            json={"hub_id": "test-hub", "entity_id": "camera.shop_registry", "reason": "ตามหาคนร้าย"},
        )
        assert registry_only.status == 403 and "081-000-0000" in (await registry_only.json())["error"]
        never = await op.post(
            "/api/ccoc/views", json={"hub_id": "test-hub", "entity_id": "camera.home_never", "reason": "x"}
        )
        assert never.status == 404  # the station does not even know it exists
        view = await op.post(
            "/api/ccoc/views",
            json={
                "hub_id": "test-hub",
                "entity_id": "camera.gate_always",
                "reason": "ตรวจสอบเหตุ SOS",
                "incident_id": inc.id,
            },
        )
        assert view.status == 201, await view.text()
        body = await view.json()
        assert len(body["images"]) == 1
        image = await op.get(body["images"][0]["url"])
        assert image.status == 200 and image.headers["Cache-Control"] == "private, no-store"
        async with await session(station, "operator", "other-officer") as other:
            assert (await other.get(body["images"][0]["url"])).status == 404  # a grant is personal

        station_entries = await station.audit.query(action="station.camera.view")
        reasons = [e.detail.get("reason") for e in station_entries if e.result == "ok"]
        assert "ตรวจสอบเหตุ SOS" in reasons and f"incident {inc.id}" in reasons

        async def mirrored() -> list[Any]:
            entries = await hub.audit.query(action="camera.view")
            return [
                e for e in entries if e.source == "station" and e.detail.get("reason") == "ตรวจสอบเหตุ SOS"
            ]

        mirror = (await until(mirrored))[0]
        assert mirror.actor == "station:test-station/somchai" and mirror.target == "camera.gate_always"
        assert mirror.detail["incident_id"] == inc.id and mirror.detail["view_id"] == body["view_id"]
        assert len(await hub.audit.query(action="camera.view")) > hub_audit_before

        # The incident page merges both timelines and lists cameras with what the policy allows.
        detail = await (await viewer.get(f"/api/ccoc/incidents/test-hub/{inc.id}")).json()
        sources = {(e["source"], e["kind"]) for e in detail["timeline"]}
        assert {
            ("hub", "opened"),
            ("hub", "acknowledged"),
            ("station", "incident.ack"),
            ("station", "camera.view"),
        } <= sources
        actions = {c["entity_id"]: c["actions"] for c in detail["cameras"]}
        assert actions["camera.gate_always"][:1] == ["view"] and actions["camera.shop_registry"] == ["call"]
        assert "camera.home_never" not in actions
        page = await (await op.get(f"/ccoc/incidents/test-hub/{inc.id}")).text()
        assert 'class="btn btn-small btn-primary ccoc-view"' in page

        # Closing removes it from the board.
        assert (
            await op.post(f"/api/ccoc/incidents/test-hub/{inc.id}/close", json={"text": "จบ"})
        ).status == 202
        await until(lambda: _hub_status(hub, inc.id, "closed"))
        await until(lambda: _board_empty(console))
        again = await op.post(f"/api/ccoc/incidents/test-hub/{inc.id}/ack", json={})
        assert again.status == 409


async def test_offline_hub_queues_incident_actions_and_refuses_device_commands(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", hub_extra="light:\n  - {id: gate_lamp, simulated: true}\n"
    )
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS", place="ประตู")
    assert await hub.data[FEDERATION_RUNTIME].outbox.wait_empty(10)
    console = station.data[CCOC_RUNTIME]
    await until(lambda: console.item("test-hub", inc.id))
    await hub.stop()
    await until(lambda: not console.delivery.hub_online("test-hub"))

    async with await session(station, "operator") as op:
        flash = await op.post(
            "/api/ccoc/hubs/test-hub/commands",
            json={"command": "light.flash", "data": {"entity_id": "light.gate_lamp"}},
        )
        body = await flash.json()
        assert flash.status == 409 and "offline" in body["error"] and body["hub_status"] == "offline"
        queued = await op.post(f"/api/ccoc/incidents/test-hub/{inc.id}/ack", json={"text": "รับทราบ"})
        assert queued.status == 202 and (await queued.json())["state"] == "queued"
        item = await console.item("test-hub", inc.id)
        assert item is not None and [p["state"] for p in item["pending"]] == ["queued"]
        refusals = await station.audit.query(action="station.command")
        assert any(e.result == "refused" and "offline" in e.detail["error"] for e in refusals)

    # The hub comes back: the queued acknowledgement is delivered and carried out.
    back = await make_hub(federation_lab.hub_block() + "light:\n  - {id: gate_lamp, simulated: true}\n")
    await until(lambda: _hub_status(back, inc.id, "acknowledged"), within=15)
    await until(lambda: _command_state(console, inc.id, "ok"))


async def test_every_console_route_checks_the_role(make_hub: Any, federation_lab: FederationLab) -> None:
    from integrations.federation.testing import station_config

    station = await make_hub(federation_lab.station_block(), base=station_config())
    needed: dict[str, str] = {}
    from integrations.ccoc.web import routes
    from integrations.station.api import routes as federation_routes

    # Every station route: the console's and the federation API's.
    for route in [*routes(station), *federation_routes(station)]:
        needed[f"{route.method} {route.path}"] = route.role
    assert set(needed.values()) <= {"viewer", "operator", "supervisor"}
    order = ["viewer", "operator", "supervisor", "admin"]
    clients = {role: await session(station, role) for role in order}
    anonymous = aiohttp.ClientSession(base_url=station.http.url)
    try:
        for key, role in needed.items():
            method, path = key.split(" ", 1)
            url = (
                path.replace("{hub_id}", "test-hub")
                .replace("{incident_id}", "01JZZZZZZZZZZZZZZZZZZZZZZZ")
                .replace("{msg_id}", "01JZZZZZZZZZZZZZZZZZZZZZZZ")
                .replace("{view_id}", "01JZZZZZZZZZZZZZZZZZZZZZZZ")
                .replace("{action}", "ack")
                .replace("{command_id}", "01JZZZZZZZZZZZZZZZZZZZZZZZ")
            )
            resp = await anonymous.request(method, url, json={} if method == "POST" else None)
            assert resp.status == 401, (key, resp.status)
            for index, who in enumerate(order):
                resp = await clients[who].request(method, url, json={} if method == "POST" else None)
                allowed = index >= order.index(role)
                assert (resp.status != 403) == allowed, (key, who, resp.status, await resp.text())
    finally:
        await anonymous.close()
        for client in clients.values():
            await client.close()


async def _registry(console: Any) -> bool:
    console.hubs.invalidate()
    item = await console.hubs.get("test-hub")
    return bool(item and (item.get("registry") or {}).get("cameras"))


async def _hub_status(hub: Hub, incident_id: str, status: str) -> bool:
    return (await hub.data[INCIDENT_RUNTIME].get(incident_id, timeline=False)).status == status


async def _board_status(console: Any, incident_id: str, status: str) -> bool:
    item = await console.item("test-hub", incident_id)
    return bool(item and item["status"] == status)


async def _board_empty(console: Any) -> bool:
    return await console.board() == []


async def _command_state(console: Any, incident_id: str, state: str) -> bool:
    rows = await console.delivery.commands(incident_id=incident_id)
    return bool(rows) and rows[0]["state"] == state


async def test_hubs_map_and_audit_pages(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str
) -> None:
    hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", hub_extra=cams)
    console = station.data[CCOC_RUNTIME]
    await until(lambda: _registry(console))
    inc = await _sos_with_picture(hub, station)
    async with await session(station, "supervisor", "sup") as sup, await session(station, "operator") as op:
        view = await op.post(
            "/api/ccoc/views",
            json={"hub_id": "test-hub", "entity_id": "camera.gate_always", "reason": '=HYPERLINK("x") ดูภาพ'},
        )
        assert view.status == 201
        board = await (await op.get("/api/ccoc/board")).json()
        assert (await op.get(board[0]["snapshots"][0]["thumb"])).status == 200
        assert board[0]["pending"] == []  # audit copies are not shown as the officer's pending actions
        # LINE deliveries and LINE acknowledgements are listed on the incident.
        await hub.data[INCIDENT_RUNTIME].note(inc.id, "LINE push → big6", by="line", kind="line")
        await hub.data[INCIDENT_RUNTIME].ack(inc.id, by="line:U1234567890")

        async def line_listed() -> list[Any]:
            detail = await (await op.get(f"/api/ccoc/incidents/test-hub/{inc.id}")).json()
            return detail["line"] if len(detail["line"]) == 2 else []

        assert [e["actor"] for e in await until(line_listed)] == ["line", "line:U1234567890"]

        hubs = await (await sup.get("/ccoc/hubs")).text()
        assert 'data-hub-status="test-hub">ออนไลน์<' in hubs and "แชร์ตลอดเวลา: 1" in hubs
        one = await (await sup.get("/ccoc/hubs/test-hub")).text()
        assert (
            'id="ccoc-command-form"' in one
            and "incident.dispatch" in one
            and '<option value="audit.station_view">' not in one
        )
        assert (await sup.get("/ccoc/hubs/nope")).status == 404

        page = await (await sup.get("/ccoc/map")).text()
        assert 'class="map-zone"' in page and 'class="map-community"' in page and "ชุมชนตลาดสด" in page
        assert page.count('class="map-camera"') == 3 and page.count('class="map-hub"') == 1
        assert 'data-state="always"' in page and "camera.home_never" not in page
        assert (await sup.get("/api/ccoc/map.svg")).headers["Content-Type"].startswith("image/svg+xml")

        audit = await (await sup.get("/ccoc/audit?action=station.camera.view&hub_id=test-hub")).text()
        assert "camera.gate_always" in audit and "ดูภาพ" in audit
        rows = await (await sup.get("/api/ccoc/audit?camera=camera.gate_always")).json()
        assert rows and all(r["camera"] == "camera.gate_always" for r in rows)
        assert await (await sup.get("/api/ccoc/audit?hub_id=other-hub")).json() == []
        assert (await sup.get("/api/ccoc/audit?from=yesterday")).status == 400
        csv_resp = await sup.get("/api/ccoc/audit.csv?action=station.camera.view")
        raw = await csv_resp.read()
        assert raw.startswith("\ufeff".encode()) and csv_resp.headers["Content-Type"].startswith("text/csv")
        text = raw.decode("utf-8-sig")
        assert "ดูภาพ" in text and "'=HYPERLINK" in text and f"incident {inc.id}" in text
        assert text.splitlines()[0].startswith("id,time,actor")
        assert (await op.get("/api/ccoc/audit.csv")).status == 403
        exports = await station.audit.query(action="station.audit.export")
        assert exports and exports[0].actor == "sup"
