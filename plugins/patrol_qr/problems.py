"""Refusals of the admin pages as a key and values, said in Thai or English.

The manager raises :class:`PatrolError` (English ``str()`` for the API and
logs); the services carry it in :class:`Refused`; a page says it in its own
language, and schema errors are turned into field problems first, so a Thai
page never shows pydantic's English.
"""

from __future__ import annotations

from typing import Any

import pydantic

from hub.core.errors import ServiceValidationError
from plugins.patrol_qr.strings import translator

__all__ = ("PatrolError", "Refused", "from_validation", "error_text")

#: Form fields → the label key shown next to them.
_FIELDS = {
    "id": "patrol.field.id",
    "name": "patrol.field.name",
    "lat": "patrol.field.lat",
    "lon": "patrol.field.lon",
    "risk": "patrol.field.risk",
    "phone": "patrol.field.phone",
}


class PatrolError(ValueError):
    """Bad input: ``key`` names a ``error.*`` string, ``params`` fill it in."""

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        """Return the error in ``lang``."""
        field = self.params.get("field")
        t = translator(lang)
        message = t(f"error.{self.key}", **self.params)
        return f"{t(_FIELDS[field])}: {message}" if field in _FIELDS else message


class Refused(ServiceValidationError):
    """A ``patrol_qr.*`` call refused, carrying the errors for a page to translate."""

    def __init__(self, message: str, errors: list[PatrolError]) -> None:
        super().__init__(message)
        self.errors = errors


def from_validation(err: pydantic.ValidationError) -> list[PatrolError]:
    """Return pydantic's errors as field errors a page can say in Thai."""
    out: list[PatrolError] = []
    for e in err.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        kind, given = e["type"], e.get("input")
        if kind == "missing" or given in ("", None) or kind == "string_too_short":
            out.append(PatrolError("required", field=field))
        elif kind == "string_pattern_mismatch":
            out.append(PatrolError("id_pattern", field=field))
        elif kind == "string_too_long":
            out.append(PatrolError("too_long", field=field, max=(e.get("ctx") or {}).get("max_length", "")))
        elif field in ("lat", "lon"):
            out.append(PatrolError(f"{field}_range", field=field))
        elif kind == "value_error" and not field:
            out.append(PatrolError("lat_and_lon"))  # the model's own check: both or neither
        else:
            out.append(PatrolError("invalid", field=field))
    return out


def error_text(err: Exception, lang: str) -> str:
    """Return a refusal as a page in ``lang`` says it."""
    if isinstance(err, Refused):
        return "; ".join(e.text(lang) for e in err.errors)
    return str(err)
