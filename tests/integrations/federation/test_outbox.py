"""The outbox on the hub's real database: order, window, coalescing, acks, restarts."""

from __future__ import annotations

import asyncio

import pytest

from hub.core.ids import ulid
from hub.hub import Hub
from hub.storage import Storage
from integrations.federation.const import (
    PRIO_EVENT,
    PRIO_HEALTH,
    PRIO_INCIDENT,
    PRIO_SNAPSHOT,
    PRIO_SOS,
)
from integrations.federation.migrations import MIGRATIONS
from integrations.federation.outbox import Outbox, OutboxItem


@pytest.fixture(autouse=True)
async def outbox_tables(hub: Hub) -> None:
    """The outbox on the hub's own database (federation itself is not configured here)."""
    await hub.storage.apply_migrations("federation", MIGRATIONS)


def item(
    priority: int, kind: str = "event", coalesce: str | None = None, payload: bytes = b"{}"
) -> OutboxItem:
    return OutboxItem(ulid(), kind, priority, coalesce is not None, payload, coalesce=coalesce)


async def rows(storage: Storage) -> list[str]:
    return [r["id"] for r in await storage.fetchall("SELECT id FROM federation_outbox ORDER BY id")]


async def test_rows_go_out_by_priority_then_age_within_the_window(hub: Hub) -> None:
    box = Outbox(hub.storage, time_fn=hub.clock.time, window=3, urgent_reserve=1)
    queued = [item(p) for p in (PRIO_HEALTH, PRIO_EVENT, PRIO_EVENT, PRIO_SNAPSHOT, PRIO_INCIDENT, PRIO_SOS)]
    for it in queued:
        await box.add(it)
    assert len(await rows(hub.storage)) == 6  # on disk before anything is sent
    first = box.take(now=0)
    assert [i.priority for i in first] == [PRIO_SOS, PRIO_INCIDENT, PRIO_SNAPSHOT]
    assert box.take(now=0) == []  # the window is full of work
    late_sos = item(PRIO_SOS)
    await box.add(late_sos)
    # The reserve lets an alarm past a window full of other rows; telemetry waits.
    assert box.take(now=0) == [late_sos]
    assert box.take(now=0) == []
    await box.ack([first[0].id, first[1].id])
    # Two of four in flight acked: one slot of the window is free again.
    assert [i.id for i in box.take(now=1)] == [queued[1].id]
    assert box.pending == 5


async def test_group_commit_and_ack_deletes(hub: Hub) -> None:
    box = Outbox(hub.storage, time_fn=hub.clock.time)
    many = [item(PRIO_EVENT, payload=b'{"n": %d}' % n) for n in range(300)]
    await asyncio.gather(*(box.add(it) for it in many))
    assert len(await rows(hub.storage)) == 300
    sent = box.take(now=0)
    assert len(sent) == 200 + 0  # window 200; the reserve is for alarms only
    assert await box.ack([i.id for i in sent] + ["01JUNKNOWNIDXXXXXXXXXXXXXX"]) == 200
    assert len(await rows(hub.storage)) == 100
    assert box.stats()["acked"] == 200


async def test_newer_health_replaces_unsent_older_health(hub: Hub) -> None:
    box = Outbox(hub.storage, time_fn=hub.clock.time, window=10)
    old = item(PRIO_HEALTH, "health", coalesce="health")
    await box.add(old)
    event = item(PRIO_EVENT)
    await box.add(event)
    new = item(PRIO_HEALTH, "health", coalesce="health")
    await box.add(new)
    assert await rows(hub.storage) == sorted([event.id, new.id])
    # An in-flight one is not touched: its ack is on the way.
    taken = box.take(now=0)
    newest = item(PRIO_HEALTH, "health", coalesce="health")
    await box.add(newest)
    assert [i.id for i in taken] == [event.id, new.id]
    assert set(await rows(hub.storage)) == {event.id, new.id, newest.id}


async def test_requeue_after_disconnect_and_overdue(hub: Hub) -> None:
    box = Outbox(hub.storage, time_fn=hub.clock.time, window=5)
    for p in (PRIO_EVENT, PRIO_SOS, PRIO_EVENT):
        await box.add(item(p))
    sent = box.take(now=100)
    assert len(sent) == 3 and box.take(now=100) == []
    assert box.overdue(now=110, timeout=30) == []
    assert len(box.overdue(now=131, timeout=30)) == 3
    assert box.requeue_all() == 3
    again = box.take(now=140)
    assert [i.id for i in again] == [i.id for i in sent]  # same order: priority, then age
    assert all(i.attempts == 2 for i in again)


async def test_rejected_rows_are_kept_but_not_sent_again(hub: Hub) -> None:
    box = Outbox(hub.storage, time_fn=hub.clock.time)
    bad, good = item(PRIO_EVENT), item(PRIO_EVENT)
    await box.add(bad)
    await box.add(good)
    box.take(now=0)
    assert await box.reject(bad.id, "not our schema")
    box.requeue_all()
    assert [i.id for i in box.take(now=1)] == [good.id]
    row = await hub.storage.fetchone("SELECT state, error FROM federation_outbox WHERE id = ?", (bad.id,))
    assert (row["state"], row["error"]) == ("rejected", "not our schema")


async def test_a_restart_reloads_pending_rows_in_order_and_reads_payloads_back(hub: Hub) -> None:
    box = Outbox(hub.storage, time_fn=hub.clock.time, cache_bytes=10)  # tiny cache: payloads stay on disk
    queued = [item(PRIO_EVENT, payload=b'{"big": "%s"}' % (b"x" * 50)), item(PRIO_SOS, payload=b'{"sos": 1}')]
    for it in queued:
        await box.add(it)
    box.take(now=0)  # in flight when the "process dies"
    fresh = Outbox(hub.storage, time_fn=hub.clock.time)
    await fresh.load()
    assert fresh.pending == 2
    taken = fresh.take(now=0)
    assert [i.id for i in taken] == [queued[1].id, queued[0].id]
    filled = await fresh.fill(taken)
    assert [i.payload for i in filled] == [b'{"sos": 1}', b'{"big": "%s"}' % (b"x" * 50)]


async def test_a_batch_the_database_refuses_waits_and_is_written_later(hub: Hub) -> None:
    import sqlite3

    await hub.storage.execute("PRAGMA busy_timeout = 50")
    box = Outbox(hub.storage, time_fn=hub.clock.time)
    sos = item(PRIO_SOS, kind="incident")
    locker = sqlite3.connect(hub.storage.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # a backup holding the write lock
    try:
        adding = asyncio.ensure_future(box.add(sos))
        await asyncio.sleep(0.3)
        assert not adding.done() and box.take(now=0) == []  # never sent before it is on disk
    finally:
        locker.execute("COMMIT")
        locker.close()
    await asyncio.wait_for(adding, 5)
    assert await rows(hub.storage) == [sos.id]
    assert [i.id for i in box.take(now=0)] == [sos.id]


async def test_close_fails_a_batch_still_waiting_for_the_database(hub: Hub) -> None:
    import sqlite3

    await hub.storage.execute("PRAGMA busy_timeout = 50")
    box = Outbox(hub.storage, time_fn=hub.clock.time)
    locker = sqlite3.connect(hub.storage.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        adding = asyncio.ensure_future(box.add(item(PRIO_EVENT)))
        await asyncio.sleep(0.2)
        await box.close()
        with pytest.raises(RuntimeError, match="hub stopped"):
            await adding
    finally:
        locker.execute("COMMIT")
        locker.close()


async def test_an_sos_leaves_ahead_of_10000_queued_telemetry_rows(hub: Hub) -> None:
    # A small payload cache: most telemetry waits on disk, as a day's backlog would.
    box = Outbox(hub.storage, time_fn=hub.clock.time, window=200, urgent_reserve=20, cache_bytes=4096)
    telemetry = [item(PRIO_EVENT, payload=b'{"n": %d}' % n) for n in range(10_000)]
    await asyncio.gather(*(box.add(it) for it in telemetry))
    sent: list[str] = []
    first = await box.fill(box.take(now=0))  # the window fills with telemetry
    sent += [i.id for i in first]
    sos = item(PRIO_SOS, payload=b'{"sos": 1}')
    await box.add(sos)
    # The window is full, but the reserve lets the alarm out at once, and alone.
    assert [i.id for i in await box.fill(box.take(now=0))] == [sos.id]
    sent.append(sos.id)
    while box.pending:
        await box.ack(sent[-250:])
        sent += [i.id for i in await box.fill(box.take(now=1))]
    # Sent exactly once each, the SOS after only the window's worth of telemetry.
    assert len(sent) == len(set(sent)) == 10_001
    assert sent.index(sos.id) == 200
