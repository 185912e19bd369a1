"""``value_template`` / ``payload_template`` through the hub's sandboxed template engine.

MQTT templates see HA's variables: ``value`` (the payload text) and
``value_json`` (the payload parsed as JSON, when it is JSON).  A template that
fails on a device's payload yields None: bad device input is never an error
that reaches the loop.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.template import Template, TemplateError, get_engine

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("ValueTemplate", "TemplateError", "compile_template", "render_payload")


class ValueTemplate:
    """A compiled ``value_template`` applied to incoming payloads."""

    __slots__ = ("_template", "source")

    def __init__(self, template: Template) -> None:
        self._template = template
        self.source = template.source

    def render(self, payload: str, extra: Mapping[str, Any] | None = None) -> str | None:
        """Return the rendered text, or None when the template fails on this payload."""
        variables: dict[str, Any] = {"value": payload}
        with contextlib.suppress(ValueError, RecursionError):
            variables["value_json"] = json.loads(payload)
        if extra:
            variables.update(extra)
        try:
            return self._template.render(variables).strip()
        except TemplateError:
            return None


def compile_template(hub: Hub, source: str) -> ValueTemplate:
    """Compile ``source``; raise TemplateError on bad syntax (a config mistake)."""
    return ValueTemplate(get_engine(hub).compile(source))


def render_payload(hub: Hub, source: str, variables: Mapping[str, Any] | None = None) -> str:
    """Render a ``payload_template`` for ``mqtt.publish``; raise TemplateError on failure."""
    return get_engine(hub).compile(source).render(variables or {})
