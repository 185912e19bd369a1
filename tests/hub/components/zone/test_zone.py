"""The zone: the ``zone:`` block, its agreement with ``hub.zone``, its page and its registry entry."""

from __future__ import annotations

from typing import Any

import pytest

from hub.components.zone import LatLon, ZoneConfig, map_svg, polygon_area_km2

ZONE = """\
zone:
  id: test-zone
  name_th: เขตปลอดภัยตลาดเทศบาล
  name_en: Municipal Market Safety Zone
  area_km2: 1.2
  polygon: [[14.592, 100.452], [14.592, 100.460], {lat: 14.585, lon: 100.460}, [14.585, 100.452]]
  communities:
    - {name: ชุมชนตลาดสด, name_en: Fresh Market, polygon: [[14.590, 100.453], [14.590, 100.456], [14.587, 100.455]]}
    - {name: ชุมชนริมน้ำ}
"""


def test_a_good_zone_loads(load_config: Any) -> None:
    loaded = load_config(ZONE)
    assert loaded.errors == []
    zone = loaded.blocks["zone"]
    assert zone.id == "test-zone" and [c.name for c in zone.communities] == ["ชุมชนตลาดสด", "ชุมชนริมน้ำ"]
    assert zone.polygon[2] == LatLon(lat=14.585, lon=100.46)


def test_hub_zone_must_name_the_zone(load_config: Any) -> None:
    [err] = load_config(ZONE.replace("id: test-zone", "id: other-zone")).errors
    # Reported on the hub.zone line (4 in the base config), pointing at zone.id's line too.
    assert (
        str(err)
        == "config.yaml:4: hub.zone: 'test-zone' does not match zone.id 'other-zone' (config.yaml:10)"
    )
    base_without_zone = "hub:\n  id: h1\n  name: ฮับ\n  web: {host: 127.0.0.1, port: 0}\n"
    [err] = load_config(ZONE, base=base_without_zone).errors
    assert str(err) == "config.yaml:2: hub.zone: required when a zone: block is given; set it to 'test-zone'"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("area_km2: 1.2", "area_km2: 0"),
        ("area_km2: 1.2", "area_km2: -3"),
        (
            "polygon: [[14.592, 100.452], [14.592, 100.460], {lat: 14.585, lon: 100.460}, [14.585, 100.452]]",
            "polygon: [[14.592, 100.452], [14.592, 100.460]]",
        ),
        (
            "polygon: [[14.592, 100.452], [14.592, 100.460], {lat: 14.585, lon: 100.460}, [14.585, 100.452]]",
            "polygon: [[14.0, 100.0], [14.1, 100.1], [14.2, 100.2]]",
        ),
        (
            "polygon: [[14.592, 100.452], [14.592, 100.460], {lat: 14.585, lon: 100.460}, [14.585, 100.452]]",
            "polygon: [[14.592], [14.592, 100.460], [14.585, 100.460]]",
        ),
        (
            "polygon: [[14.592, 100.452], [14.592, 100.460], {lat: 14.585, lon: 100.460}, [14.585, 100.452]]",
            "polygon: [[94.0, 100.0], [14.1, 100.1], [14.2, 100.0]]",
        ),
        ("- {name: ชุมชนริมน้ำ}", "- {name: ชุมชนตลาดสด}"),
        ("id: test-zone", "id: Test Zone"),
    ],
)
def test_bad_zones_are_refused_with_file_and_line(load_config: Any, change: str, message: str) -> None:
    errors = load_config(ZONE.replace(change, message)).errors
    assert errors, message
    assert all(
        str(e).startswith("config.yaml:") and e.line is not None and e.path.startswith(("zone", "hub.zone"))
        for e in errors
    ), [str(e) for e in errors]


def test_area_of_a_polygon() -> None:
    # 0.01° × 0.01° at the equator: (1.11195 km)² ≈ 1.2364 km².
    square = [
        LatLon(lat=0, lon=0),
        LatLon(lat=0, lon=0.01),
        LatLon(lat=0.01, lon=0.01),
        LatLon(lat=0.01, lon=0),
    ]
    assert polygon_area_km2(square) == pytest.approx(1.2364, rel=1e-3)
    # A closing point equal to the first is dropped, not counted twice.
    closed = ZoneConfig.model_validate(
        {
            "id": "z",
            "name_th": "ก",
            "area_km2": 1,
            "polygon": [[0, 0], [0, 0.01], [0.01, 0.01], [0.01, 0], [0, 0]],
        }
    )
    assert closed.polygon is not None and len(closed.polygon) == 4


def test_map_escapes_names() -> None:
    zone = ZoneConfig.model_validate(
        {
            "id": "z",
            "name_th": "<b>",
            "area_km2": 1,
            "communities": [{"name": "<script>x</script>", "polygon": [[0, 0], [0, 0.01], [0.01, 0]]}],
        }
    )
    svg = map_svg(zone, (0.005, 0.005))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "<circle" in svg
    assert map_svg(ZoneConfig.model_validate({"id": "z", "name_th": "ก", "area_km2": 1})) == ""


async def test_page_api_and_registry(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub(ZONE)
    viewer = await client_for("viewer", target=hub)
    async with viewer.get("/zone") as resp:
        page = await resp.text()
    assert resp.status == 200 and "เขตปลอดภัยตลาดเทศบาล" in page and "ชุมชนริมน้ำ" in page
    assert "1.20 ตร.กม." in page and "<svg" in page and 'href="/zone"' in page
    async with viewer.get("/api/zone") as resp:
        data = await resp.json()
    assert data["id"] == "test-zone" and data["name_en"] == "Municipal Market Safety Zone"
    assert data["polygon"][0] == [14.592, 100.452] and data["polygon_area_km2"] == pytest.approx(
        0.67, abs=0.01
    )
    assert data["communities"][1] == {"name": "ชุมชนริมน้ำ", "name_en": "ชุมชนริมน้ำ", "polygon": None}
    # Federation puts the same under plugins.zone in the retained registry message.
    from integrations.federation.collect import build_registry

    registry = await build_registry(hub, "test-station")
    assert registry["plugins"]["zone"] == data and registry["hub"]["zone"] == "test-zone"


async def test_without_a_zone_block(make_hub: Any, client_for: Any) -> None:
    hub = await make_hub()
    [(_info, info)] = await hub.plugins.async_call_each("registry_info", hub=hub, only=["zone"])
    assert info == {"id": "test-zone"}
    viewer = await client_for("viewer", target=hub)
    async with viewer.get("/zone") as resp:
        assert resp.status == 200 and "docs/programme.md" in await resp.text()
