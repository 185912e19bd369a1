"""ตู้แดง boxes for the CCOC map: each box's state from its last proven check-in, drawn in the SVG."""

from __future__ import annotations

from integrations.ccoc.map_checkpoints import checkpoints
from integrations.ccoc.map_svg import render_map


def test_checkpoint_states() -> None:
    from zoneinfo import ZoneInfo

    now = 1_767_300_000.0
    registry = {
        "plugins": {
            "patrol_qr": {
                "checkpoints": [
                    {"id": "a", "name": "ตู้ A", "location": {"lat": 14.0, "lon": 100.0}},
                    {"id": "b", "name": "ตู้ B", "location": {"lat": 14.1, "lon": 100.1}},
                    {"id": "c", "name": "ตู้ C", "location": {"lat": 14.2, "lon": 100.2}},
                    {"id": "d", "name": "ไม่มีพิกัด", "location": None},
                ]
            }
        }
    }
    health = {
        "info": {
            "patrol_qr": {
                "last_visits": [
                    {"checkpoint_id": "a", "ts": now - 600},
                    {"checkpoint_id": "b", "ts": now - 3 * 86400},
                ]
            }
        }
    }
    boxes = checkpoints(
        [{"id": "h", "name": "ฮับ", "registry": registry, "health": health}],
        now=now,
        tz=ZoneInfo("Asia/Bangkok"),
        lang="th",
    )
    assert [(b.id, b.state) for b in boxes] == [("a", "fresh"), ("b", "stale"), ("c", "never")]
    assert boxes[2].label == "ตู้ C · ยังไม่มีการตรวจ" and boxes[0].label.startswith("ตู้ A · ตรวจล่าสุด ")
    svg = str(render_map([], title="map", checkpoints=boxes))
    assert svg.count('class="map-checkpoint"') == 3 and 'data-state="never"' in svg
