"""The registry reaches the station within seconds of a change, not with the next 15-minute round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.core.clock import FakeClock
from integrations.federation.const import EVENT_REGISTRY_CHANGED
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME

PATROL = """\
patrol_qr:
  checkpoints:
    - {id: soi3, name: ตู้แดงซอย 3, location: {lat: 14.5896, lon: 100.4550}}
"""


async def _checkpoints(station: Any) -> list[str] | None:
    item = await station.data[STATION_RUNTIME].store.hub("test-hub")
    registry = (item or {}).get("registry") or {}
    cps = registry.get("plugins", {}).get("patrol_qr", {}).get("checkpoints")
    return None if cps is None else [c["id"] for c in cps]


async def test_checkpoint_added_in_the_ui_reaches_the_station_at_once(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, clock: FakeClock
) -> None:
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", hub_extra=PATROL, registry_interval=86400
    )
    assert await until(lambda: _checkpoints(station)) == ["soi3"]
    fed = hub.data[FEDERATION_RUNTIME]
    sends: list[Any] = []
    real_send = fed.send_registry

    async def counting(**kw: Any) -> Any:
        sent = await real_send(**kw)
        sends.append(sent)
        return sent

    fed.send_registry = counting  # type: ignore[method-assign]
    # Three changes in a burst (an admin adding boxes one after another) are sent once, together.
    for cp in ("temple", "school", "pier"):
        await hub.services.call("patrol_qr", "add_checkpoint", {"id": cp, "name": f"ตู้แดง {cp}"})
    await hub.block_till_done()
    assert sends == []  # debounced: not yet
    await clock.advance(fed.cfg.registry_debounce + 0.1)
    await hub.block_till_done()
    assert len(sends) == 1

    async def all_four() -> bool:
        # Until the new registry is stored: the old one (["soi3"]) is there meanwhile.
        return await _checkpoints(station) == ["pier", "school", "soi3", "temple"]

    assert await until(all_four)
    # Removal travels the same way; a change event with nothing changed sends nothing new.
    await hub.services.call("patrol_qr", "remove_checkpoint", {"id": "pier"})
    await clock.advance(fed.cfg.registry_debounce + 0.1)
    await hub.block_till_done()

    async def removed() -> bool:
        return await _checkpoints(station) == ["school", "soi3", "temple"]

    assert await until(removed)
    hub.bus.fire(EVENT_REGISTRY_CHANGED, {"domain": "test"})
    await clock.advance(fed.cfg.registry_debounce + 0.1)
    await hub.block_till_done()
    assert len(sends) == 3 and sends[0] and sends[1] and sends[2] is None  # rebuilt, unchanged: not sent
