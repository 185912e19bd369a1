"""Turn pydantic validation errors into located, user-facing `ConfigError`s.

Plugins describe their config block with pydantic models (subclass
`BlockModel`).  Pydantic's errors speak Python ("Input should be a valid
integer", locs like ``('onvif', 0, 'function-after[...]', 'port')``); users
need ``config.yaml:14: onvif[0].port: expected integer``.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic
from pydantic import ConfigDict
from pydantic_core import ErrorDetails

from hub.config.errors import ConfigError, format_path
from hub.config.nodes import Loc, position_of

__all__ = ("BlockModel", "errors_from_validation", "validate_block")


class BlockModel(pydantic.BaseModel):
    """Base for plugin config schemas: unknown keys are errors, not ignored typos."""

    model_config = ConfigDict(extra="forbid", frozen=False)


_FIXED_MESSAGES = {
    "int_parsing": "expected integer",
    "int_type": "expected integer",
    "int_from_float": "expected integer",
    "float_parsing": "expected number",
    "float_type": "expected number",
    "bool_parsing": "expected boolean",
    "bool_type": "expected boolean",
    "string_type": "expected string",
    "missing": "required key missing",
    "extra_forbidden": "unknown key",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dataclass_type": "expected a mapping",
}

# Error types whose last loc part names a key that is (by definition) absent
# from the input: it must survive the noise stripping below.
_ABSENT_KEY_TYPES = frozenset({"missing", "missing_argument", "missing_keyword_only_argument"})

# Pydantic's schema tags: `function-after[...]`, `list[int]`, `tagged-union[...]`.
_SCHEMA_TAG = re.compile(r"^[\w-]+\[.*\]$", re.DOTALL)
_KEY_MARKER = "[key]"  # pydantic marks an error in a dict *key* like this

# Pydantic writes the allowed values as "'a', 'b' or 'c'"; split outside quotes.
_CHOICE_SPLIT = re.compile(r"(?:, | or )(?=(?:[^']*'[^']*')*[^']*$)")

# `^[a-z0-9_]+$`-style patterns, said in words: "may only contain a-z, 0-9, _".
_CHAR_CLASS = re.compile(r"^\^\[((?:[a-zA-Z0-9]-[a-zA-Z0-9]|\\?[^\]\\])+)\][+*]\$$")
_CLASS_PART = re.compile(r"[a-zA-Z0-9]-[a-zA-Z0-9]|\\?[^\]\\]")

_ADAPTERS: dict[Any, pydantic.TypeAdapter[Any]] = {}
_MISSING = object()


def _adapter(model: Any) -> pydantic.TypeAdapter[Any]:
    # Building an adapter compiles a validator; plugins validate the same
    # model on every reload, so keep them.
    try:
        adapter = _ADAPTERS.get(model)
    except TypeError:  # unhashable type expression: build, do not cache
        return pydantic.TypeAdapter(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = pydantic.TypeAdapter(model)
    return adapter


def _descend(root: Any, loc: Loc) -> Any:
    node = root
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def _step(node: Any, part: str | int) -> Any:
    """`node[part]` if `part` is really in the user's data, else _MISSING."""
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING


def _user_loc(loc: tuple[str | int, ...], data: Any, error_type: str) -> tuple[Loc, bool]:
    """Drop pydantic's union/validator tags from `loc`; say if a dict key failed.

    A part is kept when it leads somewhere in the data the user wrote.  A text
    part that leads nowhere is a union member's tag or model name, unless it is
    the last part of a "missing" error, where it names the absent key.
    """
    kept: list[str | int] = []
    key_error = False
    node = data
    for index, part in enumerate(loc):
        if part == _KEY_MARKER:
            key_error = True
            continue
        if isinstance(part, str) and _SCHEMA_TAG.match(part):
            continue
        child = _MISSING if node is _MISSING else _step(node, part)
        if child is not _MISSING:
            kept.append(part)
            node = child
            continue
        # Not in the user's data.  Keep it when we cannot tell (no data), when
        # it is an index, or when it names the key a "missing" error is about;
        # anything else is a union member's tag or a model name.
        is_last = index == len(loc) - 1
        if data is _MISSING or isinstance(part, int) or (is_last and error_type in _ABSENT_KEY_TYPES):
            kept.append(part)
            node = _MISSING
    return tuple(kept), key_error


def _choices(expected: str) -> str:
    return ", ".join(choice.strip().strip("'") for choice in _CHOICE_SPLIT.split(expected))


def _size(value: Any) -> tuple[int, str] | None:
    """Return the length of what the user wrote and its unit (a secret's length is no secret)."""
    if isinstance(value, str):
        return len(value), "characters"
    if isinstance(value, list | dict | tuple):
        return len(value), "items"
    return None


def _bounds_message(error_type: str, ctx: dict[str, Any], value: Any) -> str | None:
    """Say a length or range problem in plain words ("is too short (3 characters; at least 10)")."""
    size = _size(value)
    if error_type in ("string_too_short", "too_short"):
        least = ctx.get("min_length")
        if size is not None:
            return f"is too short ({size[0]} {size[1]}; at least {least})"
        return f"is too short (at least {least})"
    if error_type in ("string_too_long", "too_long"):
        most = ctx.get("max_length")
        if size is not None:
            return f"is too long ({size[0]} {size[1]}; at most {most})"
        return f"is too long (at most {most})"
    words = {
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be more than", "gt"),
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be less than", "lt"),
    }
    if error_type in words:
        text, key = words[error_type]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)  # "at most 90", not "90.0"
        return f"{text} {bound}"
    if error_type == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        simple = _CHAR_CLASS.match(pattern)
        if simple is not None:
            allowed = ", ".join(_CLASS_PART.findall(simple.group(1)))
            return f"may only contain {allowed}"
        return f"is not in the expected form ({pattern})"
    return None


def _message(error: ErrorDetails, value: Any = _MISSING) -> str:
    error_type = error["type"]
    if error_type in _FIXED_MESSAGES:
        return _FIXED_MESSAGES[error_type]
    ctx = error.get("ctx") or {}
    plain = _bounds_message(error_type, dict(ctx), None if value is _MISSING else value)
    if plain is not None:
        return plain
    if error_type in ("literal_error", "enum") and isinstance(ctx.get("expected"), str):
        return f"expected one of: {_choices(ctx['expected'])}"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    # "Input should..." -> "input should...", but leave "URL ..." alone.
    if message[:2] != message[:2].upper():
        message = message[:1].lower() + message[1:]
    return message


def _convert(
    exc: pydantic.ValidationError, data: Any, root: Any, prefix: Loc, default_file: str
) -> list[ConfigError]:
    found: list[ConfigError] = []
    # include_input=False: the input may be a secret, and messages never need it.
    for error in exc.errors(include_url=False, include_input=False):
        loc, key_error = _user_loc(tuple(error["loc"]), data, error["type"])
        full = (*prefix, *loc)
        file, line = position_of(root, full) or (default_file, None)
        message = _message(error, _descend(data, loc) if data is not _MISSING else _MISSING)
        if key_error:
            message = f"invalid key: {message}"
        config_error = ConfigError(file, line, format_path(full), message)
        if config_error not in found:  # union branches often repeat themselves
            found.append(config_error)
    return found


def errors_from_validation(
    exc: pydantic.ValidationError, root: Any, prefix: Loc, default_file: str
) -> list[ConfigError]:
    """One `ConfigError` per pydantic error, located in the loaded tree `root`.

    `prefix` is where the validated block sits in `root` (``("onvif",)``);
    `default_file` is used when no position is known.
    """
    return _convert(exc, _descend(root, prefix), root, prefix, default_file)


def validate_block(
    model: Any, data: Any, root: Any, loc_prefix: Loc, default_file: str
) -> tuple[Any | None, list[ConfigError]]:
    """Validate `data` (found at `loc_prefix` in `root`) against `model`.

    `model` is anything pydantic.TypeAdapter accepts: a BlockModel subclass,
    ``list[Camera]``, a union...  Returns (value, []) or (None, errors).
    """
    try:
        return _adapter(model).validate_python(data), []
    except pydantic.ValidationError as exc:
        return None, _convert(exc, data, root, loc_prefix, default_file)
