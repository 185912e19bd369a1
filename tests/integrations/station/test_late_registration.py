"""Issue 15 item 5: a hub added while the station runs is accepted from its first message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, station_config, until
from integrations.station.const import RUNTIME as STATION_RUNTIME


async def test_hub_added_while_the_station_runs_is_accepted_at_once(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    station = await make_hub(federation_lab.station_block(), base=station_config(), folder=tmp_path / "st")
    st = station.data[STATION_RUNTIME]
    assert await st.ingest.link.wait_connected(10)
    assert "test-hub" not in st.ingest.registered
    # What `station add-hub` does from another process: a row in the station's database only.
    await st.store.register_hub("test-hub", "ร้านทอง", station.clock.time())
    hub = await make_hub(federation_lab.hub_block())
    assert await hub.data[FEDERATION_RUNTIME].link.wait_connected(10)
    inc = await hub.data[INCIDENT_RUNTIME].open("sos", title="SOS ครั้งแรก")
    # The retained registry and health, sent once at connect, and the SOS all arrive.  The SOS
    # is written on its own lane, so it may be stored before the registry's telemetry batch.

    async def all_stored() -> bool:
        found = await st.store.hub("test-hub")
        return bool(await st.store.incident(inc.id, "test-hub") and found and found.get("registry"))

    await until(all_stored)
    assert st.ingest.rejected == 0, st.ingest.last_reject
