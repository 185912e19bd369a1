"""What one render may cost: a step budget, an optional time budget, and sizes checked before building.

The sandbox stops a template from *reaching* anything; this module stops it
from *doing too much*.  Every loop iteration, call and item a filter walks
draws one step from a :class:`RenderBudget`; a render that runs out fails
with a :class:`TemplateError`.  Python builds a string in one C call
(``'x'.center(10**9)``), so no step counter can interrupt that: the size of
each such result is computed from its inputs and refused *before* the call.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

__all__ = (
    "MAX_OUTPUT",
    "MAX_PRODUCED",
    "MAX_STEPS",
    "CLOCK_EVERY",
    "CURRENT",
    "BudgetError",
    "RenderBudget",
    "TemplateError",
    "check_size",
    "text_size",
    "percent_size",
    "default_guard",
    "FILTER_GUARDS",
)

#: Steps (loop iterations, calls, items walked by a filter) one render may take.
MAX_STEPS = 1_000_000
#: Longest rendered text accepted, and longest string an expression may build.
MAX_OUTPUT = 256 * 1024
#: Text one render may produce in total (loop bodies, macros, ``{% set %}`` blocks).
MAX_PRODUCED = 4 * MAX_OUTPUT
#: Steps between two looks at the clock: small renders never read it.
CLOCK_EVERY = 4096


class TemplateError(Exception):
    """A template failed to compile or render; the message is for the admin."""


class BudgetError(TemplateError):
    """A render ran out of steps, time or output: the template, not its input, is at fault."""


class RenderBudget:
    """The steps, seconds and output one render may spend.

    ``seconds`` bounds the wall time of a render that goes past
    ``CLOCK_EVERY`` steps; templates from devices get a small one so a hostile
    payload cannot hold the event loop that also carries SOS presses.
    """

    __slots__ = ("steps", "seconds", "used", "produced", "_next_check", "_deadline")

    def __init__(self, steps: int = MAX_STEPS, seconds: float | None = None) -> None:
        self.steps = steps
        self.seconds = seconds
        self.used = 0
        self.produced = 0
        # One comparison per step on the hot path; the rest happens in _check.
        self._next_check = min(CLOCK_EVERY, steps + 1)
        self._deadline = time.perf_counter() + seconds if seconds is not None else None

    def charge(self, n: int = 1) -> None:
        """Spend ``n`` steps; raise TemplateError past the step or time budget."""
        self.used += n
        if self.used >= self._next_check:
            self._check()

    def _check(self) -> None:
        if self.used > self.steps:
            raise BudgetError(f"template exceeded its step budget ({self.steps} steps)")
        self._next_check = min(self.used + CLOCK_EVERY, self.steps + 1)
        if self._deadline is not None and time.perf_counter() > self._deadline:
            raise BudgetError(f"template exceeded its time budget ({self.seconds:g} s)")

    def produce(self, chars: int) -> None:
        """Count text the render produced (it may be joined later in one C call)."""
        self.produced += chars
        if self.produced > MAX_PRODUCED:
            raise BudgetError(f"template output too large (over {MAX_PRODUCED} characters)")

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Yield from ``iterable``, one step per item."""
        for item in iterable:
            self.used += 1
            if self.used >= self._next_check:
                self._check()
            yield item


#: The budget of the render running now: sizing a value walks it, and the walk is charged.
CURRENT: ContextVar[RenderBudget | None] = ContextVar("template_budget", default=None)


def text_size(value: Any, limit: int = MAX_OUTPUT) -> int:
    """An upper estimate of ``len(str(value))``, walking no further than past ``limit``.

    Containers may share items (``[a, a, a]`` nested ten deep), so the walk
    counts every visit and stops as soon as the estimate passes ``limit``.
    Each visit is a step of the running render's budget: a loop that sizes
    a big list on every pass runs out of steps, not of time.
    """
    if isinstance(value, str):
        return len(value)
    total = visits = 0
    stack = [value]
    while stack:
        visits += 1
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 3
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= limit:
                for key, val in item.items():
                    stack.append(key)
                    stack.append(val)
                    if len(stack) > limit:
                        break
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            if total <= limit:
                stack.extend(item)
        else:
            total += 32
        if total > limit:
            break
    budget = CURRENT.get()
    if budget is not None:
        budget.charge(visits)
    return total


def check_size(size: int, what: str, limit: int = MAX_OUTPUT) -> None:
    """Refuse to build a result of ``size`` characters/items when over ``limit``."""
    if size > limit:
        raise TemplateError(f"result of {what} too large ({size} > {limit})")


#: One printf-style conversion: flags, width, precision.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


def percent_size(fmt: str, args: Any) -> int:
    """An upper estimate of ``len(fmt % args)`` from the widths in ``fmt``."""
    values = (
        list(args.values())
        if isinstance(args, Mapping)
        else list(args)
        if isinstance(args, tuple)
        else [args]
    )
    widest = max((text_size(v) for v in values), default=0)
    size = len(fmt)
    ints = iter(v for v in values if isinstance(v, int))
    for match in _PERCENT.finditer(fmt):
        for part in match.group(1), match.group(2):
            if part == "*":
                size += abs(next(ints, 0))
            elif part:
                size += int(part) if len(part) < 10 else MAX_OUTPUT + 1
        size += widest
        if size > MAX_OUTPUT:
            break
    return size


#: ``[[fill]align][sign][z][#][0][width][grouping][.precision][type]`` of str.format.
_FORMAT_SPEC = re.compile(r"^(?:.?[<>=^])?[-+ ]?z?#?0?(\d*)[,_]?(?:\.(\d+))?[a-zA-Z%]?$")


def format_spec_size(value: Any, spec: str) -> int:
    """An upper estimate of ``len(format(value, spec))``."""
    size = text_size(value)
    match = _FORMAT_SPEC.match(spec)
    if match is None:
        return size + len(spec)
    for part in match.groups():
        if part:
            size += int(part) if len(part) < 10 else MAX_OUTPUT + 1
    return size


def str_method_size(
    obj: str | bytes, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> int | None:
    """The size ``obj.<name>(*args)`` would have, for the str methods that can grow a string."""
    if name in ("center", "ljust", "rjust", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        return max(len(obj), width) if isinstance(width, int) else None
    if name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        tab: Any = "\t" if isinstance(obj, str) else b"\t"
        return len(obj) + obj.count(tab) * max(tabsize, 0) if isinstance(tabsize, int) else None
    if (
        name == "replace"
        and len(args) >= 2
        and isinstance(args[0], type(obj))
        and isinstance(args[1], type(obj))
    ):
        return replace_size(obj, args[0], args[1], args[2] if len(args) > 2 else -1)
    if name == "join" and args:
        return None  # the caller materialises and sizes the items
    return None


def replace_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    """The exact length of ``text.replace(old, new, count)``, computed without building it."""
    hits = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def join_size(sep: Any, items: list[Any]) -> int:
    """An upper estimate of ``sep.join(map(str, items))``."""
    size = max(len(items) - 1, 0) * len(sep)
    for item in items:
        size += text_size(item)
        if size > MAX_OUTPUT:
            break
    return size


def bounded_sub(pattern: re.Pattern[str], replace: str, text: str) -> str:
    """``pattern.sub(replace, text)`` that stops once the result would be too large."""
    grown = len(text)

    def expand(match: re.Match[str]) -> str:
        nonlocal grown
        out = match.expand(replace)
        grown += len(out) - (match.end() - match.start())
        check_size(grown, "regex_replace")
        return out

    return pattern.sub(expand, text)


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


#: A filter's guard: given the budget, the filtered value and the other
#: arguments, raise when the result would be too large, and return the value
#: to pass on (an unsized iterable comes back wrapped so each item is a step).
Guard = Callable[[RenderBudget, Any, tuple[Any, ...], Mapping[str, Any]], Any]


def _walk(budget: RenderBudget, value: Any) -> Any:
    if isinstance(value, str | bytes | Mapping | list | tuple | set | frozenset | range):
        budget.charge(len(value))
        return value
    if isinstance(value, Iterator):
        return budget.iterate(value)
    return value


def _materialise(budget: RenderBudget, value: Any) -> list[Any]:
    if isinstance(value, str | bytes | Mapping | list | tuple | set | frozenset | range):
        budget.charge(len(value))
        return list(value)
    return list(budget.iterate(value))


def _center(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    width = _arg(args, kwargs, 0, "width", 80)
    if isinstance(width, int):
        check_size(max(text_size(value), width), "center")
    return value


def _indent(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    width = _arg(args, kwargs, 0, "width", 4)
    unit = width if isinstance(width, int) else len(str(width))
    text = str(value)
    check_size(len(text) + (text.count("\n") + 1) * max(unit, 0), "indent")
    return value


def _format(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    check_size(percent_size(str(value), dict(kwargs) if kwargs else tuple(args)), "format")
    return value


def _replace(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    old, new = _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", "")
    count = _arg(args, kwargs, 2, "count", None)
    check_size(replace_size(str(value), str(old), str(new), -1 if count is None else count), "replace")
    return value


def _join(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    items = _materialise(budget, value)
    check_size(join_size(str(_arg(args, kwargs, 0, "d", "")), items), "join")
    return items


def _tojson(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    indent = _arg(args, kwargs, 0, "indent", None)
    # each item may be indented once per level: bounded, crudely, by size × (1 + indent)
    unit = 1 + (
        indent if isinstance(indent, int) and indent > 0 else len(indent) if isinstance(indent, str) else 0
    )
    check_size(text_size(value) * unit, "tojson")
    return value


def _wordwrap(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    width = _arg(args, kwargs, 0, "width", 79)
    wrap = _arg(args, kwargs, 2, "wrapstring", None)
    text = str(value) if not isinstance(value, list | tuple | Mapping | set | frozenset) else ""
    check_size(text_size(value), "wordwrap")
    if isinstance(width, int) and width > 0:
        joins = len(text) // width + 1
        check_size(len(text) + joins * len(str(wrap if wrap is not None else "\n")), "wordwrap")
    return value


#: Filters that never turn a container into text (they count, pick or convert one value).
_NO_TEXT = frozenset(
    {
        "length",
        "count",
        "first",
        "default",
        "d",
        "attr",
        "int",
        "float",
        "bool",
        "round",
        "abs",
        "contains",
        "is_number",
        "iif",
        "is_state",
        "state_attr",
        "is_state_attr",
        "has_value",
        "expand",
        "states",
    }
)


def default_guard(name: str) -> Guard:
    """Most filters turn their input into text (``upper``, ``trim``, ``escape``...): a
    container nested to share items (``[a, a, a]`` ten deep) must be sized first."""
    if name in _NO_TEXT:
        return _as_is

    def guard(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(value, list | tuple | Mapping | set | frozenset):
            check_size(text_size(value), name)
        return value

    return guard


def _text(name: str) -> Guard:
    def guard(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        check_size(text_size(value), name)
        return value

    return guard


def _counted(index: int, name: str) -> Guard:
    """A filter that makes as many pieces as one of its arguments says (``batch``, ``slice``)."""

    def guard(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        count = _arg(args, kwargs, index, name, 0)
        if isinstance(count, int):
            budget.charge(max(count, 0))
        return _walk(budget, value)

    return guard


def _sum(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    start = _arg(args, kwargs, 1, "start", 0)
    if not isinstance(start, int | float):
        # sum() of lists copies the total so far for each item: quadratic
        raise TemplateError("sum() takes numbers only")
    return _walk(budget, value)


def _as_is(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    return value


def _walking(budget: RenderBudget, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    return _walk(budget, value)


#: Filters that walk their input item by item, or build text from it.
FILTER_GUARDS: dict[str, Guard] = {
    **dict.fromkeys(
        (
            "map",
            "select",
            "reject",
            "selectattr",
            "rejectattr",
            "groupby",
            "unique",
            "sort",
            "dictsort",
            "min",
            "max",
            "list",
            "reverse",
            "last",
            "items",
            "random",
            "average",
        ),
        _walking,
    ),
    "batch": _counted(0, "linecount"),
    "slice": _counted(0, "slices"),
    "sum": _sum,
    "join": _join,
    "center": _center,
    "indent": _indent,
    "format": _format,
    "replace": _replace,
    "tojson": _tojson,
    "wordwrap": _wordwrap,
    **{name: _text(name) for name in ("string", "to_json", "pprint", "urlencode", "xmlattr")},
}
