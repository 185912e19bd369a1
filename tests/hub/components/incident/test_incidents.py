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

from hub.components.incident import EVENT_OPENED, EVENT_UPDATED
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
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
    mgr = hub.data[INCIDENT_RUNTIME]
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
    mgr = hub.data[INCIDENT_RUNTIME]
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
    mgr = hub.data[INCIDENT_RUNTIME]
    with _locked(hub):
        inc = await mgr.open("sos")
        for _ in range(4):
            await clock.advance(10)
        assert mgr.held == 1
    await clock.advance(10)
    await wait_for(lambda: mgr.held == 0, what="the write after the lock went")
    assert (await _rows(hub, inc.id))[0] == "open"


async def test_open_with_the_same_key_returns_the_first_incident(hub: Any, clock: FakeClock) -> None:
    mgr = hub.data[INCIDENT_RUNTIME]
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


async def test_the_open_service_answers_the_incident_not_only_its_id(hub: Any) -> None:
    result = await hub.services.call("incident", "open", {"kind": "sos", "title": "gate", "place": "ตลาด"})
    incident = result["incident"]
    assert result["incident_id"] == incident["id"]  # the documented field stays
    assert incident == (await hub.data[INCIDENT_RUNTIME].get(incident["id"])).as_dict()
    assert incident["status"] == "open" and [e["kind"] for e in incident["timeline"]] == ["opened"]
    # A repeat with the same key answers the incident it opened, as it is now.
    await hub.data[INCIDENT_RUNTIME].ack(incident["id"], by="ร้อยเวร")
    again = await hub.services.call("incident", "open", {"kind": "sos"}, key="k1")
    repeat = await hub.services.call("incident", "open", {"kind": "sos"}, key="k1")
    assert repeat["incident"]["id"] == again["incident"]["id"] == repeat["incident_id"]


# -- incident_written: plugins' rows in the incident's own transaction ------------------------

FOLLOWER = """
    from hub import hookimpl
    from hub.components.incident import IncidentRows

    committed = []
    mode = {"value": "rows"}

    @hookimpl
    def storage_migrations():
        return ["CREATE TABLE follow (entry_id INTEGER PRIMARY KEY, incident_id TEXT NOT NULL, kind TEXT)"]

    @hookimpl
    def incident_written(hub, incident, entry):
        if mode["value"] == "raise":
            raise RuntimeError("follower broke")
        if mode["value"] == "wrong":
            return ["not", "rows"]
        table = "no_such_table" if mode["value"] == "bad_row" else "follow"
        return IncidentRows(
            [(f"INSERT INTO {table} (entry_id, incident_id, kind) VALUES (?, ?, ?)", (entry.id, incident.id, entry.kind))],
            lambda: committed.append(entry.id),
        )
"""


@pytest.fixture
async def followed(make_hub: Any, config_dir: Any) -> Any:
    from tests.hub.plugins.test_isolation import make_dropin

    make_dropin(config_dir, "follower", FOLLOWER)
    hub = await make_hub("follower:\n", web=False)
    await hub.storage.execute("PRAGMA busy_timeout = 50")
    return hub


async def _follow_rows(hub: Any) -> list[tuple[int, str, str]]:
    rows = await hub.storage.fetchall("SELECT entry_id, incident_id, kind FROM follow ORDER BY entry_id")
    return [(r["entry_id"], r["incident_id"], r["kind"]) for r in rows]


async def test_plugin_rows_are_written_with_the_incident_and_name_its_entry(followed: Any) -> None:
    hub = followed
    mgr, module = hub.data[INCIDENT_RUNTIME], hub.plugins.get("follower").module
    opened, updated = _events(hub, EVENT_OPENED), _events(hub, EVENT_UPDATED)
    inc = await mgr.open("sos", title="gate")
    await mgr.ack(inc.id, by="officer")
    await hub.block_till_done()
    entries = await hub.storage.fetchall(
        "SELECT id, kind FROM incident_timeline WHERE incident_id = ? ORDER BY id", (inc.id,)
    )
    ids = [e["id"] for e in entries]
    # The events carry the entries' row ids; the plugin's rows name the same ones.
    assert [opened[0].data["entry_id"], updated[0].data["entry_id"]] == ids
    assert await _follow_rows(hub) == [(ids[0], inc.id, "opened"), (ids[1], inc.id, "acknowledged")]
    assert module.committed == ids


async def test_plugin_rows_are_held_with_the_incident_and_committed_after_it(
    followed: Any, clock: FakeClock
) -> None:
    hub = followed
    mgr, module = hub.data[INCIDENT_RUNTIME], hub.plugins.get("follower").module
    with _locked(hub):
        inc = await mgr.open("sos")
        await mgr.note(inc.id, "photo", kind="snapshot")
        assert mgr.held == 1 and module.committed == []
        assert await _follow_rows(hub) == []
    await clock.advance(1)
    await wait_for(lambda: mgr.held == 0, what="the held incident to be written")
    assert [k for _, _, k in await _follow_rows(hub)] == ["opened", "snapshot"]
    assert len(module.committed) == 2


@pytest.mark.parametrize("mode", ["raise", "wrong", "bad_row"])
async def test_a_broken_follower_never_costs_the_incident(followed: Any, mode: str) -> None:
    hub = followed
    mgr, module = hub.data[INCIDENT_RUNTIME], hub.plugins.get("follower").module
    module.mode["value"] = mode
    inc = await mgr.open("sos", title="still written")
    assert (await _rows(hub, inc.id)) == ("open", ["opened"])
    assert await _follow_rows(hub) == [] and module.committed == []
    if mode != "bad_row":
        assert any("incident_written" in e for e in hub.plugins.get("follower").hook_errors)


async def test_recent_incidents_are_read_from_memory(hub: Any) -> None:
    mgr = hub.data[INCIDENT_RUNTIME]
    inc = await mgr.open("sos", title="gate")
    reads: list[str] = []
    fetchone = hub.storage.fetchone

    async def counting(sql: str, params: Any = ()) -> Any:
        reads.append(sql)
        return await fetchone(sql, params)

    hub.storage.fetchone = counting
    try:
        assert (await mgr.get(inc.id, timeline=False)).title == "gate"
        acked = await mgr.ack(inc.id, by="officer")
        assert acked.status == "acknowledged"
        assert (await mgr.get(inc.id, timeline=False)).acknowledged_by == "officer"
        assert reads == []
    finally:
        hub.storage.fetchone = fetchone
    assert [e.kind for e in (await mgr.get(inc.id)).timeline] == ["opened", "acknowledged"]


async def test_open_or_closed_since(hub: Any, clock: FakeClock) -> None:
    mgr = hub.data[INCIDENT_RUNTIME]
    old = await mgr.open("sos", title="old")
    await mgr.close(old.id)
    await clock.advance(3600)
    recent = await mgr.open("sos", title="recent")
    await mgr.close(recent.id)
    still = await mgr.open("sos", title="still open")
    found = await mgr.open_or_closed_since(hub.clock.time() - 60)
    assert [i.id for i in found] == [recent.id, still.id]


async def test_timeline_rows_written_by_someone_else_do_not_cost_a_change(hub: Any) -> None:
    """Row ids are handed out in memory; a row added behind the hub's back is stepped over."""
    mgr = hub.data[INCIDENT_RUNTIME]
    inc = await mgr.open("sos", title="gate")
    await hub.storage.execute(
        "INSERT INTO incident_timeline (incident_id, ts, actor, kind, text, attachments, data) "
        "VALUES (?, 0, 'operator', 'note', 'typed in the sqlite3 shell', '[]', '{}')",
        (inc.id,),
    )
    updated = _events(hub, EVENT_UPDATED)
    await mgr.ack(inc.id, by="officer")
    other = await mgr.open("sos", title="next")
    await hub.block_till_done()
    assert (await _rows(hub, inc.id)) == ("acknowledged", ["opened", "note", "acknowledged"])
    assert (await _rows(hub, other.id))[1] == ["opened"]
    row = await hub.storage.fetchone(
        "SELECT id FROM incident_timeline WHERE incident_id = ? AND kind = 'acknowledged'", (inc.id,)
    )
    assert updated[0].data["entry_id"] == row["id"]
