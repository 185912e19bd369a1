"""Incidents the SOS integration opens itself, so no press ends in silence.

An automation (the ``sos_alert`` blueprint) normally opens the incident for a
press.  Two cases have no automation to do it: a message from a configured
button that matches no press rule ("unrecognised press", issue 15 item 2), and
a press on a button no automation listens to (item 3).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.components.incident import IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.context import Context
from hub.i18n import translate

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.sos.entity import SosButton

__all__ = ("report_unrecognised", "open_unhandled")

_LOGGER = logging.getLogger(__name__)


def _lang(hub: Hub) -> str:
    return hub.core.language


async def report_unrecognised(hub: Hub, button: SosButton, action: str, data: Mapping[str, Any]) -> None:
    """Open (or add to) the button's "unrecognised press" incident.

    It is not a press: no ``sos_pressed`` fires, so no alarm goes out for what may be
    a battery report in an unknown vocabulary.  But someone may have pressed in
    panic, so it is an open incident the operator sees and closes, not a log line.
    While it is open, further unrecognised messages go on its timeline.
    """
    mgr = hub.data.get(INCIDENT_RUNTIME)
    if mgr is None:
        _LOGGER.error("SOS %s: unrecognised press %r and no incident manager", button.entity_id, action)
        return
    lang = _lang(hub)
    details = {"unrecognised": True, "action": action, **data}
    text = translate("sos.unrecognised_text", lang, action=action, device=data.get("device") or "")
    context = Context(origin="sos")
    if button.unrecognised_incident is not None:
        try:
            inc = await mgr.get(button.unrecognised_incident, timeline=False)
        except IncidentNotFound:
            inc = None
        if inc is not None and inc.status != "closed":
            await mgr.note(inc.id, text, kind="unrecognised_press", data=details, by="sos", context=context)
            return
    inc = await mgr.open(
        "sos",
        severity="high",
        title=translate("sos.unrecognised_title", lang, name=button.name),
        place=button.place or "",
        lat=button.location[0] if button.location else None,
        lon=button.location[1] if button.location else None,
        entities=[button.entity_id],
        text=text,
        data=details,
        context=context,
        actor="sos",
    )
    button.unrecognised_incident = inc.id


async def open_unhandled(hub: Hub, button: SosButton, press: Mapping[str, Any], context: Context) -> None:
    """Open the incident for a press that no automation handles.

    The same shape as the ``sos_alert`` blueprint's incident (kind ``sos``,
    critical), so the CCOC and the LINE card treat it alike; ``unhandled`` says why
    it has no snapshot, light or LINE step.  Keyed by the press, so a repeat of
    the same call never opens a second one.
    """
    mgr = hub.data.get(INCIDENT_RUNTIME)
    if mgr is None:
        _LOGGER.error("SOS %s pressed: no automation handles it and no incident manager", button.entity_id)
        return
    lang = _lang(hub)
    await mgr.open(
        "sos",
        severity="critical",
        title=translate("sos.default_title", lang, name=button.name),
        place=str(press.get("place") or button.place or ""),
        lat=button.location[0] if button.location else None,
        lon=button.location[1] if button.location else None,
        entities=[button.entity_id],
        text=translate("sos.default_text", lang),
        data={"unhandled": True, "action": press.get("action"), "source": press.get("source")},
        context=context.child(),
        actor="sos",
        key=f"sos-unhandled:{context.id}",
        drill=bool(press.get("drill")),
    )
