"""Recorder: batching, immediate writes, retention, queries and JSON encoding."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from hub.recorder import Recorder
from hub.storage import Storage

DAY = 86_400.0
NOW = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    db = Storage(tmp_path / "hub.db", flush_interval=60)  # only explicit flushes
    await db.open()
    yield db
    await db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder(storage: Storage, clock: Clock) -> Recorder:
    return Recorder(storage, keep_days=10, exclude_event_types={"time_changed"}, time_fn=clock)


def _event(recorder: Recorder, event_type: str, t: float, **data: Any) -> None:
    recorder.record_event(event_type, data, t, "ctx", "parent", "user-1", "local")


async def test_record_event_is_batched_and_queryable(recorder: Recorder, storage: Storage) -> None:
    _event(recorder, "sos_pressed", NOW - 5, entity_id="sos.market_gate", action="emergency")
    assert storage.pending == 1  # nothing written yet: the caller paid for an append only
    events = await recorder.events()  # a query catches up with the queue
    assert storage.pending == 0
    assert events == [
        {
            "id": 1,
            "event_type": "sos_pressed",
            "data": {"entity_id": "sos.market_gate", "action": "emergency"},
            "time_fired": NOW - 5,
            "context_id": "ctx",
            "context_parent": "parent",
            "user_id": "user-1",
            "origin": "local",
        }
    ]


async def test_excluded_event_types_not_recorded(recorder: Recorder, storage: Storage) -> None:
    _event(recorder, "time_changed", NOW)
    await recorder.record_now("time_changed", {}, NOW, None, None, None, "local")
    assert storage.pending == 0
    assert await recorder.events() == []


async def test_record_now_hits_disk_immediately(tmp_path: Path, recorder: Recorder, storage: Storage) -> None:
    import sqlite3
    from contextlib import closing

    await recorder.record_now("sos_pressed", {"entity_id": "sos.bank"}, NOW, "c", None, None, "sia")
    assert storage.pending == 0
    with closing(sqlite3.connect(tmp_path / "hub.db")) as conn:
        assert conn.execute("SELECT event_type, origin FROM events").fetchall() == [("sos_pressed", "sia")]


async def test_events_filters_and_order(recorder: Recorder) -> None:
    for i in range(5):
        _event(recorder, "camera_motion", NOW + i, n=i)
        _event(recorder, "sos_pressed", NOW + i + 0.5, n=i)
    motion = await recorder.events("camera_motion")
    assert [e["data"]["n"] for e in motion] == [4, 3, 2, 1, 0]  # newest first
    assert [e["data"]["n"] for e in await recorder.events("camera_motion", limit=2)] == [4, 3]
    assert [e["data"]["n"] for e in await recorder.events("sos_pressed", since=NOW + 3)] == [4, 3]
    assert len(await recorder.events()) == 10
    assert len(await recorder.events(since=NOW + 4)) == 2
    assert await recorder.events("nothing") == []


async def test_history(recorder: Recorder) -> None:
    recorder.record_state("light.gate_lamp", "off", {"brightness": 0}, NOW, NOW, "c1")
    recorder.record_state(
        "light.gate_lamp", "on", MappingProxyType({"brightness": 255}), NOW + 1, NOW + 1, "c2"
    )
    recorder.record_state("light.soi_lamp", "on", {}, NOW, NOW, None)
    hist = await recorder.history("light.gate_lamp")
    assert [(h["state"], h["attributes"]) for h in hist] == [
        ("on", {"brightness": 255}),
        ("off", {"brightness": 0}),
    ]
    assert hist[0]["context_id"] == "c2"
    assert hist[0]["last_changed"] == NOW + 1
    assert [h["state"] for h in await recorder.history("light.gate_lamp", since=NOW + 0.5)] == ["on"]
    assert len(await recorder.history("light.gate_lamp", limit=1)) == 1
    assert await recorder.history("light.unknown") == []


async def test_purge_by_keep_days(recorder: Recorder, clock: Clock, storage: Storage) -> None:
    for age_days in (0, 5, 9.9, 10.1, 30):
        _event(recorder, "camera_motion", NOW - age_days * DAY, age=age_days)
        recorder.record_state("sos.gate", "idle", {}, NOW - age_days * DAY, NOW - age_days * DAY, None)
    await storage.flush()
    assert await recorder.purge() == 4  # 10.1 and 30 days, in both tables
    assert sorted(e["data"]["age"] for e in await recorder.events()) == [0, 5, 9.9]
    assert len(await recorder.history("sos.gate")) == 3

    clock.now += 6 * DAY  # time passes: 5 and 9.9 are now too old
    assert await recorder.purge() == 4
    assert [e["data"]["age"] for e in await recorder.events()] == [0]
    assert await recorder.purge() == 0


async def test_purge_many_rows_in_chunks(storage: Storage, clock: Clock) -> None:
    recorder = Recorder(storage, keep_days=1, time_fn=clock)
    for i in range(12_000):
        recorder.record_state("sensor.x", str(i), {}, NOW - 2 * DAY, NOW - 2 * DAY, None)
    recorder.record_state("sensor.x", "fresh", {}, NOW, NOW, None)
    await storage.flush()
    assert await recorder.purge() == 12_000
    assert [h["state"] for h in await recorder.history("sensor.x")] == ["fresh"]


async def test_thai_text_stored_as_utf8(tmp_path: Path, recorder: Recorder, storage: Storage) -> None:
    import sqlite3
    from contextlib import closing

    name = "ปุ่ม SOS ประตูตลาด"
    _event(recorder, "line_tip", NOW, text="มีคนแปลกหน้าเดินวนหน้าร้านทอง", name=name)
    recorder.record_state("sos.market_gate", "idle", {"friendly_name": name}, NOW, NOW, None)
    await storage.flush()
    with closing(sqlite3.connect(tmp_path / "hub.db")) as conn:
        raw = conn.execute("SELECT data FROM events").fetchone()[0]
        attrs = conn.execute("SELECT attributes FROM states").fetchone()[0]
    assert "มีคนแปลกหน้า" in raw and "\\u" not in raw  # readable UTF-8, not \u escapes
    assert name in attrs
    events = await recorder.events("line_tip")
    assert events[0]["data"]["name"] == name
    assert (await recorder.history("sos.market_gate"))[0]["attributes"] == {"friendly_name": name}


class Color(enum.Enum):
    RED = "red"


class FakeState:
    def as_dict(self) -> dict[str, Any]:
        return {"entity_id": "sos.x", "state": "triggered"}


class Opaque:
    def __str__(self) -> str:
        return "opaque-thing"


async def test_json_encoding_of_awkward_values(recorder: Recorder) -> None:
    when = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    _event(
        recorder,
        "odd",
        NOW,
        when=when,
        day=dt.date(2025, 3, 1),
        tags={"b", "a"},
        frozen=frozenset({1}),
        state=FakeState(),
        color=Color.RED,
        thing=Opaque(),
        tup=(1, 2),
        nested={"set": {3}},
    )
    data = (await recorder.events("odd"))[0]["data"]
    assert data == {
        "when": "2025-03-01T12:00:00+00:00",
        "day": "2025-03-01",
        "tags": ["a", "b"],
        "frozen": [1],
        "state": {"entity_id": "sos.x", "state": "triggered"},
        "color": "red",
        "thing": "opaque-thing",
        "tup": [1, 2],
        "nested": {"set": [3]},
    }


async def test_state_changed_strings_only(recorder: Recorder) -> None:
    # The hub passes entity_id/old/new strings for state_changed; stored as given.
    _event(recorder, "state_changed", NOW, entity_id="sos.gate", old_state="idle", new_state="triggered")
    data = (await recorder.events("state_changed"))[0]["data"]
    assert data == {"entity_id": "sos.gate", "old_state": "idle", "new_state": "triggered"}


async def test_invalid_keep_days(storage: Storage) -> None:
    with pytest.raises(ValueError):
        Recorder(storage, keep_days=-1)
