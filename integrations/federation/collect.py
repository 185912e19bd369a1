"""What a hub tells its station about itself: the registry and the health report.

The registry is what the CCOC map and camera list are built from: the hub,
its zone, its cameras (location, owner contact and share policy) and its
devices, plus whatever each set-up plugin returns from ``registry_info``.
It must never carry a credential.  Plugins are asked not to return any, and
:func:`scrub` makes sure anyway: secret-looking keys (``password``,
``username``, ``token``…) are dropped whole, ``user:pass@`` is cut out of
URLs, and every value the config loaded through ``!secret`` is masked
wherever it appears.  Cameras whose policy is ``never`` are left out
entirely (DESIGN §9: nothing about them leaves the hub).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Set
from typing import TYPE_CHECKING, Any

from hub.config.secrets import redact as redact_secret_values
from integrations.federation.const import HEALTH_ONLINE

if TYPE_CHECKING:
    from hub.hub import Hub
    from hub.plugins.host import PluginInfo

__all__ = ("scrub", "build_registry", "build_health", "set_up_domains", "battery_alarms")

#: Key names (lower case, ``-`` read as ``_``) whose values are credentials: dropped whole.
_SECRET_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "client_secret",
        "channel_secret",
        "channel_access_token",
        "authorization",
        "auth",
        "credentials",
        "credential",
        "cookie",
        "username",
        "user_name",
        "login",
        "private_key",
        "cert_key",
        "psk",
        "pin",
    }
)
_SECRET_SUFFIXES = ("_password", "_passwd", "_token", "_secret", "_key", "_credentials", "_username")
# scheme://anything@host -> scheme://host: a camera's RTSP URL often carries both user and password.
_URL_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/@\s]*@")
#: Entity domains listed as devices in the registry.
DEVICE_DOMAINS = ("sos", "light", "binary_sensor", "siren", "alarm_control_panel", "sensor")
#: Battery percentage at or below which a device is reported as an alarm.
LOW_BATTERY = 20


def _secret_key(key: object) -> bool:
    name = str(key).strip().lower().replace("-", "_")
    return name in _SECRET_KEYS or name.endswith(_SECRET_SUFFIXES)


def scrub(value: Any, depth: int = 0) -> Any:
    """Return a JSON-friendly copy of ``value`` with every credential removed."""
    if depth > 24:
        return None
    if isinstance(value, Mapping):
        return {str(k): scrub(v, depth + 1) for k, v in value.items() if not _secret_key(k)}
    if isinstance(value, list | tuple | Set):
        return [scrub(v, depth + 1) for v in value]
    if isinstance(value, str):
        return redact_secret_values(_URL_USERINFO_RE.sub(r"\1", value))
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value), depth + 1)


def set_up_domains(hub: Hub) -> list[str]:
    """Return the plugins that are running (only they are asked for registry/health facts)."""
    return [p.domain for p in hub.plugin_infos() if p.status == "set_up" or p.source == "core"]


def _without(value: Any, hidden: frozenset[str]) -> Any:
    """Drop list items that describe a hidden entity (a plugin's entry for a ``never`` camera)."""
    if isinstance(value, dict):
        return {k: _without(v, hidden) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _without(v, hidden)
            for v in value
            if not (isinstance(v, dict) and (v.get("entity_id") in hidden or v.get("camera") in hidden))
        ]
    return value


async def _hook_results(
    hub: Hub,
    hook: Callable[..., Awaitable[list[tuple[PluginInfo, Mapping[str, Any] | None]]]],
    hidden: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Call ``hook`` (``registry_info`` or ``health_info``) on the plugins set up; scrub what they say."""
    out: dict[str, Any] = {}
    for info, result in await hook(hub=hub, only=set_up_domains(hub)):
        if result is not None and info.domain != "federation":
            out[info.domain] = _without(scrub(result), hidden)
    return out


def _hidden_cameras(hub: Hub, station: str) -> frozenset[str]:
    from integrations.camera.entity import CameraEntity
    from integrations.camera.policy import Party, may_share

    party = Party.station(station)
    return frozenset(
        e.entity_id
        for e in hub.entities
        if isinstance(e, CameraEntity) and not may_share(hub, e, party, "registry")
    )


def _cameras(hub: Hub, station: str) -> list[dict[str, Any]]:
    from integrations.camera.entity import CameraEntity
    from integrations.camera.policy import Party, may_share

    party = Party.station(station)
    cameras: list[dict[str, Any]] = []
    for entity in hub.entities:
        # The owner's policy decides, as for pictures: ``never`` is not even listed.
        if not isinstance(entity, CameraEntity) or not may_share(hub, entity, party, "registry"):
            continue
        item: dict[str, Any] = {
            "entity_id": entity.entity_id,
            "name": entity.name,
            "share": entity.share,
            "owner": {"name": entity.owner.name, "phone": entity.owner.phone},
            "location": (
                {"lat": entity.location[0], "lon": entity.location[1]}
                if entity.location is not None
                else None
            ),
        }
        if entity.share != "registry":
            # Policies that may share pictures also say whether the camera works.
            item["status"] = "unavailable" if not entity.available else entity.status
        if entity.share == "on_alarm":
            # The station serves stored pictures only within the same window (issue 15 item 12).
            item["on_alarm_minutes"] = entity.on_alarm_minutes
            item["on_alarm_max_hours"] = entity.on_alarm_max_hours
        cameras.append(item)
    return cameras


def _devices(hub: Hub) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = []
    for state in hub.states.all():
        domain = state.entity_id.split(".", 1)[0]
        if domain not in DEVICE_DOMAINS:
            continue
        attrs = state.attributes
        item: dict[str, Any] = {
            "entity_id": state.entity_id,
            "domain": domain,
            "name": attrs.get("friendly_name") or state.entity_id,
        }
        for src, dst in (("device_class", "device_class"), ("place", "place"), ("source", "source")):
            if attrs.get(src) is not None:
                item[dst] = attrs[src]
        if isinstance(attrs.get("latitude"), int | float) and isinstance(attrs.get("longitude"), int | float):
            item["location"] = {"lat": attrs["latitude"], "lon": attrs["longitude"]}
        devices.append(item)
    return devices


async def build_registry(hub: Hub, station: str) -> dict[str, Any]:
    """Return the registry body (see the module docstring)."""
    core = hub.core
    body = {
        "hub": {
            "id": hub.id,
            "name": hub.name,
            "zone": core.zone,
            "timezone": core.timezone,
            "language": core.language,
            "version": hub.version,
            "public_url": core.web.public_url,
            "location": {"lat": core.location.lat, "lon": core.location.lon} if core.location else None,
        },
        "cameras": _cameras(hub, station),
        "devices": _devices(hub),
        "plugins": await _hook_results(hub, hub.plugins.hooks.registry_info, _hidden_cameras(hub, station)),
    }
    cleaned: dict[str, Any] = scrub(body)
    return cleaned


def battery_alarms(hub: Hub) -> list[dict[str, Any]]:
    """Return devices whose battery is low, from their states."""
    alarms: list[dict[str, Any]] = []
    for state in hub.states.all():
        attrs = state.attributes
        battery = attrs.get("battery")
        low = attrs.get("battery_low") is True
        if isinstance(battery, int | float) and not isinstance(battery, bool) and battery <= LOW_BATTERY:
            low = True
        if low:
            alarms.append(
                {
                    "entity_id": state.entity_id,
                    "battery": battery,
                    "name": attrs.get("friendly_name") or state.entity_id,
                }
            )
    return alarms


async def build_health(hub: Hub, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Return the health body: uptime, version, battery alarms and integration status."""
    integrations = {
        p.domain: {"status": p.status, **({"error": p.error} if p.error else {})}
        for p in hub.plugin_infos()
        if p.status in ("set_up", "failed")
    }
    body = {
        "status": HEALTH_ONLINE,
        "uptime": round(max(0.0, hub.clock.time() - hub.started_at), 1),
        "started_at": hub.started_at,
        "version": hub.version,
        "battery_alarms": battery_alarms(hub),
        "integrations": integrations,
        "info": await _hook_results(hub, hub.plugins.hooks.health_info),
        **extra,
    }
    cleaned: dict[str, Any] = scrub(body)
    return cleaned
