"""Per-camera health at the station: online, recording, last frame, fps and bitrate.

A hub's video integration reports each camera's stream in its retained
health message (``info.video.cameras``, refreshed every ``health_interval``)
the way Frigate publishes per-stream stats.  A hub that is offline or silent
has no current figures: its cameras show as unknown rather than as their
last good state.
"""

from __future__ import annotations

from typing import Any

__all__ = ("camera_health", "with_health")

_FIELDS = ("online", "reason", "recording", "last_frame", "fps", "bitrate_kbps")


def camera_health(hub: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Return ``{entity_id: figures}`` from a hub's last health report ({} when it sent none)."""
    if not hub:
        return {}
    info = ((hub.get("health") or {}).get("info") or {}).get("video") or {}
    cameras = info.get("cameras") if isinstance(info, dict) else None
    if not isinstance(cameras, dict):
        return {}
    stale = hub.get("status") not in (None, "online")
    out: dict[str, dict[str, Any]] = {}
    for entity_id, figures in cameras.items():
        if not isinstance(figures, dict):
            continue
        item = {k: figures.get(k) for k in _FIELDS}
        item["stale"] = stale
        out[str(entity_id)] = item
    return out


def with_health(cameras: list[dict[str, Any]], hub: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Add each camera's ``health`` (or None) for the console's camera lists."""
    table = camera_health(hub)
    for cam in cameras:
        cam["health"] = table.get(str(cam.get("entity_id")))
    return cameras
