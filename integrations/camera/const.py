"""Constants for the camera integration."""

from typing import Final

DOMAIN: Final = "camera"
EVENT_CAMERA_MOTION: Final = "camera_motion"
EVENT_SNAPSHOT: Final = "camera_snapshot"
#: Largest snapshot accepted from a camera.
MAX_SNAPSHOT_BYTES: Final = 8 * 1024 * 1024
SHARE_POLICIES: Final = ("never", "registry", "on_alarm", "always")
#: How long a signed snapshot link stays valid (LINE cards, station).
LINK_TTL: Final = 24 * 3600
