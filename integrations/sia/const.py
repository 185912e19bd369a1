"""Constants for the SIA DC-09 receiver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.sia.receiver import SiaReceiver

DOMAIN: Final = "sia"
#: Fired for every accepted alarm message that is not a panic/duress/hold-up press.
EVENT_SIA: Final = "sia_event"
#: SIA codes that are SOS presses, with the action name given to ``sos_pressed``.
PANIC_CODES: Final = {"PA": "panic", "HA": "holdup"}
#: Contact ID event codes (qualifier 1, "new event") that are SOS presses.
CID_PANIC: Final = {
    "120": "panic",
    "121": "duress",
    "122": "holdup",
    "123": "holdup",
    "124": "duress",
    "125": "duress",
}
#: Longest frame accepted on TCP before the connection is dropped (DC-09 frames are small).
MAX_FRAME: Final = 2048

#: The SIA DC-09 receiver: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[SiaReceiver] = HubKey(DOMAIN)
