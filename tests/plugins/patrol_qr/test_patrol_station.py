"""Flagged check-ins reach the station: in the forwarded events, their acceptance, and the health report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.plugins.patrol_qr.patrol_helpers import AT_SOI3, PATROL_YAML, sheet_link, volunteer_link


async def test_flags_and_acceptance_reach_the_station(
    make_hub: Any, phones: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    hub, station = await start_pair(
        make_hub,
        federation_lab,
        tmp_path / "st",
        hub_extra=PATROL_YAML,
        share={"events": ["sos_pressed", "patrol_checkin", "patrol_checkin_accepted"]},
    )
    volunteer, officer = await phones(hub), await phones(hub, "officer1")
    await volunteer.get((await volunteer_link(hub, "สมชาย"))[1])
    link = await sheet_link(hub, "soi3")
    await volunteer.check_in(link, lat="48.8566", lon="2.3522")  # Paris
    await officer.check_in(link, **AT_SOI3)
    await hub.block_till_done()
    [flagged_id] = [
        row["id"] for row in await hub.storage.fetchall("SELECT id FROM patrol_checkins WHERE flags != ''")
    ]
    await hub.services.call("patrol_qr", "accept_checkin", {"checkin_id": flagged_id})
    await hub.block_till_done()
    fed = hub.data[FEDERATION_RUNTIME]
    await fed.send_health()
    assert await fed.outbox.wait_empty(10)
    store = station.data[STATION_RUNTIME].store

    async def events() -> list[dict[str, Any]]:
        rows = await store.messages(kind="event")
        # The month's figures (kpi_month) travel as events too; this test is about the check-ins.
        return [json.loads(m["body"])["body"] for m in rows if m["type"] != "kpi_month"]

    got = await until(lambda: _three(events()))
    paris, police, accepted = got
    assert (paris["type"], paris["data"]["flags"], paris["data"]["proven"]) == (
        "patrol_checkin",
        ["far"],
        False,
    )
    assert paris["data"]["distance_m"] > 9_000_000 and paris["data"]["mixed"] is False
    assert (police["data"]["flags"], police["data"]["mixed"]) == ([], False)
    assert accepted["type"] == "patrol_checkin_accepted" and accepted["data"]["checkin_id"] == flagged_id
    assert accepted["data"]["mixed"] is True and accepted["data"]["flags"] == ["far"]
    health = await until(lambda: _health(store))
    assert health["info"]["patrol_qr"]["flagged"] == 0  # accepted: nothing left to review


async def _three(coro: Any) -> list[dict[str, Any]] | None:
    events = await coro
    return events if len(events) == 3 else None


async def _health(store: Any) -> dict[str, Any] | None:
    item = await store.hub("test-hub")
    health = (item or {}).get("health") or {}
    return health if "patrol_qr" in health.get("info", {}) else None
