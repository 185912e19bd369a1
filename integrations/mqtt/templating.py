"""``value_template`` / ``payload_template`` through the hub's sandboxed template engine.

MQTT templates see HA's variables: ``value`` (the payload text) and
``value_json`` (the payload parsed as JSON, when it is JSON).  A template that
fails on a device's payload yields None: bad device input is never an error
that reaches the loop.

Templates that arrive by MQTT discovery are written by whoever can publish
on the discovery prefix, and they render on the event loop that also carries
SOS presses.  So they run on a tight budget: each render may take
:data:`DEVICE_RENDER_SECONDS`; all device templates together may take
:data:`DEVICE_SHARE` of each second (past it, only renders too small to read
the clock complete); and a template stopped by its budget is skipped for
:data:`SUSPEND_SECONDS`, so a flood of messages cannot repeat the cost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.keys import HubKey
from hub.template import CLOCK_EVERY, BudgetError, RenderBudget, Template, TemplateError, get_engine

if TYPE_CHECKING:
    from hub.core.clock import Clock
    from hub.hub import Hub

__all__ = (
    "DEVICE_RENDER_SECONDS",
    "DEVICE_SHARE",
    "SUSPEND_SECONDS",
    "DeviceTemplateBudget",
    "ValueTemplate",
    "TemplateError",
    "compile_template",
    "render_payload",
)

_LOGGER = logging.getLogger(__name__)

#: Longest one device template may render (a normal one takes microseconds).
DEVICE_RENDER_SECONDS = 0.02
#: Render time all device templates may use per second of wall time.
DEVICE_SHARE = 0.05
#: How long a device template stopped by its budget is skipped.
SUSPEND_SECONDS = 300.0

_DEVICE_BUDGET: HubKey[DeviceTemplateBudget] = HubKey("mqtt_device_template_budget")


class DeviceTemplateBudget:
    """The share of the event loop that device-supplied templates may use, per one-second window.

    Wall time (``perf_counter``), not the hub clock: what is rationed is how
    long the real loop is held.
    """

    def __init__(self) -> None:
        self._window = time.perf_counter()
        self._spent = 0.0

    def budget(self) -> RenderBudget:
        """The budget for the next device render."""
        now = time.perf_counter()
        if now - self._window >= 1.0:
            self._window, self._spent = now, 0.0
        left = DEVICE_SHARE - self._spent
        if left <= 0:
            return RenderBudget(steps=CLOCK_EVERY)
        return RenderBudget(seconds=min(DEVICE_RENDER_SECONDS, left))

    def spend(self, seconds: float) -> None:
        self._spent += seconds


class ValueTemplate:
    """A compiled ``value_template`` applied to incoming payloads."""

    __slots__ = ("_template", "source", "_device", "_clock", "_suspended_until")

    def __init__(
        self, template: Template, device: DeviceTemplateBudget | None = None, clock: Clock | None = None
    ) -> None:
        self._template = template
        self.source = template.source
        self._device = device
        self._clock = clock
        self._suspended_until = 0.0

    @property
    def suspended(self) -> bool:
        """Whether the template is being skipped after exceeding its budget."""
        return self._clock is not None and self._clock.time() < self._suspended_until

    def render(self, payload: str, extra: Mapping[str, Any] | None = None) -> str | None:
        """Return the rendered text, or None when the template fails on this payload."""
        if self.suspended:
            return None
        variables: dict[str, Any] = {"value": payload}
        with contextlib.suppress(ValueError, RecursionError):
            variables["value_json"] = json.loads(payload)
        if extra:
            variables.update(extra)
        device = self._device
        if device is None:
            try:
                return self._template.render(variables).strip()
            except TemplateError:
                return None
        started = time.perf_counter()
        try:
            return self._template.render(variables, budget=device.budget()).strip()
        except BudgetError as err:
            if self._clock is not None:
                self._suspended_until = self._clock.time() + SUSPEND_SECONDS
            _LOGGER.warning(
                "device template %r stopped (%s); skipped for %d s", self.source[:80], err, SUSPEND_SECONDS
            )
            return None
        except TemplateError:
            return None
        finally:
            device.spend(time.perf_counter() - started)


def compile_template(hub: Hub, source: str, *, device: bool = False) -> ValueTemplate:
    """Compile ``source``; raise TemplateError on bad syntax (a config mistake).

    ``device``: the template came from a device (MQTT discovery), not from
    the admin's config, and renders on the device budget.
    """
    template = get_engine(hub).compile(source)
    if not device:
        return ValueTemplate(template)
    budget = hub.data.get(_DEVICE_BUDGET)
    if budget is None:
        budget = hub.data[_DEVICE_BUDGET] = DeviceTemplateBudget()
    return ValueTemplate(template, budget, hub.clock)


def render_payload(hub: Hub, source: str, variables: Mapping[str, Any] | None = None) -> str:
    """Render a ``payload_template`` for ``mqtt.publish``; raise TemplateError on failure."""
    return get_engine(hub).compile(source).render(variables or {})
