"""Run traces: the trigger, each step's result, variables, timing and errors.

A trace is built with cheap appends while the run goes on, held in a
:class:`TraceBuffer` when the run ends, and queued for the database with
``storage.enqueue`` within a second.  Its JSON is made by the
storage writer (sqlite3 calls :meth:`Trace.__conform__` when it binds the
row), so the event loop never pays for serialising a trace.  The newest N
traces per automation are kept (``trace: {stored_traces: N}``, default 20):
reads return at most N, and older rows are pruned every minute and at stop.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sqlite3
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.components.automation.triggers.common import jsonable
from hub.config.secrets import redact as redact_secrets
from hub.storage import from_json, to_json
from hub.template import TemplateState

if TYPE_CHECKING:
    from hub.storage import Storage

__all__ = (
    "Trace",
    "TraceBuffer",
    "MIGRATION",
    "PRUNE",
    "store_trace",
    "load_traces",
    "prune_traces",
    "new_run_id",
)

_LOGGER = logging.getLogger(__name__)

MIGRATION = """
CREATE TABLE automation_traces (
    id INTEGER PRIMARY KEY,
    automation TEXT NOT NULL,
    run_id TEXT NOT NULL,
    ts REAL NOT NULL,
    keep INTEGER NOT NULL DEFAULT 20,
    data TEXT NOT NULL
);
CREATE INDEX ix_automation_traces_automation ON automation_traces (automation, id);
"""

#: Keep the newest ``keep`` traces of each automation.  Run every minute and at
#: stop rather than per insert: a per-row trigger cost twice the insert itself.
PRUNE = """
DELETE FROM automation_traces WHERE id IN (
    SELECT id FROM (
        SELECT id, keep, ROW_NUMBER() OVER (PARTITION BY automation ORDER BY id DESC) AS n
        FROM automation_traces
    ) WHERE n > keep
)
"""

_INSERT = "INSERT INTO automation_traces (automation, run_id, ts, keep, data) VALUES (?, ?, ?, ?, ?)"
_prefix = os.urandom(3).hex()
_counter = itertools.count(1)


def new_run_id() -> str:
    """Return a run id unique across restarts (random per process, then a counter)."""
    return f"{_prefix}{next(_counter):06x}"


class Trace:
    """One run of one automation."""

    __slots__ = (
        "automation",
        "run_id",
        "start",
        "finish",
        "trigger",
        "variables",
        "steps",
        "execution",
        "error",
        "context_id",
        "parent_id",
        "resumed",
        "last_step",
    )

    def __init__(
        self,
        automation: str,
        run_id: str,
        start: float,
        trigger: Any,
        variables: Any,
        context_id: Any,
        parent_id: str | None,
        resumed: bool = False,
    ) -> None:
        self.automation = automation
        self.run_id = run_id
        self.start = start
        self.finish: float | None = None
        self.trigger = trigger
        self.variables = variables
        #: (path, ts, result, error) per step, in execution order.
        self.steps: list[tuple[str, float, Any, str | None]] = []
        self.execution = "running"
        self.error: str | None = None
        self.context_id = context_id
        self.parent_id = parent_id
        self.resumed = resumed
        self.last_step: str | None = None

    def step(self, path: str, ts: float, result: Any = None, error: str | None = None) -> None:
        """Record one step."""
        self.steps.append((path, ts, result, error))
        self.last_step = path

    def as_dict(self, *, plain: bool = True) -> dict[str, Any]:
        """Return the full JSON form (what the API and the trace viewer show).

        With ``plain=False`` values are left for :func:`_encode`'s ``default``
        to convert, which is much cheaper than walking them in Python.
        """
        convert = jsonable if plain else _same
        trigger = self.trigger if isinstance(self.trigger, dict) else {}
        return {
            "automation": self.automation,
            "run_id": self.run_id,
            "timestamp": {"start": self.start, "finish": self.finish},
            "script_execution": self.execution,
            "state": "stopped" if self.finish is not None else "running",
            "error": self.error,
            "trigger": convert(trigger),
            "trigger_description": trigger.get("description"),
            "variables": convert(self.variables),
            "context": {"id": getattr(self.context_id, "_id", self.context_id), "parent_id": self.parent_id},
            "resumed": self.resumed,
            "last_step": self.last_step,
            "steps": [
                {"path": path, "timestamp": ts, "result": convert(result), "error": error}
                for path, ts, result, error in self.steps
            ],
        }

    def __conform__(self, protocol: Any) -> str | None:
        # Called by sqlite3 in the storage writer's thread, off the event loop.
        if protocol is sqlite3.PrepareProtocol:
            try:
                # a `!secret` in the automation's data is masked before it is stored
                return redact_secrets(_encode(self.as_dict(plain=False)))
            except Exception as err:  # noqa: BLE001 - a trace must never break the batch writer
                return to_json(
                    {
                        "automation": self.automation,
                        "run_id": self.run_id,
                        "error": f"trace could not be saved: {err!r}",
                    }
                )
        return None

    def __repr__(self) -> str:
        return f"<Trace {self.automation} {self.run_id} {self.execution}>"


def _same(value: Any) -> Any:
    return value


def _default(obj: Any) -> Any:
    # json's C encoder handles dicts, lists and scalars; only odd objects get here.
    if isinstance(obj, TemplateState):
        return obj.as_dict()
    if isinstance(obj, Mapping):
        return dict(obj)
    return jsonable(obj)


def _encode(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_default)
    except (TypeError, ValueError):
        return to_json(jsonable(value))


def store_trace(storage: Storage, trace: Trace, keep: int) -> None:
    """Queue a finished trace for the database."""
    if storage.is_open:
        storage.enqueue(_INSERT, (trace.automation, trace.run_id, trace.start, keep, trace))


class TraceBuffer:
    """Finished traces not yet queued for the database: at most the newest N per automation.

    A run costs a ``deque.append`` here.  Every second (and before any read,
    and at stop) the survivors are queued with ``storage.enqueue``, so an
    automation triggered 1,000 times in that second writes (and serialises)
    20 traces, not 1,000: a trigger storm cannot turn into a disk storm.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._pending: dict[str, deque[Trace]] = {}

    def add(self, trace: Trace, keep: int) -> None:
        """Hold a finished trace until the next write."""
        queue = self._pending.get(trace.automation)
        if queue is None or queue.maxlen != keep:
            queue = self._pending[trace.automation] = deque(queue or (), maxlen=keep)
        queue.append(trace)

    def write(self) -> None:
        """Queue every held trace for the database."""
        pending, self._pending = self._pending, {}
        for queue in pending.values():
            for trace in queue:
                store_trace(self._storage, trace, queue.maxlen or 1)

    def __len__(self) -> int:
        return sum(len(q) for q in self._pending.values())


async def prune_traces(storage: Storage) -> int:
    """Delete traces beyond each automation's ``keep``; return how many went."""
    if not storage.is_open:
        return 0
    return await storage.execute_rowcount(PRUNE)


async def load_traces(
    storage: Storage, automation: str, limit: int = 100, buffer: TraceBuffer | None = None
) -> list[dict[str, Any]]:
    """Return an automation's stored traces, newest first (at most its ``keep``)."""
    if buffer is not None:
        buffer.write()
    try:
        await storage.flush()
    except sqlite3.Error as err:
        _LOGGER.debug("Trace query without the queued rows: %s", err)
    rows = await storage.fetchall(
        "SELECT data FROM automation_traces WHERE automation = ? ORDER BY id DESC LIMIT ?",
        (automation, limit),
    )
    out = []
    for row in rows:
        data = from_json(row["data"])
        if isinstance(data, dict):
            out.append(data)
    return out
