"""Three stations report to a region through a real Mosquitto; the region ranks them.

Each station ingests what its hub sends (a registry with cameras, SOS incidents
acknowledged after different delays) on its own broker, computes its month
from that stored data, and sends it up through the region link (the hub tier's
outbox) to the region's broker, where the ACL holds each station to its own id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from hub.core.ids import ulid
from integrations.federation.protocol import envelope
from integrations.federation.testing import until
from integrations.region.const import REGION_ROOT
from integrations.region.const import RUNTIME as REGION_RUNTIME
from integrations.region.testing import (
    DEFAULT_PLAN,
    REGION_ID,
    SECRETS,
    RegionLab,
    region_config,
    register_stations,
    start_region,
)
from integrations.region_link.const import RUNTIME as REGION_LINK_RUNTIME

MONTH = "2026-01"
#: What each station's hub does (cameras by policy, seconds each SOS waited for an officer).
PLAN = DEFAULT_PLAN


async def test_three_stations_are_ranked_by_the_documented_weighting(
    region_lab: RegionLab, mosquitto: Any, make_hub: Any, tmp_path: Path, clock: Any
) -> None:
    # Everything the stations send, as the region's broker delivers it.
    async with aiomqtt.Client(
        region_lab.broker.host,
        region_lab.broker.port,
        username="region",
        password=region_lab.passwords["region"],
        identifier=f"tap-{ulid()}",
    ) as tap:
        await tap.subscribe(f"{REGION_ROOT}/{REGION_ID}/#", qos=1)
        region, stations = await start_region(
            make_hub, region_lab, mosquitto, tmp_path, clock, PLAN, ranking={"page_size": 2}
        )
        seen: list[tuple[str, bytes]] = []

        async def drain() -> None:
            async for message in tap.messages:
                seen.append((str(message.topic), bytes(message.payload)))

        pump = asyncio.create_task(drain())
        rg = region.data[REGION_RUNTIME]
        await until(lambda: len(rg.ingest.statuses) == 3 and rg.ingest.stored >= 3 * 2, within=15)
        # One more round changes nothing: only what changed goes up, and nothing is stored twice.
        for st in stations.values():
            assert await st.data[REGION_LINK_RUNTIME].summarise() == 0
        await asyncio.sleep(0.3)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump

    ranking = await rg.ranking(MONTH)
    order = [r["station_id"] for r in ranking["rows"]]
    # The documented weighting (docs/region.md) over what each station's hub did:
    # lopburi: SOS p90 280 s → (600-280)/(600-60) = 59.26 points × 25; trust 4.5/5 → 87.5 × 15;
    #   patrols 90 % → 90 × 15; 2 cameras → 4 × 10: (1481.5 + 1312.5 + 1350 + 40) / 100 = 41.84.
    # angthong: p90 57 s beats the 60 s best → 100 × 25; trust 3.0 → 50 × 15; patrols 50 % → 50 × 15;
    #   4 cameras → 8 × 10: (2500 + 750 + 750 + 80) / 100 = 40.80.
    # singburi: p90 680 s is past the worst → 0; trust 4.0 → 75 × 15; patrols 100 % × 15; one
    #   camera (registry only still counts as linked) → 2 × 10: (1125 + 1500 + 20) / 100 = 26.45.
    # Fear of crime and Big 6 were not reported by anyone: 0 points each, marked missing.
    assert order == ["st-lopburi", "st-angthong", "st-singburi"]
    assert [r["score"] for r in ranking["rows"]] == [41.84, 40.8, 26.45]
    top, second = ranking["rows"][0], ranking["rows"][1]
    assert top["criteria"]["sos_ack_p90"] == {"value": pytest.approx(280.0), "points": 59.26}
    assert top["criteria"]["poll_trust_police"] == {"value": 4.5, "points": 87.5}
    assert second["criteria"]["sos_ack_p90"] == {"value": pytest.approx(57.0), "points": 100.0}
    assert second["criteria"]["cameras_linked"] == {"value": 4.0, "points": 8.0}
    assert ranking["rows"][2]["criteria"]["sos_ack_p90"]["points"] == 0
    assert top["missing"] == ["poll_fear_of_crime", "big6_meeting_held", "big6_resolutions_done"]

    # Incident summaries arrived once each, with the acknowledgement times the hubs saw.
    detail = await rg.station("st-lopburi", MONTH)
    assert detail is not None and detail["incidents"] == {
        "total": 3,
        "sos": 3,
        "sos_unacknowledged": 0,
        "open": 3,
    }
    assert sorted(i["ack_seconds"] for i in detail["recent"]) == [100, 200, 300]
    assert detail["report"]["cameras_by_policy"] == {"always": 1, "on_alarm": 1}

    # A station that stops says so (its retained "offline", as a hub's federation does).
    await stations["st-singburi"].stop()
    await until(lambda: rg.ingest.statuses.get("st-singburi") == "offline")
    attention = (await rg.ranking(MONTH))["attention"]
    assert [(s["id"], s["status"]) for s in attention] == [("st-singburi", "offline")]

    # Never pictures, never personal data: not in any payload the region's broker carried.
    assert seen and {t.rsplit("/", 1)[1] for t, _ in seen} <= {"incident", "monthly", "health", "ack"}
    for name, payload in seen:
        text = payload.decode("utf-8")
        for secret in SECRETS:
            assert secret not in text, (name, secret)
        assert not payload.startswith(b"\xff\xd8")

    # The pages, CSV and PDF from the same data, for a viewer.
    user = await region.auth.add_user("committee", "committee-pass-1", "viewer")
    token = await region.auth.create_token(user, "t")
    async with aiohttp.ClientSession(
        base_url=region.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        async with http.get(f"/api/region/ranking?month={MONTH}") as resp:
            assert resp.status == 200
            assert [r["station_id"] for r in (await resp.json())["rows"]] == order
        async with http.get(f"/region?month={MONTH}") as resp:
            html = await resp.text()
            assert resp.status == 200 and "อันดับสถานีประจำเดือน" in html
            assert html.index('data-station="st-lopburi"') < html.index('data-station="st-angthong"')
            assert '<li data-station="st-singburi" data-status="offline">' in html and "ออฟไลน์" in html
            # Two stations a page (the config says so): the third is on page 2.
            assert 'data-station="st-singburi" data-rank' not in html and "หน้า 1 / 2" in html
        async with http.get(f"/region?month={MONTH}&page=2") as resp:
            assert 'data-station="st-singburi" data-rank="3"' in await resp.text()
        async with http.get(f"/region?month={MONTH}&q=sing") as resp:
            html = await resp.text()
            assert 'data-station="st-singburi" data-rank="3"' in html
            assert 'data-station="st-lopburi" data-rank' not in html
        async with http.get(f"/region/stations/st-lopburi?month={MONTH}") as resp:
            html = await resp.text()
            assert resp.status == 200 and "59.26" in html
            # Every figure of the month, named in Thai: the core ones by the region, the
            # programme's by the plugin that computed them at the hub.
            assert '<tr data-kpi="sos_count"><th scope="row">จำนวน SOS</th>' in html
            assert '<tr data-kpi="poll_trust_police"><th scope="row">ความเชื่อมั่นต่อตำรวจ</th>' in html
        async with http.get(f"/region/ranking.csv?month={MONTH}") as resp:
            text = (await resp.read()).decode("utf-8-sig")
            rows = text.splitlines()
            assert rows[3].startswith("1,สถานี st-lopburi,st-lopburi,41.84,280,59.26,4.5,87.5,")
            assert rows[5].startswith("3,")
        async with http.get(f"/region/ranking.pdf?month={MONTH}") as resp:
            body = await resp.read()
            assert resp.status == 200 and body.startswith(b"%PDF-") and b"/Type /Page" in body
        async with http.get("/region?month=2026-13") as resp:
            assert resp.status == 400


async def test_bad_kpis_are_refused_named_and_never_blind_the_region(
    region_lab: RegionLab, mosquitto: Any, make_hub: Any, tmp_path: Path, clock: Any
) -> None:
    region, _stations = await start_region(make_hub, region_lab, mosquitto, tmp_path, clock, PLAN)
    rg = region.data[REGION_RUNTIME]
    await until(lambda: rg.ingest.stored >= 6, within=15)
    before = (await rg.store.month(MONTH))["st-lopburi"]["kpis"]
    bad_id = ulid()
    bad = envelope(
        bad_id,
        REGION_ID,
        "st-lopburi",
        "monthly",
        clock.time() + 5,
        {"month": MONTH, "kpis": {"sos_ack_p90": "fast"}},
    )
    sneaky = envelope(
        ulid(),
        REGION_ID,
        "st-lopburi",
        "monthly",
        clock.time() + 6,
        {"month": MONTH, "kpis": {}, "respondent_phones": ["0812345678"]},
    )
    async with aiomqtt.Client(
        region_lab.broker.host,
        region_lab.broker.port,
        username="st-lopburi",
        password=region_lab.passwords["st-lopburi"],
        identifier=f"bad-{ulid()}",
    ) as client:
        await client.subscribe(f"{REGION_ROOT}/{REGION_ID}/st-lopburi/ack")
        await client.publish(f"{REGION_ROOT}/{REGION_ID}/st-lopburi/monthly", b"{not json", qos=1)
        await client.publish(f"{REGION_ROOT}/{REGION_ID}/st-lopburi/monthly", bad + b"\n" + sneaky, qos=1)
        async for message in client.messages:
            ack = json.loads(bytes(message.payload))
            if any(r["id"] == bad_id for r in ack["rejected"]):
                break
    assert "kpis.sos_ack_p90" in next(r["reason"] for r in ack["rejected"] if r["id"] == bad_id)
    assert rg.ingest.rejected_by_station["st-lopburi"] == 3

    async def named() -> bool:
        rows = {s["id"]: s for s in await rg.store.stations()}
        return rows["st-lopburi"]["rejected"] == 3

    await until(named)
    row = {s["id"]: s for s in await rg.store.stations()}["st-lopburi"]
    # The last of the three smuggled a field in; the API keeps the English reason too.
    assert (
        row["last_reject_code"] == "schema" and row["last_reject_field"] == "monthly.body.respondent_phones"
    )
    assert "Extra inputs are not permitted" in row["last_reject"]

    await until(named)
    # The last good figures stay; the other stations are still ranked.
    assert (await rg.store.month(MONTH))["st-lopburi"]["kpis"] == before
    ranking = await rg.ranking(MONTH)
    assert [r["station_id"] for r in ranking["rows"]] == ["st-lopburi", "st-angthong", "st-singburi"]
    assert [s["id"] for s in ranking["refused"]] == ["st-lopburi"]
    user = await region.auth.add_user("committee", "committee-pass-1", "viewer")
    token = await region.auth.create_token(user, "t")
    async with (
        aiohttp.ClientSession(base_url=region.http.url, headers={"Authorization": f"Bearer {token}"}) as http,
        http.get(f"/region?month={MONTH}") as resp,
    ):
        html = await resp.text()
        assert resp.status == 200 and 'data-refused="3"' in html
        # Named in Thai, with the field at fault (a code, shown as is); no English reason.
        assert "ข้อมูลไม่ตรงรูปแบบ (ช่อง <code>monthly.body.respondent_phones</code>)" in html
        assert "not our schema" not in html


async def test_a_station_cannot_speak_for_another(
    region_lab: RegionLab, make_hub: Any, tmp_path: Path, clock: Any
) -> None:
    region = await make_hub(region_lab.region_block(), base=region_config(), folder=tmp_path / "region")
    await register_stations(region)
    rg = region.data[REGION_RUNTIME]
    assert await rg.ingest.link.wait_connected(10)
    forged = envelope(
        ulid(),
        REGION_ID,
        "st-angthong",
        "monthly",
        clock.time(),
        {"month": MONTH, "kpis": {"sos_ack_p90": 1.0}},
    )
    async with aiomqtt.Client(
        region_lab.broker.host,
        region_lab.broker.port,
        username="st-lopburi",
        password=region_lab.passwords["st-lopburi"],
        identifier=f"forger-{ulid()}",
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as client:
        # Mosquitto answers a publish outside the ACL with PUBACK reason 135 (not authorised)
        # and drops it; aiomqtt does not surface the code, paho's callback does.
        codes: list[int] = []
        paho: Any = client._client
        original = paho.on_publish

        def on_publish(cl: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
            codes.append(int(reason.value))
            original(cl, u, mid, reason, props)

        paho.on_publish = on_publish
        await client.publish(f"{REGION_ROOT}/{REGION_ID}/st-angthong/monthly", forged, qos=1)
        assert codes == [135]
        # Its own topic works: the same broker, the same account.
        own = envelope(
            ulid(),
            REGION_ID,
            "st-lopburi",
            "monthly",
            clock.time(),
            {"month": MONTH, "kpis": {"sos_ack_p90": 2.0}},
        )
        await client.publish(f"{REGION_ROOT}/{REGION_ID}/st-lopburi/monthly", own, qos=1)
        assert codes == [135, 0]
    await until(lambda: rg.ingest.stored >= 1)
    assert set(await rg.store.month(MONTH)) == {"st-lopburi"}

    # A station that goes quiet without a word (no will, no goodbye) turns "silent" after
    # silent_after (600 s in the lab); one that never came is "unknown". Both need a look.
    assert rg.ingest.statuses["st-lopburi"] == "online"
    await clock.advance(700)
    await until(lambda: rg.ingest.statuses["st-lopburi"] == "silent")
    attention = {s["id"]: s["status"] for s in (await rg.ranking(MONTH))["attention"]}
    assert attention == {"st-angthong": "unknown", "st-lopburi": "silent", "st-singburi": "unknown"}


async def test_every_region_route_needs_a_login(
    region_lab: RegionLab, make_hub: Any, tmp_path: Path, clock: Any
) -> None:
    region = await make_hub(region_lab.region_block(), base=region_config(), folder=tmp_path / "region")
    await register_stations(region)
    paths = [
        "/region",
        "/region/stations/st-lopburi",
        "/region/ranking.csv",
        "/region/ranking.pdf",
        "/api/region",
        "/api/region/ranking",
        "/api/region/stations",
        "/api/region/stations/st-lopburi",
    ]
    viewer = await region.auth.add_user("committee", "committee-pass-1", "viewer")
    token = await region.auth.create_token(viewer, "t")
    async with aiohttp.ClientSession(base_url=region.http.url) as http:
        for path in paths:
            async with http.get(path, allow_redirects=False) as resp:
                # Pages send a browser to the login page; the API answers 401.
                assert resp.status in (302, 303, 401), (path, resp.status)
        # A viewer reads the ranking but not the intake's counters (operator).
        auth = {"Authorization": f"Bearer {token}"}
        async with http.get("/api/region", headers=auth) as resp:
            assert resp.status == 403
        async with http.get("/api/region/stations", headers=auth) as resp:
            stations = await resp.json()
            assert resp.status == 200 and [s["id"] for s in stations] == list(DEFAULT_PLAN)
            assert all(s["status"] == "unknown" for s in stations)
        # The core pages work in the region role too, and link the ranking.
        async with http.get("/", headers=auth) as resp:
            html = await resp.text()
            assert resp.status == 200 and 'href="/region"' in html and "ศูนย์ภาค/จังหวัด" in html
        # English when asked (the lang cookie), Thai otherwise.
        async with http.get("/region", headers={**auth, "Cookie": "lang=en"}) as resp:
            html = await resp.text()
            assert "Station ranking of the month" in html and "อันดับสถานีประจำเดือน" not in html
        # A station the region does not have, and a malformed id: 404, never 500.
        for path in ("/region/stations/nobody", "/api/region/stations/Bad%20Id"):
            async with http.get(path, headers=auth) as resp:
                assert resp.status == 404, path


async def test_nothing_is_acknowledged_while_the_database_is_away(
    region_lab: RegionLab, make_hub: Any, tmp_path: Path, clock: Any
) -> None:
    region = await make_hub(region_lab.region_block(), base=region_config(), folder=tmp_path / "region")
    await register_stations(region)
    rg = region.data[REGION_RUNTIME]
    assert await rg.ingest.link.wait_connected(10)
    acked: list[str] = []
    async with aiomqtt.Client(
        region_lab.broker.host,
        region_lab.broker.port,
        username="st-lopburi",
        password=region_lab.passwords["st-lopburi"],
        identifier=f"db-{ulid()}",
    ) as client:
        await client.subscribe(f"{REGION_ROOT}/{REGION_ID}/st-lopburi/ack")

        async def acks() -> None:
            async for message in client.messages:
                acked.extend(json.loads(bytes(message.payload))["ids"])

        pump = asyncio.create_task(acks())
        try:
            # The database goes away (closed under the running region, as a lost disk would).
            await rg.store.close()
            msg_id = ulid()
            report = {"month": MONTH, "kpis": {"sos_ack_p90": 120.0}}
            await client.publish(
                f"{REGION_ROOT}/{REGION_ID}/st-lopburi/monthly",
                envelope(msg_id, REGION_ID, "st-lopburi", "monthly", clock.time(), report),
                qos=1,
            )
            await asyncio.sleep(1.0)
            assert msg_id not in acked  # not stored, so not acknowledged: the station keeps it
            # It comes back: the held batch is stored, then acknowledged.
            await rg.store.open()
            await until(lambda: msg_id in acked, within=15)
            assert (await rg.store.month(MONTH))["st-lopburi"]["kpis"] == {"sos_ack_p90": 120.0}
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
