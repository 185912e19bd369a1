"""The station store on PostgreSQL: the same schema as SQLite, and several writers on one database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hub.core.ids import ulid
from integrations.federation.protocol import envelope, parse_envelope
from integrations.station.config import StationConfig
from integrations.station.runtime import make_store
from integrations.station.store import Inbound
from integrations.station.store_pg import PgStationStore
from integrations.station.store_sqlite import SqliteStationStore


def events(n: int, hub_id: str = "h1") -> list[Inbound]:
    out = []
    for i in range(n):
        msg_id = ulid()
        raw = envelope(msg_id, "st", hub_id, "event", 1.0 + i, {"type": "t", "data": {"i": i}, "time": 1.0})
        out.append(Inbound(msg_id, hub_id, "event", 1.0 + i, 2.0 + i, raw, parse_envelope(raw)))
    return out


async def test_both_engines_end_with_the_same_tables_and_columns(tmp_path: Path, postgres_url: str) -> None:
    """A schema change needs a script for each engine: a missing twin fails here."""
    lite, pg = SqliteStationStore(tmp_path / "s.db"), PgStationStore(postgres_url)
    await lite.open()
    await pg.open()
    try:
        lite_cols = await lite.database.read(
            lambda db: {
                (t, c[1])
                for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
                for c in db.execute(f"PRAGMA table_info({t})")
            }
        )
        pg_cols = await pg.database.read(
            lambda db: {
                (r[0], r[1])
                for r in db.execute(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
                )
            }
        )
    finally:
        await lite.close()
        await pg.close()
    assert lite_cols == pg_cols


async def test_redelivery_to_two_workers_is_stored_once(postgres_url: str) -> None:
    """Two workers (two stores, two connections) store the same batch at the same time."""
    first, second = PgStationStore(postgres_url), PgStationStore(postgres_url)
    await first.open()
    await second.open()
    try:
        await first.register_hub("h1", "H1", 1.0)
        batch = events(500)
        # The second worker got the same messages in another order (a broker redelivery).
        results = await asyncio.gather(
            first.ingest(batch, {"h1": (500, 2.0, 1.0)}, {}),
            second.ingest(list(reversed(batch)), {"h1": (500, 2.0, 1.0)}, {}),
        )
        new = [r.new_keys for r in results]
        assert not (new[0] & new[1]), "a message stored by both workers"
        assert new[0] | new[1] == {(m.hub_id, m.id) for m in batch}
        assert not results[0].conflicts and not results[1].conflicts
        assert await first.count_messages() == 500
    finally:
        await first.close()
        await second.close()


async def test_the_config_names_the_engine(tmp_path: Path, postgres_url: str) -> None:
    cfg = StationConfig.model_validate({"id": "st", "database": postgres_url})
    assert cfg.database.backend == "postgresql"
    store = make_store(cfg.database, tmp_path)
    assert isinstance(store, PgStationStore)
    await store.open()
    try:
        assert await store.register_hub("h1", "", 1.0)
        assert await store.registered_hubs() == {"h1"}
    finally:
        await store.close()
    lite = StationConfig.model_validate({"id": "st"})
    assert lite.database.backend == "sqlite" and isinstance(
        make_store(lite.database, tmp_path), SqliteStationStore
    )


def test_a_postgresql_block_without_url_is_refused() -> None:
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError, match="needs url"):
        StationConfig.model_validate({"id": "st", "database": {"backend": "postgresql"}})
    with pytest.raises(pydantic.ValidationError, match="url is for backend postgresql"):
        StationConfig.model_validate({"id": "st", "database": {"url": "postgresql://x@/y"}})


async def test_a_password_in_the_url_is_never_logged(postgres_url: str, caplog: Any) -> None:
    from hub.config.secrets import redact

    url = postgres_url.replace("safetyhub@", "safetyhub:Tr0ub4dor-pw@")
    store = PgStationStore(url)
    assert "Tr0ub4dor" not in store.where
    assert "Tr0ub4dor" not in redact(f"could not connect to {url}")


async def test_a_nul_in_a_hubs_text_does_not_block_an_sos(postgres_url: str) -> None:
    """PostgreSQL's text cannot hold NUL: it would refuse the SOS's transaction for ever."""
    store = PgStationStore(postgres_url)
    await store.open()
    try:
        await store.register_hub("h1", "", 1.0)
        # A NUL even in the incident's id, which the batch's JSON (jsonb) carries as a key.
        msg_id, incident_id = ulid(), ulid() + "\x00"
        incident = {
            "id": incident_id,
            "kind": "sos",
            "severity": "critical",
            "status": "open",
            "title": "SOS\x00 ร้านทอง",
            "opened_at": 1.0,
            "updated_at": 1.0,
        }
        body = {
            "action": "opened",
            "incident": incident,
            "entry": {"ts": 1.0, "kind": "opened", "text": "a\x00b"},
        }
        raw = envelope(msg_id, "st", "h1", "incident", 1.0, body)
        result = await store.ingest(
            [Inbound(msg_id, "h1", "incident", 1.0, 2.0, raw, parse_envelope(raw))], {}, {}, urgent=True
        )
        assert result.new_keys == {("h1", msg_id)}
        stored = await store.incident(incident_id, "h1")
        assert stored is not None and stored["title"] == "SOS\ufffd ร้านทอง"
        assert stored["id"] == incident_id.replace("\x00", "\ufffd")
        assert stored["timeline"][0]["text"] == "a\ufffdb"
    finally:
        await store.close()
