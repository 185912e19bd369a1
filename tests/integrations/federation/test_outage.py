"""A long outage with the clock compressed: hours of queued messages drain SOS-first when the station returns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.clock import FakeClock
from integrations.federation.const import PRIO_EVENT, PRIO_HEALTH, PRIO_INCIDENT, PRIO_REGISTRY, PRIO_SOS
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME


async def _hub_has_reported(st: Any) -> bool:
    item = await st.store.hub("test-hub")
    return bool(item and item["registry"] and item["health"])


def priority(kind: str, body: dict[str, Any]) -> int:
    if kind == "incident":
        return PRIO_SOS if body["incident"]["kind"] == "sos" else PRIO_INCIDENT
    if kind == "event":
        return PRIO_SOS if body["type"] == "sos_pressed" else PRIO_EVENT
    return {"registry": PRIO_REGISTRY, "health": PRIO_HEALTH}[kind]


async def test_six_hours_offline_drain_in_priority_then_time_order(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path, clock: FakeClock
) -> None:
    hub, station = await start_pair(
        make_hub, federation_lab, tmp_path / "st", window=4, share={"armed_hours": ["00:00-23:59"]}
    )
    fed = hub.data[FEDERATION_RUNTIME]
    st = station.data[STATION_RUNTIME]
    # The first registry and health report are out before the outage starts.
    await until(lambda: _hub_has_reported(st))
    assert await fed.outbox.wait_empty(10)
    before = {m["id"] for m in await st.store.messages()}

    federation_lab.broker.stop()  # the station's broker (and so the station) is gone
    await until(lambda: not fed.link.connected)
    mgr = hub.data[INCIDENT_RUNTIME]
    incidents = []
    for step in range(36):  # six hours in ten-minute steps
        hub.bus.fire("camera_motion", {"entity_id": "camera.gate", "step": step})
        if step % 3 == 0:
            incidents.append(await mgr.open("sos" if step % 6 == 0 else "manual", title=f"step {step}"))
        if step % 9 == 4:
            hub.bus.fire("sos_pressed", {"entity_id": "sos.gate", "step": step})
        await hub.block_till_done()
        await clock.advance(600)
    await mgr.close(incidents[0].id, by="แม่ค้า")
    await hub.block_till_done()
    queued = fed.outbox.pending
    # 36 motions, 12 incidents, 4 presses, 1 close; 360 health reports coalesced into one.
    assert queued == 36 + 12 + 4 + 1 + 1

    # Record what the hub puts on the wire, in order, once the station is back.
    sent: list[tuple[int, str]] = []
    publish = fed.link.publish_nowait

    def recording(topic: str, payload: bytes, **kw: Any) -> bool:
        for line in payload.split(b"\n"):
            env = json.loads(line)
            sent.append((priority(env["kind"], env["body"]), env["id"]))
        return publish(topic, payload, **kw)

    fed.link.publish_nowait = recording  # type: ignore[method-assign]
    federation_lab.broker.start()
    assert await fed.outbox.wait_empty(30), fed.status()
    # The broker's own copy of the hub's last will ("offline", retained) is not from the outbox.
    arrived = [m for m in await st.store.messages() if m["id"] not in before and m["type"] != "offline"]
    assert len(arrived) == queued == len({i for _, i in sent})
    # Priority first (SOS, incidents, events, health), and within a priority the hub's order.
    # (A slow ack may cause a re-send later on; the first sending is what the order is about.)
    sent = list(dict.fromkeys(sent))
    assert sent == sorted(sent)
    assert [p for p, _ in sent][:11] == [PRIO_SOS] * 11  # 6 SOS incidents, a close, 4 presses
    # The station keeps each stream's order (incidents come on a connection of their own).
    for kind in ("incident", "event"):
        ids = [m["id"] for m in arrived if m["kind"] == kind]
        in_sent = [i for _, i in sent if i in set(ids)]
        assert ids == in_sent, kind
    # The hub's timestamps span the six hours; the station's receive times are all "now".
    sent_at = [m["sent_at"] for m in arrived]
    assert max(sent_at) - min(sent_at) >= 5.5 * 3600
    assert {round(m["received_at"]) for m in arrived} == {round(station.clock.time())}
