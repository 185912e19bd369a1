"""The Smart Safety Zone this hub belongs to: the ``zone:`` block, its page and its registry entry.

A zone is an area of 0.5–2 km² around a station's economic district, made of
named communities.  ``hub.zone`` names it (federation topics and the
station's map key on that id); the ``zone:`` block describes it::

    zone:
      id: angthong-mueang            # must equal hub.zone
      name_th: เขตปลอดภัยตลาดเทศบาล
      name_en: Municipal Market Safety Zone
      area_km2: 1.2
      polygon: [[14.592, 100.452], [14.592, 100.460], [14.585, 100.460], [14.585, 100.452]]
      communities:
        - {name: ชุมชนตลาดสด, polygon: [[14.590, 100.453], [14.590, 100.456], [14.587, 100.455]]}
        - {name: ชุมชนริมน้ำ}

The zone is a core plugin (``always``): it needs no device, and a hub
without the block still shows ``hub.zone``.  The description goes to the
station in :func:`registry_info`, merged under ``zone`` in the retained
registry message, for the CCOC map.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel, ConfigError, ConfigWarning, position_of
from hub.hookspecs import hookimpl
from hub.i18n import register_pairs
from hub.keys import HubKey

if TYPE_CHECKING:
    from aiohttp import web

    from hub.bootstrap import LoadedConfig
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("ZoneConfig", "Community", "LatLon", "ZONE", "polygon_area_km2", "zone_summary", "map_svg")

DOMAIN = "zone"
#: The validated ``zone:`` block, or absent when the hub has none (configuration, not a runtime
#: object, so not ``RUNTIME``).
ZONE: HubKey[ZoneConfig] = HubKey("zone_config")
_EARTH_RADIUS_KM = 6371.0088


class LatLon(BlockModel):
    """A point; written ``{lat: 14.59, lon: 100.45}`` or ``[14.59, 100.45]``."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, value: Any) -> Any:
        # Polygons are long; the two-number form keeps them readable in YAML.
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError("a point is [lat, lon] (two numbers)")
            return {"lat": value[0], "lon": value[1]}
        return value


def _polygon(points: list[LatLon] | None) -> list[LatLon] | None:
    """Check a ring: at least 3 distinct corners, closing point optional, some area."""
    if points is None:
        return None
    ring = list(points)
    if len(ring) > 1 and (ring[0].lat, ring[0].lon) == (ring[-1].lat, ring[-1].lon):
        ring = ring[:-1]  # GeoJSON-style closed rings are fine; keep one copy
    if len({(p.lat, p.lon) for p in ring}) < 3:
        raise ValueError("a polygon needs at least 3 different points")
    if polygon_area_km2(ring) <= 0:
        raise ValueError("the polygon's points are all on one line (no area)")
    return ring


class Community(BlockModel):
    """One named community inside the zone."""

    name: str = Field(min_length=1, max_length=120)
    name_en: str | None = Field(default=None, max_length=120)
    polygon: list[LatLon] | None = None

    _check_polygon = field_validator("polygon")(_polygon)


class ZoneConfig(BlockModel):
    """The ``zone:`` block."""

    id: str = Field(pattern=r"^[a-z0-9-]+$", max_length=64)
    name_th: str = Field(min_length=1, max_length=120)
    name_en: str | None = Field(default=None, max_length=120)
    #: The programme's zones are 0.5–2 km²; anything positive is accepted.
    area_km2: float = Field(gt=0, le=10_000)
    polygon: list[LatLon] | None = None
    communities: list[Community] = Field(default_factory=list)

    _check_polygon = field_validator("polygon")(_polygon)

    @field_validator("communities")
    @classmethod
    def _unique_names(cls, value: list[Community]) -> list[Community]:
        seen: set[str] = set()
        for community in value:
            if community.name in seen:
                raise ValueError(f"community {community.name!r} is listed twice")
            seen.add(community.name)
        return value


# -- geometry ------------------------------------------------------------------


def _project(points: Sequence[LatLon], lat0: float) -> list[tuple[float, float]]:
    """Return (x, y) in km on a plane tangent at ``lat0``: exact enough for a few km²."""
    k = math.radians(1) * _EARTH_RADIUS_KM
    scale = math.cos(math.radians(lat0))
    return [(p.lon * k * scale, p.lat * k) for p in points]


def polygon_area_km2(points: Sequence[LatLon]) -> float:
    """Return the area of a simple polygon in km² (shoelace on a local projection)."""
    if len(points) < 3:
        return 0.0
    lat0 = sum(p.lat for p in points) / len(points)
    xy = _project(points, lat0)
    twice = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(xy, xy[1:] + xy[:1], strict=True))
    return abs(twice) / 2


def _centroid(points: Sequence[LatLon]) -> dict[str, float]:
    return {
        "lat": round(sum(p.lat for p in points) / len(points), 6),
        "lon": round(sum(p.lon for p in points) / len(points), 6),
    }


def _ring(points: Sequence[LatLon] | None) -> list[list[float]] | None:
    return [[p.lat, p.lon] for p in points] if points else None


def zone_summary(zone: ZoneConfig) -> dict[str, Any]:
    """Return the zone as JSON for the station's map (``[lat, lon]`` rings)."""
    return {
        "id": zone.id,
        "name_th": zone.name_th,
        "name_en": zone.name_en or zone.name_th,
        "area_km2": zone.area_km2,
        "polygon": _ring(zone.polygon),
        "polygon_area_km2": round(polygon_area_km2(zone.polygon), 3) if zone.polygon else None,
        "centroid": _centroid(zone.polygon) if zone.polygon else None,
        "communities": [
            {"name": c.name, "name_en": c.name_en or c.name, "polygon": _ring(c.polygon)}
            for c in zone.communities
        ],
    }


def map_svg(
    zone: ZoneConfig, hub_location: tuple[float, float] | None = None, width: int = 480, height: int = 320
) -> str:
    """Return an SVG sketch of the zone and its communities (no map tiles: the hub is offline).

    Text is escaped here because the result is marked safe in the page.
    """
    from markupsafe import escape

    shapes: list[tuple[str, Sequence[LatLon]]] = []
    if zone.polygon:
        shapes.append(("zone", zone.polygon))
    shapes += [(c.name, c.polygon) for c in zone.communities if c.polygon]
    if not shapes:
        return ""
    every = [p for _, ring in shapes for p in ring]
    if hub_location is not None:
        every.append(LatLon(lat=hub_location[0], lon=hub_location[1]))
    lat0 = sum(p.lat for p in every) / len(every)
    xy_all = _project(every, lat0)
    min_x, max_x = min(x for x, _ in xy_all), max(x for x, _ in xy_all)
    min_y, max_y = min(y for _, y in xy_all), max(y for _, y in xy_all)
    pad = 16
    # One scale for both axes (no distortion), the drawing centred in the box.
    scale = min((width - 2 * pad) / max(max_x - min_x, 1e-9), (height - 2 * pad) / max(max_y - min_y, 1e-9))
    off_x = (width - (max_x - min_x) * scale) / 2
    off_y = (height - (max_y - min_y) * scale) / 2

    def pt(x: float, y: float) -> tuple[float, float]:
        # North up: SVG's y grows downwards.
        return off_x + (x - min_x) * scale, height - off_y - (y - min_y) * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'class="zone-map" aria-label="{escape(zone.name_th)}">'
    ]
    for name, ring in shapes:
        coords = [pt(x, y) for x, y in _project(ring, lat0)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        is_zone = name == "zone" and ring is zone.polygon
        style = (
            'fill="#fee2e2" stroke="#b91c1c" stroke-width="2"'
            if is_zone
            else 'fill="#dbeafe" fill-opacity=".8" stroke="#1d4ed8" stroke-width="1.5"'
        )
        parts.append(f'<polygon points="{points}" {style}/>')
        if not is_zone:
            cx = sum(x for x, _ in coords) / len(coords)
            cy = sum(y for _, y in coords) / len(coords)
            parts.append(
                f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="13" text-anchor="middle" '
                f'fill="#0b2545">{escape(name)}</text>'
            )
    if hub_location is not None:
        ((hx, hy),) = _project([LatLon(lat=hub_location[0], lon=hub_location[1])], lat0)
        x, y = pt(hx, hy)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="#b91c1c" stroke="#fff" stroke-width="2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


# -- hooks -----------------------------------------------------------------------


@hookimpl
def config_schema() -> Any:
    """Return the ``zone:`` block type."""
    return ZoneConfig


@hookimpl
def config_check(loaded: LoadedConfig) -> Iterable[ConfigError]:
    """Check that ``hub.zone`` names the zone the ``zone:`` block describes."""
    zone = loaded.blocks.get(DOMAIN)
    if loaded.core is not None and loaded.core.zone and DOMAIN not in loaded.raw:
        # Works (the map shows the id only), but it is usually a forgotten block.
        file, line = position_of(loaded.raw, ("hub", "zone")) or (loaded.file_label, None)
        return [
            ConfigWarning(
                file,
                line,
                "hub.zone",
                f"names zone '{loaded.core.zone}' but there is no zone: block describing it "
                "(its area and communities); the station's map shows no area for this hub",
            )
        ]
    if not isinstance(zone, ZoneConfig) or loaded.core is None:
        return []
    label = loaded.file_label
    if loaded.core.zone is None:
        file, line = position_of(loaded.raw, ("hub",)) or (label, None)
        return [
            ConfigError(
                file, line, "hub.zone", f"required when a zone: block is given; set it to {zone.id!r}"
            )
        ]
    if loaded.core.zone != zone.id:
        file, line = position_of(loaded.raw, ("hub", "zone")) or (label, None)
        zfile, zline = position_of(loaded.raw, (DOMAIN, "id")) or (label, None)
        return [
            ConfigError(
                file,
                line,
                "hub.zone",
                f"{loaded.core.zone!r} does not match zone.id {zone.id!r} ({zfile}:{zline})",
            )
        ]
    return []


@hookimpl
def setup(hub: Hub, config: ZoneConfig | None) -> None:
    """Keep the zone where the page, the registry and other plugins find it."""
    if config is not None:
        hub.data[ZONE] = config


@hookimpl
def registry_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return the zone for the station's map (merged under ``zone``)."""
    zone = hub.data.get(ZONE)
    if zone is not None:
        return zone_summary(zone)
    if hub.core.zone:
        # A hub that names its zone without describing it still tells the map which one.
        return {"id": hub.core.zone}
    return None


@hookimpl
def nav_links(hub: Hub) -> list[dict[str, str]]:
    """Link the zone page when there is a zone to show."""
    if hub.data.get(ZONE) is None and not hub.core.zone:
        return []
    return [{"href": "/zone", "label_th": "พื้นที่", "label_en": "Zone", "role": "viewer"}]


async def _zone_page(request: web.Request) -> web.StreamResponse:
    from hub.http.server import HUB_KEY
    from hub.http.templating import TEMPLATES_KEY, render

    hub = request.app[HUB_KEY]
    zone = hub.data.get(ZONE)
    loc = hub.core.location
    svg = map_svg(zone, (loc.lat, loc.lon) if loc else None) if zone is not None else ""
    # hub/ has no template folder of its own, so the page lives here; jinja's
    # get_template() accepts a Template object, which render() passes on.
    template = request.app[TEMPLATES_KEY].from_string(_PAGE)
    return render(
        request, cast(Any, template), zone=zone, summary=zone_summary(zone) if zone else None, map_svg=svg
    )


async def _zone_api(request: web.Request) -> web.StreamResponse:
    from aiohttp import web

    from hub.http.server import HUB_KEY

    hub = request.app[HUB_KEY]
    zone = hub.data.get(ZONE)
    return web.json_response(zone_summary(zone) if zone else {"id": hub.core.zone})


@hookimpl
def register_routes() -> list[Route]:
    """Return the zone page and its JSON form."""
    from hub.http.routes import Route

    return [
        Route("GET", "/zone", _zone_page, api=False, summary="The Smart Safety Zone: area, communities, map"),
        Route("GET", "/api/zone", _zone_api, summary="The zone as sent to the station's map", tags=("zone",)),
    ]


#: The zone page's words, in the one catalogue as ``zone.<key>``.
register_pairs(
    "zone",
    {
        "title": ("พื้นที่", "Zone"),
        "id": ("รหัสพื้นที่", "Zone id"),
        "area": ("พื้นที่", "Area"),
        "outline_area": ("พื้นที่ตามแนวเขต", "Area of the outline"),
        "communities": ("ชุมชน", "Communities"),
        "communities_title": ("ชุมชนในพื้นที่", "Communities"),
        "none": ("ยังไม่ได้ระบุ", "None listed"),
        "caption": (
            "แนวเขตพื้นที่ (แดง) ชุมชน (น้ำเงิน) ที่ตั้งฮับ (จุด)",
            "Outline of the zone (red), communities (blue), this hub (dot)",
        ),
        "undescribed": (
            "ระบุรายละเอียดพื้นที่ด้วยส่วน zone: ใน config.yaml (ดู docs/programme.md)",
            "Describe the zone with a zone: block in config.yaml (see docs/programme.md).",
        ),
        "km2": ("{value} ตร.กม.", "{value} km²"),
    },
    prefix="zone.",
)

_PAGE = """{% extends "base.html" %}
{% set en = lang == "en" %}
{% block title %}{{ t("zone.title") }}{% endblock %}
{% block content %}
<section class="card" id="zone">
  {% if zone %}
  <h1>{{ (zone.name_en or zone.name_th) if en else zone.name_th }}</h1>
  <dl class="facts">
    <div><dt>{{ t("zone.id") }}</dt><dd><code>{{ zone.id }}</code></dd></div>
    <div><dt>{{ t("zone.area") }}</dt><dd id="zone-area">{{ t("zone.km2", value="%.2f"|format(zone.area_km2)) }}</dd></div>
    {% if summary.polygon_area_km2 %}<div><dt>{{ t("zone.outline_area") }}</dt>
      <dd>≈ {{ t("zone.km2", value="%.2f"|format(summary.polygon_area_km2)) }}</dd></div>{% endif %}
    <div><dt>{{ t("zone.communities") }}</dt><dd>{{ zone.communities|length }}</dd></div>
  </dl>
  {% if map_svg %}<figure class="zone-figure" style="margin: 1rem 0; max-width: 40rem">{{ map_svg|safe }}
    <figcaption class="muted">{{ t("zone.caption") }}</figcaption></figure>{% endif %}
  <h2>{{ t("zone.communities_title") }}</h2>
  <ul id="zone-communities">
    {% for c in zone.communities %}<li>{{ (c.name_en or c.name) if en else c.name }}</li>
    {% else %}<li class="muted">{{ t("zone.none") }}</li>{% endfor %}
  </ul>
  {% else %}
  <h1>{{ t("zone.title") }} <code>{{ hub.core.zone }}</code></h1>
  <p class="muted">{{ t("zone.undescribed") }}</p>
  {% endif %}
</section>
{% endblock %}
"""
