"""Constants for the video integration (restream, recording, retention)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.video.runtime import VideoRuntime

DOMAIN: Final = "video"
PROFILES: Final = ("main", "sub")
#: ffmpeg cuts a fragment at every keyframe and at least this often (µs): the live latency floor.
FRAGMENT_US: Final = 500_000
#: Per-subscriber queue bounds; a subscriber past either drops to the next keyframe.
QUEUE_FRAGMENTS: Final = 240
QUEUE_BYTES: Final = 16 * 1024 * 1024
#: The GOP cache (fragments since the last keyframe) that lets a new viewer start at once.
GOP_CACHE_BYTES: Final = 16 * 1024 * 1024
#: Restart backoff after a stream fails: 1 s doubling up to 60 s (jittered).
BACKOFF_FIRST: Final = 1.0
BACKOFF_MAX: Final = 60.0
#: An H.265 camera is retried this rarely (someone has to change the camera's settings).
UNSUPPORTED_RETRY: Final = 300.0
#: Lines of ffmpeg's stderr kept to explain a failure.
STDERR_LINES: Final = 20
#: Audit actions.
AUDIT_LIVE: Final = "video.live"
AUDIT_PLAY: Final = "video.recording"
AUDIT_RELEASE: Final = "video.release"
#: Events fired on the bus.
EVENT_STREAM: Final = "video_stream"
EVENT_DISK_ALARM: Final = "video_disk_alarm"
#: Incident kinds that start event recording on every ``record: {mode: events}`` camera
#: (every incident, of any kind, evidence-locks the footage that overlaps it).
RECORD_INCIDENT_KINDS: Final = ("sos", "alarm", "motion")
MIGRATIONS: Final = (
    """
    CREATE TABLE video_segments (
        id INTEGER PRIMARY KEY,
        camera TEXT NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        keyframes INTEGER NOT NULL DEFAULT 1,
        trigger TEXT NOT NULL DEFAULT 'continuous'
    );
    CREATE INDEX ix_video_segments_camera ON video_segments (camera, start);
    CREATE INDEX ix_video_segments_start ON video_segments (start);
    CREATE TABLE video_locks (
        incident_id TEXT PRIMARY KEY,
        start REAL NOT NULL,
        end REAL,
        closed_at REAL,
        released_at REAL,
        released_by TEXT
    );
    """,
)

#: The recorder of every camera: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[VideoRuntime] = HubKey(DOMAIN)
