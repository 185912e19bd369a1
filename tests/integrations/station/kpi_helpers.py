"""Helpers for the KPI tests: put hub events straight into a station store, as ingest would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.core.ids import ulid
from integrations.federation.protocol import envelope, parse_envelope
from integrations.federation.testing import STATION_ID
from integrations.station.store import Inbound, StationStore


async def store_events(
    store: StationStore, hub_id: str, events: Sequence[tuple[str, dict[str, Any], float]]
) -> None:
    """Store ``(type, data, sent_at)`` events from ``hub_id`` through the store's ingest path."""
    batch = []
    for event_type, data, at in events:
        msg_id = ulid()
        raw = envelope(
            msg_id, STATION_ID, hub_id, "event", at, {"type": event_type, "data": data, "time": at}
        )
        batch.append(Inbound(msg_id, hub_id, "event", at, at, raw, parse_envelope(raw)))
    result = await store.ingest(batch, {}, {})
    assert len(result.new_keys) == len(events)
