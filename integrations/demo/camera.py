"""A simulated camera that draws a JPEG frame with the time on it."""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING

from integrations.camera.entity import CameraEntity, Owner

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("DemoCamera", "render_frame")


def render_frame(when: datetime, label: str, frame: int) -> bytes:
    """Return a 640×360 JPEG showing ``label`` and the time."""
    from PIL import Image, ImageDraw  # imported lazily: only the demo draws frames

    img = Image.new("RGB", (640, 360), (24, 32, 48))
    draw = ImageDraw.Draw(img)
    # A moving bar so consecutive frames differ, as a real scene would.
    x = (frame * 37) % 600
    draw.rectangle((x, 250, x + 40, 330), fill=(200, 60, 60))
    draw.rectangle((0, 0, 639, 40), fill=(0, 0, 0))
    draw.text((10, 12), f"{label}  {when:%Y-%m-%d %H:%M:%S}", fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


class DemoCamera(CameraEntity):
    """Serves generated frames; shares ``on_alarm`` like a typical market camera."""

    def __init__(self, hub: Hub, object_id: str, name: str) -> None:
        super().__init__(
            hub,
            object_id,
            name,
            share="on_alarm",
            owner=Owner("เทศบาลสาธิต (demo municipality)", "000-000000"),
        )
        self.frames = 0

    async def fetch_snapshot(self) -> bytes:
        """Draw a frame off the loop (Pillow is CPU work)."""
        self.frames += 1
        return await self.hub.loop.run_in_executor(
            None, render_frame, self.hub.clock.now(), "DEMO CAM", self.frames
        )

    def stream_uri(self) -> str | None:
        """The demo has no stream."""
        return None
