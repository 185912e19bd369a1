"""Parsing Home Assistant MQTT discovery messages into plain, checked configs.

Handles both forms (DESIGN §6, notes §1.6): per-entity
``<prefix>/<component>/[<node_id>/]<object_id>/config`` and per-device
``<prefix>/device/<object_id>/config`` with a ``cmps`` map; the abbreviations
(``stat_t``, ``uniq_id``, ``dev``…), and the ``~`` base-topic shorthand.
Everything here is pure so the property tests can hammer it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ("SUPPORTED", "parse_topic", "expand", "component_configs", "object_id_for", "DiscoveryError")

#: Components the hub turns into entities.
SUPPORTED = frozenset({"binary_sensor", "sensor", "event", "light", "switch", "button", "device_automation"})

_TOPIC = re.compile(
    r"^(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config$"
)

ABBREVIATIONS: dict[str, str] = {
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "atype": "automation_type",
    "bri_cmd_t": "brightness_command_topic",
    "bri_scl": "brightness_scale",
    "bri_stat_t": "brightness_state_topic",
    "bri_val_tpl": "brightness_value_template",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "cmps": "components",
    "def_ent_id": "default_entity_id",
    "dev": "device",
    "dev_cla": "device_class",
    "e": "encoding",
    "ent_cat": "entity_category",
    "evt_typ": "event_types",
    "exp_aft": "expire_after",
    "fx_cmd_t": "effect_command_topic",
    "fx_list": "effect_list",
    "fx_stat_t": "effect_state_topic",
    "fx_val_tpl": "effect_value_template",
    "ic": "icon",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "o": "origin",
    "obj_id": "object_id",
    "off_dly": "off_delay",
    "p": "platform",
    "pl": "payload",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "pl_prs": "payload_press",
    "ret": "retain",
    "stat_cla": "state_class",
    "stat_t": "state_topic",
    "stat_tpl": "state_template",
    "stat_val_tpl": "state_value_template",
    "stype": "subtype",
    "sup_clrm": "supported_color_modes",
    "t": "topic",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
}
DEVICE_ABBREVIATIONS: dict[str, str] = {
    "cns": "connections",
    "ids": "identifiers",
    "mf": "manufacturer",
    "mdl": "model",
    "mdl_id": "model_id",
    "sa": "suggested_area",
    "sw": "sw_version",
    "hw": "hw_version",
    "via_device": "via_device",
}
ORIGIN_ABBREVIATIONS: dict[str, str] = {"sw": "sw_version", "url": "support_url"}
#: Keys whose values are topics and may use the ``~`` shorthand.
_TOPIC_KEYS = frozenset(
    {
        "availability_topic",
        "brightness_command_topic",
        "brightness_state_topic",
        "command_topic",
        "effect_command_topic",
        "effect_state_topic",
        "json_attributes_topic",
        "state_topic",
        "topic",
    }
)
#: Options a device message shares with all its components (HA: everything except these).
_DEVICE_ONLY = frozenset({"components", "device", "origin"})


class DiscoveryError(ValueError):
    """A discovery message the hub cannot use (logged once per topic, then ignored)."""


def parse_topic(prefix: str, topic: str) -> tuple[str, str | None, str] | None:
    """Return ``(component, node_id, object_id)`` for a discovery topic, else None."""
    if not topic.startswith(prefix + "/"):
        return None
    match = _TOPIC.match(topic[len(prefix) + 1 :])
    if match is None:
        return None
    return match["component"], match["node_id"], match["object_id"]


def _expand_map(data: Mapping[str, Any], table: Mapping[str, str]) -> dict[str, Any]:
    return {table.get(str(k), str(k)): v for k, v in data.items()}


def expand(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``config`` with abbreviations expanded and ``~`` replaced."""
    out = _expand_map(config, ABBREVIATIONS)
    if isinstance(out.get("device"), Mapping):
        out["device"] = _expand_map(out["device"], DEVICE_ABBREVIATIONS)
    if isinstance(out.get("origin"), Mapping):
        out["origin"] = _expand_map(out["origin"], ORIGIN_ABBREVIATIONS)
    if isinstance(out.get("availability"), list):
        out["availability"] = [
            _expand_map(a, ABBREVIATIONS) for a in out["availability"] if isinstance(a, Mapping)
        ]
    base = out.pop("~", None)
    if isinstance(base, str):
        for key in _TOPIC_KEYS:
            value = out.get(key)
            if isinstance(value, str):
                if value.startswith("~"):
                    out[key] = base + value[1:]
                elif value.endswith("~"):
                    out[key] = value[:-1] + base
        for item in out.get("availability") or []:
            value = item.get("topic")
            if isinstance(value, str) and value.startswith("~"):
                item["topic"] = base + value[1:]
    return out


def component_configs(
    component: str, node_id: str | None, object_id: str, payload: Mapping[str, Any]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return ``{discovery_id: (component, config)}`` for one discovery message.

    A per-entity message yields one item; a device message one per component,
    each with the device's shared options (``availability``, ``qos``,
    ``state_topic``…) underneath its own.
    """
    config = expand(payload)
    if component != "device":
        base_id = f"{component} {node_id + ' ' if node_id else ''}{object_id}"
        return {base_id: (component, config)}
    components = config.get("components")
    if not isinstance(components, Mapping):
        raise DiscoveryError("device discovery without a 'cmps' mapping")
    shared = {k: v for k, v in config.items() if k not in _DEVICE_ONLY}
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for cmp_id, raw in components.items():
        if not isinstance(raw, Mapping):
            continue
        own = expand(raw)
        platform = own.pop("platform", None)
        if not isinstance(platform, str):
            continue
        merged = {**shared, **own, "device": config.get("device"), "origin": config.get("origin")}
        out[f"device {object_id} {cmp_id}"] = (platform, merged)
    return out


_SLUG = re.compile(r"[^a-z0-9_]+")


def _slug(value: str) -> str:
    return _SLUG.sub("_", value.lower()).strip("_")[:64]


def object_id_for(component: str, config: Mapping[str, Any], fallback: str) -> str:
    """Return the entity's object id: ``default_entity_id``, ``object_id``, ``unique_id``, else the topic's."""
    default = config.get("default_entity_id")
    if isinstance(default, str) and "." in default:
        slug = _slug(default.split(".", 1)[1])
        if slug:
            return slug
    for key in ("object_id", "unique_id"):
        value = config.get(key)
        if isinstance(value, str) and _slug(value):
            return _slug(value)
    device = config.get("device")
    name = config.get("name")
    if isinstance(device, Mapping) and isinstance(device.get("name"), str) and isinstance(name, str):
        slug = _slug(f"{device['name']}_{name}")
        if slug:
            return slug
    return _slug(fallback) or component


def text(config: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    """Return ``config[key]`` as text (numbers and bools as HA prints them), or ``default``."""
    value = config.get(key, default)
    if value is None:
        return None
    if isinstance(value, str | int | float):
        # As HA's cv.string: booleans become "True"/"False", matching what a template renders
        # for a JSON boolean (Z2M's contact sensors use payload_on: false).
        return str(value)
    return default


def topic(config: Mapping[str, Any], key: str) -> str | None:
    """Return a topic option if it is a usable topic string."""
    value = config.get(key)
    if isinstance(value, str) and value and "#" not in value and "+" not in value and len(value) < 1024:
        return value
    return None


def qos(config: Mapping[str, Any]) -> int:
    """Return the ``qos`` option clamped to 0..2."""
    value = config.get("qos", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2 else 0
