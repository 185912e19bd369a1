"""The sandboxed template engine for user-written templates (automations, blueprints).

Jinja2's ``ImmutableSandboxedEnvironment`` blocks ``_`` attributes (so no
``__class__``/``__globals__``/``__subclasses__`` walk) and mutation of
lists and dicts.  On top of that this module bounds the work one render may
do: ``range()`` draws from a per-render budget (nested loops cannot multiply
past it), ``*`` and ``**`` refuse results that would be huge, and the output
is capped.  Templates are compiled once per source text and cached.
"""

from __future__ import annotations

import ast
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hub.template.helpers import install, install_static
from hub.template.state import RENDER_INFO, RenderInfo

if TYPE_CHECKING:
    from hub.core.clock import Clock
    from hub.core.state import StateMachine

__all__ = (
    "Template",
    "TemplateEngine",
    "TemplateError",
    "is_template",
    "check_syntax",
    "render_complex",
    "has_template",
    "MAX_RANGE_BUDGET",
    "MAX_OUTPUT",
)

_LOGGER = logging.getLogger(__name__)

#: Items all ``range()`` calls of one render may produce together.
MAX_RANGE_BUDGET = 100_000
#: Longest rendered text accepted.
MAX_OUTPUT = 256 * 1024
#: Largest string/list a ``*`` may build, and largest exponent of ``**``.
_MAX_REPEAT = 256 * 1024
_MAX_POW_BITS = 4096
#: Compiled templates kept per engine.
_CACHE_SIZE = 4096

_MARKERS = ("{{", "{%", "{#")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)$")


class TemplateError(Exception):
    """A template failed to compile or render; the message is for the admin."""


def is_template(value: object) -> bool:
    """Return whether ``value`` is a string holding template markup."""
    return isinstance(value, str) and any(m in value for m in _MARKERS)


class _Budget:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_RANGE_BUDGET


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox with bounded ``range``, ``*`` and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.Undefined, autoescape=False, keep_trailing_newline=False)
        self.budget: _Budget | None = None
        self.globals["range"] = self._range

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        """Refuse, loudly, what the sandbox considers unsafe (``__class__``, ``mro``...)."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def _range(self, *args: int) -> range:
        rng = range(*args)
        budget = self.budget
        if budget is not None:
            budget.left -= len(rng)
            if budget.left < 0:
                raise OverflowError(f"range() budget of {MAX_RANGE_BUDGET} items per render exceeded")
        elif len(rng) > MAX_RANGE_BUDGET:
            raise OverflowError(f"range() of more than {MAX_RANGE_BUDGET} items")
        return rng

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(count, int)
                    and len(seq) * count > _MAX_REPEAT
                ):
                    raise OverflowError("result of * is too large")
            return left * right
        if operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and abs(left).bit_length() * right > _MAX_POW_BITS
            ):
                raise OverflowError("result of ** is too large")
            return left**right
        return super().call_binop(context, operator, left, right)


_syntax_env: _Sandbox | None = None


def check_syntax(source: str) -> str | None:
    """Return a syntax error message for ``source``, or None when it parses."""
    global _syntax_env
    if _syntax_env is None:
        _syntax_env = _Sandbox()
        install_static(_syntax_env)
    try:
        _syntax_env.parse(source)
    except jinja2.TemplateSyntaxError as err:
        return f"template syntax error: {err.message} (line {err.lineno} of the template)"
    return None


def _parse_result(text: str) -> Any:
    """Turn rendered text into a native value the way HA does: "3" → 3, "[1]" → [1]."""
    stripped = text.strip()
    if not stripped:
        return text
    first = stripped[0]
    if _NUMBER.match(stripped):
        # Keep strings like "0123" (a phone number, a zone code) as text.
        digits = stripped.lstrip("+-")
        if len(digits) > 1 and digits[0] == "0" and digits[1] != ".":
            return text
        try:
            value = ast.literal_eval(stripped.lstrip("+")) if first != "." else float(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
        return value
    if stripped in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[stripped]
    if first in "[{(" and len(stripped) < 65536:
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            return text
        if isinstance(value, list | dict | tuple | set):
            return value
    return text


class Template:
    """A compiled template.  ``render`` returns text; ``render_native`` a value."""

    __slots__ = ("source", "_compiled", "_engine", "is_static")

    def __init__(self, engine: TemplateEngine, source: str, compiled: jinja2.Template | None) -> None:
        self.source = source
        self._engine = engine
        self._compiled = compiled
        self.is_static = compiled is None

    def render(self, variables: Mapping[str, Any] | None = None, *, info: RenderInfo | None = None) -> str:
        """Render to text; raise TemplateError on any failure."""
        if self._compiled is None:
            return self.source
        env = self._engine.env
        budget = _Budget()
        saved = env.budget
        env.budget = budget
        token = RENDER_INFO.set(info) if info is not None else None
        try:
            text = self._compiled.render(variables or {})
        except TemplateError:
            raise
        except jinja2.TemplateError as err:
            raise TemplateError(f"{type(err).__name__}: {err.message or err}") from None
        except Exception as err:  # noqa: BLE001 - any failure inside user code must end the render only
            raise TemplateError(f"{type(err).__name__}: {err}") from None
        finally:
            env.budget = saved
            if token is not None:
                RENDER_INFO.reset(token)
        if len(text) > MAX_OUTPUT:
            raise TemplateError(f"rendered text longer than {MAX_OUTPUT} characters")
        return text

    def render_native(
        self, variables: Mapping[str, Any] | None = None, *, info: RenderInfo | None = None
    ) -> Any:
        """Render and turn the text into a number, bool, list... when it looks like one."""
        if self._compiled is None:
            return self.source
        return _parse_result(self.render(variables, info=info))

    def __repr__(self) -> str:
        return f"<Template {self.source!r}>"


class TemplateEngine:
    """One hub's sandbox, with HA helpers bound to its states and clock."""

    def __init__(self, states: StateMachine | None = None, clock: Clock | None = None) -> None:
        self.env = _Sandbox()
        if states is not None and clock is not None:
            install(self.env, states, clock)
        else:
            install_static(self.env)
        self._cache: OrderedDict[str, Template] = OrderedDict()

    def compile(self, source: str) -> Template:
        """Return the compiled template for ``source`` (cached); raise TemplateError on bad syntax."""
        cached = self._cache.get(source)
        if cached is not None:
            return cached
        if not is_template(source):
            template = Template(self, str(source), None)
        else:
            try:
                compiled = self.env.from_string(str(source))
            except jinja2.TemplateSyntaxError as err:
                raise TemplateError(f"template syntax error: {err.message}") from None
            template = Template(self, str(source), compiled)
        self._cache[source] = template
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return template

    def render(self, source: str, variables: Mapping[str, Any] | None = None) -> str:
        """Compile (cached) and render ``source`` to text."""
        return self.compile(source).render(variables)

    def render_complex(self, value: Any, variables: Mapping[str, Any] | None = None) -> Any:
        """Render every template string inside lists and mappings, natively typed."""
        return render_complex(self, value, variables)


def render_complex(engine: TemplateEngine, value: Any, variables: Mapping[str, Any] | None) -> Any:
    """Return ``value`` with each template string rendered (native types)."""
    if isinstance(value, str):
        if not is_template(value):
            return str(value)
        return engine.compile(value).render_native(variables)
    if isinstance(value, Mapping):
        return {
            (render_complex(engine, k, variables) if isinstance(k, str) else k): render_complex(
                engine, v, variables
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [render_complex(engine, v, variables) for v in value]
    return value


def has_template(value: Any) -> bool:
    """Return whether ``value`` or anything inside it is a template."""
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, Mapping):
        return any(has_template(k) or has_template(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_template(v) for v in value)
    return False
