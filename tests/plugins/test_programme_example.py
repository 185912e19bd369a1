"""docs/config-programme.example.yaml loads as written and its automations do what the docs say."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub.bootstrap import load
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "config-programme.example.yaml"


def test_example_config_is_valid() -> None:
    loaded = load(EXAMPLE)
    assert [str(e) for e in loaded.errors] == []
    assert {"zone", "patrol_qr", "people_poll", "big6"} <= set(loaded.blocks)


async def test_example_automations_run(make_hub: Any, clock: FakeClock) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("port: 8123", "port: 0")
    hub = await make_hub(text, base="")
    reminders: list[Any] = []
    hub.bus.listen("big6_reminder", reminders.append)
    await hub.services.call(
        "big6",
        "record_meeting",
        {
            "date": "2026-01-01",
            "resolutions": [{"text": "ติดไฟซอย 3", "owner": "เทศบาล", "due_date": "2026-01-02"}],
        },
    )
    # Nobody patrols for three nights: the gap check on the 5th opens incidents; the resolution is overdue.
    await clock.set_time(datetime(2026, 1, 5, 8, 30, tzinfo=ZoneInfo("Asia/Bangkok")).timestamp())
    await hub.block_till_done()
    titles = sorted(i.title for i in await hub.data[INCIDENT_RUNTIME].find(status="active"))
    # One incident per checkpoint whose nights went unpatrolled, opened when the gap reached 3 days
    # (the hub started on the 1st at 07:00, so each box has missed the nights of the 1st–4th by the 5th).
    assert titles == [
        f"ไม่มีการตรวจผลัดดึกที่ {name} 3 วัน"
        for name in ("ตู้แดงซอย 3 หลังตลาด", "ตู้แดงท่าเรือ", "ตู้แดงหน้าตู้ ATM ประตูตลาด")
    ]
    assert reminders and reminders[0].data["message"] == 'มติ "ติดไฟซอย 3" (เทศบาล) เลยกำหนด 1 วัน'
