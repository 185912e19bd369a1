"""Pieces the built-in triggers share: ``for:`` hold timers and JSON-safe trigger data."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from hub.components.automation.const import DURABLE
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.core.bus import Event
from hub.core.clock import Cancel
from hub.core.context import Context
from hub.core.state import State
from hub.template import TemplateState

if TYPE_CHECKING:
    from hub.components.automation.durable import DurableStore
    from hub.hub import Hub

__all__ = ("HoldTimers", "jsonable", "restore_context", "schedule_at")

_LOGGER = logging.getLogger(__name__)


def jsonable(value: Any, depth: int = 0) -> Any:
    """Return ``value`` as plain JSON data (states become dicts, times ISO text)."""
    if depth > 20:
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, TemplateState):
        return value.as_dict()
    if isinstance(value, State):
        return {
            "entity_id": value.entity_id,
            "state": value.state,
            "attributes": jsonable(dict(value.attributes)),
            "last_changed": value.last_changed,
            "last_updated": value.last_updated,
        }
    if isinstance(value, Event):
        return {
            "event_type": value.event_type,
            "data": jsonable(dict(value.data), depth + 1),
            "time_fired": value.time_fired,
            "origin": value.origin,
        }
    if isinstance(value, Context):
        return {"id": value.id, "parent_id": value.parent_id, "user_id": value.user_id}
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, depth + 1) for v in value]
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        try:
            return jsonable(as_dict(), depth + 1)
        except Exception:  # noqa: BLE001 - a plugin's odd object must not break a trace
            return repr(value)
    return repr(value)


def schedule_at(hub: Hub, when: float, callback: Callable[[], object]) -> Cancel:
    """Run ``callback`` at ``when`` on the hub's clock; soon if ``when`` has passed.

    A deadline that passed while the hub was down must fire at once, not at
    the clock's next tick (a test's FakeClock only ticks when advanced).
    """
    if when <= hub.clock.time():
        handle = hub.loop.call_soon(callback)
        return handle.cancel
    return hub.clock.call_at(when, callback)


def restore_context(data: Mapping[str, Any] | None) -> Context:
    """Return a new context caused by a saved one (its id becomes the parent)."""
    if not data:
        return Context()
    return Context(parent_id=data.get("id"), user_id=data.get("user_id"))


class HoldTimers:
    """The pending ``for:`` timers of one trigger, one per slot (entity id).

    Each is saved as a durable row so that a restart re-arms it if the state
    still holds, and fires it at once (``trigger.resumed: true``) if its
    deadline passed while the hub was down.
    """

    def __init__(self, hub: Hub, info: TriggerInfo, fire: TriggerFire) -> None:
        self.hub = hub
        self.info = info
        self.fire = fire
        self._pending: dict[str, tuple[Cancel, dict[str, Any]]] = {}
        self.store: DurableStore | None = hub.data.get(DURABLE)

    def _key(self, slot: str) -> str:
        return f"for:{self.info.automation_id}:{self.info.trigger_idx}:{slot}"

    def hold(self, slot: str) -> dict[str, Any] | None:
        """Return what the pending timer of ``slot`` waits to stay true, or None."""
        pending = self._pending.get(slot)
        return pending[1] if pending is not None else None

    def start(
        self,
        slot: str,
        seconds: float,
        trigger: dict[str, Any],
        context: Context | None,
        hold: dict[str, Any],
        *,
        deadline: float | None = None,
    ) -> None:
        """Fire ``trigger`` after ``seconds`` unless cancelled first."""
        self.cancel(slot)
        when = deadline if deadline is not None else self.hub.clock.time() + seconds
        cancel = schedule_at(self.hub, when, lambda: self._due(slot, trigger, context))
        self._pending[slot] = (cancel, hold)
        if self.store is not None:
            self.store.save(
                self._key(slot),
                self.info.automation_id,
                "for",
                when,
                {
                    "fp": self.info.fingerprint,
                    "hold": hold,
                    "trigger": jsonable(trigger),
                    "context": jsonable(context) if context is not None else None,
                },
            )

    def _due(self, slot: str, trigger: dict[str, Any], context: Context | None) -> None:
        if self._pending.pop(slot, None) is None:
            return
        if self.store is not None:
            self.store.delete(self._key(slot))
        self.fire(trigger, context)

    def cancel(self, slot: str) -> None:
        """Drop the pending timer of ``slot``."""
        pending = self._pending.pop(slot, None)
        if pending is not None:
            pending[0]()
            if self.store is not None:
                self.store.delete(self._key(slot))

    def cancel_all(self) -> None:
        """Drop every pending timer (detach)."""
        for slot in list(self._pending):
            self.cancel(slot)

    def restore(self, slot: str, still_holds: Callable[[dict[str, Any]], bool]) -> None:
        """Re-arm the timer saved for ``slot`` before a restart, if it still applies."""
        if self.store is None:
            return
        row = self.store.claim(self._key(slot))
        if row is None:
            return
        data = row.data
        hold = data.get("hold") or {}
        if data.get("fp") != self.info.fingerprint or row.deadline is None or not still_holds(hold):
            _LOGGER.info(
                "Automation %s: pending for: of %s no longer holds after the restart",
                self.info.automation_name or self.info.automation_id,
                slot,
            )
            self.store.delete_key(self._key(slot))
            return
        trigger = dict(data.get("trigger") or {})
        trigger["resumed"] = True
        context = restore_context(data.get("context"))
        self.start(slot, 0.0, trigger, context, hold, deadline=max(row.deadline, self.hub.clock.time()))
