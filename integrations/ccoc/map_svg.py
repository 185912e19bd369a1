"""The camera registry map: hubs, cameras, the zone outline and its communities, as one SVG.

Drawn on the station from the hubs' retained registries, so it works with no
network at all.  Coordinates are Web Mercator pixels at ``tile_zoom``, the
projection map tiles use, so when a tile cache is configured its tiles sit
exactly under the drawing (``<image>`` per tile); without one the outline
alone orients the officer.  Every text is escaped here: the SVG is marked safe
in the page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from integrations.ccoc.map_checkpoints import Checkpoint

__all__ = ("render_map", "mercator", "Marker")

_TILE = 256
_POLICY_COLOUR = {"always": "#15803d", "on_alarm": "#b45309", "registry": "#475569"}
_HUB_COLOUR = {"online": "#15803d", "offline": "#b91c1c", "silent": "#b45309"}


def mercator(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Return world pixel coordinates of a point at ``zoom`` (Web Mercator, as tile servers use)."""
    lat = max(-85.05112878, min(85.05112878, lat))
    scale = _TILE * 2**zoom
    x = (lon + 180.0) / 360.0 * scale
    s = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale
    return x, y


class Marker:
    """One thing on the map."""

    __slots__ = ("kind", "lat", "lon", "label", "colour", "href", "data")

    def __init__(
        self, kind: str, lat: float, lon: float, label: str, colour: str, href: str = "", data: str = ""
    ) -> None:
        self.kind = kind
        self.lat = lat
        self.lon = lon
        self.label = label
        self.colour = colour
        self.href = href
        self.data = data


def _points(value: Any) -> list[tuple[float, float]]:
    out = []
    for p in value or ():
        if isinstance(p, list | tuple) and len(p) == 2:
            out.append((float(p[0]), float(p[1])))
        elif isinstance(p, dict) and "lat" in p and "lon" in p:
            out.append((float(p["lat"]), float(p["lon"])))
    return out


def markers_and_shapes(
    hubs: Iterable[dict[str, Any]],
) -> tuple[list[Marker], list[tuple[str, str, list[tuple[float, float]]]]]:
    """Return the markers (hubs, cameras) and shapes (zones, communities) in the hubs' registries."""
    markers: list[Marker] = []
    shapes: list[tuple[str, str, list[tuple[float, float]]]] = []
    seen_zones: set[str] = set()
    for hub in hubs:
        registry = hub.get("registry") or {}
        zone = (registry.get("plugins") or {}).get("zone") or {}
        zone_id = str(zone.get("id") or "")
        if zone_id and zone_id not in seen_zones:
            seen_zones.add(zone_id)
            ring = _points(zone.get("polygon"))
            if len(ring) >= 3:
                shapes.append(("zone", str(zone.get("name_th") or zone_id), ring))
            for community in zone.get("communities") or []:
                ring = _points(community.get("polygon"))
                if len(ring) >= 3:
                    shapes.append(("community", str(community.get("name") or ""), ring))
        loc = hub.get("location") or (registry.get("hub") or {}).get("location")
        if isinstance(loc, dict) and loc.get("lat") is not None:
            status = str(hub.get("status") or "unknown")
            markers.append(
                Marker(
                    "hub",
                    float(loc["lat"]),
                    float(loc["lon"]),
                    str(hub.get("name") or hub.get("id")),
                    _HUB_COLOUR.get(status, "#64748b"),
                    f"/ccoc/hubs/{hub.get('id')}",
                    status,
                )
            )
        for cam in registry.get("cameras") or []:
            cloc = cam.get("location")
            if isinstance(cloc, dict) and cloc.get("lat") is not None:
                share = str(cam.get("share") or "")
                markers.append(
                    Marker(
                        "camera",
                        float(cloc["lat"]),
                        float(cloc["lon"]),
                        str(cam.get("name") or cam.get("entity_id")),
                        _POLICY_COLOUR.get(share, "#64748b"),
                        f"#cam-{hub.get('id')}-{cam.get('entity_id')}",
                        share,
                    )
                )
    return markers, shapes


def render_map(
    hubs: Iterable[dict[str, Any]],
    *,
    title: str,
    zoom: int = 17,
    tiles_url: str | None = None,
    width: int = 900,
    height: int = 560,
    checkpoints: Sequence[Checkpoint] = (),
) -> Markup:
    """Return the map SVG, or '' when nothing has a position (``checkpoints``: the ตู้แดง boxes)."""
    markers, shapes = markers_and_shapes(hubs)
    every = (
        [(m.lat, m.lon) for m in markers]
        + [p for _, _, ring in shapes for p in ring]
        + [(c.lat, c.lon) for c in checkpoints]
    )
    if not every:
        return Markup("")
    # Zoom out until everything fits (a province's hubs do not fit at street level).
    while zoom > 3:
        xy = [mercator(lat, lon, zoom) for lat, lon in every]
        span_x = max(x for x, _ in xy) - min(x for x, _ in xy)
        span_y = max(y for _, y in xy) - min(y for _, y in xy)
        if span_x <= width * 0.85 and span_y <= height * 0.85:
            break
        zoom -= 1
    xy = [mercator(lat, lon, zoom) for lat, lon in every]
    cx = (max(x for x, _ in xy) + min(x for x, _ in xy)) / 2
    cy = (max(y for _, y in xy) + min(y for _, y in xy)) / 2
    left, top = cx - width / 2, cy - height / 2

    def pt(lat: float, lon: float) -> tuple[float, float]:
        x, y = mercator(lat, lon, zoom)
        return x - left, y - top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'class="ccoc-map" id="ccoc-map" data-zoom="{zoom}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{width}" height="{height}" fill="#f8fafc"/>'
    ]
    if tiles_url:
        # Tiles are plain images on the station's own origin (the page's CSP allows only 'self').
        for tx in range(int(left // _TILE), int((left + width) // _TILE) + 1):
            for ty in range(int(top // _TILE), int((top + height) // _TILE) + 1):
                href = tiles_url.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty))
                parts.append(
                    f'<image href="{escape(href)}" x="{tx * _TILE - left:.1f}" y="{ty * _TILE - top:.1f}" '
                    f'width="{_TILE}" height="{_TILE}"/>'
                )
    for kind, name, ring in shapes:
        coords = [pt(lat, lon) for lat, lon in ring]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        if kind == "zone":
            style = 'fill="#fee2e2" fill-opacity=".45" stroke="#b91c1c" stroke-width="2.5"'
        else:
            style = (
                'fill="#dbeafe" fill-opacity=".6" stroke="#1d4ed8" stroke-width="1.5" stroke-dasharray="5 3"'
            )
        parts.append(
            f'<polygon class="map-{kind}" points="{points}" {style}><title>{escape(name)}</title></polygon>'
        )
        if kind == "community":
            mx = sum(x for x, _ in coords) / len(coords)
            my = sum(y for _, y in coords) / len(coords)
            parts.append(
                f'<text x="{mx:.1f}" y="{my:.1f}" font-size="13" text-anchor="middle" fill="#1e3a8a">{escape(name)}</text>'
            )
    for cp in checkpoints:
        # A red box: filled when patrolled recently, hollow when not (a gap shows at a glance).
        x, y = pt(cp.lat, cp.lon)
        fill = "#dc2626" if cp.state == "fresh" else "#ffffff"
        parts.append(
            f'<a href="/ccoc/hubs/{escape(cp.hub_id)}" class="map-checkpoint" data-state="{escape(cp.state)}" '
            f'data-checkpoint="{escape(cp.hub_id)}/{escape(cp.id)}"><title>{escape(cp.label)}</title>'
            f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" rx="1" fill="{fill}" '
            f'stroke="#dc2626" stroke-width="2.5"/></a>'
        )
    for m in sorted(markers, key=lambda m: m.kind != "hub"):
        x, y = pt(m.lat, m.lon)
        label = escape(m.label)
        if m.kind == "hub":
            shape = (
                f'<rect x="{x - 8:.1f}" y="{y - 8:.1f}" width="16" height="16" rx="3" fill="{m.colour}" '
                f'stroke="#fff" stroke-width="2"/>'
                f'<text x="{x + 12:.1f}" y="{y + 5:.1f}" font-size="14" font-weight="bold" fill="#0b2545">{label}</text>'
            )
        else:
            shape = (
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{m.colour}" stroke="#fff" stroke-width="2"/>'
            )
        parts.append(
            f'<a href="{escape(m.href)}" class="map-{m.kind}" data-state="{escape(m.data)}">'
            f"<title>{label} ({escape(m.data)})</title>{shape}</a>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
