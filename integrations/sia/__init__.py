"""SIA DC-09 alarm receiver: bank and shop alarm panels report to the hub.

Panic (CID 120 / SIA PA), duress (CID 121, 124, 125) and hold-up (CID 122,
123 / SIA HA) become presses of an SOS button: the one configured with
``sia: {account, zone}``, else ``sos.<account>_<zone>`` (created on first
use).  Every other alarm code fires ``sia_event``; link tests only update
the account's ``last_seen``.  See :mod:`integrations.sia.receiver` for how
frames are accepted or refused.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pysiaalarm.event import SIAEvent

from hub import hookimpl
from hub.core.context import Context
from hub.core.errors import PluginSetupError
from hub.keys import HubKey
from integrations.sia.config import SiaConfig
from integrations.sia.const import CID_PANIC, EVENT_SIA, PANIC_CODES, RUNTIME
from integrations.sia.receiver import SiaReceiver

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("SiaHandler", "zone_of")

_LOGGER = logging.getLogger(__name__)
_HANDLER: HubKey[SiaHandler] = HubKey("sia_handler")


def zone_of(event: SIAEvent) -> int:
    """Return the zone (point) number: CID's zone field, or the number after a SIA code."""
    if (
        event.message_type is not None
        and str(getattr(event.message_type, "value", event.message_type)) == "ADM-CID"
    ):
        candidates = [event.ri]
    else:
        # SIA DC-03 "Nri1/PA001": ri is the area; the digits after the code are the zone.
        message = (event.message or "").strip()
        candidates = [message, event.ri]
    for value in candidates:
        if value and value.isdigit():
            return int(value)
    return 0


class SiaHandler:
    """Turns accepted SIA events into SOS presses and ``sia_event``s."""

    def __init__(self, hub: Hub, config: SiaConfig) -> None:
        self.hub = hub
        self.panic = {**PANIC_CODES, **{code: "panic" for code in config.panic_codes}}
        self.names = {a.account.upper(): a.name for a in config.accounts}
        self.last_seen: dict[str, float] = {}
        self.events = 0

    def action_for(self, event: SIAEvent) -> str | None:
        """Return the SOS action name if ``event`` is a panic, duress or hold-up alarm."""
        if event.event_type is not None and event.event_qualifier is not None:
            # Contact ID: qualifier 1 is a new event, 3 a restore (not a press).
            return CID_PANIC.get(event.event_type) if event.event_qualifier == "1" else None
        return self.panic.get(event.code or "")

    async def __call__(self, event: SIAEvent) -> None:
        account = (event.account or "").upper()
        self.last_seen[account] = self.hub.clock.time()
        if event.code == "RP" and self.action_for(event) is None:
            return  # link test / NULL poll: a heartbeat, not news
        zone = zone_of(event)
        action = self.action_for(event)
        context = Context(origin="sia")
        if action is not None:
            from integrations.sos import SIA_ZONES, get_or_add_button

            button = self.hub.data[SIA_ZONES].get((account, zone))
            if button is None:
                place = self.names.get(account) or f"alarm panel {account}"
                button = get_or_add_button(
                    self.hub, f"{account.lower()}_{zone}", f"{place} zone {zone}", source="sia", place=place
                )
            await button.press(action, "sia", context=context, data=self._data(event, account, zone))
            return
        self.events += 1
        self.hub.bus.fire(EVENT_SIA, self._data(event, account, zone), context)

    @staticmethod
    def _data(event: SIAEvent, account: str, zone: int) -> dict[str, Any]:
        code = event.sia_code
        ts = event.timestamp.isoformat() if isinstance(event.timestamp, datetime) else event.timestamp
        return {
            "account": account,
            "zone": zone,
            "code": event.code,
            "description": code.description if code is not None else None,
            "code_type": code.type if code is not None else None,
            "area": event.ri if event.event_type is None else event.partition,
            "cid": f"{event.event_qualifier}{event.event_type}" if event.event_type else None,
            "message": (event.message or "").strip() or None,
            "timestamp": ts,
            "sequence": event.sequence,
        }


@hookimpl
def config_schema() -> Any:
    """Return the ``sia:`` block type."""
    return SiaConfig


@hookimpl
async def setup(hub: Hub, config: SiaConfig | None) -> None:
    """Start the receiver and create buttons for listed zones."""
    if config is None:
        return
    from integrations.sos import get_or_add_button

    handler = SiaHandler(hub, config)
    hub.data[_HANDLER] = handler
    for account in config.accounts:
        for zone in account.zones:
            place = account.name or f"alarm panel {account.account.upper()}"
            get_or_add_button(
                hub, f"{account.account.lower()}_{zone}", f"{place} zone {zone}", source="sia", place=place
            )
    receiver = SiaReceiver(
        config.accounts, handler, host=config.host, port=config.port, protocol=config.protocol
    )
    try:
        await receiver.start()
    except OSError as err:
        raise PluginSetupError(f"cannot listen on {config.host}:{config.port}: {err}") from err
    hub.data[RUNTIME] = receiver
    _LOGGER.info("SIA DC-09 receiver on %s:%s (%s)", config.host, receiver.port, config.protocol)


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Stop listening."""
    receiver = hub.data.pop(RUNTIME, None)
    if receiver is not None:
        await receiver.stop()


@hookimpl
def health_info(hub: Hub) -> Any:
    """Return answer counts and when each account was last heard."""
    receiver = hub.data.get(RUNTIME)
    handler = hub.data.get(_HANDLER)
    if receiver is None or handler is None:
        return None
    return {
        "port": receiver.port,
        "answers": dict(receiver.counts),
        "last_seen": dict(handler.last_seen),
        "events": handler.events,
    }
