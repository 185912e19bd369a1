"""Find the service calls written in an automation config, for checks that need the targets.

``safetyhub check`` knows each light's source before anything starts, so a field the light cannot
do is reported at the line it is written on.  Templates and blueprint inputs are not resolved
here: those targets are checked when the call runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ("service_calls", "written_targets")

Loc = tuple[str | int, ...]


def service_calls(value: Any, loc: Loc) -> Iterator[tuple[Loc, Mapping[str, Any]]]:
    """Every mapping with ``action:`` or ``service:`` naming a service, anywhere in ``value``."""
    if isinstance(value, Mapping):
        name = value.get("action", value.get("service"))
        if isinstance(name, str) and "." in name and "{" not in name:
            yield loc, value
        for key, item in value.items():
            if isinstance(item, Mapping | list):
                yield from service_calls(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from service_calls(item, (*loc, index))


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip() and "{" not in v]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and "{" not in v]
    return []


def written_targets(call: Mapping[str, Any]) -> list[str]:
    """The entity ids a call names literally (``entity_id``, ``target.entity_id``, ``data.entity_id``)."""
    found = _ids(call.get("entity_id"))
    for key in ("target", "data"):
        part = call.get(key)
        if isinstance(part, Mapping):
            found += _ids(part.get("entity_id"))
    return list(dict.fromkeys(found))
