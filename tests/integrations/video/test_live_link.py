"""Live video from a hub behind NAT to the CCOC: real Mosquitto, real station and hub, ipycam's RTSP.

The hub opens no port: it dials out to the station's web server when the
station asks over federation, and the station relays one upstream per
camera to every officer holding a grant.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from pathlib import Path
from typing import Any, cast

import aiohttp

from integrations.ccoc.live import LIVE
from integrations.federation.const import LIVE_UPLINK_PATH
from integrations.federation.testing import HUB_PASSWORDS, FederationLab, until
from integrations.federation.testing import federation_lab as federation_lab  # the fixture
from integrations.video.const import RUNTIME as VIDEO_RUNTIME
from integrations.video.mp4 import BoxReader
from integrations.video.uplink import LIVE_UPLINKS
from tests.integrations.video.live_lab import audit_details, live_pair, officer, open_view, read_stream


async def test_officer_watches_live_ffprobe_reads_it_and_both_sides_audit(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, ipycam: Any, ffprobe: str
) -> None:
    hub, station = await live_pair(
        make_hub, federation_lab, tmp_path, cameras={"gate": (ipycam.rtsp_url, "always")}
    )
    op, token = await officer(station)
    async with op:
        view = await open_view(op, "camera.gate", "ตามหาคนร้ายชิงทอง")
        assert view["live_url"] == f"/api/ccoc/views/{view['view_id']}/live.mp4"
        again = await (await op.get(f"/api/ccoc/views/{view['view_id']}")).json()
        assert again["live_url"] == view["live_url"]

        # ffprobe, with the holder's credentials, reads the stream as H.264 in MP4.
        probe = await asyncio.to_thread(
            subprocess.run,
            [
                ffprobe,
                "-v",
                "error",
                "-headers",
                f"Authorization: Bearer {token}\r\n",
                "-show_streams",
                "-of",
                "json",
                station.http.url + view["live_url"],
            ],
            capture_output=True,
            timeout=40,
        )
        assert probe.returncode == 0, probe.stderr.decode()
        stream = json.loads(probe.stdout)["streams"][0]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 320, 240)

        # While a player reads: one upstream, the owner's page says who watches and why.
        resp = await op.get(view["live_url"])
        assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
        assert resp.headers["X-Content-Codecs"].startswith("avc1.")
        data = await read_stream(resp, 20_000)
        kinds = [k for k, _ in BoxReader().feed(data)]
        assert kinds[:3] == [b"ftyp", b"moov", b"moof"]
        async with aiohttp.ClientSession(
            base_url=hub.http.url, headers={"Authorization": f"Bearer {await _hub_token(hub)}"}
        ) as owner:
            watching = await (await owner.get("/api/federation/live?entity_id=camera.gate")).json()
            assert [(w["officer"], w["reason"]) for w in watching["watching"]] == [
                ("somchai", "ตามหาคนร้ายชิงทอง")
            ]
            page = await (await owner.get("/cameras/camera.gate")).text()
            assert 'id="camera-watchers"' in page and "/api/federation/live?entity_id=camera.gate" in page
            status = await (await op.get(view["live_status_url"])).json()
            assert status["state"] == "live" and status["viewers"] == 1
            resp.close()
            # The last viewer left: the hub's uplink ends within about a second (the station
            # notices a silent player within a second, a written one at once).
            left = asyncio.get_running_loop().time()
            await until(lambda: not hub.data[LIVE_UPLINKS].active, 3)
            assert asyncio.get_running_loop().time() - left < 1.5
            await until(lambda: not station.data[LIVE].streams, 3)
            watching = await (await owner.get("/api/federation/live?entity_id=camera.gate")).json()
            assert watching["watching"] == []

    # Station: each viewer's start and stop, and the upstream's.
    station_live = await station.audit.query(action="station.camera.live")
    assert len(audit_details(station_live, "start")) == 2  # ffprobe, then the player
    assert {d["why"] for d in audit_details(station_live, "stop")} == {"left"}
    assert audit_details(station_live, "upstream_stop")

    # Hub: the policy hand-out and the uplink start/stop, and the station's mirrored records.
    async def mirrored() -> bool:
        views = await hub.audit.query(action="camera.view")
        live = [e for e in views if (e.detail or {}).get("what") == "live"]
        return len(audit_details(live, "stop")) == 2

    await until(mirrored, 10)
    # (The owner's own look at the camera page is a camera.stream entry too: only the station's here.)
    stream_entries = [e for e in await hub.audit.query(action="camera.stream") if e.source == "station"]
    assert audit_details(stream_entries, "start") and audit_details(stream_entries, "stop")
    assert {e.actor for e in stream_entries} == {"station:test-station/somchai"}, [
        (e.actor, e.detail) for e in stream_entries
    ]


async def test_fifty_viewers_share_one_upstream(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, ipycam: Any
) -> None:
    hub, station = await live_pair(
        make_hub, federation_lab, tmp_path, cameras={"gate": (ipycam.rtsp_url, "always")}
    )
    sessions = []
    views = []
    for n in range(5):
        op, _token = await officer(station, f"officer-{n}")
        sessions.append(op)
        views.append(await open_view(op, "camera.gate", f"เฝ้าระวัง {n}"))
    responses = []
    try:
        for i in range(50):
            op, view = sessions[i % 5], views[i % 5]
            responses.append(await op.get(view["live_url"]))
        datas = await asyncio.gather(*(read_stream(r, 8_000, 30) for r in responses))
        for data in datas:
            kinds = [k for k, _ in BoxReader().feed(data)]
            assert kinds[:3] == [b"ftyp", b"moov", b"moof"]  # everyone starts with init, then a keyframe
        relay = station.data[LIVE]
        assert len(relay.streams) == 1
        (up,) = relay.streams.values()
        assert len(up.viewers) == 50
        assert len(hub.data[LIVE_UPLINKS].active) == 1
        restream = hub.data[VIDEO_RUNTIME].restream("camera.gate", "main")
        assert restream.status.subscribers == 1  # still one pull from the camera
    finally:
        for r in responses:
            r.close()
        for op in sessions:
            await op.close()
    await until(lambda: not station.data[LIVE].streams, 5)


async def test_grant_that_expires_mid_stream_ends_the_stream(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, ipycam: Any, clock: Any
) -> None:
    hub, station = await live_pair(
        make_hub, federation_lab, tmp_path, cameras={"gate": (ipycam.rtsp_url, "always")}
    )
    op, _token = await officer(station)
    async with op:
        view = await open_view(op, "camera.gate")
        resp = await op.get(view["live_url"])
        await read_stream(resp, 10_000)
        await clock.advance(601)  # the station's grant is 600 s
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def drain() -> None:
            async for _chunk in resp.content.iter_any():
                pass

        await asyncio.wait_for(drain(), 5)
        assert loop.time() - started < 1.5  # within a second of the expiry (the watchdog ticks 4×/s)
        status = await (await op.get(view["live_status_url"])).json()
        assert status["state"] == "expired"
        again = await op.get(view["live_url"])
        assert again.status == 403
    await until(lambda: not hub.data[LIVE_UPLINKS].active, 3)
    stops = audit_details(await station.audit.query(action="station.camera.live"), "stop")
    assert [d["why"] for d in stops] == ["grant_expired"]


async def test_owner_policy_refuses_with_the_reason(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, ipycam: Any, clock: Any
) -> None:
    # An on_alarm camera: the station still shows the incident open, but its window at the hub
    # (at most on_alarm_max_hours after it opened) has passed.  The hub decides, and says why.
    hub, station = await live_pair(
        make_hub,
        federation_lab,
        tmp_path,
        cameras={"stall": (ipycam.rtsp_url, "on_alarm")},
        hub_clock_real=False,
    )
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    await until(lambda: station.data[STATION_RUNTIME].store.incident(inc.id, "test-hub"), 10)
    from integrations.camera.entity import CameraEntity

    hub.entities.get("camera.stall", CameraEntity).on_alarm_max_hours = 0.01  # 36 s, not 24 h
    await clock.advance(60)
    op, _token = await officer(station)
    async with op:
        view = await open_view(op, "camera.stall", "เหตุ SOS")
        resp = await op.get(view["live_url"])
        body = await resp.json()
        assert resp.status == 403, body
        assert body["code"] == "outside_alarm_window"
        status = await (await op.get(view["live_status_url"])).json()
        assert status["state"] == "refused" and status["reason_text"]
    refused = [e for e in await hub.audit.query(action="camera.stream") if e.result == "refused"]
    assert refused and refused[0].detail["reason"] == "outside_alarm_window"
    assert not hub.data[LIVE_UPLINKS].active


async def test_uplink_with_a_wrong_or_foreign_credential_is_refused(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    # No camera needed: the station refuses before any media flows.
    hub, station = await live_pair(make_hub, federation_lab, tmp_path)
    relay = station.data[LIVE]
    # A stream the station asked test-hub for (put in place directly: the hub is not asked, so only
    # the dialers below knock).
    from integrations.ccoc.live import Upstream

    up = Upstream("test-hub", "camera.gate", "sub", "01JD0000000000000000000000", 0.0)
    relay.streams[up.key] = up
    relay.by_id[up.stream_id] = up
    url = station.http.url + LIVE_UPLINK_PATH

    async def dial(user: str, password: str, stream: str, camera: str = "camera.gate") -> int:
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(
                    url,
                    params={"stream": stream, "camera": camera},
                    headers={"Authorization": f"Basic {auth}"},
                ) as ws:
                    await ws.close()
                    return 101
            except aiohttp.WSServerHandshakeError as err:
                return err.status

    assert await dial("test-hub", "wrong-password", up.stream_id) == 401
    # hub-b is a real hub at this station with its own valid password: test-hub's token is not its.
    assert await dial("hub-b", HUB_PASSWORDS["hub-b"], up.stream_id) == 403
    assert await dial("test-hub", HUB_PASSWORDS["test-hub"], "01JD9999999999999999999999") == 403
    assert await dial("test-hub", HUB_PASSWORDS["test-hub"], up.stream_id, "camera.other") == 403
    assert await dial("nobody", "x", up.stream_id) == 401
    assert up.ws is None and up.state == "starting"  # nothing was accepted
    # Nor can an operator start a stream from the command panel: only through a reasoned view.
    op, _token = await officer(station)
    async with op:
        bare = await op.post(
            "/api/ccoc/hubs/test-hub/commands",
            json={"command": "camera.live", "data": {"entity_id": "camera.gate"}},
        )
        assert bare.status == 400 and "reasoned view" in (await bare.json())["error"]
    refused = [e for e in await station.audit.query(action="station.camera.live") if e.result == "refused"]
    # Five refusals, four reasons: the same caller knocking for the same reason is audited once a minute.
    assert len(refused) == 4
    assert relay.refused_uplinks == 5
    assert all("password" not in json.dumps(e.detail) for e in refused)


async def _hub_token(hub: Any) -> str:
    user = await hub.auth.user_by_name("owner")
    if user is None:
        user = await hub.auth.add_user("owner", "correct horse battery", "admin")
    return str(await hub.auth.create_token(user, "test"))


async def test_camera_that_drops_mid_stream_shows_offline_and_resumes_by_itself(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    from tests.integrations.onvif.conftest import _start_ipycam, _stop

    first = await asyncio.to_thread(_start_ipycam, "--fix-ptz-ns", "--preauth-time")
    second = None
    try:
        hub, station = await live_pair(
            make_hub, federation_lab, tmp_path, cameras={"gate": (first.rtsp_url, "always")}
        )
        op, _token = await officer(station)
        async with op:
            view = await open_view(op, "camera.gate")
            resp = await op.get(view["live_url"])
            await read_stream(resp, 10_000)
            received = bytearray()

            async def keep_reading() -> None:
                async for chunk in resp.content.iter_any():
                    received.extend(chunk)

            reader = asyncio.ensure_future(keep_reading())
            loop = asyncio.get_running_loop()
            await asyncio.to_thread(_stop, first)  # the camera loses power
            dropped = loop.time()

            async def state() -> str:
                return str((await (await op.get(view["live_status_url"])).json())["state"])

            await until(lambda: _is(state(), "offline"), 5)
            assert loop.time() - dropped <= 5  # viewers are told within 5 s
            assert not reader.done()  # the player's stream stays open: nothing hangs, nothing ends

            # The camera comes back (here on a new port): the restream picks it up by itself.
            second = await asyncio.to_thread(_start_ipycam, "--fix-ptz-ns", "--preauth-time")
            cast(Any, hub.entities.get("camera.gate")).main = second.rtsp_url
            before = len(received)
            await until(lambda: _is(state(), "live"), 30)
            await until(lambda: len(received) > before + 5_000, 10)
            kinds = [k for k, _ in BoxReader().feed(bytes(received[before:]))]
            assert b"moov" in kinds  # a new init segment, then fragments again
            reader.cancel()
            resp.close()
    finally:
        if first.proc.poll() is None:
            await asyncio.to_thread(_stop, first)
        if second is not None:
            await asyncio.to_thread(_stop, second)


async def _is(value: Any, expected: str) -> bool:
    return bool(await value == expected)


async def test_a_viewer_after_the_pull_stopped_gets_no_stale_pictures(make_hub: Any, ipycam: Any) -> None:
    # The station's next officer must see the camera now, not the GOP cached before the pull stopped.
    from tests.integrations.video.conftest import VIDEO_BLOCK, add_stream_camera

    hub = await make_hub(VIDEO_BLOCK, real_clock=True)
    add_stream_camera(hub, "gate", ipycam.rtsp_url)
    restream = hub.data[VIDEO_RUNTIME].restream("camera.gate")
    async with restream.subscribe() as sub:
        first = await asyncio.wait_for(sub.next_item(), 20)
        while not hasattr(await asyncio.wait_for(sub.next_item(), 20), "keyframe"):
            pass
    await until(lambda: not restream.running, 5)
    async with restream.subscribe() as sub:
        again = await asyncio.wait_for(sub.next_item(), 20)
    assert again.session != first.session  # a fresh init from the new pull, not the old one


async def test_hub_offline_is_said_plainly_in_thai(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, ipycam: Any
) -> None:
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    hub, station = await live_pair(
        make_hub, federation_lab, tmp_path, cameras={"gate": (ipycam.rtsp_url, "always")}
    )
    op, _token = await officer(station)
    async with op:
        view = await open_view(op, "camera.gate", "ตรวจสอบ")
        await hub.stop()  # the shop's line is down
        ingest = station.data[STATION_RUNTIME].ingest
        # The hub says "offline" as it stops; on a loaded machine that can take a while to land.
        await until(lambda: ingest.statuses["test-hub"].status != "online", 30)
        resp = await op.get(view["live_url"])
        body = await resp.json()
        assert resp.status == 409 and body["code"] == "hub_offline"
        status = await (await op.get(view["live_status_url"], headers={"Accept-Language": "th"})).json()
        assert status["state"] == "failed" and "ฮับออฟไลน์" in status["reason_text"]
        # Someone else's view: refused in the officer's language, with no detail about it.
        other, _t = await officer(station, "other")
        async with other:
            page = await other.get(view["live_page"], headers={"Accept-Language": "th"})
            assert page.status == 404 and "ไม่สำเร็จ" in await page.text()


async def test_a_hub_that_turned_live_off_refuses_and_the_officer_is_told(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, ipycam: Any
) -> None:
    hub, station = await live_pair(
        make_hub,
        federation_lab,
        tmp_path,
        cameras={"gate": (ipycam.rtsp_url, "always")},
        hub_opts={"commands": {"allow": ["light.flash", "camera.snapshot"]}},
    )
    op, _token = await officer(station)
    async with op:
        view = await open_view(op, "camera.gate")
        resp = await op.get(view["live_url"])
        body = await resp.json()
        assert resp.status == 403 and body["code"] == "hub_refused", body
        status = await (await op.get(view["live_status_url"])).json()
        assert status["state"] == "refused" and "ฮับไม่อนุญาตภาพสด" in status["reason_text"]
    assert not hub.data.get(LIVE_UPLINKS) or not hub.data[LIVE_UPLINKS].active


async def test_the_owners_window_closing_mid_stream_ends_it(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, ipycam: Any, clock: Any
) -> None:
    from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
    from integrations.camera.entity import CameraEntity
    from integrations.station.const import RUNTIME as STATION_RUNTIME

    hub, station = await live_pair(
        make_hub,
        federation_lab,
        tmp_path,
        cameras={"stall": (ipycam.rtsp_url, "on_alarm")},
        hub_clock_real=False,
    )
    hub.entities.get("camera.stall", CameraEntity).on_alarm_max_hours = 0.01  # a 36 s window
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS")
    await until(lambda: station.data[STATION_RUNTIME].store.incident(inc.id, "test-hub"), 10)
    op, _token = await officer(station)
    async with op:
        view = await open_view(op, "camera.stall", "เหตุ SOS")
        resp = await op.get(view["live_url"])
        await read_stream(resp, 5_000)
        await clock.advance(40)  # the window closes; the station's grant (600 s) has not ended
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def drain() -> None:
            async for _chunk in resp.content.iter_any():
                pass

        await asyncio.wait_for(drain(), 5)
        assert loop.time() - started < 1.5  # within a second (the hub checks twice a second)
        status = await (await op.get(view["live_status_url"])).json()
        assert status["state"] == "ended" and status["reason"].startswith("window_closed"), status
        assert "เจ้าของอนุญาตสิ้นสุด" in status["reason_text"]
    stops = audit_details(
        [e for e in await hub.audit.query(action="camera.stream") if e.source == "station"], "stop"
    )
    assert stops and stops[0]["why"].startswith("window_closed")
