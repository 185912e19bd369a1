"""What of Home Assistant's automation language SafetyHub runs, item by item.

One table, used three ways: ``safetyhub check`` names an HA feature that is not supported as
such (never "unknown", never loaded silently); docs/automations.md prints the same table (a test
keeps the two equal); and tests check that every item marked supported really exists in the
engine.  HA's documented triggers, conditions, script actions, common services and template
functions are listed; anything else is simply unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = (
    "ACTIONS",
    "CONDITIONS",
    "SERVICES",
    "TEMPLATE_FUNCTIONS",
    "TRIGGERS",
    "UNSUPPORTED_DOMAINS",
    "unsupported_service",
    "unsupported_trigger",
)

#: Where the table lives in the docs, for messages.
DOCS: Final = "docs/automations.md#home-assistant-support"

#: name → None when supported, else why not (shown by check and in the docs).
TRIGGERS: Final[Mapping[str, str | None]] = {
    "event": None,
    "homeassistant": None,
    "mqtt": None,
    "numeric_state": None,
    "state": None,
    "sun": None,
    "template": None,
    "time": None,
    "time_pattern": None,
    "webhook": None,
    "calendar": "no calendar integration",
    "conversation": "no voice assistant",
    "device": "no device registry: use the entity's state or event trigger",
    "geo_location": "no geolocation feeds",
    "persistent_notification": "notifications are not triggers here",
    "tag": "no NFC tag integration",
    "zone": "no person or zone tracking",
}

CONDITIONS: Final[Mapping[str, str | None]] = {
    "and": None,
    "or": None,
    "not": None,
    "numeric_state": None,
    "state": None,
    "sun": None,
    "template": None,
    "time": None,
    "trigger": None,
    "device": "no device registry: use a state condition",
    "zone": "no person or zone tracking",
}

ACTIONS: Final[Mapping[str, str | None]] = {
    "action (service call)": None,
    "delay": None,
    "wait_template": None,
    "wait_for_trigger": None,
    "event": None,
    "condition": None,
    "choose": None,
    "if": None,
    "repeat": None,
    "parallel": None,
    "sequence": None,
    "variables": None,
    "stop": None,
    "device_id": "no device registry: call the entity's service",
    "scene": "no scenes",
    "set_conversation_response": "no voice assistant",
}

#: HA services that blueprints call most, by name.
SERVICES: Final[Mapping[str, str | None]] = {
    "light.turn_on": None,
    "light.turn_off": None,
    "light.toggle": None,
    "switch.turn_on": None,
    "switch.turn_off": None,
    "switch.toggle": None,
    "siren.turn_on": None,
    "siren.turn_off": None,
    "homeassistant.turn_on": None,
    "homeassistant.turn_off": None,
    "homeassistant.toggle": None,
    "homeassistant.update_entity": None,
    "notify.notify": None,
    "notify.<target>": None,
    "notify.persistent_notification": None,
    "persistent_notification.create": None,
    "persistent_notification.dismiss": None,
    "persistent_notification.dismiss_all": None,
    "automation.turn_on": None,
    "automation.turn_off": None,
    "automation.toggle": None,
    "automation.trigger": None,
    "automation.reload": None,
    "input_boolean.turn_on": None,
    "input_boolean.turn_off": None,
    "input_boolean.toggle": None,
    "input_number.set_value": None,
    "input_select.select_option": None,
    "input_text.set_value": None,
    "input_datetime.set_datetime": None,
    "timer.start": None,
    "timer.cancel": None,
    "counter.increment": None,
    "camera.snapshot": None,
    "homeassistant.reload_core_config": "the hub reloads automations only (automation.reload)",
    "homeassistant.restart": "restart the service instead (systemd)",
    "scene.turn_on": "no scenes",
    "script.turn_on": "no scripts: use an automation",
    "media_player.play_media": "no media players",
    "tts.speak": "no text-to-speech",
    "climate.set_temperature": "no climate devices",
    "cover.open_cover": "no covers",
    "lock.lock": "no locks",
    "fan.turn_on": "no fans",
    "vacuum.start": "no vacuums",
    "input_button.press": "no input_button helper",
    "logbook.log": "no logbook: incident.note records on an incident's timeline",
    "system_log.write": "no system log service",
}

#: HA domains SafetyHub does not have: a call into one is named as such by check.
UNSUPPORTED_DOMAINS: Final[Mapping[str, str]] = {
    "scene": "no scenes",
    "script": "no scripts: use an automation",
    "media_player": "no media players",
    "tts": "no text-to-speech",
    "climate": "no climate devices",
    "cover": "no covers",
    "lock": "no locks",
    "fan": "no fans",
    "vacuum": "no vacuums",
    "input_button": "no input_button helper",
    "logbook": "no logbook: incident.note records on an incident's timeline",
    "system_log": "no system log service",
    "person": "no person tracking",
    "zone": "no zones of HA's kind (the Smart Safety Zone is hub.zone)",
    "device_tracker": "no device tracking",
}

#: HA's template functions and filters.
TEMPLATE_FUNCTIONS: Final[Mapping[str, str | None]] = {
    "states": None,
    "is_state": None,
    "state_attr": None,
    "is_state_attr": None,
    "has_value": None,
    "expand": None,
    "now": None,
    "utcnow": None,
    "today_at": None,
    "as_datetime": None,
    "as_timestamp": None,
    "as_local": None,
    "as_timedelta": None,
    "strptime": None,
    "relative_time": None,
    "time_since": None,
    "time_until": None,
    "timedelta": None,
    "timestamp_local": None,
    "timestamp_utc": None,
    "timestamp_custom": None,
    "float": None,
    "int": None,
    "bool": None,
    "iif": None,
    "is_number": None,
    "min": None,
    "max": None,
    "average": None,
    "median": None,
    "statistical_mode": None,
    "log": None,
    "sin": None,
    "cos": None,
    "tan": None,
    "asin": None,
    "acos": None,
    "atan": None,
    "atan2": None,
    "sqrt": None,
    "e": None,
    "pi": None,
    "tau": None,
    "inf": None,
    "multiply": None,
    "add": None,
    "bitwise_and": None,
    "bitwise_or": None,
    "bitwise_xor": None,
    "ord": None,
    "ordinal": None,
    "to_json": None,
    "from_json": None,
    "regex_match": None,
    "regex_search": None,
    "regex_replace": None,
    "regex_findall": None,
    "regex_findall_index": None,
    "slugify": None,
    "base64_encode": None,
    "base64_decode": None,
    "urlencode": None,
    "contains": None,
    "zip": None,
    "flatten": None,
    "union": None,
    "intersect": None,
    "difference": None,
    "symmetric_difference": None,
    "typeof": None,
    "area_name": "no areas",
    "area_id": "no areas",
    "area_entities": "no areas",
    "area_devices": "no areas",
    "floor_id": "no floors",
    "floor_areas": "no floors",
    "label_entities": "no labels",
    "device_entities": "no device registry",
    "device_attr": "no device registry",
    "device_id": "no device registry",
    "is_device_attr": "no device registry",
    "integration_entities": "no entity registry by integration",
    "config_entry_id": "no config entries",
    "closest": "no person or zone tracking",
    "distance": "no person or zone tracking",
    "state_translated": "states are shown translated by the UI, not by templates",
    "is_hidden_entity": "no hidden entities",
    "pack": "no binary packing",
    "unpack": "no binary packing",
    "shuffle": "no random order: automations must be repeatable",
    "version": "no version helper",
    "merge_response": "no multi-entity service responses",
}


def unsupported_trigger(name: str) -> str | None:
    """Why HA's trigger ``name`` does not run here, if it is HA's and unsupported."""
    why = TRIGGERS.get(name)
    return (
        f"the {name} trigger is Home Assistant's, and SafetyHub does not support it ({why}; see {DOCS})"
        if why
        else None
    )


def unsupported_service(name: str) -> str | None:
    """Why HA's service ``name`` does not run here, if it is in an HA domain SafetyHub lacks."""
    why = SERVICES.get(name) or UNSUPPORTED_DOMAINS.get(name.split(".", 1)[0])
    if why is None:
        return None
    return f"{name} is Home Assistant's, and SafetyHub does not have it ({why}; see {DOCS})"


def unsupported_template_function(name: str) -> str | None:
    """Why HA's template function ``name`` does not run here."""
    why = TEMPLATE_FUNCTIONS.get(name)
    if why is None:
        return None
    return f"the template function {name} is Home Assistant's, and SafetyHub does not support it ({why}; see {DOCS})"


def unsupported_in_template(source: str) -> list[str]:
    """Messages for each unsupported HA function or filter a template uses (empty if none)."""
    import jinja2
    from jinja2 import nodes

    try:
        tree = jinja2.Environment().parse(source)
    except jinja2.TemplateSyntaxError:
        return []  # reported as a syntax error elsewhere
    names: list[str] = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name):
            names.append(call.node.name)
    names += [f.name for f in tree.find_all(nodes.Filter)]
    names += [t.name for t in tree.find_all(nodes.Test)]
    found = []
    for name in dict.fromkeys(names):
        message = unsupported_template_function(name)
        if message is not None:
            found.append(message)
    return found
