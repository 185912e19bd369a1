"""Home Assistant's template functions, filters and tests.

Bound to one hub (its state machine and clock) by :func:`install`.  Each
helper follows HA's documented behaviour, including the ``default``
arguments that turn a conversion error into a value instead of an error.
"""

from __future__ import annotations

import base64
import json
import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from hub.template.limits import bounded_sub
from hub.template.state import RENDER_INFO, AllStates, TemplateState, note_entity

if TYPE_CHECKING:
    import jinja2

    from hub.core.clock import Clock
    from hub.core.state import StateMachine

__all__ = ("install", "install_static", "forgiving_float", "forgiving_int")

_SENTINEL: Any = object()
#: Longest regular expression accepted; catastrophic patterns need length.
_MAX_PATTERN = 1000
_slug_re = re.compile(r"[^a-z0-9_]+")


class TemplateRuntimeError(ValueError):
    """A helper was given a value it cannot convert and no default."""


def _no_default(name: str, value: Any) -> TemplateRuntimeError:
    return TemplateRuntimeError(f"{name} got invalid input {value!r} and no default was given")


def forgiving_float(value: Any, default: Any = _SENTINEL) -> Any:
    """``float(x, default)``: HA's filter and function."""
    try:
        return float(value)
    except (ValueError, TypeError) as err:
        if default is _SENTINEL:
            raise _no_default("float", value) from err
        return default


def forgiving_int(value: Any, default: Any = _SENTINEL, base: int = 10) -> Any:
    """``int(x, default, base)``: accepts "3.7" like HA (truncates)."""
    try:
        if isinstance(value, str) and base != 10:
            return int(value, base)
        return int(float(value)) if isinstance(value, str) else int(value)
    except (ValueError, TypeError, OverflowError) as err:
        if default is _SENTINEL:
            raise _no_default("int", value) from err
        return default


def _to_bool(value: Any, default: Any = _SENTINEL) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0
    text = str(value).strip().lower()
    if text in ("true", "on", "yes", "1", "enable", "enabled"):
        return True
    if text in ("false", "off", "no", "0", "disable", "disabled", "none"):
        return False
    if default is _SENTINEL:
        raise _no_default("bool", value)
    return default


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except (ValueError, TypeError):
        return False
    return math.isfinite(number)


def _iif(value: Any, if_true: Any = True, if_false: Any = False, if_none: Any = _SENTINEL) -> Any:
    if value is None and if_none is not _SENTINEL:
        return if_none
    return if_true if value else if_false


def _slugify(value: Any, separator: str = "_") -> str:
    text = _slug_re.sub(separator, str(value).lower()).strip(separator)
    return text or "unknown"


def _regex(pattern: str, ignorecase: bool) -> re.Pattern[str]:
    if len(pattern) > _MAX_PATTERN:
        raise TemplateRuntimeError("regular expression too long")
    return re.compile(pattern, re.IGNORECASE if ignorecase else 0)


def _regex_match(value: Any, find: str = "", ignorecase: bool = False) -> bool:
    return _regex(find, ignorecase).match(str(value)) is not None


def _regex_search(value: Any, find: str = "", ignorecase: bool = False) -> bool:
    return _regex(find, ignorecase).search(str(value)) is not None


def _regex_replace(value: Any = "", find: str = "", replace: str = "", ignorecase: bool = False) -> str:
    # a long replacement for every match can build gigabytes in one C call: counted as it goes
    return bounded_sub(_regex(find, ignorecase), str(replace), str(value))


def _regex_findall(value: Any, find: str = "", ignorecase: bool = False) -> list[Any]:
    return _regex(find, ignorecase).findall(str(value))


def _regex_findall_index(value: Any, find: str = "", index: int = 0, ignorecase: bool = False) -> Any:
    return _regex_findall(value, find, ignorecase)[index]


def _to_json(
    value: Any, ensure_ascii: bool = False, pretty_print: bool = False, sort_keys: bool = False
) -> str:
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=2 if pretty_print else None, sort_keys=sort_keys, default=str
    )


def _from_json(value: Any, default: Any = _SENTINEL) -> Any:
    try:
        return json.loads(value)
    except (ValueError, TypeError):
        if default is _SENTINEL:
            raise
        return default


def _b64encode(value: Any) -> str:
    return base64.b64encode(str(value).encode()).decode()


def _b64decode(value: Any, encoding: str | None = "utf-8") -> Any:
    raw = base64.b64decode(str(value))
    return raw.decode(encoding) if encoding else raw


def _contains(seq: Any, value: Any) -> bool:
    try:
        return value in seq
    except TypeError:
        return False


def _average(*args: Any, default: Any = _SENTINEL) -> Any:
    values = list(args[0]) if len(args) == 1 and isinstance(args[0], Iterable) else list(args)
    try:
        return sum(float(v) for v in values) / len(values)
    except (ValueError, TypeError, ZeroDivisionError) as err:
        if default is _SENTINEL:
            raise TemplateRuntimeError(
                f"average got invalid input {values!r} and no default was given"
            ) from err
        return default


def _math(func: Callable[..., float], name: str) -> Callable[..., Any]:
    """HA's math helpers: a function and a filter, with HA's ``default`` for bad input."""

    def apply(value: Any, *args: Any, default: Any = _SENTINEL) -> Any:
        try:
            return func(float(value), *(float(a) for a in args))
        except (ValueError, TypeError, OverflowError) as err:
            if default is _SENTINEL:
                raise _no_default(name, value) from err
            return default

    return apply


def _log(value: Any, base: Any = math.e, default: Any = _SENTINEL) -> Any:
    try:
        return math.log(float(value), float(base))
    except (ValueError, TypeError, ZeroDivisionError) as err:
        if default is _SENTINEL:
            raise _no_default("log", value) from err
        return default


def _numbers(values: tuple[Any, ...]) -> list[Any]:
    items = (
        values[0]
        if len(values) == 1 and isinstance(values[0], Iterable) and not isinstance(values[0], str)
        else values
    )
    return list(items)


def _median(*args: Any, default: Any = _SENTINEL) -> Any:
    try:
        return statistics.median(float(v) for v in _numbers(args))
    except (ValueError, TypeError, statistics.StatisticsError) as err:
        if default is _SENTINEL:
            raise _no_default("median", args) from err
        return default


def _mode(*args: Any, default: Any = _SENTINEL) -> Any:
    try:
        return statistics.mode(_numbers(args))
    except (TypeError, statistics.StatisticsError) as err:
        if default is _SENTINEL:
            raise _no_default("statistical_mode", args) from err
        return default


def _as_timedelta(value: Any) -> timedelta | None:
    """HA's ``as_timedelta``: ``"HH:MM:SS"``, ``"1 day, 02:00:00"``, ISO 8601 ``P…`` or seconds; None if not."""
    text = str(value).strip()
    if _is_number(text):
        return timedelta(seconds=float(text))
    match = _ISO_DURATION.fullmatch(text)
    if match:
        parts = {k: float(v) for k, v in match.groupdict().items() if v}
        return timedelta(
            days=parts.get("days", 0) + 7 * parts.get("weeks", 0),
            hours=parts.get("hours", 0),
            minutes=parts.get("minutes", 0),
            seconds=parts.get("seconds", 0),
        )
    match = _HMS.fullmatch(text)
    if match:
        days = int(match["days"] or 0)
        return timedelta(
            days=days, hours=int(match["h"]), minutes=int(match["m"]), seconds=float(match["s"] or 0)
        )
    return None


_ISO_DURATION = re.compile(
    r"-?P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_HMS = re.compile(r"(?:(?P<days>\d+) days?, )?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}(?:\.\d+)?))?")


def _ordinal(value: Any) -> str:
    number = int(value)
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


#: Nested lists deeper than this are left as they are (a bound, like the sandbox's others).
_FLATTEN_DEPTH = 32


def _flatten(value: Any, levels: int | None = None) -> list[Any]:
    out: list[Any] = []
    depth = _FLATTEN_DEPTH if levels is None else min(int(levels), _FLATTEN_DEPTH)

    def walk(items: Any, level: int) -> None:
        for item in items:
            if isinstance(item, list | tuple) and level < depth:
                walk(item, level + 1)
            else:
                out.append(item)

    walk(value, 0)
    return out


def _set_op(name: str) -> Callable[..., list[Any]]:
    def apply(value: Any, *others: Any) -> list[Any]:
        result = dict.fromkeys(value)
        for other in others:
            other_keys = dict.fromkeys(other)
            if name == "union":
                result.update(other_keys)
            elif name == "intersect":
                result = {k: None for k in result if k in other_keys}
            elif name == "difference":
                result = {k: None for k in result if k not in other_keys}
            else:  # symmetric_difference
                result = {
                    **{k: None for k in result if k not in other_keys},
                    **{k: None for k in other_keys if k not in result},
                }
        return list(result)

    return apply


def _typeof(value: Any) -> str:
    return type(value).__name__


_MATH: dict[str, Callable[..., Any]] = {
    "sin": _math(math.sin, "sin"),
    "cos": _math(math.cos, "cos"),
    "tan": _math(math.tan, "tan"),
    "asin": _math(math.asin, "asin"),
    "acos": _math(math.acos, "acos"),
    "atan": _math(math.atan, "atan"),
    "atan2": _math(math.atan2, "atan2"),
    "sqrt": _math(math.sqrt, "sqrt"),
    "multiply": _math(lambda v, by: v * by, "multiply"),
    "add": _math(lambda v, n: v + n, "add"),
    "bitwise_and": lambda a, b: int(a) & int(b),
    "bitwise_or": lambda a, b: int(a) | int(b),
    "bitwise_xor": lambda a, b: int(a) ^ int(b),
    "log": _log,
}
_SETS = {name: _set_op(name) for name in ("union", "intersect", "difference", "symmetric_difference")}


def install_static(env: jinja2.Environment) -> None:
    """Add the helpers that need no hub (syntax checks use these too)."""
    funcs: dict[str, Callable[..., Any]] = {
        "float": forgiving_float,
        "int": forgiving_int,
        "bool": _to_bool,
        "iif": _iif,
        "is_number": _is_number,
        "slugify": _slugify,
        "average": _average,
        "timedelta": timedelta,
        "min": min,
        "max": max,
        "zip": zip,
        "regex_match": _regex_match,
        "regex_search": _regex_search,
    }
    filters: dict[str, Callable[..., Any]] = {
        "float": forgiving_float,
        "int": forgiving_int,
        "bool": _to_bool,
        "iif": _iif,
        "is_number": _is_number,
        "slugify": _slugify,
        "average": _average,
        "to_json": _to_json,
        "from_json": _from_json,
        "regex_match": _regex_match,
        "regex_search": _regex_search,
        "regex_replace": _regex_replace,
        "regex_findall": _regex_findall,
        "regex_findall_index": _regex_findall_index,
        "base64_encode": _b64encode,
        "base64_decode": _b64decode,
        "contains": _contains,
    }
    tests: dict[str, Callable[..., Any]] = {
        "is_number": _is_number,
        "match": _regex_match,
        "search": _regex_search,
        "contains": _contains,
    }
    more = {
        **_MATH,
        **_SETS,
        "median": _median,
        "statistical_mode": _mode,
        "as_timedelta": _as_timedelta,
        "ordinal": _ordinal,
        "ord": ord,
        "flatten": _flatten,
        "typeof": _typeof,
    }
    env.globals.update(funcs)
    env.globals.update({k: v for k, v in more.items() if k not in ("ordinal", "ord", "multiply", "add")})
    env.globals.update({"e": math.e, "pi": math.pi, "tau": math.tau, "inf": math.inf})
    env.filters.update(filters)
    env.filters.update(more)
    env.tests.update(tests)


class _TimeHelpers:
    """now(), as_timestamp(), as_datetime()...: all on the hub's clock and timezone."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    @property
    def tz(self) -> tzinfo:
        return self._clock.tz

    def now(self) -> datetime:
        info = RENDER_INFO.get()
        if info is not None:
            info.uses_time = True
        return self._clock.now()

    def utcnow(self) -> datetime:
        info = RENDER_INFO.get()
        if info is not None:
            info.uses_time = True
        return datetime.fromtimestamp(self._clock.time(), UTC)

    def today_at(self, value: str = "00:00") -> datetime:
        parsed = _parse_time(value)
        if parsed is None:
            raise TemplateRuntimeError(f"today_at: could not convert {value!r} to a time")
        return datetime.combine(self.now().date(), parsed, self.tz)

    def as_datetime(self, value: Any, default: Any = _SENTINEL) -> Any:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=self.tz)
        if isinstance(value, date):
            return datetime.combine(value, time(), self.tz)
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, UTC)
            text = str(value).strip()
            if _is_number(text):
                return datetime.fromtimestamp(float(text), UTC)
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.tz)
        except (ValueError, TypeError, OverflowError, OSError) as err:
            if default is _SENTINEL:
                raise _no_default("as_datetime", value) from err
            return default

    def as_timestamp(self, value: Any, default: Any = _SENTINEL) -> Any:
        if isinstance(value, TemplateState):
            value = value.state
        try:
            return self.as_datetime(value).timestamp()
        except (TemplateRuntimeError, ValueError, TypeError, OverflowError, OSError) as err:
            if default is _SENTINEL:
                raise _no_default("as_timestamp", value) from err
            return default

    def as_local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)

    def timestamp_local(self, value: Any, default: Any = _SENTINEL) -> Any:
        try:
            return datetime.fromtimestamp(float(value), self.tz).isoformat()
        except (ValueError, TypeError, OverflowError, OSError) as err:
            if default is _SENTINEL:
                raise _no_default("timestamp_local", value) from err
            return default

    def timestamp_utc(self, value: Any, default: Any = _SENTINEL) -> Any:
        try:
            return datetime.fromtimestamp(float(value), UTC).isoformat()
        except (ValueError, TypeError, OverflowError, OSError) as err:
            if default is _SENTINEL:
                raise _no_default("timestamp_utc", value) from err
            return default

    def timestamp_custom(
        self,
        value: Any,
        format_string: str = "%Y-%m-%d %H:%M:%S",
        local: bool = True,
        default: Any = _SENTINEL,
    ) -> Any:
        try:
            when = datetime.fromtimestamp(float(value), self.tz if local else UTC)
            return when.strftime(format_string)
        except (ValueError, TypeError, OverflowError, OSError) as err:
            if default is _SENTINEL:
                raise _no_default("timestamp_custom", value) from err
            return default

    def strptime(self, value: str, fmt: str, default: Any = _SENTINEL) -> Any:
        try:
            return datetime.strptime(str(value), str(fmt))
        except (ValueError, TypeError) as err:
            if default is _SENTINEL:
                raise _no_default("strptime", value) from err
            return default

    def relative_time(self, value: Any) -> Any:
        """HA's ``relative_time``: the age of a past datetime ("2 hours"); anything else unchanged."""
        if not isinstance(value, datetime):
            return value
        now = self.now()
        if (value if value.tzinfo else value.replace(tzinfo=self.tz)) > now:
            return value
        return describe_age(now - value if value.tzinfo else now - value.replace(tzinfo=self.tz), 1)

    def time_since(self, value: Any, precision: int = 1) -> Any:
        """HA's ``time_since``: "1 year 2 months" for a past datetime, to ``precision`` units (0: all)."""
        if not isinstance(value, datetime):
            return value
        when = value if value.tzinfo else value.replace(tzinfo=self.tz)
        now = self.now()
        return value if when > now else describe_age(now - when, precision)

    def time_until(self, value: Any, precision: int = 1) -> Any:
        """HA's ``time_until``: the same for a future datetime."""
        if not isinstance(value, datetime):
            return value
        when = value if value.tzinfo else value.replace(tzinfo=self.tz)
        now = self.now()
        return value if when < now else describe_age(when - now, precision)


#: HA's units for ages: a month is 30 days and a year 365, as in HA (not calendar arithmetic).
_AGE_UNITS = (
    ("year", 365 * 86400),
    ("month", 30 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
    ("second", 1),
)


def describe_age(delta: timedelta, precision: int = 1) -> str:
    """``3 hours``, ``1 year 2 months``: the largest ``precision`` units (0: all), the last rounded.

    The total is rounded to the smallest unit shown before it is split, so 59 min 40 s is
    "1 hour", as a person would say it, not "60 minutes".
    """
    seconds = max(0, round(delta.total_seconds()))
    first = next((i for i, (_, size) in enumerate(_AGE_UNITS) if seconds >= size), len(_AGE_UNITS) - 1)
    last = len(_AGE_UNITS) - 1 if precision <= 0 else min(first + precision - 1, len(_AGE_UNITS) - 1)
    units = _AGE_UNITS[: last + 1]
    rest = seconds
    counts = []
    for _, size in units:
        count, rest = divmod(rest, size)
        counts.append(count)
    if rest * 2 >= units[-1][1]:
        # Round up, then split again so that 60 minutes reads "1 hour".
        counts[-1] += 1
        rest = sum(count * size for count, (_, size) in zip(counts, units, strict=True))
        counts = []
        for _, size in units:
            count, rest = divmod(rest, size)
            counts.append(count)
    parts: list[str] = []
    for count, (unit, _) in zip(counts, units, strict=True):
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
        if precision > 0 and len(parts) == precision:
            break
    return " ".join(parts) or f"0 {_AGE_UNITS[last][0]}s"


def _parse_time(value: str) -> time | None:
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        return None


class _StateHelpers:
    """is_state(), state_attr(), has_value(), expand()."""

    def __init__(self, sm: StateMachine) -> None:
        self._sm = sm

    def is_state(self, entity_id: str, state: Any) -> bool:
        entity_id = str(entity_id).lower()
        note_entity(entity_id)
        current = self._sm.get(entity_id)
        if current is None:
            return False
        if isinstance(state, str):
            return current.state == state
        if isinstance(state, Iterable):
            return current.state in [str(s) for s in state]
        return current.state == str(state)

    def state_attr(self, entity_id: str, name: str) -> Any:
        entity_id = str(entity_id).lower()
        note_entity(entity_id)
        current = self._sm.get(entity_id)
        return None if current is None else current.attributes.get(name)

    def is_state_attr(self, entity_id: str, name: str, value: Any) -> bool:
        entity_id = str(entity_id).lower()
        note_entity(entity_id)
        current = self._sm.get(entity_id)
        return current is not None and name in current.attributes and current.attributes[name] == value

    def has_value(self, entity_id: str) -> bool:
        entity_id = str(entity_id).lower()
        note_entity(entity_id)
        current = self._sm.get(entity_id)
        return current is not None and current.state not in ("unknown", "unavailable")

    def expand(self, *args: Any) -> list[TemplateState]:
        found: dict[str, TemplateState] = {}
        queue: list[Any] = list(args)
        while queue:
            item = queue.pop(0)
            if isinstance(item, TemplateState):
                found[item.entity_id] = item
                continue
            if isinstance(item, str):
                note_entity(item.lower())
                state = self._sm.get(item.lower())
                if state is not None:
                    found[state.entity_id] = TemplateState(state)
                continue
            if isinstance(item, Iterable) and not isinstance(item, Mapping):
                queue.extend(item)
        return sorted(found.values(), key=lambda s: s.entity_id)


def install(env: jinja2.Environment, sm: StateMachine, clock: Clock) -> None:
    """Add the helpers bound to a hub's states and clock."""
    install_static(env)
    times = _TimeHelpers(clock)
    st = _StateHelpers(sm)
    states = AllStates(sm)
    funcs: dict[str, Any] = {
        "states": states,
        "is_state": st.is_state,
        "state_attr": st.state_attr,
        "is_state_attr": st.is_state_attr,
        "has_value": st.has_value,
        "expand": st.expand,
        "now": times.now,
        "utcnow": times.utcnow,
        "today_at": times.today_at,
        "timestamp_local": times.timestamp_local,
        "timestamp_utc": times.timestamp_utc,
        "timestamp_custom": times.timestamp_custom,
        "as_datetime": times.as_datetime,
        "as_timestamp": times.as_timestamp,
        "as_local": times.as_local,
        "strptime": times.strptime,
        "relative_time": times.relative_time,
        "time_since": times.time_since,
        "time_until": times.time_until,
    }
    filters: dict[str, Any] = {
        "is_state": st.is_state,
        "state_attr": st.state_attr,
        "is_state_attr": st.is_state_attr,
        "has_value": st.has_value,
        "expand": st.expand,
        "states": states,
        "as_datetime": times.as_datetime,
        "as_timestamp": times.as_timestamp,
        "as_local": times.as_local,
        "timestamp_local": times.timestamp_local,
        "timestamp_utc": times.timestamp_utc,
        "timestamp_custom": times.timestamp_custom,
        "today_at": times.today_at,
        "strptime": times.strptime,
        "relative_time": times.relative_time,
        "time_since": times.time_since,
        "time_until": times.time_until,
    }
    env.globals.update(funcs)
    env.filters.update(filters)
    env.tests.update({"is_state": st.is_state, "has_value": st.has_value, "is_state_attr": st.is_state_attr})
