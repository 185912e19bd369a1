"""A station and a hub on 127.0.0.1 for the live-video tests: real Mosquitto, real web servers, ipycam.

The station checks a hub's uplink against the broker's password file, so
its ``broker_dir`` is the lab's folder (where ``add-hub`` would have written
it).  The hub dials out to the station's real web server.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from hub.hub import Hub
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, register_hubs, station_config, until
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.integrations.video.conftest import VIDEO_BLOCK, add_stream_camera

__all__ = ("live_pair", "officer", "open_view", "read_stream", "LIVE_TIMING")

#: Test-sized station timings: a stall shows in 2 s, a hub that does not dial in fails in 5 s.
LIVE_TIMING = {"connect_timeout": 5, "stall_seconds": 2, "first_frame_timeout": 15}


async def live_pair(
    make_hub: Any,
    lab: FederationLab,
    folder: Path,
    *,
    cameras: dict[str, tuple[Any, ...]] | None = None,
    hub_clock_real: bool = True,
    hub_extra: str = "",
    video_extra: str = "",
    hub_opts: dict[str, Any] | None = None,
    console: dict[str, Any] | None = None,
) -> tuple[Hub, Hub]:
    """Start a station and a hub federated to it with cameras ``{id: (main url, share[, sub url])}``."""
    station = await make_hub(
        lab.station_block(broker_dir=str(lab.folder), console={"live": LIVE_TIMING, **(console or {})}),
        base=station_config(),
        folder=folder / "st",
    )
    await register_hubs(station)
    hub = await make_hub(
        lab.hub_block(station_url=station.http.url, registry_interval=3600, **(hub_opts or {}))
        + (VIDEO_BLOCK.replace("}", f", {video_extra}}}") if video_extra else VIDEO_BLOCK)
        + hub_extra,
        real_clock=hub_clock_real,
    )
    fed = hub.data[FEDERATION_RUNTIME]
    assert await station.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    assert await fed.link.wait_connected(10)
    for object_id, (url, share, *sub) in (cameras or {}).items():
        camera = add_stream_camera(hub, object_id, url, sub[0] if sub else None, share=share)
        camera.location = (14.5897, 100.4551)  # beside the test hub, for the map
    await fed.send_registry(force=True)

    async def registry() -> bool:
        item = await station.data[STATION_RUNTIME].store.hub("test-hub")
        found = {c["entity_id"] for c in ((item or {}).get("registry") or {}).get("cameras") or []}
        return all(f"camera.{c}" in found for c, spec in (cameras or {}).items() if spec[1] != "never")

    await until(registry, 15)
    from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME

    station.data[CCOC_RUNTIME].hubs.invalidate()
    return hub, station


async def officer(
    station: Hub, name: str = "somchai", role: str = "operator"
) -> tuple[aiohttp.ClientSession, str]:
    """Return an authenticated session at the station and its bearer token."""
    user = await station.auth.user_by_name(name)
    if user is None:
        user = await station.auth.add_user(name, "correct horse battery", role)
    token = await station.auth.create_token(user, "test")
    session = aiohttp.ClientSession(base_url=station.http.url, headers={"Authorization": f"Bearer {token}"})
    return session, token


async def open_view(
    session: aiohttp.ClientSession, entity_id: str, reason: str = "ตรวจสอบเหตุ"
) -> dict[str, Any]:
    """Open a reasoned view of a camera at test-hub; return its JSON."""
    resp = await session.post(
        "/api/ccoc/views", json={"hub_id": "test-hub", "entity_id": entity_id, "reason": reason}
    )
    body = await resp.json()
    assert resp.status == 201, body
    return dict(body)


async def read_stream(resp: aiohttp.ClientResponse, size: int, within: float = 20) -> bytes:
    """Read at least ``size`` bytes of a streaming answer."""
    out = bytearray()

    async def _read() -> None:
        async for chunk in resp.content.iter_any():
            out.extend(chunk)
            if len(out) >= size:
                return

    await asyncio.wait_for(_read(), within)
    return bytes(out)


def audit_details(entries: list[Any], phase: str) -> list[dict[str, Any]]:
    """Return the detail of audit entries of one phase."""
    out = []
    for entry in entries:
        detail = entry.detail if isinstance(entry.detail, dict) else json.loads(entry.detail or "{}")
        if detail.get("phase") == phase:
            out.append(detail)
    return out
