"""Audit log: append-only, immediate, redacted, queryable, exportable."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from hub.audit import REDACTED, AuditEntry, AuditLog, redact
from hub.storage import Storage

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    db = Storage(tmp_path / "hub.db", flush_interval=60)
    await db.open()
    yield db
    await db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit(storage: Storage, clock: Clock) -> AuditLog:
    return AuditLog(storage, time_fn=clock)


async def test_log_is_written_immediately(tmp_path: Path, audit: AuditLog, storage: Storage) -> None:
    entry_id = await audit.log(
        "officer.somchai",
        "camera.view",
        "camera.market_gate",
        role="operator",
        detail={"incident": "01HX", "seconds": 30},
        source="station",
        ip="10.0.0.7",
    )
    assert entry_id == 1
    assert storage.pending == 0
    with closing(sqlite3.connect(tmp_path / "hub.db")) as conn:
        row = conn.execute(
            "SELECT ts, actor, role, action, target, source, ip, result FROM audit_log"
        ).fetchone()
    assert row == (
        T0,
        "officer.somchai",
        "operator",
        "camera.view",
        "camera.market_gate",
        "station",
        "10.0.0.7",
        "ok",
    )

    [entry] = await audit.query()
    assert entry == AuditEntry(
        id=1,
        ts=T0,
        actor="officer.somchai",
        role="operator",
        action="camera.view",
        target="camera.market_gate",
        detail={"incident": "01HX", "seconds": 30},
        source="station",
        ip="10.0.0.7",
        result="ok",
    )
    assert entry.as_dict()["detail"] == {"incident": "01HX", "seconds": 30}


async def test_append_only(audit: AuditLog, storage: Storage) -> None:
    await audit.log("admin", "user.add", "user.niran")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await storage.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await storage.execute("DELETE FROM audit_log")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await storage.execute(
            "INSERT OR REPLACE INTO audit_log (id, ts, actor, action) VALUES (1, 0, 'x', 'y')"
        )
    [entry] = await audit.query()
    assert entry.actor == "admin"


async def test_append_only_from_outside_connection(tmp_path: Path, audit: AuditLog) -> None:
    # The triggers live in the database, so even a raw sqlite3 shell is refused.
    await audit.log("admin", "login")
    with closing(sqlite3.connect(tmp_path / "hub.db")) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("DELETE FROM audit_log")


async def test_secrets_redacted(audit: AuditLog, storage: Storage) -> None:
    detail = {
        "Password": "hunter2",
        "TOKEN": "abc",
        "secret": "s",
        "key": "k",
        "channel_secret": "cs",
        "Channel_Access_Token": "cat",
        "mqtt_password": "mp",
        "sia-key": "sk",
        "nested": {"config": {"password": "deep", "host": "cam1"}, "list": [{"token": "t"}, "plain"]},
        "broker": "mqtts://talat:pa55word@ccoc.example.org:8883",
        "header": "Bearer eyJhbGciOi.secret.sig",
        "user": "somchai",
    }
    await audit.log("admin", "config.update", "line", detail=detail)
    [entry] = await audit.query()
    assert entry.detail == {
        "Password": REDACTED,
        "TOKEN": REDACTED,
        "secret": REDACTED,
        "key": REDACTED,
        "channel_secret": REDACTED,
        "Channel_Access_Token": REDACTED,
        "mqtt_password": REDACTED,
        "sia-key": REDACTED,
        "nested": {"config": {"password": REDACTED, "host": "cam1"}, "list": [{"token": REDACTED}, "plain"]},
        "broker": "mqtts://talat:***@ccoc.example.org:8883",
        "header": "Bearer ***",
        "user": "somchai",
    }
    raw = await storage.fetchone("SELECT detail FROM audit_log")
    assert raw is not None
    for secret in ("hunter2", "pa55word", "eyJhbGciOi", "deep", '"abc"', '"cat"'):
        assert secret not in raw[0]
    # The caller's dict is not modified.
    assert detail["Password"] == "hunter2"


def test_redact_leaves_ordinary_values() -> None:
    assert redact({"keyword": "x", "monkey": 1, "n": None, "t": "ตาสับปะรด"}) == {
        "keyword": "x",
        "monkey": 1,
        "n": None,
        "t": "ตาสับปะรด",
    }


async def test_query_filters(audit: AuditLog, clock: Clock) -> None:
    rows = [
        ("officer.a", "camera.view", "camera.gate"),
        ("officer.b", "camera.view", "camera.bank"),
        ("officer.a", "incident.ack", "incident.1"),
        ("admin", "user.add", "user.c"),
        ("officer.a", "camera.view", "camera.bank"),
    ]
    for i, (actor, action, target) in enumerate(rows):
        clock.now = T0 + i * 10
        await audit.log(actor, action, target)

    def key(entries: list[AuditEntry]) -> list[tuple[str, str, str]]:
        return [(e.actor, e.action, e.target) for e in entries]

    assert key(await audit.query()) == list(reversed(rows))  # newest first
    assert key(await audit.query(actor="officer.a")) == [rows[4], rows[2], rows[0]]
    assert key(await audit.query(action="camera.view", target="camera.bank")) == [rows[4], rows[1]]
    assert key(await audit.query(since=T0 + 10, until=T0 + 30)) == [rows[2], rows[1]]
    assert key(await audit.query(limit=2)) == [rows[4], rows[3]]
    assert key(await audit.query(limit=2, offset=2)) == [rows[2], rows[1]]
    assert await audit.query(actor="nobody") == []


async def test_query_by_target_start_end_and_result(audit: AuditLog) -> None:
    """What the station's audit page asks (by hub, by camera, refusals), with no SQL of its own."""
    await audit.log("officer", "camera.view", "hub_a/camera.gate", result="ok")
    await audit.log("officer", "camera.view", "hubXa/camera.gate", result="ok")  # '_' is not a wildcard
    await audit.log("officer", "camera.view", "hub_a/camera.back", result="refused")
    by_hub = await audit.query(target_prefix="hub_a/")
    assert sorted(e.target for e in by_hub) == ["hub_a/camera.back", "hub_a/camera.gate"]
    by_camera = await audit.query(target_suffix="/camera.gate", oldest_first=True)
    assert [e.target for e in by_camera] == ["hub_a/camera.gate", "hubXa/camera.gate"]
    refused = await audit.query(result="refused")
    assert [e.target for e in refused] == ["hub_a/camera.back"]


async def test_csv_export(audit: AuditLog, clock: Clock) -> None:
    await audit.log("officer.a", "camera.view", "camera.gate", detail={"incident": "01HX", "password": "x"})
    clock.now += 60
    await audit.log('=HYPERLINK("http://evil")', "login", source="web", ip="192.0.2.1", result="denied")
    clock.now += 60
    await audit.log("เจ้าของร้าน", "camera.share", "camera.gate", detail={"policy": "on_alarm"})

    text = await audit.export_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["action"] for r in rows] == ["camera.view", "login", "camera.share"]  # oldest first
    assert rows[0]["time"] == "2023-11-14T22:13:20.000Z"
    assert float(rows[0]["ts"]) == T0
    assert rows[0]["detail"] == '{"incident":"01HX","password":"***"}'
    assert rows[1]["actor"].startswith("'=")  # not a live formula in a spreadsheet
    assert rows[1]["result"] == "denied" and rows[1]["ip"] == "192.0.2.1"
    assert rows[2]["actor"] == "เจ้าของร้าน"
    assert list(rows[0]) == [
        "id",
        "time",
        "ts",
        "actor",
        "role",
        "action",
        "target",
        "detail",
        "source",
        "ip",
        "result",
    ]

    only_gate = list(csv.DictReader(io.StringIO(await audit.export_csv(target="camera.gate"))))
    assert [r["action"] for r in only_gate] == ["camera.view", "camera.share"]


async def test_csv_export_pages_through_everything(audit: AuditLog, clock: Clock) -> None:
    for i in range(1_100):
        clock.now = T0 + i
        await audit.log("bot", "tick", str(i))
    rows = list(csv.DictReader(io.StringIO(await audit.export_csv(actor="bot"))))
    assert len(rows) == 1_100
    assert [r["target"] for r in rows[:3]] == ["0", "1", "2"]


async def test_log_requires_action(audit: AuditLog) -> None:
    with pytest.raises(ValueError):
        await audit.log("admin", "")
