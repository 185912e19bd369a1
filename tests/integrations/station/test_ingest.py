"""The station's intake: bad input is refused, counted and logged per hub; good input is stored once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hub.core.clock import FakeClock
from hub.core.ids import ulid
from hub.hub import Hub
from integrations.federation.link import publish_properties
from integrations.federation.protocol import envelope
from integrations.federation.testing import (
    HUB_PASSWORDS,
    STATION_ID,
    STATION_PASSWORD,
    TINY_JPEG,
    FederationLab,
    register_hubs,
    station_config,
    until,
)
from integrations.station.const import EVENT_HUB_OFFLINE, EVENT_HUB_ONLINE, EVENT_HUB_SILENT
from integrations.station.const import RUNTIME as STATION_RUNTIME


@pytest.fixture
async def station(make_hub: Any, federation_lab: FederationLab, tmp_path: Path) -> Hub:
    hub = await make_hub(
        federation_lab.station_block(max_payload=4096), base=station_config(), folder=tmp_path / "st"
    )
    await register_hubs(hub)
    assert await hub.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    assert await hub.data[STATION_RUNTIME].ingest.urgent_link.wait_connected(10)
    return hub


def mqtt(lab: FederationLab, user: str, **kw: Any) -> aiomqtt.Client:
    password = STATION_PASSWORD if user == "ccoc" else HUB_PASSWORDS[user]
    return aiomqtt.Client(
        lab.broker.host,
        lab.broker.port,
        username=user,
        password=password,
        protocol=aiomqtt.ProtocolVersion.V5,
        **kw,
    )


def event(hub_id: str = "test-hub", ts: float = 1_767_225_600.0, **body: Any) -> tuple[str, bytes]:
    msg_id = ulid()
    return msg_id, envelope(
        msg_id,
        STATION_ID,
        hub_id,
        "event",
        ts,
        {"type": "sos_pressed", "data": {"entity_id": "sos.gate"}, "time": ts, **body},
    )


def topic(kind: str, hub_id: str = "test-hub") -> str:
    return f"ssz/v1/{STATION_ID}/{hub_id}/{kind}"


async def test_bad_input_is_refused_counted_and_the_station_keeps_working(
    station: Hub, federation_lab: FederationLab
) -> None:
    ingest = station.data[STATION_RUNTIME].ingest
    good_id, good = event()
    mismatch_id, mismatch = event(hub_id="hub-b")
    bad_schema = json.dumps(
        {
            "v": 1,
            "id": ulid(),
            "station": STATION_ID,
            "hub": "test-hub",
            "kind": "event",
            "ts": 1.0,
            "body": {"type": "Not A Type!", "time": "yesterday"},
        }
    ).encode()
    oversized_id, oversized = event(note="x" * 5000)
    acks: list[dict[str, Any]] = []
    async with mqtt(federation_lab, "test-hub") as hub_a, mqtt(federation_lab, "ccoc") as ccoc:
        await hub_a.subscribe(topic("ack"), qos=1)
        for payload in (b"\x00\xff not json", b"[1, 2, 3]", bad_schema, oversized, TINY_JPEG):
            await hub_a.publish(topic("event"), payload, qos=1)
        await hub_a.publish(topic("snapshot"), TINY_JPEG, qos=1)  # no properties: no id, no incident
        await hub_a.publish(
            topic("snapshot"),
            b"not a jpeg",
            qos=1,
            properties=publish_properties(
                user=[("v", "1"), ("id", ulid()), ("station", STATION_ID), ("hub", "test-hub"), ("ts", "1.5")]
            ),
        )
        # The ACL stops a hub from lying about its topic, so the station account plays the
        # misconfigured broker: a payload naming another hub, an unknown kind, an unknown hub.
        await ccoc.publish(topic("event"), mismatch, qos=1)
        await ccoc.publish(topic("weather"), good, qos=1)
        await ccoc.publish(topic("event", "hub-zzz"), event(hub_id="hub-zzz")[1], qos=1)
        await ccoc.publish(f"ssz/v1/{STATION_ID}/too/many/levels", good, qos=1)
        await hub_a.publish(topic("event"), good, qos=1)
        async with asyncio.timeout(10):
            async for msg in hub_a.messages:
                acks.append(json.loads(msg.payload))
                if any(good_id in a["ids"] for a in acks):
                    break
    stored = await station.data[STATION_RUNTIME].store.messages()
    assert [m["id"] for m in stored] == [good_id]
    # The JPEG sent as an event holds a newline byte: two "lines", each refused.
    assert dict(ingest.rejected_by_hub) == {"test-hub": 10, "hub-zzz": 1, "?": 1}, ingest.last_reject
    assert ingest.rejected == 12
    # What carried an id is refused by id, so the hub stops sending it again.
    refused = {r["id"]: r["reason"] for a in acks for r in a["rejected"]}
    assert mismatch_id in refused and "topic is test-station/test-hub/event" in refused[mismatch_id]
    assert oversized_id in refused and "over the 4096-byte limit" in refused[oversized_id]
    assert any("unknown kind" in r for r in refused.values())
    item = await station.data[STATION_RUNTIME].store.hub("test-hub")
    assert item["rejected"] == 10 and item["received"] == 1


async def test_repeats_are_stored_once_and_acknowledged_each_time(
    station: Hub, federation_lab: FederationLab
) -> None:
    msg_id, payload = event()
    async with mqtt(federation_lab, "test-hub") as hub_a:
        await hub_a.subscribe(topic("ack"), qos=1)
        for _ in range(3):
            await hub_a.publish(topic("event"), payload, qos=1)
        acked = 0
        async with asyncio.timeout(10):
            async for msg in hub_a.messages:
                acked += json.loads(msg.payload)["ids"].count(msg_id)
                if acked == 3:
                    break
    st = station.data[STATION_RUNTIME]
    assert await st.store.count_messages(hub_id="test-hub") == 1
    assert (st.ingest.stored, st.ingest.duplicates) == (1, 2)


async def test_only_announced_event_types_reach_the_bus_once_in_arrival_order(
    station: Hub, federation_lab: FederationLab
) -> None:
    """Telemetry is stored and told to no one; announced types fire once each, in order."""
    fired: list[tuple[str, str]] = []
    station.bus.listen("federated_event", lambda e: fired.append((e.data["type"], e.data["message_id"])))
    lines = [
        event(type="camera_motion"),
        event(),  # sos_pressed
        event(type="camera_motion"),
        event(type="footage_status", data={"request": "r1"}),
    ]
    async with mqtt(federation_lab, "test-hub") as hub_a:
        await hub_a.publish(topic("event"), b"\n".join(raw for _, raw in lines), qos=1)
        await hub_a.publish(topic("event"), lines[1][1], qos=1)  # a repeat: stored once, told once
    st = station.data[STATION_RUNTIME]
    await until(lambda: st.ingest.stored + st.ingest.duplicates == 5)
    assert await st.store.count_messages(hub_id="test-hub") == 4
    await until(lambda: len(fired) >= 2)
    assert fired == [("sos_pressed", lines[1][0]), ("footage_status", lines[3][0])]
    assert st.ingest.statuses["test-hub"].status == "online"


def test_a_station_collects_cyclic_garbage_less_often_and_never_more_often() -> None:
    """At CPython's default (700) the collector took a third of a busy worker's CPU."""
    import gc

    from integrations.station.ingest import tune_collector

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_collector()
        assert gc.get_threshold() == (10_000, 10, 10)
        gc.set_threshold(50_000, 5, 7)  # someone asked for less collecting of the young: kept
        tune_collector()
        assert gc.get_threshold() == (50_000, 10, 7)
    finally:
        gc.set_threshold(*saved)


async def test_clock_skew_is_kept_as_sent_and_as_received(
    station: Hub, federation_lab: FederationLab
) -> None:
    skewed = 946_684_800.0  # the hub thinks it is 2000-01-01
    msg_id, payload = event(ts=skewed)
    async with mqtt(federation_lab, "test-hub") as hub_a:
        await hub_a.publish(topic("event"), payload, qos=1)
    st = station.data[STATION_RUNTIME]
    [row] = await until(lambda: st.store.messages())
    assert (row["id"], row["sent_at"], row["received_at"]) == (msg_id, skewed, station.clock.time())
    assert json.loads(row["body"])["body"]["time"] == skewed


async def test_hub_link_states_and_the_silent_hub_event(
    station: Hub, federation_lab: FederationLab, clock: FakeClock
) -> None:
    seen: list[tuple[str, str]] = []
    for name in (EVENT_HUB_ONLINE, EVENT_HUB_OFFLINE, EVENT_HUB_SILENT):
        station.bus.listen(name, lambda e: seen.append((e.event_type, e.data["hub_id"])))
    will = envelope(
        ulid(),
        STATION_ID,
        "test-hub",
        "health",
        clock.time(),
        {"status": "offline", "reason": "connection lost"},
    )
    client = mqtt(federation_lab, "test-hub", will=aiomqtt.Will(topic("health"), will, qos=1, retain=True))
    await client.__aenter__()
    await client.publish(topic("event"), event()[1], qos=1)
    await until(lambda: ("station_hub_online", "test-hub") in seen)
    assert station.states.get("station_hub.test_hub").state == "online"
    # Quiet for longer than silent_after (180 s): the station notices.
    await clock.advance(200)
    await until(lambda: ("station_hub_silent", "test-hub") in seen)
    assert (await station.data[STATION_RUNTIME].store.hub("test-hub"))["status"] == "silent"
    # The connection dies without a goodbye: the broker publishes the hub's last will.
    client._client.socket().shutdown(socket.SHUT_RDWR)
    await until(lambda: ("station_hub_offline", "test-hub") in seen)
    assert station.states.get("station_hub.test_hub").state == "offline"
    assert seen == [
        ("station_hub_online", "test-hub"),
        ("station_hub_silent", "test-hub"),
        ("station_hub_offline", "test-hub"),
    ]
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)
    assert isinstance(client._disconnected.exception(), aiomqtt.MqttError)  # the drop, as seen by the client
