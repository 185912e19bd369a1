"""The region store: exactly once by (station, id), newest figures win, ids forgotten on schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from integrations.federation.protocol import envelope
from integrations.region.protocol import parse_region_envelope
from integrations.region.store import RegionStore

ID1 = "01JD0000000000000000000001"
ID2 = "01JD0000000000000000000002"
ID3 = "01JD0000000000000000000003"


def _doc(msg_id: str, station: str, kind: str, ts: float, body: dict[str, Any]) -> Any:
    return parse_region_envelope(envelope(msg_id, "region-9", station, kind, ts, body))


async def test_once_per_station_and_id_newest_wins_and_purge(tmp_path: Path) -> None:
    store = RegionStore(tmp_path / "region.db")
    await store.open()
    try:
        await store.register_station("st-a", "", 0)
        jan = {"month": "2026-01", "kpis": {"sos_ack_p90": 90.0}}
        newer = {"month": "2026-01", "kpis": {"sos_ack_p90": 45.0}}
        out = await store.store(
            [_doc(ID1, "st-a", "monthly", 100, jan), _doc(ID2, "st-a", "monthly", 200, newer)], 1000
        )
        assert [r.outcome for r in out] == ["stored", "stored"]
        # A repeat is acknowledged again; another station may use the same id; a different
        # message under a used id is a conflict and changes nothing.
        out = await store.store(
            [
                _doc(ID1, "st-a", "monthly", 150, jan),
                _doc(ID1, "st-b", "monthly", 100, jan),
                _doc(ID2, "st-a", "monthly", 300, jan),
            ],
            1001,
        )
        assert [r.outcome for r in out] == ["duplicate", "stored", "conflict"]
        assert (await store.month("2026-01"))["st-a"]["kpis"] == {"sos_ack_p90": 45.0}
        # Health never takes a ledger row (it is a state, every minute from every station).
        health = _doc(ID3, "st-a", "health", 400, {"status": "online"})
        assert [r.outcome for r in await store.store([health, health], 1002)] == ["stored", "stored"]
        assert await store.purge(1001.5) == 3  # the ids received at 1000 and 1001
        # A very late repeat of the older report is stored as a message again, and the
        # newer figures still win: nothing that was stood for is lost or undone.
        out = await store.store([_doc(ID1, "st-a", "monthly", 100, jan)], 5000)
        assert out[0].outcome == "stored"
        assert (await store.month("2026-01"))["st-a"]["kpis"] == {"sos_ack_p90": 45.0}
    finally:
        await store.close()
