"""The hub's upload keeps to ``upload_kbps``: a clip never takes the whole shop uplink."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiohttp import web

from integrations.video.evidence import EvidenceKey
from integrations.video.footage_config import FootageConfig
from integrations.video.footage_upload import Uploader


async def _station(received: list[tuple[float, int]]) -> tuple[web.AppRunner, str]:
    """A stand-in for the station's upload routes that notes when each piece of a chunk arrives."""
    size = 64 * 1024

    async def put(request: web.Request) -> web.Response:
        return web.json_response({"offset": 0, "size": size, "complete": False})

    async def patch(request: web.Request) -> web.Response:
        got = 0
        async for piece in request.content.iter_any():
            got += len(piece)
            received.append((time.monotonic(), len(piece)))
        return web.json_response({"offset": got, "size": size, "complete": got >= size})

    app = web.Application()
    app.router.add_put("/api/station/footage/{r}/items/{i}", put)
    app.router.add_patch("/api/station/footage/{r}/items/{i}", patch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_upload_is_paced_to_the_cap(hub: Any, tmp_path: Path) -> None:
    """64 KiB at 512 kbit/s takes about a second; without a cap it is a burst."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x01" * 64 * 1024)
    item = {
        "id": "a" * 24,
        "camera": "camera.x",
        "start": 1.0,
        "end": 2.0,
        "size": 64 * 1024,
        "sha256": "0" * 64,
    }
    key = EvidenceKey.generate()
    timings = {}
    for cap in (512, 0):
        received: list[tuple[float, int]] = []
        runner, url = await _station(received)
        try:
            cfg = FootageConfig(upload_kbps=cap, chunk_bytes=64 * 1024)
            async with Uploader(hub, key, cfg, url) as up:
                began = time.monotonic()
                await up.upload_item("01JD0000000000000000000000", item, clip)
                timings[cap] = time.monotonic() - began
        finally:
            await runner.cleanup()
        assert sum(n for _, n in received) == 64 * 1024
    assert timings[512] >= 0.7  # 65,536 bytes at 64,000 bytes/s, the first 16 KiB at once: 0.77 s
    assert timings[0] < timings[512] / 2
