"""The station side of the region tier: its block, and what its reports may carry."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from integrations.federation.testing import until
from integrations.region.testing import STATION_IDS, RegionLab, station_config
from integrations.region_link.const import RUNTIME as REGION_LINK_RUNTIME
from integrations.region_link.summary import incident_summary, monthly_report
from integrations.station.kpis import Figure, Rejected, Scope, SosFigures, StationKpis


def test_the_block_needs_a_station_and_its_own_id(load_config: Any, region_lab: RegionLab) -> None:
    base = station_config("st-angthong", "mqtt://127.0.0.1:1")
    loaded = load_config(region_lab.link_block("st-lopburi"), base=base)
    errors = [e for e in loaded.errors if e.path == "region_link.username"]
    assert errors and "must be the station id 'st-angthong'" in errors[0].message
    assert errors[0].line is not None  # file:line for the operator
    hub_only = "hub:\n  id: shop-1\n  name: ร้าน\n  timezone: Asia/Bangkok\n"
    loaded = load_config(region_lab.link_block("st-angthong"), base=hub_only)
    assert any("only a station reports to a region" in e.message for e in loaded.errors)
    loaded = load_config(region_lab.link_block("st-angthong") + "  ca_file: region-ca.pem\n", base=base)
    missing = [e for e in loaded.errors if e.path == "region_link.ca_file"]
    assert missing and "does not exist" in missing[0].message and missing[0].line is not None
    # The federation's check, shared: on an mqtt:// broker it also says the CA is not needed.
    assert "mqtt:// (no TLS): remove ca_file" in missing[0].message


def _fig(fid: str, value: Any, unit: str = "", source: str = "") -> Figure:
    return Figure(id=fid, source=source, label_th=fid, label_en=fid, unit=unit, value=value)


def _kpis() -> StationKpis:
    figures = [
        _fig("patrol_coverage", 72.5, "%"),
        _fig("patrols", 31),
        _fig("patrol_checkins", 140),
        _fig("poll_responses", 57),
        _fig("poll_trust_police", 4.1, "/5"),
        _fig("poll_fear_of_crime", 2.2, "/5"),
        _fig("big6_meeting_held", 1),
        _fig("big6_sectors_present", 5, "/6"),
        _fig("big6_resolutions", 4),
        _fig("big6_resolutions_done", 75.0, "%"),
        _fig("Not A Key", 9),
        _fig("poll_comment_sample", "ร้านนี้ขายยา 081-234-5678"),
    ]
    station = Scope(
        kind="station",
        id="",
        name="สภ.ทดสอบ",
        zone="",
        hub_ids=["hub-a", "hub-b", "hub-c"],
        sos=SosFigures(count=4, acknowledged=3, times=[30.0, 40.0, 50.0], drills=1),
        incidents_by_kind={"sos": 4, "Tip Off": 2},
        cameras_by_policy={"always": 2, "on_alarm": 1, "weird": 1},
        checkpoints=6,
        figures={f.id: f for f in figures},
        reported=2,
        gap_alerts=3,
    )
    zone = Scope(
        kind="zone", id="talat", name="ตลาดสด", zone="talat", hub_ids=["hub-a"], incidents_by_kind={"sos": 6}
    )
    bad = Rejected("hub-c", "01JD0000000000000000000009", "slots.0.value: not a number")
    return StationKpis("2026-01", 0.0, 1.0, station, [zone], [], [bad])


def test_the_monthly_report_carries_figures_only() -> None:
    report = monthly_report(_kpis(), hubs_online_share=0.5)
    kpis = report["kpis"]
    assert kpis["sos_ack_p90"] == 48.0 and kpis["cameras_linked"] == 4 and kpis["sos_unacknowledged"] == 1
    assert kpis["hubs_online_share"] == 50.0 and kpis["hub_reports_rejected"] == 1
    assert kpis["poll_trust_police"] == 4.1 and kpis["patrol_coverage"] == 72.5
    assert kpis["patrol_gap_alerts"] == 3 and kpis["checkpoints"] == 6 and kpis["drills"] == 1
    assert "Not A Key" not in kpis and "Not A Key" not in report["labels"]
    assert report["labels"]["poll_trust_police"] == {"th": "poll_trust_police", "en": "poll_trust_police"}
    # A figure whose value is text (a comment) goes up as "not measured", never as text.
    assert kpis["poll_comment_sample"] is None
    assert "081-234-5678" not in str(report)
    assert report["cameras_by_policy"] == {"always": 2, "on_alarm": 1, "?": 1}
    assert report["incidents_by_kind"] == {"sos": 4, "?": 2}
    assert report["incidents_by_zone"] == {"talat": 6}
    assert report["poll"] == {
        "responses": 57,
        "questions": {"trust_police": 4.1, "fear_of_crime": 2.2, "comment_sample": None},
    }
    assert report["big6"] == {"meetings": 1, "sectors_present": 5, "resolutions": 4, "resolutions_done": 3}
    assert report["patrols"] == {"coverage": 72.5, "patrols": 31, "checkins": 140}


def test_an_incident_summary_keeps_no_text() -> None:
    fact = {
        "hub_id": "hub-a",
        "id": "inc-1",
        "kind": "sos",
        "status": "acknowledged",
        "opened_at": 1767225600.0,
        "acknowledged_at": 1767225690.0,
        "drill": 0,
        "title": "นายสมชาย",
        "acknowledged_by": "ร.ต.อ. สมหญิง",
    }
    summary = incident_summary(fact, "ตลาดสด")
    assert summary["ack_seconds"] == 90 and summary["zone"] == "ตลาดสด"
    assert "นายสมชาย" not in str(summary) and "สมหญิง" not in str(summary)


@pytest.mark.usefixtures("mosquitto")
async def test_only_changes_go_up_and_a_restart_remembers(
    region_lab: RegionLab, mosquitto: Any, make_hub: Any, tmp_path: Any
) -> None:
    sid = STATION_IDS[0]
    folder = tmp_path / sid
    station = await make_hub(
        region_lab.link_block(sid), base=station_config(sid, mosquitto.url), folder=folder
    )
    uplink = station.data[REGION_LINK_RUNTIME]
    # At start the first round queues this month and last month (no incidents yet).
    await until(lambda: uplink.queued_months == 2)
    assert await uplink.summarise() == 0
    rows = await station.storage.fetchall("SELECT key FROM region_link_sent ORDER BY key")
    assert [r["key"] for r in rows] == ["monthly:2025-12", "monthly:2026-01"]
    assert uplink.status()["region"] == "region-9"
    # Transport only: none of the hub tier's own traffic rides on the region link.
    share = uplink.cfg.share
    assert not (share.incidents or share.events or share.registry or share.snapshots or share.kpis)
    # No broker account for commands: the link ignores anything but acks.
    uplink._on_message(f"ssz/v1/region/region-9/{sid}/cmd", b'{"v":1}', None)
    assert uplink.commands.handled == 0
    user = await station.auth.add_user("ccoc-admin", "ccoc-admin-pass-1", "operator")
    token = await station.auth.create_token(user, "t")
    async with (
        aiohttp.ClientSession(
            base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
        ) as http,
        http.get("/api/region_link") as resp,
    ):
        status = await resp.json()
    assert resp.status == 200 and status["region"] == "region-9" and status["hub"] == sid
    assert status["queued_months"] == 2 and "password" not in json.dumps(status)
    await station.stop()
    again = await make_hub(region_lab.link_block(sid), base=station_config(sid, mosquitto.url), folder=folder)
    await until(lambda: again.data[REGION_LINK_RUNTIME].rounds >= 1)
    assert again.data[REGION_LINK_RUNTIME].queued_months == 0
