"""Typed, bounded shapes of what a hub reports about itself: its registry and its health.

The envelope models in :mod:`integrations.federation.protocol` check the
frame; these check the *content* the console renders: every camera, device,
owner, location and zone polygon.  One hub's malformed registry (a zone given
as a string, a camera location without ``lon``, an owner given as a string)
used to make the board, hubs, KPI and map pages answer 500 for every officer.
Now such a message is refused at ingest (the hub is told why, and the hubs
page names it), and anything already stored is read through the same models,
so a page never sees a shape it does not expect.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = (
    "RegistryDoc",
    "HealthDoc",
    "check_registry",
    "check_health",
    "check_incident",
    "read_registry",
    "read_health",
)

#: Deepest nesting accepted in free-form ``data`` (a page or a JSON encoder must never recurse far).
MAX_DEPTH = 12

Short = Annotated[str, Field(max_length=200)]
Tiny = Annotated[str, Field(max_length=64)]
EntityId = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}\.[A-Za-z0-9_\-]{1,128}$")]


class _Doc(BaseModel):
    # Unknown fields are dropped: only what is checked reaches the pages.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class LocationDoc(_Doc):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class OwnerDoc(_Doc):
    name: Short = ""
    phone: Tiny = ""


class CameraDoc(_Doc):
    entity_id: EntityId
    name: Short = ""
    share: Literal["registry", "on_alarm", "always"]
    owner: OwnerDoc | None = None
    location: LocationDoc | None = None
    status: Tiny | None = None


class DeviceDoc(_Doc):
    entity_id: EntityId
    domain: Tiny
    name: Short = ""
    device_class: Tiny | None = None
    place: Short | None = None
    source: Short | None = None
    location: LocationDoc | None = None


class HubInfoDoc(_Doc):
    id: Tiny
    name: Short = ""
    zone: Tiny | None = None
    timezone: Tiny | None = None
    language: Tiny | None = None
    version: Tiny | None = None
    public_url: Annotated[str, Field(max_length=500)] | None = None
    location: LocationDoc | None = None


#: ``[lat, lon]`` points of a polygon.
Ring = Annotated[list[tuple[float, float]], Field(max_length=5000)]


class CommunityDoc(_Doc):
    name: Short
    name_en: Short | None = None
    polygon: Ring | None = None


class ZoneDoc(_Doc):
    id: Tiny
    name_th: Short | None = None
    name_en: Short | None = None
    area_km2: float | None = None
    polygon: Ring | None = None
    polygon_area_km2: float | None = None
    centroid: LocationDoc | None = None
    communities: Annotated[list[CommunityDoc], Field(max_length=500)] = []


class PluginsDoc(BaseModel):
    """Each set-up plugin's ``registry_info``: an object each; the zone is typed in full."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    zone: ZoneDoc | None = None

    @model_validator(mode="after")
    def _objects(self) -> PluginsDoc:
        for name, value in (self.model_extra or {}).items():
            if len(name) > 64 or not isinstance(value, dict):
                raise ValueError(f"{name[:64]}: expected an object")
        return self


class RegistryDoc(_Doc):
    hub: HubInfoDoc
    cameras: Annotated[list[CameraDoc], Field(max_length=2000)] = []
    devices: Annotated[list[DeviceDoc], Field(max_length=10_000)] = []
    plugins: PluginsDoc = Field(default_factory=PluginsDoc)


class IntegrationDoc(_Doc):
    status: Tiny
    error: Annotated[str, Field(max_length=2000)] | None = None


class BatteryDoc(_Doc):
    entity_id: Short
    battery: float | None = None
    name: Short = ""


class HealthDoc(BaseModel):
    """A health report; fields the console does not read are kept as sent (the hub page shows them)."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    status: Literal["online", "offline"]
    uptime: float | None = None
    started_at: float | None = None
    version: Tiny | None = None
    reason: Short | None = None
    battery_alarms: Annotated[list[BatteryDoc], Field(max_length=5000)] = []
    integrations: Annotated[dict[Tiny, IntegrationDoc], Field(max_length=1000)] = {}
    #: The hub's supervision interval and each component's schema version (the hubs page shows them).
    heartbeat_interval: Annotated[float, Field(gt=0, le=7 * 24 * 3600)] | None = None
    schema_: Annotated[dict[Tiny, Annotated[int, Field(ge=0, le=1_000_000)]], Field(max_length=500)] = Field(
        default={}, alias="schema"
    )


class _IncidentBounds(_Doc):
    """What the envelope model leaves open in an incident: list lengths and nesting."""

    class _Incident(_Doc):
        entities: Annotated[list[Any], Field(max_length=200)] = []
        data: dict[str, Any] = {}

    class _Entry(_Doc):
        attachments: Annotated[list[Any], Field(max_length=100)] = []
        data: dict[str, Any] = {}

    incident: _Incident
    entry: _Entry


def check_incident(body: Any) -> None:
    """Raise ValueError (or ValidationError) if an incident body is out of bounds."""
    doc = _IncidentBounds.model_validate(body)
    for where, value in (("incident.data", doc.incident.data), ("entry.data", doc.entry.data)):
        if _depth(value) > MAX_DEPTH:
            raise ValueError(f"{where}: nested deeper than {MAX_DEPTH} levels")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def check_registry(body: Any) -> dict[str, Any]:
    """Return the registry as the console may use it; raise ValidationError naming the bad field."""
    return RegistryDoc.model_validate(body).model_dump(mode="json", exclude_unset=True)


def check_health(body: Any) -> dict[str, Any]:
    """Return the health report as the console may use it; raise ValidationError naming the bad field."""
    return HealthDoc.model_validate(body).model_dump(mode="json", exclude_unset=True, by_alias=True)


def read_registry(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Return (registry, None), or (None, why) for one stored before these checks that fails them."""
    if not value:
        return None, None
    try:
        return check_registry(value), None
    except (ValidationError, ValueError) as err:
        return None, first_error(err)


def read_health(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Return (health, None), or (None, why) for a stored report that fails the checks."""
    if not value:
        return None, None
    try:
        return check_health(value), None
    except (ValidationError, ValueError) as err:
        return None, first_error(err)


def first_error(err: Exception) -> str:
    """Return the first problem as ``field.path: message``."""
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}"[:300]
    return str(err)[:300]
