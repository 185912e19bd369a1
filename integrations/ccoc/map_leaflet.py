"""The registry map on tiles: Leaflet (vendored, no CDN) over a tile server or an offline tile folder.

With tiles configured (``station: console: map: tiles_url`` or ``tiles_dir``)
the map page draws the hubs (coloured by link health) and cameras (coloured
by their owner's policy) on a real slippy map; clicking a camera offers a
reasoned live view.  Without tiles, or without JavaScript, the SVG drawing of
:mod:`.map_svg` stays: it needs nothing but the hubs' registries.

Leaflet 1.9.4 is vendored from npm as its built files
(``static/leaflet/``, BSD-2-Clause, LICENSE beside it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from hub.http.routes import Route
from hub.http.server import HUB_KEY
from integrations.ccoc.map_svg import _HUB_COLOUR, _POLICY_COLOUR, markers_and_shapes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hub.hub import Hub
    from integrations.ccoc.config import MapConfig
    from integrations.ccoc.map_checkpoints import Checkpoint

__all__ = ("leaflet_data", "map_csp", "routes")

_TILE_PART = re.compile(r"^\d{1,7}$")


def leaflet_data(
    hubs: list[dict[str, Any]],
    cameras: list[dict[str, Any]],
    cfg: MapConfig,
    checkpoints: Sequence[Checkpoint] = (),
) -> dict[str, Any] | None:
    """Return what the map script draws, or None when no tiles are configured (SVG only)."""
    if not cfg.tiles_url:
        return None
    markers, shapes = markers_and_shapes(hubs)
    hub_points = [
        {"name": m.label, "lat": m.lat, "lon": m.lon, "status": m.data, "colour": m.colour, "href": m.href}
        for m in markers
        if m.kind == "hub"
    ]
    camera_points = []
    for cam in cameras:
        loc = cam.get("location")
        if not isinstance(loc, dict) or loc.get("lat") is None:
            continue
        share = str(cam.get("share") or "")
        camera_points.append(
            {
                "hub_id": cam["hub_id"],
                "hub_name": cam.get("hub_name") or cam["hub_id"],
                "entity_id": cam["entity_id"],
                "name": cam.get("name") or cam["entity_id"],
                "share": share,
                "colour": _POLICY_COLOUR.get(share, "#64748b"),
                "lat": float(loc["lat"]),
                "lon": float(loc["lon"]),
                "live": "view" in (cam.get("actions") or []),
            }
        )
    return {
        "tiles": cfg.tiles_url,
        "attribution": cfg.attribution,
        "max_zoom": cfg.max_zoom,
        "zoom": cfg.tile_zoom,
        "hubs": hub_points,
        "cameras": camera_points,
        "checkpoints": [c.as_dict() for c in checkpoints],
        "shapes": [{"kind": k, "name": n, "ring": [[a, b] for a, b in ring]} for k, n, ring in shapes],
        "hub_colours": _HUB_COLOUR,
        "policy_colours": _POLICY_COLOUR,
    }


def map_csp(cfg: MapConfig) -> str | None:
    """Return the map page's CSP when its tiles come from another origin (else the default stands)."""
    if not cfg.tiles_url or not cfg.tiles_url.startswith("https://"):
        return None
    parts = urlsplit(cfg.tiles_url.replace("{s}", "a"))
    origin = f"https://{parts.netloc}"
    if "{s}" in (urlsplit(cfg.tiles_url).netloc or ""):
        origin = "https://" + parts.netloc.replace("a.", "*.", 1)
    return (
        f"default-src 'self'; img-src 'self' data: blob: {origin}; style-src 'self' 'unsafe-inline'; "
        "media-src 'self' blob:; frame-ancestors 'none'"
    )


async def tile(request: web.Request) -> web.StreamResponse:
    """One tile of the offline tile folder (``tiles_dir``)."""
    from integrations.ccoc.const import RUNTIME

    hub = request.app[HUB_KEY]
    console = hub.data.get(RUNTIME)
    folder = console.cfg.map.tiles_dir if console is not None else None
    z, x, y = (request.match_info[k] for k in ("z", "x", "y"))
    if not folder or not all(_TILE_PART.match(v) for v in (z, x, y)):
        raise web.HTTPNotFound()
    root = Path(folder)
    root = root if root.is_absolute() else hub.config_dir / root
    path = root / z / x / f"{y}.png"
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": "image/png", "Cache-Control": "max-age=86400"})


def routes(hub: Hub) -> list[Route]:
    """Return the offline tile route."""
    return [
        Route(
            "GET", "/ccoc/tiles/{z}/{x}/{y}.png", tile, api=False, summary="An offline map tile (tiles_dir)"
        )
    ]
