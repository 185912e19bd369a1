"""Run traces: the trigger, each step's result, variables, timing and errors.

A trace is built with cheap appends while the run goes on, then queued for the
database with ``storage.enqueue`` when the run ends.  Its JSON is made by the
storage writer (sqlite3 calls :meth:`Trace.__conform__` when it binds the
row), so the event loop never pays for serialising a trace.  A database
trigger keeps the newest N rows per automation (``trace: {stored_traces: N}``,
default 20).
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
from typing import TYPE_CHECKING, Any

from hub.automation.triggers.common import jsonable
from hub.storage import from_json, to_json

if TYPE_CHECKING:
    from hub.storage import Storage

__all__ = ("Trace", "MIGRATION", "store_trace", "load_traces", "new_run_id")

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
-- Keep the newest `keep` traces of the automation a new row belongs to.
CREATE TRIGGER automation_traces_prune AFTER INSERT ON automation_traces
BEGIN
    DELETE FROM automation_traces
    WHERE automation = NEW.automation
      AND id <= (SELECT id FROM automation_traces WHERE automation = NEW.automation
                 ORDER BY id DESC LIMIT 1 OFFSET NEW.keep);
END;
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

    def as_dict(self) -> dict[str, Any]:
        """Return the full JSON form (what the API and the trace viewer show)."""
        trigger = self.trigger if isinstance(self.trigger, dict) else {}
        return {
            "automation": self.automation,
            "run_id": self.run_id,
            "timestamp": {"start": self.start, "finish": self.finish},
            "script_execution": self.execution,
            "state": "stopped" if self.finish is not None else "running",
            "error": self.error,
            "trigger": jsonable(trigger),
            "trigger_description": trigger.get("description"),
            "variables": jsonable(
                {k: v for k, v in self.variables.items() if k != "trigger"}
                if isinstance(self.variables, dict)
                else self.variables
            ),
            "context": {"id": getattr(self.context_id, "_id", self.context_id), "parent_id": self.parent_id},
            "resumed": self.resumed,
            "last_step": self.last_step,
            "steps": [
                {"path": path, "timestamp": ts, "result": jsonable(result), "error": error}
                for path, ts, result, error in self.steps
            ],
        }

    def __conform__(self, protocol: Any) -> str | None:
        # Called by sqlite3 in the storage writer's thread, off the event loop.
        if protocol is sqlite3.PrepareProtocol:
            try:
                return to_json(self.as_dict())
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


def store_trace(storage: Storage, trace: Trace, keep: int) -> None:
    """Queue a finished trace for the database."""
    if storage.is_open:
        storage.enqueue(_INSERT, (trace.automation, trace.run_id, trace.start, keep, trace))


async def load_traces(storage: Storage, automation: str, limit: int = 100) -> list[dict[str, Any]]:
    """Return an automation's stored traces, newest first."""
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
