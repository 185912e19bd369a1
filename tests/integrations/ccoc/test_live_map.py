"""The registry map on tiles: Leaflet data, the offline tile folder, the CSP for a tile server, the SVG fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from integrations.ccoc.config import MapConfig
from integrations.ccoc.map_leaflet import leaflet_data, map_csp
from integrations.federation.testing import FederationLab, register_hubs, station_config

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

HUBS: list[dict[str, Any]] = [
    {
        "id": "talat",
        "name": "ตลาดสด",
        "status": "online",
        "location": {"lat": 14.59, "lon": 100.455},
        "registry": {"cameras": []},
    },
    {"id": "far", "name": "ร้านไกล", "status": "silent", "location": {"lat": 14.6, "lon": 100.46}},
]
CAMERAS: list[dict[str, Any]] = [
    {
        "hub_id": "talat",
        "entity_id": "camera.gate",
        "name": "ประตู",
        "share": "always",
        "location": {"lat": 14.5901, "lon": 100.4551},
        "actions": ["view", "snapshot", "ptz"],
    },
    {
        "hub_id": "talat",
        "entity_id": "camera.shop",
        "name": "ร้าน",
        "share": "registry",
        "location": {"lat": 14.5902, "lon": 100.4552},
        "actions": ["call"],
    },
    {
        "hub_id": "talat",
        "entity_id": "camera.nowhere",
        "share": "always",
        "location": None,
        "actions": ["view"],
    },
]


def test_leaflet_data_colours_cameras_by_policy_and_hubs_by_health() -> None:
    assert leaflet_data(HUBS, CAMERAS, MapConfig()) is None  # no tiles: the SVG alone
    data = leaflet_data(HUBS, CAMERAS, MapConfig(tiles_dir="tiles"))
    assert data is not None and data["tiles"] == "/ccoc/tiles/{z}/{x}/{y}.png"
    assert [(h["name"], h["status"], h["colour"]) for h in data["hubs"]] == [
        ("ตลาดสด", "online", "#15803d"),
        ("ร้านไกล", "silent", "#b45309"),
    ]
    assert [(c["entity_id"], c["colour"], c["live"]) for c in data["cameras"]] == [
        ("camera.gate", "#15803d", True),
        ("camera.shop", "#475569", False),
    ]


def test_map_csp_allows_only_the_tile_origin() -> None:
    assert map_csp(MapConfig(tiles_dir="tiles")) is None  # same origin: the default CSP stands
    csp = map_csp(MapConfig(tiles_url="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"))
    assert csp is not None and "img-src 'self' data: blob: https://*.tile.openstreetmap.org;" in csp
    csp = map_csp(MapConfig(tiles_url="https://tiles.example.org/osm/{z}/{x}/{y}.png"))
    assert csp is not None and "https://tiles.example.org;" in csp


async def test_map_page_serves_leaflet_and_the_offline_tiles(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, config_dir: Path
) -> None:
    tiles = config_dir / "tiles" / "17" / "102345"
    tiles.mkdir(parents=True)
    (tiles / "61234.png").write_bytes(PNG)
    station = await make_hub(
        federation_lab.station_block(console={"map": {"tiles_dir": str(config_dir / "tiles")}}),
        base=station_config(),
        folder=tmp_path / "st",
    )
    await register_hubs(station)
    user = await station.auth.add_user("viewer1", "correct horse battery", "viewer")
    token = await station.auth.create_token(user, "t")
    async with aiohttp.ClientSession(
        base_url=station.http.url, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        page = await (await s.get("/ccoc/map")).text()
        assert 'id="ccoc-leaflet"' in page and "/static/station/leaflet/leaflet.js" in page
        assert 'id="ccoc-map-svg"' in page  # the fallback stays on the page
        tile = await s.get("/ccoc/tiles/17/102345/61234.png")
        assert tile.status == 200 and await tile.read() == PNG
        assert (await s.get("/ccoc/tiles/17/102345/9.png")).status == 404
        assert (await s.get("/ccoc/tiles/17/..%2F..%2Fsecrets/1.png")).status == 404
        leaflet = await s.get("/static/station/leaflet/leaflet.js")
        assert leaflet.status == 200 and b"Leaflet 1.9.4" in (await leaflet.read())[:200]
        assert (await s.get("/static/station/leaflet/LICENSE")).status == 200
    async with aiohttp.ClientSession(base_url=station.http.url) as anonymous:
        assert (await anonymous.get("/ccoc/tiles/17/102345/61234.png")).status == 401
