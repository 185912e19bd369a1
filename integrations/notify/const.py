"""Constants for notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.notify.runtime import NotifyRuntime

DOMAIN: Final = "notify"
PERSISTENT_DOMAIN: Final = "persistent_notification"
#: The notify target that shows a message in the hub's own UI.
PERSISTENT_TARGET: Final = "persistent_notification"
#: Fired when a persistent notification is created or dismissed (``action``: created/dismissed).
EVENT_NOTIFICATIONS_UPDATED: Final = "persistent_notifications_updated"
#: Messages longer than this are refused, not cut (LINE's text limit is 5,000 characters).
MAX_MESSAGE: Final = 5000
#: Persistent notifications kept; the oldest goes first (a flood must not fill the hub's memory).
MAX_NOTIFICATIONS: Final = 200

#: The notify services and the persistent notifications: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[NotifyRuntime] = HubKey(DOMAIN)
