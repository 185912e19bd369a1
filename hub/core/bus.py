"""The event bus.

Events are queued and dispatched in one batch per loop iteration: ``fire`` is a
dict lookup plus an append, and a single ``call_soon`` drains everything queued
so far.  Listeners therefore never run inside ``fire`` (no re-entrancy), events
are delivered in the order they were fired, and a burst of events costs one
scheduled callback instead of one per event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from hub.core.context import Context

__all__ = ("MATCH_ALL", "Event", "EventBus", "EventListener", "Unsubscribe")

_LOGGER = logging.getLogger(__name__)

MATCH_ALL = "*"
#: Most events per drain before yielding to the loop, so a listener storm
#: cannot starve network I/O (an SOS packet waiting on a socket, say).
_MAX_BATCH = 10_000

EventListener = Callable[["Event"], Any]
EventFilter = Callable[["Event"], bool]
Unsubscribe = Callable[[], None]
# What the drain calls.  A plain synchronous listener without a filter is
# stored as itself, so the common case costs one call; filters and
# coroutine listeners get a small wrapper.
_Listener = Callable[["Event"], Any]


class Event:
    """Something that happened, with its data and its cause."""

    __slots__ = ("event_type", "data", "time_fired", "origin", "_context", "_listeners")

    def __init__(
        self,
        event_type: str,
        data: Mapping[str, Any],
        time_fired: float,
        context: Context | None = None,
        origin: str = "local",
    ) -> None:
        self.event_type = event_type
        self.data = data
        self.time_fired = time_fired
        self.origin = origin
        self._context = context
        self._listeners: tuple[_Listener, ...] = ()

    @property
    def context(self) -> Context:
        """Return the event's context, creating an anonymous one on first use."""
        if self._context is None:
            self._context = Context()
        return self._context

    def as_dict(self) -> dict[str, Any]:
        """Return the HA-compatible JSON form of the event."""
        return {
            "event_type": self.event_type,
            "data": dict(self.data),
            "time_fired": self.time_fired,
            "origin": self.origin,
            "context": self.context.as_dict(),
        }

    def __repr__(self) -> str:
        return f"<Event {self.event_type} {dict(self.data)!r}>"


class EventBus:
    """Listeners keyed by event type; a failing listener is logged and isolated."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        time_fn: Callable[[], float] = time.time,
        run_task: Callable[[Coroutine[Any, Any, Any]], Any] | None = None,
    ) -> None:
        self._loop = loop
        self._time = time_fn
        self._run_task = run_task or loop.create_task
        # Copy-on-write tuples: a drain iterates the tuple captured at fire
        # time, so (un)subscribing from inside a listener is always safe.
        self._listeners: dict[str, tuple[_Listener, ...]] = {}
        self._match_all: tuple[_Listener, ...] = ()
        self._queue: deque[Event] = deque()
        self._scheduled = False
        self._idle: asyncio.Event | None = None

    # -- subscribing -------------------------------------------------------

    def listen(
        self,
        event_type: str,
        listener: EventListener,
        event_filter: EventFilter | None = None,
    ) -> Unsubscribe:
        """Call ``listener(event)`` for each event of ``event_type``.

        ``event_type`` may be ``MATCH_ALL``.  A coroutine function runs as a
        task.  ``event_filter`` runs first and skips the listener when it
        returns false.  Returns a callable that removes the listener.
        """
        entry = self._wrap(listener, event_filter)
        if event_type == MATCH_ALL:
            self._match_all = (*self._match_all, entry)
        else:
            self._listeners[event_type] = (*self._listeners.get(event_type, ()), entry)

        def unsubscribe() -> None:
            if event_type == MATCH_ALL:
                self._match_all = tuple(e for e in self._match_all if e is not entry)
                return
            remaining = tuple(e for e in self._listeners.get(event_type, ()) if e is not entry)
            if remaining:
                self._listeners[event_type] = remaining
            else:
                self._listeners.pop(event_type, None)

        return unsubscribe

    def _wrap(self, listener: EventListener, event_filter: EventFilter | None) -> _Listener:
        if asyncio.iscoroutinefunction(listener):
            run_task = self._run_task

            def run_coro(event: Event) -> None:
                if event_filter is None or event_filter(event):
                    run_task(listener(event))

            return run_coro
        if event_filter is not None:

            def filtered(event: Event) -> Any:
                if event_filter(event):
                    return listener(event)
                return None

            return filtered
        return listener

    def listen_once(self, event_type: str, listener: EventListener) -> Unsubscribe:
        """Call ``listener`` for the next event of ``event_type`` only."""
        fired = False

        def once(event: Event) -> Any:
            nonlocal fired
            if fired:
                return None
            fired = True
            unsub()
            return listener(event)

        unsub = self.listen(event_type, once)
        return unsub

    def listener_count(self) -> dict[str, int]:
        """Return the number of listeners per event type."""
        counts = {etype: len(entries) for etype, entries in self._listeners.items()}
        if self._match_all:
            counts[MATCH_ALL] = len(self._match_all)
        return counts

    # -- firing ------------------------------------------------------------

    def fire(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        context: Context | None = None,
        origin: str = "local",
        time_fired: float | None = None,
    ) -> None:
        """Queue an event for delivery.  Must be called from the event loop."""
        listeners = self._listeners.get(event_type)
        if listeners is None:
            if not self._match_all:
                return
            listeners = self._match_all
        elif self._match_all:
            listeners = self._match_all + listeners
        event = Event(
            event_type,
            data if data is not None else {},
            self._time() if time_fired is None else time_fired,
            context,
            origin,
        )
        event._listeners = listeners
        self._queue.append(event)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._drain)

    def fire_threadsafe(self, event_type: str, data: Mapping[str, Any] | None = None) -> None:
        """Fire an event from another thread."""
        self._loop.call_soon_threadsafe(self.fire, event_type, data)

    def _drain(self) -> None:
        queue = self._queue
        popleft = queue.popleft
        budget = _MAX_BATCH
        while queue and budget:
            budget -= 1
            event = popleft()
            for func in event._listeners:
                try:
                    func(event)
                except Exception:
                    _LOGGER.exception("Error in listener %r for %s", func, event.event_type)
        if queue:
            self._loop.call_soon(self._drain)
        else:
            self._scheduled = False
            if self._idle is not None:
                self._idle.set()

    @property
    def pending(self) -> int:
        """Return the number of events waiting for delivery."""
        return len(self._queue)

    async def drained(self) -> None:
        """Wait until every queued event has been delivered."""
        while self._queue:
            if self._idle is None or self._idle.is_set():
                self._idle = asyncio.Event()
            await self._idle.wait()
