"""Home Assistant–style templates: a jinja2 sandbox with HA's helpers.

``get_engine(hub)`` returns the hub's engine (made on first use and kept on
``hub.templates``); templates compile once and are cached by source text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.keys import HubKey
from hub.template.engine import (
    MAX_OUTPUT,
    MAX_STEPS,
    RenderBudget,
    Template,
    TemplateEngine,
    TemplateError,
    check_syntax,
    has_template,
    is_template,
    render_complex,
)
from hub.template.limits import CLOCK_EVERY, BudgetError
from hub.template.state import RenderInfo, TemplateState

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = (
    "BudgetError",
    "CLOCK_EVERY",
    "MAX_OUTPUT",
    "MAX_STEPS",
    "RenderBudget",
    "RenderInfo",
    "Template",
    "TemplateEngine",
    "TemplateError",
    "TemplateState",
    "TEMPLATE_ENGINE",
    "check_syntax",
    "get_engine",
    "has_template",
    "is_template",
    "render_complex",
)

TEMPLATE_ENGINE: HubKey[TemplateEngine] = HubKey("template_engine")


def get_engine(hub: Hub) -> TemplateEngine:
    """Return the hub's template engine, creating it on first use."""
    engine = hub.data.get(TEMPLATE_ENGINE)
    if engine is None:
        engine = TemplateEngine(hub.states, hub.clock)
        hub.data[TEMPLATE_ENGINE] = engine
        if hub.templates is None:
            hub.templates = engine
    return engine
