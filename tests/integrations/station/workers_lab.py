"""Two station workers on one PostgreSQL and a real hub whose calls the "proxy" deals to worker B.

Officers use worker A; the hub's outgoing connections (the live uplink at
``federation.station_url``, footage uploads at the request's ``upload_url``)
are pointed at worker B, as a round-robin proxy may do, so every relay
between the workers is exercised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.hub import Hub
from integrations.federation.const import RUNTIME as FEDERATION_RUNTIME
from integrations.federation.testing import FederationLab, register_hubs, station_config, until
from integrations.mqtt.testing import MosquittoFactory
from integrations.station.const import RUNTIME as STATION_RUNTIME
from tests.integrations.video.conftest import VIDEO_BLOCK, add_stream_camera
from tests.integrations.video.live_lab import LIVE_TIMING

__all__ = ("workers_and_hub",)


async def workers_and_hub(
    make_hub: Any,
    mosquitto_factory: MosquittoFactory,
    postgres_url: str,
    folder: Path,
    *,
    camera: str | None = None,
    video_extra: str = "",
) -> tuple[Hub, Hub, Hub]:
    """Start workers B then A (A's hubs upload to B) and a hub dialing B; return (hub, a, b).

    ``camera`` is a video source for ``camera.gate`` (shared ``always``), e.g. ``file:clip.mp4``.
    """
    lab = FederationLab(folder / "lab", mosquitto_factory)
    common = {
        "share_group": "ccoc",
        "database": postgres_url,
        "broker_dir": str(lab.folder),
        "console": {"live": LIVE_TIMING},
    }
    b = await make_hub(lab.station_block(**common), base=station_config(), folder=folder / "b")
    a = await make_hub(
        lab.station_block(**common, footage={"upload_url": b.http.url}),
        base=station_config(),
        folder=folder / "a",
    )
    await register_hubs(a)
    await b.data[STATION_RUNTIME].ingest.reload_hubs()
    for worker in (a, b):
        workers = worker.data[STATION_RUNTIME].workers
        assert workers is not None and await workers.wait_registered(10)
    hub = await make_hub(
        lab.hub_block(station_url=b.http.url, registry_interval=3600)
        + (VIDEO_BLOCK.replace("}", f", {video_extra}}}") if video_extra else VIDEO_BLOCK),
        real_clock=True,
    )
    fed = hub.data[FEDERATION_RUNTIME]
    for worker in (a, b):
        assert await worker.data[STATION_RUNTIME].ingest.link.wait_connected(10)
    assert await fed.link.wait_connected(10)
    if camera is not None:
        add_stream_camera(hub, "gate", camera, share="always")
    await fed.send_registry(force=True)

    async def registry() -> bool:
        item = await a.data[STATION_RUNTIME].store.hub("test-hub")
        cameras = ((item or {}).get("registry") or {}).get("cameras") or []
        return camera is None or any(c.get("entity_id") == "camera.gate" for c in cameras)

    await until(registry, 15)
    from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME

    for worker in (a, b):
        worker.data[CCOC_RUNTIME].hubs.invalidate()
    return hub, a, b
