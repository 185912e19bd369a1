"""Which SOS buttons an automation listens to (issue 15 item 3).

A press on a button that no enabled automation triggers on would change a state
and reach no one.  The SOS integration opens an incident for such a press
itself, and ``check`` warns about the button.  "Listens to" is read from the
triggers: an ``sos_pressed`` event trigger whose ``event_data`` names the button
(or names no button at all), or any other trigger that names the entity id
(a state trigger, a template).  When in doubt a trigger counts as listening: the
automation then opens the incident, as it was written to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from hub.components.automation.specs import TriggerSpec
from integrations.sos.const import EVENT_SOS_PRESSED

__all__ = ("handles", "listened_to", "names")


def _dump(model: Any) -> Any:
    return model.model_dump() if hasattr(model, "model_dump") else model


def names(text: str, entity_id: str) -> bool:
    """Return whether ``text`` names ``entity_id`` (``sos.gate`` is not named by ``sos.gate_2``)."""
    return re.search(re.escape(entity_id) + r"(?![a-z0-9_])", text) is not None


def handles(trigger: TriggerSpec, entity_id: str) -> bool:
    """Return whether ``trigger`` fires on a press of ``entity_id``."""
    if not trigger.enabled:
        return False
    dump = _dump(trigger.model)
    if trigger.platform == "event" and isinstance(dump, dict):
        types = dump.get("event_type") or []
        types = [types] if isinstance(types, str) else list(types)
        if EVENT_SOS_PRESSED in types:
            data = dump.get("event_data") or {}
            wanted = data.get("entity_id") if isinstance(data, dict) else None
            if wanted is None:
                return True  # every button's press
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            return any(isinstance(w, str) and (w == entity_id or "{" in w) for w in wanted)
    return names(json.dumps(dump, default=str, ensure_ascii=False), entity_id)


def listened_to(triggers: Iterable[TriggerSpec], entity_id: str) -> bool:
    """Return whether any of ``triggers`` fires on a press of ``entity_id``."""
    return any(handles(t, entity_id) for t in triggers)
