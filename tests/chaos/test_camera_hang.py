"""Chaos: a camera that stops in the middle of sending its snapshot.

The camera is the fake ONVIF device of ``integrations.onvif.testing`` (real
SOAP, real Digest auth), changed in one way: after authenticating a snapshot
request it sends the HTTP headers and the first part of the JPEG, then goes
silent with the connection open, as a camera whose encoder froze does.  The
SOS blueprint takes a snapshot from it before it flashes lights and alerts
LINE, so a hang there must cost at most the camera's timeout, never the alert.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from hub.testing import BASE_CONFIG
from integrations.onvif import CAMERAS
from integrations.onvif.testing import FakeOnvifDevice
from tests.chaos.conftest import GROUPS, cards, check_promises, get_health, incidents_by_press, until

BASE = BASE_CONFIG.replace(
    "web: {host: 127.0.0.1, port: 0}",
    "web: {host: 127.0.0.1, port: 0, public_url: 'https://talat.example.org'}",
)
TIMEOUT = 2  # the camera's configured timeout, seconds


class FrozenCamera(FakeOnvifDevice):
    """Answers a snapshot with headers and half a JPEG, then nothing until it is stopped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frozen = 0
        self._release = asyncio.Event()

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        if not self._snapshot_authorized(request):
            return await super()._snapshot(request)
        self.snapshot_requests += 1
        assert self.jpeg is not None
        response = web.StreamResponse(
            headers={"Content-Type": "image/jpeg", "Content-Length": str(len(self.jpeg))}
        )
        await response.prepare(request)
        await response.write(self.jpeg[: len(self.jpeg) // 2])
        self.frozen += 1
        await self._release.wait()  # the rest never comes while the test runs
        return response

    async def stop(self) -> None:
        self._release.set()
        await super().stop()


async def test_a_hanging_camera_does_not_hold_up_the_alert(make_hub: Any, line_fake: Any) -> None:
    camera = FrozenCamera(max_pull_wait=0.5, snapshot_auth="basic")
    await camera.start()
    try:
        fake = await line_fake()
        hub = await make_hub(
            "onvif:\n"
            f"  - {{id: gate_cam, host: 127.0.0.1, port: {camera.port}, username: admin, password: secret, "
            f"timeout: {TIMEOUT}, share: always, owner: {{name: เทศบาล}}}}\n"
            + fake.config_yaml(GROUPS)
            + "sos:\n  - {id: gate, name: ปุ่ม SOS ประตูตลาด, simulated: true}\n"
            "automation:\n  - id: sos_gate\n    use_blueprint:\n      path: sos_alert.yaml\n"
            "      input: {sos_button: sos.gate, cameras: [camera.gate_cam], line_targets: [big6, pineapple_eyes]}\n",
            base=BASE,
            real_clock=True,
        )
        assert await hub.data[CAMERAS]["camera.gate_cam"].wait_connected(15)
        presses = ["hang-0", "hang-1"]
        started = time.monotonic()
        for action in presses:
            await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": action})

        async def alerted() -> bool:
            found = await incidents_by_press(hub.storage)
            ids = [v[0] for v in found.values()]
            return len(ids) == len(presses) and sum(cards(fake, ids).values()) == len(ids) * len(GROUPS)

        await until(alerted, within=TIMEOUT * 5 + 10, message="the alert waited for the frozen camera")
        took = time.monotonic() - started
        assert camera.frozen >= 1, "the camera never froze: the test did not test anything"
        # The alert went out after at most about one camera timeout (a snapshot each, in parallel runs).
        assert took < TIMEOUT * 3 + 5, f"alert took {took:.1f}s behind a camera with a {TIMEOUT}s timeout"
        # The hub is not stuck: the web server answers while snapshots are (or were) pending.
        check_promises(presses, await incidents_by_press(hub.storage), fake, await get_health(hub.http.url))
        # The failure is on record in the incident's timeline, not only in a log.
        incident_id = (await incidents_by_press(hub.storage))["hang-0"][0]
        rows = await hub.storage.fetchall(
            "SELECT kind, text FROM incident_timeline WHERE incident_id = ?", (incident_id,)
        )
        errors = [r["text"] for r in rows if r["kind"] == "error"]
        assert any("snapshot" in text and f"{TIMEOUT} s" in text for text in errors), [dict(r) for r in rows]
    finally:
        await camera.stop()
