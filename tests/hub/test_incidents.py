"""Incidents: one transaction per change, held in memory while the database refuses, idempotent opens.

The database is made to refuse writes the way a backup or an operator's ``sqlite3`` shell does:
another connection holds the write lock, and the hub's ``busy_timeout`` is cut to 50 ms so each
refused write fails fast (tests/chaos/test_disk_full.py does the same with a really full disk).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from hub.core.clock import FakeClock
from hub.incidents import EVENT_OPENED, EVENT_UPDATED, INCIDENTS
from hub.testing import wait_for


@contextlib.contextmanager
def _locked(hub: Any) -> Iterator[sqlite3.Connection]:
    """Hold the database's write lock from another connection; readers still read (WAL)."""
    conn = sqlite3.connect(hub.storage.path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")
        conn.close()


@pytest.fixture
async def hub(make_hub: Any) -> Any:
    hub = await make_hub(web=False)
    await hub.storage.execute("PRAGMA busy_timeout = 50")
    return hub


def _events(hub: Any, event_type: str) -> list[Any]:
    found: list[Any] = []
    hub.bus.listen(event_type, found.append)
    return found


async def _rows(hub: Any, incident_id: str) -> tuple[str | None, list[str]]:
    row = await hub.storage.fetchone("SELECT status FROM incidents WHERE id = ?", (incident_id,))
    entries = await hub.storage.fetchall(
        "SELECT kind FROM incident_timeline WHERE incident_id = ? ORDER BY id", (incident_id,)
    )
    return (row["status"] if row else None), [e["kind"] for e in entries]


async def test_open_is_held_while_the_database_refuses_then_written(hub: Any, clock: FakeClock) -> None:
    mgr = hub.data[INCIDENTS]
    opened, updated = _events(hub, EVENT_OPENED), _events(hub, EVENT_UPDATED)
    with _locked(hub):
        inc = await mgr.open("sos", title="SOS gate", place="Gate 1")
        await mgr.note(inc.id, "snapshot taken", kind="snapshot", attachments=["snap-1"])
        await mgr.ack(inc.id, by="officer:somchai")
        assert mgr.held == 1
        # Readable, and up to date, while only in memory.
        held = await mgr.get(inc.id)
        assert held.status == "acknowledged" and held.acknowledged_by == "officer:somchai"
        assert [e.kind for e in held.timeline] == ["opened", "snapshot", "acknowledged"]
        assert [i.id for i in await mgr.find(status="acknowledged", kind="sos")] == [inc.id]
        assert await mgr.find(status="open") == []
        assert await _rows(hub, inc.id) == (None, [])  # nothing on disk yet
        await hub.block_till_done()
        assert len(opened) == 1 and len(updated) == 2  # the alert went on regardless
        assert hub.states.get(inc.entity_id).state == "acknowledged"
    await clock.advance(1)
    await wait_for(lambda: mgr.held == 0, what="the held incident to be written")
    assert await _rows(hub, inc.id) == ("acknowledged", ["opened", "snapshot", "acknowledged"])
    assert [e.kind for e in (await mgr.get(inc.id)).timeline] == ["opened", "snapshot", "acknowledged"]


async def test_change_to_a_written_incident_is_held(hub: Any, clock: FakeClock) -> None:
    mgr = hub.data[INCIDENTS]
    inc = await mgr.open("manual", title="fence cut")
    with _locked(hub):
        closed = await mgr.close(inc.id, text="repaired")
        assert closed.status == "closed" and mgr.held == 1
        assert await mgr.find(status="active") == []
        assert [i.id for i in await mgr.find(status="closed")] == [inc.id]
        assert await _rows(hub, inc.id) == ("open", ["opened"])
    await clock.advance(1)
    await wait_for(lambda: mgr.held == 0, what="the held change to be written")
    assert await _rows(hub, inc.id) == ("closed", ["opened", "closed"])


async def test_retry_backs_off_while_the_database_still_refuses(hub: Any, clock: FakeClock) -> None:
    mgr = hub.data[INCIDENTS]
    with _locked(hub):
        inc = await mgr.open("sos")
        for _ in range(4):
            await clock.advance(10)
        assert mgr.held == 1
    await clock.advance(10)
    await wait_for(lambda: mgr.held == 0, what="the write after the lock went")
    assert (await _rows(hub, inc.id))[0] == "open"


async def test_open_with_the_same_key_returns_the_first_incident(hub: Any, clock: FakeClock) -> None:
    mgr = hub.data[INCIDENTS]
    opened = _events(hub, EVENT_OPENED)
    first = await mgr.open("sos", title="press", key="run:abc:0#1")
    again = await mgr.open("sos", title="press", key="run:abc:0#1")
    other = await mgr.open("sos", title="press", key="run:abc:0#2")
    assert again.id == first.id and other.id != first.id
    await hub.block_till_done()
    assert len(opened) == 2
    with _locked(hub):  # held incidents answer to their key too
        held = await mgr.open("sos", key="run:def:0#1")
        assert (await mgr.open("sos", key="run:def:0#1")).id == held.id
    await clock.advance(1)
    await wait_for(lambda: mgr.held == 0, what="the held incident to be written")
    rows = await hub.storage.fetchall("SELECT open_key FROM incidents WHERE open_key = 'run:def:0#1'")
    assert len(rows) == 1
