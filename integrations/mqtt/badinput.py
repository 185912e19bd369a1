"""Moved to :mod:`hub.badinput` (devices of every kind send garbage, not only MQTT ones)."""

from hub.badinput import BadInputLog, as_number, json_object, payload_text

__all__ = ("BadInputLog", "as_number", "json_object", "payload_text")
