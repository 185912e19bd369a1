"""Constants of the patrol_qr plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from plugins.patrol_qr.manager import PatrolManager

DOMAIN: Final = "patrol_qr"

#: Fired for every accepted check-in (automations, federation to the station).
EVENT_CHECKIN: Final = "patrol_checkin"
#: Fired when an admin accepts a flagged check-in as a proven visit.
EVENT_ACCEPTED: Final = "patrol_checkin_accepted"
#: Tells federation the checkpoints changed, so the station's map gets them within seconds
#: (federation's ``registry_changed``; named here so the plugin does not import federation).
EVENT_REGISTRY_CHANGED: Final = "registry_changed"
#: Tells federation the month's figures changed (``kpi_slots``), so the station's KPI page
#: follows within a minute (federation's ``kpi_changed``; named here, not imported).
EVENT_KPI_CHANGED: Final = "kpi_changed"
#: Fired by the daily check for each checkpoint × shift left unvisited too long.
EVENT_GAP: Final = "patrol_gap"

#: Why a check-in is kept but not counted: the phone was far from the box, its person could not
#: have travelled from their previous check-in so fast, or it sent no position at all.
FLAG_FAR: Final = "far"
FLAG_SPEED: Final = "speed"
FLAG_NO_POSITION: Final = "no_position"
FLAGS: Final = (FLAG_FAR, FLAG_SPEED, FLAG_NO_POSITION)

ROLE_POLICE: Final = "police"
ROLE_VOLUNTEER: Final = "volunteer"
ROLES: Final = (ROLE_POLICE, ROLE_VOLUNTEER)

#: Cookie that carries a volunteer's personal token after they open their link.
VOLUNTEER_COOKIE: Final = "patrol_volunteer"
VOLUNTEER_COOKIE_SECONDS: Final = 400 * 24 * 3600
#: Cookie naming the phone a volunteer's link is bound to (a random id, signed by the hub).
DEVICE_COOKIE: Final = "patrol_device"
#: A check-in form must be sent within this many seconds of being shown.
FORM_TTL: Final = 15 * 60
#: Longest note kept with a check-in.
NOTE_MAX: Final = 500
#: Largest report range a page or API call may ask for, in days.
MAX_REPORT_DAYS: Final = 62

#: Where the running plugin keeps its manager (``hub.data[RUNTIME]``); absent when not set up.
RUNTIME: Final[HubKey[PatrolManager]] = HubKey(DOMAIN)
