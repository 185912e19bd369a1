"""LINE's own Repairs item: the monthly message quota near its end."""

from __future__ import annotations

from typing import Any

from hub.components.onboarding.checks import collect
from integrations.line.const import RUNTIME as LINE_RUNTIME


async def test_quota_near_its_end_is_a_repair(line_hub: Any) -> None:
    hub = await line_hub()
    assert not [r for r in await collect(hub) if r["key"] == "line_quota"]
    quota = hub.data[LINE_RUNTIME].quota
    quota.level = "warning"
    (item,) = [r for r in await collect(hub) if r["key"] == "line_quota"]
    assert (item["severity"], item["href"], item["source"]) == ("warning", "/line", "line")
    assert item["title_th"] == "โควตาข้อความ LINE ใกล้หมด"
    quota.level = "exhausted"
    (item,) = [r for r in await collect(hub) if r["key"] == "line_quota"]
    assert item["severity"] == "error"
