"""The ``template`` trigger: fires when a template turns true (optionally ``for`` a while).

The template is re-rendered only when something it read changes: the
entities it looked at (tracked by id), whole domains or all states when it
iterated them, and once a minute when it called ``now()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, Field

from hub.components.automation.durations import Period, resolve_period
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.components.automation.triggers.common import HoldTimers
from hub.components.automation.types import PeriodField, PlatformModel, TemplateText
from hub.core.bus import Event, Unsubscribe
from hub.core.clock import Cancel
from hub.core.context import Context
from hub.core.state import EVENT_STATE_CHANGED
from hub.template import RenderInfo, Template, TemplateError, get_engine

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("TemplateTrigger", "TemplateTriggerConfig", "TemplateWatch", "truthy")

_LOGGER = logging.getLogger(__name__)


def truthy(value: Any) -> bool:
    """HA's template truth: true, "on", "yes", "enable" and non-zero numbers."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("true", "on", "yes", "enable", "1")
    return bool(value)


class TemplateWatch:
    """Re-render a template whenever what it read may have changed; report each result."""

    def __init__(
        self,
        hub: Hub,
        template: Template,
        variables: Callable[[], dict[str, Any]],
        on_result: Callable[[bool, Context | None], None],
        label: str,
    ) -> None:
        self.hub = hub
        self.template = template
        self.variables = variables
        self.on_result = on_result
        self.label = label
        self._unsubs: list[Unsubscribe] = []
        self._tracked: tuple[frozenset[str], frozenset[str], bool] | None = None
        self._timer: Cancel | None = None
        self._closed = False

    def evaluate(self, context: Context | None = None) -> bool:
        """Render now, re-subscribe to what was read, and return the truth of the result."""
        info = RenderInfo()
        try:
            result = truthy(self.template.render_native(self.variables(), info=info))
        except TemplateError as err:
            _LOGGER.warning("%s: template error: %s", self.label, err)
            result = False
        self._track(info)
        return result

    def _track(self, info: RenderInfo) -> None:
        wanted = (frozenset(info.entities), frozenset(info.domains), info.all_states)
        if wanted != self._tracked:
            self._drop_subscriptions()
            self._tracked = wanted
            if info.all_states or info.domains:
                domains = info.domains

                def on_any(event: Event) -> None:
                    if info.all_states or event.data["entity_id"].partition(".")[0] in domains:
                        self._changed(event)

                self._unsubs.append(self.hub.bus.listen(EVENT_STATE_CHANGED, on_any))
            elif info.entities:
                self._unsubs.append(self.hub.states.track(info.entities, self._changed))
        if info.uses_time and self._timer is None:
            now = self.hub.clock.time()
            self._timer = self.hub.clock.call_at(now - now % 60 + 60, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if not self._closed:
            self.on_result(self.evaluate(), None)

    def _changed(self, event: Event) -> None:
        if not self._closed:
            self.on_result(self.evaluate(event._context), event._context)

    def _drop_subscriptions(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    def close(self) -> None:
        """Stop watching."""
        self._closed = True
        self._drop_subscriptions()
        if self._timer is not None:
            self._timer()
            self._timer = None


class TemplateTriggerConfig(PlatformModel):
    value_template: TemplateText
    for_: PeriodField | None = Field(default=None, alias="for")


class TemplateTrigger:
    """The built-in ``template`` trigger platform."""

    schema: type[BaseModel] = TemplateTriggerConfig

    def attach(
        self, hub: Hub, config: TemplateTriggerConfig, fire: TriggerFire, info: TriggerInfo
    ) -> Unsubscribe:
        """Watch the template; fire on each false → true change."""
        engine = get_engine(hub)
        template = engine.compile(config.value_template)
        holds = HoldTimers(hub, info, fire) if config.for_ is not None else None
        label = f"Automation {info.automation_name or info.automation_id} template trigger"
        state = {"last": True}

        def on_result(result: bool, context: Context | None) -> None:
            was = state["last"]
            state["last"] = result
            if not result:
                if holds is not None:
                    holds.cancel("template")
                return
            if was:
                return
            trigger: dict[str, Any] = {
                "platform": "template",
                "entity_id": None,
                "for": None,
                "description": "template",
                "value_template": config.value_template,
            }
            if holds is None:
                fire(trigger, context)
                return
            try:
                seconds = resolve_period(
                    cast(Period, config.for_), engine, {**info.variables, "trigger": trigger}
                )
            except Exception as err:  # noqa: BLE001 - a bad for: template must not break the watch
                _LOGGER.error("%s: cannot work out for: %s", label, err)
                return
            trigger["for"] = seconds
            holds.start("template", seconds, trigger, context, {"mode": "true"})

        watch = TemplateWatch(hub, template, lambda: dict(info.variables), on_result, label)
        # As in HA, a template that is already true at start-up does not fire.
        state["last"] = watch.evaluate()
        if holds is not None:
            holds.restore("template", lambda _hold: state["last"])

        def detach() -> None:
            watch.close()
            if holds is not None:
                holds.cancel_all()

        return detach
