"""The station broker's ACL, as written by the station's admin code, enforced by a real Mosquitto."""

from __future__ import annotations

import asyncio
from typing import Any

import aiomqtt
import pytest

from integrations.federation.testing import HUB_PASSWORDS, STATION_ID, STATION_PASSWORD, FederationLab

pytestmark = pytest.mark.usefixtures("federation_lab")

NOT_AUTHORIZED = 135


def client(lab: FederationLab, user: str | None, password: str | None, **kw: Any) -> aiomqtt.Client:
    return aiomqtt.Client(
        lab.broker.host,
        lab.broker.port,
        username=user,
        password=password,
        protocol=aiomqtt.ProtocolVersion.V5,
        timeout=5,
        **kw,
    )


def puback_codes(c: aiomqtt.Client) -> list[int]:
    """Record PUBACK reason codes (aiomqtt does not surface them)."""
    codes: list[int] = []
    paho: Any = c._client  # paho's callbacks are typed Optional
    original = paho.on_publish

    def on_publish(cl: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
        codes.append(int(reason.value))
        original(cl, u, mid, reason, props)

    paho.on_publish = on_publish
    return codes


async def collect(lab: FederationLab, filt: str, seconds: float) -> list[tuple[str, bytes]]:
    """Return what the station account receives on ``filt`` within ``seconds``."""
    got: list[tuple[str, bytes]] = []
    async with client(lab, "ccoc", STATION_PASSWORD) as station:
        await station.subscribe(filt, qos=1)
        try:
            async with asyncio.timeout(seconds):
                async for msg in station.messages:
                    got.append((str(msg.topic), bytes(msg.payload)))
        except TimeoutError:
            pass
    return got


async def test_hub_cannot_publish_under_another_hubs_prefix(federation_lab: FederationLab) -> None:
    lab = federation_lab
    listener = asyncio.create_task(collect(lab, f"ssz/v1/{STATION_ID}/#", 1.5))
    await asyncio.sleep(0.3)
    async with client(lab, "test-hub", HUB_PASSWORDS["test-hub"]) as hub_a:
        codes = puback_codes(hub_a)
        await hub_a.publish(f"ssz/v1/{STATION_ID}/hub-b/incident", b'{"forged": true}', qos=1)
        await hub_a.publish(f"ssz/v1/{STATION_ID}/test-hub/event", b'{"own": true}', qos=1)
        # A hub cannot forge commands or acks to itself either: those come only from the station.
        await hub_a.publish(f"ssz/v1/{STATION_ID}/test-hub/cmd", b'{"forged": "cmd"}', qos=1)
        await hub_a.publish(f"ssz/v1/{STATION_ID}/test-hub/ack", b'{"forged": "ack"}', qos=1)
        # Nor write outside the federation tree, or under another station.
        await hub_a.publish("ssz/v1/other-station/test-hub/event", b"{}", qos=1)
    received = await listener
    assert codes == [NOT_AUTHORIZED, 0, NOT_AUTHORIZED, NOT_AUTHORIZED, NOT_AUTHORIZED]
    assert received == [(f"ssz/v1/{STATION_ID}/test-hub/event", b'{"own": true}')]


async def test_hub_cannot_read_another_hubs_topics(federation_lab: FederationLab) -> None:
    # Mosquitto 2.0 grants any SUBSCRIBE and applies "topic read" when it delivers,
    # so the proof is what arrives: only the hub's own ack and cmd.
    lab = federation_lab
    async with client(lab, "test-hub", HUB_PASSWORDS["test-hub"]) as hub_a:
        for filt in (
            f"ssz/v1/{STATION_ID}/hub-b/cmd",
            f"ssz/v1/{STATION_ID}/hub-b/ack",
            f"ssz/v1/{STATION_ID}/#",
            "#",
            f"ssz/v1/{STATION_ID}/test-hub/cmd",
        ):
            await hub_a.subscribe(filt, qos=1)
        async with (
            client(lab, "ccoc", STATION_PASSWORD) as station,
            client(lab, "hub-b", HUB_PASSWORDS["hub-b"]) as hub_b,
        ):
            await station.publish(f"ssz/v1/{STATION_ID}/hub-b/cmd", b'{"for": "b"}', qos=1)
            await station.publish(f"ssz/v1/{STATION_ID}/hub-b/ack", b'{"ack": "b"}', qos=1)
            await hub_b.publish(f"ssz/v1/{STATION_ID}/hub-b/incident", b'{"from": "b"}', qos=1)
            await station.publish(f"ssz/v1/{STATION_ID}/test-hub/cmd", b'{"for": "a"}', qos=1)
        got = []
        async with asyncio.timeout(3):
            async for msg in hub_a.messages:
                got.append((str(msg.topic), bytes(msg.payload)))
                if b'"a"' in got[-1][1]:
                    break
        await asyncio.sleep(0.3)
        assert got == [(f"ssz/v1/{STATION_ID}/test-hub/cmd", b'{"for": "a"}')]


@pytest.mark.parametrize(
    ("user", "password"),
    [
        (None, None),
        ("test-hub", "wrong password"),
        ("hub-c", "whatever-password"),
    ],
)
async def test_anonymous_and_bad_credentials_are_refused(
    federation_lab: FederationLab, user: str | None, password: str | None
) -> None:
    with pytest.raises(aiomqtt.MqttCodeError) as err:
        async with client(federation_lab, user, password):
            pass
    assert err.value.rc in (134, 135)  # bad user name or password / not authorized


async def test_mqtt_311_clients_are_refused_too(federation_lab: FederationLab) -> None:
    lab = federation_lab
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(
            lab.broker.host, lab.broker.port, protocol=aiomqtt.ProtocolVersion.V311, timeout=5
        ):
            pass
