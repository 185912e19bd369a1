"""A hub's clean stop: "offline" is the last thing it says, never followed by a queued message.

A message that reached the station after the goodbye made the station mark the
hub online again, and nothing would ever say otherwise: the station only learned
that the hub was gone from its silence (minutes later).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiomqtt

from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import STATION_ID, STATION_PASSWORD, FederationLab, start_pair, until
from integrations.station.const import RUNTIME as STATION_RUNTIME


async def test_nothing_follows_the_offline_goodbye(
    make_hub: Any, federation_lab: FederationLab, tmp_path: Path
) -> None:
    seen: list[tuple[str, bytes]] = []
    async with aiomqtt.Client(
        federation_lab.broker.host,
        federation_lab.broker.port,
        username="ccoc",
        password=STATION_PASSWORD,
        protocol=aiomqtt.ProtocolVersion.V5,
    ) as peer:
        await peer.subscribe(f"ssz/v1/{STATION_ID}/test-hub/#", qos=1)

        async def listen() -> None:
            async for message in peer.messages:
                seen.append((str(message.topic), bytes(message.payload)))

        reader = asyncio.create_task(listen())
        try:
            # A long queue and a narrow window: the station's acks keep freeing room, so the
            # sender is still publishing, one message per packet, when the hub stops.
            hub, station = await start_pair(make_hub, federation_lab, tmp_path / "st", window=20, batch=1)
            fed = hub.data[FEDERATION_RUNTIME]
            await until(lambda: len(seen) >= 2, 10)  # its health and registry
            # Committed together (one transaction), so the whole queue is there at once.
            await asyncio.gather(*(fed.send_event("load_test", {"n": n}) for n in range(3000)))
            await hub.stop()

            def goodbye_at() -> int | None:
                for index, (topic, payload) in enumerate(seen):
                    if topic.endswith("/health") and json.loads(payload)["body"]["status"] == "offline":
                        return index
                return None

            await until(lambda: goodbye_at() is not None, 10)
            await asyncio.sleep(0.5)  # anything still on its way arrives
            index = goodbye_at()
            assert index is not None
            # What the hub sent after it (the station's acks to it do not count).
            after = [t for t, _ in seen[index + 1 :] if t.rsplit("/", 1)[1] not in ("ack", "cmd")]
            assert after == [], f"{len(after)} message(s) after the goodbye: {after[:3]}"
            body = json.loads(seen[index][1])["body"]
            assert body["reason"] == "hub stopped"
            # And so the station knows the hub is gone, and keeps knowing it.
            ingest = station.data[STATION_RUNTIME].ingest
            await until(lambda: ingest.statuses["test-hub"].status == "offline", 10)
            await asyncio.sleep(0.3)
            assert ingest.statuses["test-hub"].status == "offline"
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
