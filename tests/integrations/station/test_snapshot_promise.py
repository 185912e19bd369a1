"""The owner's promise at the station's REST snapshot route (issue 15 items 11 and 12).

Every picture fetched through ``/api/hubs/{hub}/snapshots/{id}.jpg`` is mirrored to the owner's
hub audit, like a console view; once an ``on_alarm`` camera's window has closed, neither that
route nor the board thumbnails serve its stored pictures.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.hub import Hub
from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.testing import CAMERA_PASSWORD, FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.integrations.ccoc.test_console import CAMS, STATION_CONSOLE, TESTCAMS, _registry, session


@pytest.fixture
def cams(config_dir: Path) -> str:
    """The console tests' cameras (one per share policy), installed in the hub's config folder."""
    shutil.copytree(TESTCAMS, config_dir / "plugins" / "testcams")
    (config_dir / "secrets.yaml").write_text(f"cam_pw: {CAMERA_PASSWORD}\n", encoding="utf-8")
    return CAMS


async def _pictures(hub: Hub, station: Hub, cameras: list[str]) -> tuple[Any, dict[str, str]]:
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ร้านทอง", place="แผง 3")
    for entity_id in cameras:
        await hub.services.call("camera", "snapshot", {"entity_id": entity_id, "incident_id": inc.id})
    st = station.data[STATION_RUNTIME]

    async def arrived() -> dict[str, str] | None:
        found = await st.store.incident(inc.id, "test-hub")
        snaps = {s["entity_id"]: s["id"] for s in (found or {}).get("snapshots") or []}
        return snaps if len(snaps) == len(cameras) else None

    return inc, await until(arrived)


async def _mirrored(hub: Hub, reason: str) -> list[Any]:
    entries = await hub.audit.query(action="camera.view")
    return [e for e in entries if e.source == "station" and e.detail.get("reason") == reason]


async def test_rest_pictures_are_mirrored_and_end_with_the_window(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, cams: str, clock: Any
) -> None:
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", hub_extra=cams, station_extra=STATION_CONSOLE
    )
    console = station.data[CCOC_RUNTIME]
    await until(lambda: _registry(console))
    inc, snaps = await _pictures(hub, station, ["camera.gate_always", "camera.stall_alarm"])
    board = await console.board()
    thumbs = {s["entity_id"]: s["thumb"] for s in board[0]["snapshots"]}

    async with await session(station, "operator", "somchai") as op:
        url = f"/api/hubs/test-hub/snapshots/{snaps['camera.stall_alarm']}.jpg"
        assert (await op.get(url)).status == 400  # still needs a reason
        got = await op.get(url, params={"reason": "ดูภาพคนร้าย"})
        assert got.status == 200 and (await got.read())[:2] == b"\xff\xd8"
        # item 11: the owner's hub sees who looked, at what and why
        [mirror] = await until(lambda: _mirrored(hub, "ดูภาพคนร้าย"))
        assert mirror.actor == "station:test-station/somchai" and mirror.target == "camera.stall_alarm"
        assert mirror.detail["incident_id"] == inc.id
        assert (await op.get(thumbs["camera.stall_alarm"])).status == 200

        # item 12: the incident closes, the camera's window (on_alarm_minutes after closing) runs out
        await hub.data[INCIDENT_RUNTIME].close(inc.id, by="แม่ค้า")
        await until(lambda: _closed_at_station(station, inc.id))
        assert (await op.get(url, params={"reason": "ดูอีกครั้ง"})).status == 200  # inside the window
        await clock.advance(31 * 60)
        late = await op.get(url, params={"reason": "ดูหลังปิดเหตุ"})
        assert late.status == 403, await late.text()
        assert (await op.get(thumbs["camera.stall_alarm"])).status == 403
        refused = [
            e
            for e in await station.audit.query(action="station.snapshot.view")
            if e.result != "ok" and e.detail.get("reason") == "ดูหลังปิดเหตุ"
        ]
        assert refused, "the refusal is audited at the station"
        # an ``always`` camera's pictures are not bound to a window
        always = f"/api/hubs/test-hub/snapshots/{snaps['camera.gate_always']}.jpg"
        assert (await op.get(always, params={"reason": "หลักฐาน"})).status == 200


async def _closed_at_station(station: Hub, incident_id: str) -> bool:
    found = await station.data[STATION_RUNTIME].store.incident(incident_id, "test-hub")
    return bool(found and found["status"] == "closed")
