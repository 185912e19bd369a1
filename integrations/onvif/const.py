"""Constants for the ONVIF integration."""

from typing import Final

DOMAIN: Final = "onvif"
#: PullPoint subscriptions last 10 minutes and are renewed at 80 % (8 minutes).
SUBSCRIPTION_SECONDS: Final = 600
#: After a failed subscription or pull, wait this long before subscribing again.
SUBSCRIPTION_RESTART_DELAY: Final = 60
#: Long-poll: the camera holds PullMessages open up to this long when it has nothing to say.
PULL_TIMEOUT: Final = 60.0
PULL_MESSAGE_LIMIT: Final = 100
#: Where the library keeps the PullPoint subscription address among a camera's XAddrs.
PULLPOINT_NAMESPACE: Final = "http://www.onvif.org/ver10/events/wsdl/PullPointSubscription"
PTZ_NAMESPACE: Final = "http://www.onvif.org/ver20/ptz/wsdl"
EVENTS_NAMESPACE: Final = "http://www.onvif.org/ver10/events/wsdl"
#: Reconnect backoff after a camera goes offline: 5 s doubling up to 5 minutes (with jitter).
BACKOFF_FIRST: Final = 5.0
BACKOFF_MAX: Final = 300.0
#: Wrong credentials: try again only this rarely (cameras lock accounts after a few failures).
AUTH_RETRY_SECONDS: Final = 1800.0
#: A connected camera is asked the time this often; two missed answers mark it offline.
WATCHDOG_SECONDS: Final = 60.0
WATCHDOG_MISSES: Final = 2
#: Seconds between starting one camera's connection and the next (real time, start-up only).
START_SPACING: Final = 0.05
#: Warn when the camera's clock is this far off (WS-Security breaks at ~5 minutes).
CLOCK_SKEW_WARN: Final = 5.0
MIGRATIONS: Final = (
    """
    CREATE TABLE onvif_state (
        camera_id TEXT PRIMARY KEY,
        snapshot_auth TEXT,
        updated_at REAL NOT NULL
    );
    """,
)
