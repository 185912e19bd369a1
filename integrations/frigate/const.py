"""Constants for the Frigate integration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.frigate.tracker import FrigateTracker

DOMAIN: Final = "frigate"
#: Fired on a new tracked object, and again when it enters a zone it had not entered before.
EVENT_CAMERA_DETECTION: Final = "camera_detection"
#: Fired when a review item is new or is raised to ``alert``.
EVENT_CAMERA_REVIEW: Final = "camera_review"
#: Event ids remembered for de-duplication (a busy camera makes hundreds a day).
SEEN_IDS: Final = 10_000

#: The Frigate event tracker: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[FrigateTracker] = HubKey(DOMAIN)
