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
#: ``on_alarm``: minutes a camera stays shared after the last open incident closes.
DEFAULT_ON_ALARM_MINUTES: Final = 30
#: ``on_alarm``: an incident left open shares a camera for at most this long (DESIGN §9 "bounded").
DEFAULT_ON_ALARM_MAX_HOURS: Final = 24.0
#: A live view (camera wall) re-uses a frame this young instead of asking the camera again.
LIVE_CACHE_SECONDS: Final = 3.0
#: Repeated live views of one camera by one party are audited once per this many seconds.
AUDIT_COALESCE_SECONDS: Final = 300.0
#: Repeated refusals (a wall refreshing) are audited once per this many seconds.
AUDIT_REFUSAL_COALESCE_SECONDS: Final = 60.0
#: Audit actions written by this integration.
AUDIT_VIEW: Final = "camera.view"
AUDIT_STREAM: Final = "camera.stream"
#: Incident kinds whose opening attaches the pre-alarm buffer ("before" frames).
PREBUFFER_INCIDENT_KINDS: Final = ("sos", "alarm")
