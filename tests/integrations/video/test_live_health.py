"""Per-camera health at the station: the hub's health report shows each stream on the console."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, until
from integrations.federation.testing import federation_lab as federation_lab  # the fixture
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.integrations.video.live_lab import live_pair, officer, open_view, read_stream


async def test_console_shows_each_cameras_stream_health(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, ipycam: Any
) -> None:
    hub, station = await live_pair(
        make_hub,
        federation_lab,
        tmp_path,
        cameras={"gate": (ipycam.rtsp_url, "always"), "dead": ("rtsp://127.0.0.1:9/none", "always")},
    )
    from integrations.video.const import RUNTIME as VIDEO_RUNTIME

    runtime = hub.data[VIDEO_RUNTIME]
    dead = runtime.restream("camera.dead", "main").subscribe()  # a camera that does not answer
    op, _token = await officer(station)
    async with op:
        view = await open_view(op, "camera.gate")
        resp = await op.get(view["live_url"] + "?profile=main")
        await read_stream(resp, 10_000)
        await until(lambda: runtime.restream("camera.gate", "main").status.fps, 10)
        await until(lambda: runtime.restream("camera.dead", "main").status.state == "offline", 15)
        await hub.data[FEDERATION_RUNTIME].send_health()

        async def reported() -> dict[str, Any]:
            item = await station.data[STATION_RUNTIME].store.hub("test-hub")
            cams = (((item or {}).get("health") or {}).get("info") or {}).get("video", {}).get(
                "cameras"
            ) or {}
            return cams if "camera.gate" in cams and "camera.dead" in cams else {}

        cams = await until(reported, 10)
        assert cams["camera.gate"]["online"] is True and cams["camera.gate"]["fps"] > 0
        assert cams["camera.dead"]["online"] is False
        station.data[CCOC_RUNTIME].hubs.invalidate()
        page = await (await op.get("/ccoc/hubs/test-hub")).text()
        gate = page[page.index('id="cam-test-hub-camera.gate"') :]
        gate = gate[: gate.index("</tr>")]
        assert 'data-online="yes"' in gate and re.search(r"[\d.]+ fps", gate) and "kbit/s" in gate
        dead_row = page[page.index('id="cam-test-hub-camera.dead"') :]
        assert 'data-online="no"' in dead_row[: dead_row.index("</tr>")]
        resp.close()
    dead.close()
