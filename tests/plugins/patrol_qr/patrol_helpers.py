"""Helpers for the patrol_qr tests: a config with checkpoints, and phones that scan and check in."""

from __future__ import annotations

import html
import re

from hub.hub import Hub

PATROL_YAML = """\
patrol_qr:
  joint_window_minutes: 20
  gap_days: 3
  daily_check: "07:30"
  checkpoints:
    - {id: soi3, name: ตู้แดงซอย 3, location: {lat: 14.5896, lon: 100.4550}, risk: ซอยมืด มีวิ่งราว}
    - {id: atm_gate, name: ตู้แดงหน้าตู้ ATM}
"""

#: Where an honest phone at soi3's box reports itself (a check-in without a position is flagged).
AT_SOI3 = {"lat": "14.5897", "lon": "100.4551", "accuracy": "10"}


def field(page: str, name: str) -> str:
    """Return a hidden field's value from a page."""
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no field {name} in page"
    return html.unescape(match.group(1))


async def sheet_link(hub: Hub, checkpoint_id: str) -> str:
    """Return the signed path printed on a checkpoint's sheet."""
    result = await hub.services.call("patrol_qr", "sheet_link", {"id": checkpoint_id})
    return str(result["path"])


async def volunteer_link(hub: Hub, name: str) -> tuple[str, str]:
    """Issue a volunteer link; return (volunteer id, path)."""
    result = await hub.services.call("patrol_qr", "issue_volunteer_link", {"name": name})
    return str(result["volunteer_id"]), str(result["path"])


async def checkin_count(hub: Hub) -> int:
    """Return how many check-ins are stored."""
    row = await hub.storage.fetchone("SELECT COUNT(*) AS n FROM patrol_checkins")
    assert row is not None
    return int(row["n"])
