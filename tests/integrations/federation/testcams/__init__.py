"""A drop-in plugin for the federation tests: cameras with credentials, and a careless registry_info.

Each camera holds an admin password and an RTSP URL with it, as a real ONVIF
camera does; ``registry_info`` returns them on purpose, to prove that the
federation registry strips whatever a plugin forgets to.
"""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from integrations.camera import add_camera
from integrations.camera.entity import CameraEntity, Owner
from integrations.federation.testing import TINY_JPEG


class TestCamera(CameraEntity):
    """A camera whose snapshots are a tiny valid JPEG plus a counter."""

    def __init__(self, hub: Any, item: dict[str, Any]) -> None:
        super().__init__(
            hub,
            item["id"],
            item.get("name"),
            share=item["share"],
            owner=Owner(item.get("owner", "ร้านทอง"), "081-000-0000"),
            location=(14.59, 100.45),
        )
        self.username = "admin"
        self.password = item["password"]
        self.shots = 0

    async def fetch_snapshot(self) -> bytes:
        self.shots += 1
        return TINY_JPEG[:-2] + self.shots.to_bytes(4, "big") + b"\xff\xd9"

    def stream_uri(self) -> str | None:
        return f"rtsp://{self.username}:{self.password}@127.0.0.1:554/stream1"


@hookimpl
def config_schema() -> Any:
    return list[dict[str, str]]


@hookimpl
def setup(hub: Any, config: list[dict[str, str]] | None) -> None:
    for item in config or []:
        add_camera(hub, TestCamera(hub, item))


@hookimpl
def registry_info(hub: Any) -> Any:
    cams = [e for e in hub.entities if isinstance(e, TestCamera)]
    return {
        "cameras": [
            {
                "entity_id": c.entity_id,
                "username": c.username,
                "password": c.password,
                "stream": c.stream_uri(),
                "note": f"login admin / {c.password}",
                "onvif": {"host": "127.0.0.1", "camera_password": c.password},
            }
            for c in cams
        ],
        "api_key": "sk-test-should-never-leave",
    }
