"""A hub with cameras of every share policy (the demo's on_alarm camera plus three test cameras)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest_asyncio

from hub.hub import Hub
from integrations.camera import CameraEntity, Owner, PtzError, PtzPreset, add_camera
from integrations.onvif.testing import sample_jpeg

JPEG = sample_jpeg()


class StillCamera(CameraEntity):
    """A camera that always shows the same real JPEG, with a stream URI and optional PTZ."""

    def __init__(self, hub: Hub, object_id: str, share: str, *, ptz: bool = False) -> None:
        super().__init__(
            hub,
            object_id,
            object_id.replace("_", " "),
            share=share,
            owner=Owner("ร้านทองทดสอบ", "02-000-0000"),
            location=(14.59, 100.45),
        )
        self.fetches = 0
        self.ptz_calls: list[tuple[str, object]] = []
        self._has_ptz = ptz

    async def fetch_snapshot(self) -> bytes:
        self.fetches += 1
        return JPEG

    def stream_uri(self) -> str | None:
        return f"rtsp://192.0.2.10:554/{self.object_id}"

    @property
    def supports_ptz(self) -> bool:
        return self._has_ptz

    async def ptz_presets(self) -> list[PtzPreset]:
        return [PtzPreset("1", "Gate")] if self._has_ptz else []

    async def goto_preset(self, preset: str) -> PtzPreset:
        if not self._has_ptz:
            return await super().goto_preset(preset)
        if preset not in ("1", "Gate"):
            raise PtzError(f"no preset {preset}")
        self.ptz_calls.append(("goto", preset))
        return PtzPreset("1", "Gate")

    async def ptz_move(self, pan: float, tilt: float, zoom: float, *, mode: str = "continuous") -> None:
        if not self._has_ptz:
            return await super().ptz_move(pan, tilt, zoom, mode=mode)
        self.ptz_calls.append((mode, (pan, tilt, zoom)))

    async def ptz_stop(self) -> None:
        self.ptz_calls.append(("stop", None))


@pytest_asyncio.fixture
async def cam_hub(make_hub) -> Hub:
    """camera.demo_gate (on_alarm) and camera.never_cam / registry_cam / always_cam / ptz_cam."""
    hub = await make_hub("demo: {}\n")
    add_camera(hub, StillCamera(hub, "never_cam", "never"))
    add_camera(hub, StillCamera(hub, "registry_cam", "registry"))
    add_camera(hub, StillCamera(hub, "always_cam", "always"))
    add_camera(hub, StillCamera(hub, "ptz_cam", "on_alarm", ptz=True))
    return hub


@pytest_asyncio.fixture
async def client_for(cam_hub: Hub) -> AsyncIterator[Callable[..., Awaitable[aiohttp.ClientSession]]]:
    """Like hub.testing's ``client_for``, for ``cam_hub`` (without starting a second hub)."""
    sessions: list[aiohttp.ClientSession] = []

    async def _client(role: str = "admin", *, anonymous: bool = False) -> aiohttp.ClientSession:
        headers = {}
        if not anonymous:
            user = await cam_hub.auth.user_by_name(f"test-{role}")
            if user is None:
                user = await cam_hub.auth.add_user(f"test-{role}", "correct horse battery", role)
            headers["Authorization"] = f"Bearer {await cam_hub.auth.create_token(user, 'test')}"
        session = aiohttp.ClientSession(base_url=cam_hub.http.url, headers=headers)
        sessions.append(session)
        return session

    yield _client
    for session in sessions:
        await session.close()
