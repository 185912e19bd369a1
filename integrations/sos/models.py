"""Which Zigbee2MQTT payload means "panic", per device model (notes §1.2).

The SOS vocabulary varies by device: ``emergency``, ``panic``, ``sos``,
``single``, or a boolean ``sos``.  A rule is a mapping that must match the
device message key by key (a list value means "any of these").  Models come
from Zigbee2MQTT's ``definition.model`` in ``bridge/devices``; the ``mqtt:``
block's ``zigbee2mqtt.sos_models`` adds or replaces entries, and a button's
own ``press:`` overrides both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ("PRESS_TABLE", "GENERIC_RULES", "UNIVERSAL_RULES", "NOT_PRESSES", "match_press", "rules_for")

Rule = Mapping[str, Any]

#: Z2M model → press rules (zigbee-herdsman-converters, see notes §1.2).
PRESS_TABLE: dict[str, list[Rule]] = {
    # Heiman smart emergency button: IAS zone status 1/2/3 → single/double/hold ("off" is the release).
    "HS1EB/HS1EB-E": [{"action": ["single", "double", "hold"]}],
    "HS1EB": [{"action": ["single", "double", "hold"]}],
    # Tuya SOS button and its white labels (BT400B, Woox R7052, Nedis ZBPB10BK): IAS ACE commandEmergency.
    "TS0215A_sos": [{"action": "emergency"}],
    # Tuya 4-key remote (Woox R7054): its SOS key; arm/disarm are not presses.
    "TS0215A_remote": [{"action": "emergency"}],
    "TS0601_sos": [{"action": "emergency"}],
    # Loginovo: DP 26 → sos, DP 29 → emergency.
    "ZG-101Z": [{"action": ["sos", "emergency"]}],
    # Feibit: no action at all, a boolean zone-status bit.
    "SEB01ZB": [{"sos": True}],
    # ORVIBO emergency buttons.
    "SE21": [{"action": ["single", "double", "hold"]}],
    "SE20-O": [{"action": ["single", "double", "hold"]}],
    # Keypads with a panic key (frient, Climax, Linkind): IAS ACE commandPanic / commandEmergency.
    "KEYZB-110": [{"action": ["emergency", "panic"]}],
}

#: For models learned from ``bridge/devices`` but not in the table: only the unambiguous
#: panic words.  ``single`` is absent: on a known, unlisted model it may be a light switch
#: (what it sends instead becomes an "unrecognised press" incident, never silence).
GENERIC_RULES: list[Rule] = [{"action": ["emergency", "panic", "sos"]}, {"sos": True}]

#: Until the model is learned (``bridge/devices`` not received yet): every word an SOS
#: button in the table uses for a press.  The button is configured as an SOS button, so
#: a press that comes before the device list is a press, not something to drop.
UNIVERSAL_RULES: list[Rule] = [
    {"action": ["emergency", "panic", "sos", "single", "double", "hold", "long", "press"]},
    {"sos": True},
]

#: Actions that are known not to be presses on any model: a release after a press, the
#: arm/disarm keys of a keypad.  They never become "unrecognised press" incidents.
NOT_PRESSES = frozenset(
    {
        "off",
        "release",
        "hold_release",
        "disarm",
        "arm_day_zones",
        "arm_night_zones",
        "arm_all_zones",
        "exit_delay",
    }
)


def _value_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, list):
        return any(_value_matches(e, actual) for e in expected)
    # Strict on type: 1 == True in Python, but {"sos": 1} is not the boolean the rule means.
    return type(expected) is type(actual) and expected == actual


def match_press(rules: Sequence[Rule], data: Mapping[str, Any]) -> str | None:
    """Return the press's action name if ``data`` matches one of ``rules``, else None.

    The action is the message's ``action`` when the rule tests it, else the
    name of the first property the rule tests (``sos`` for ``{"sos": true}``).
    """
    for rule in rules:
        if not rule:
            continue
        if all(key in data and _value_matches(expected, data[key]) for key, expected in rule.items()):
            if "action" in rule and isinstance(data.get("action"), str):
                return str(data["action"])
            return next(iter(rule))
    return None


def rules_for(
    model: str | None, extra: Mapping[str, Sequence[Rule]] | None = None
) -> tuple[list[Rule], bool]:
    """Return ``(rules, known)`` for a model.

    A model not learned yet (None) gets the universal press words; a learned model
    that is in no table gets the generic panic words.
    """
    if model is None:
        return UNIVERSAL_RULES, False
    if extra and model in extra:
        return list(extra[model]), True
    if model in PRESS_TABLE:
        return PRESS_TABLE[model], True
    return GENERIC_RULES, False
