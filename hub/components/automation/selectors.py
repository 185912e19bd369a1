"""Blueprint input selectors: which are known, and whether a value fits one.

Checked strictly: ``entity`` (domain, device_class, multiple, filter,
include/exclude), ``target``, ``number`` (min/max/step), ``select``, ``text``,
``boolean``, ``time``, ``duration``, ``action`` and ``object``.  Accepted but
not checked (the value is passed through as in HA): the rest of HA's common
selectors.  An unknown selector type is an error in the blueprint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hub.components.automation.durations import parse_period, parse_time_of_day
from hub.core.state import valid_entity_id

__all__ = ("CHECKED", "PASSED", "selector_problem", "value_problem", "entity_filters", "device_class_problem")

CHECKED = frozenset(
    {"entity", "target", "number", "select", "text", "boolean", "time", "duration", "action", "object"}
)
PASSED = frozenset(
    {
        "device",
        "area",
        "floor",
        "label",
        "template",
        "date",
        "datetime",
        "trigger",
        "condition",
        "state",
        "attribute",
        "icon",
        "color_rgb",
        "color_temp",
        "constant",
        "theme",
        "location",
        "media",
        "config_entry",
        "conversation_agent",
        "language",
        "qr_code",
        "ui_action",
        "ui_color",
        "addon",
        "backup_location",
        "statistic",
        "assist_pipeline",
        "navigation",
    }
)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def selector_problem(selector: Any) -> str | None:
    """Return what is wrong with a selector definition, or None."""
    if selector is None:
        return None
    if not isinstance(selector, Mapping) or len(selector) != 1:
        return "a selector is a mapping with one selector type, like {entity: {domain: light}}"
    kind, options = next(iter(selector.items()))
    if kind not in CHECKED and kind not in PASSED:
        return f"unknown selector type '{kind}'"
    if options is not None and not isinstance(options, Mapping):
        return f"the options of selector '{kind}' must be a mapping"
    if kind == "select":
        opts = (options or {}).get("options")
        if not isinstance(opts, list) or not opts:
            return "selector select needs a list of options"
    if kind == "number":
        for name in ("min", "max", "step"):
            value = (options or {}).get(name)
            if (
                value is not None
                and (isinstance(value, bool) or not isinstance(value, int | float))
                and not (name == "step" and value == "any")
            ):
                return f"selector number: {name} must be a number"
    return None


def entity_filters(options: Mapping[str, Any]) -> list[dict[str, list[str]]]:
    """Return the entity filters of a selector (old top-level keys or ``filter:``), as lists."""
    filters: list[Mapping[str, Any]] = []
    if "filter" in options:
        filters = [f for f in _as_list(options["filter"]) if isinstance(f, Mapping)]
    elif any(k in options for k in ("domain", "device_class", "integration")):
        filters = [options]
    return [
        {k: [str(v) for v in _as_list(f.get(k))] for k in ("domain", "device_class", "integration")}
        for f in filters
    ]


def _entity_problem(value: Any, options: Mapping[str, Any]) -> str | None:
    multiple = bool(options.get("multiple"))
    values = _as_list(value) if multiple else [value]
    if not multiple and isinstance(value, list):
        return "expected one entity id, got a list (the selector does not allow multiple)"
    include = {str(v) for v in _as_list(options.get("include_entities"))}
    exclude = {str(v) for v in _as_list(options.get("exclude_entities"))}
    filters = entity_filters(options)
    for item in values:
        if not isinstance(item, str) or not valid_entity_id(item.strip().lower()):
            return f"expected an entity id (domain.object_id), got {item!r}"
        entity = item.strip().lower()
        if entity in exclude:
            return f"{entity} is excluded by the selector"
        if include and entity not in include and not filters:
            return f"{entity} is not one of {', '.join(sorted(include))}"
        domains = [d for f in filters for d in f["domain"]]
        if filters and entity not in include and all(f["domain"] for f in filters):
            domain = entity.partition(".")[0]
            if domain not in domains:
                return f"expected an entity of domain {' or '.join(dict.fromkeys(domains))}, got {entity}"
    return None


def device_class_problem(value: Any, options: Mapping[str, Any], device_class_of: Any) -> str | None:
    """Check device_class filters against live states (``device_class_of(entity) -> str | None``).

    An entity passes if one filter matches both its domain and its
    device_class; entities that do not exist yet are not judged.
    """
    filters = entity_filters(options)
    if not any(f["device_class"] for f in filters):
        return None
    for item in _as_list(value):
        if not isinstance(item, str):
            continue
        entity = item.strip().lower()
        found = device_class_of(entity)
        if found is None:
            continue
        domain = entity.partition(".")[0]
        if not any(
            (not f["domain"] or domain in f["domain"])
            and (not f["device_class"] or found in f["device_class"])
            for f in filters
        ):
            wanted = " or ".join(dict.fromkeys(c for f in filters for c in f["device_class"]))
            return f"{entity} has device_class {found!r}, expected {wanted}"
    return None


def _number_problem(value: Any, options: Mapping[str, Any]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(str(value))
        except ValueError:
            return f"expected a number, got {value!r}"
    low, high, step = options.get("min"), options.get("max"), options.get("step")
    if isinstance(low, int | float) and value < low:
        return f"expected at least {low}, got {value}"
    if isinstance(high, int | float) and value > high:
        return f"expected at most {high}, got {value}"
    if isinstance(step, int | float) and step > 0:
        base = low if isinstance(low, int | float) else 0
        steps = (value - base) / step
        if not math.isclose(steps, round(steps), abs_tol=1e-9):
            return f"expected a multiple of {step} from {base}, got {value}"
    return None


def _select_problem(value: Any, options: Mapping[str, Any]) -> str | None:
    allowed = []
    for option in _as_list(options.get("options")):
        allowed.append(str(option.get("value")) if isinstance(option, Mapping) else str(option))
    if options.get("custom_value"):
        return None
    values = _as_list(value) if options.get("multiple") else [value]
    for item in values:
        if str(item) not in allowed:
            return f"expected one of {', '.join(allowed)}, got {item!r}"
    return None


def _target_problem(value: Any, options: Mapping[str, Any]) -> str | None:
    if not isinstance(value, Mapping):
        return "expected a target mapping (entity_id, device_id, area_id...)"
    for key in value:
        if key not in ("entity_id", "device_id", "area_id", "floor_id", "label_id"):
            return f"unknown target key {key!r}"
    raw_entity = options.get("entity")
    entity_options: Mapping[str, Any] = raw_entity if isinstance(raw_entity, Mapping) else {}
    if "entity_id" in value:
        return _entity_problem(value["entity_id"], {**entity_options, "multiple": True})
    return None


def value_problem(selector: Any, value: Any) -> str | None:
    """Return why ``value`` does not fit ``selector``, or None (None selector: anything goes)."""
    if selector is None or not isinstance(selector, Mapping) or len(selector) != 1:
        return None
    kind, options = next(iter(selector.items()))
    options = options if isinstance(options, Mapping) else {}
    if kind == "entity":
        return _entity_problem(value, options)
    if kind == "target":
        return _target_problem(value, options)
    if kind == "number":
        return _number_problem(value, options)
    if kind == "select":
        return _select_problem(value, options)
    if kind == "text":
        values = value if options.get("multiple") and isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                return "expected text" if not options.get("multiple") else "expected text or a list of texts"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if kind == "time":
        try:
            parse_time_of_day(value)
        except ValueError as err:
            return str(err)
        return None
    if kind == "duration":
        try:
            parse_period(value, allow_negative=bool(options.get("enable_negative")))
        except ValueError as err:
            return str(err)
        return None
    if kind == "action":
        if value is None or isinstance(value, list | Mapping):
            return None
        return "expected a list of actions"
    return None
