"""The sandboxed template engine for user-written templates (automations, blueprints, devices).

Jinja2's ``ImmutableSandboxedEnvironment`` blocks ``_`` attributes (so no
``__class__``/``__globals__``/``__subclasses__`` walk) and mutation of
lists and dicts.  On top of that every render runs on a
:class:`~hub.template.limits.RenderBudget`: each loop iteration, call and
item a filter walks is a step, text is counted as it is produced, and
strings are sized before Python builds them (``center``, ``%`` widths,
``replace``, ``*``, ``~``...).  To count loops the template's syntax tree is
rewritten before compiling: ``for x in seq`` becomes
``for x in environment.budget_iter(seq)``, ``a ~ b`` becomes a sized join,
and every piece of static text charges its length.  Templates are compiled
once per source text and cached.
"""

from __future__ import annotations

import ast
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import update_wrapper
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer

from hub.template.helpers import install, install_static
from hub.template.limits import (
    CURRENT,
    FILTER_GUARDS,
    MAX_OUTPUT,
    MAX_PRODUCED,
    MAX_STEPS,
    Guard,
    RenderBudget,
    TemplateError,
    check_size,
    default_guard,
    format_spec_size,
    join_size,
    percent_size,
    str_method_size,
    text_size,
)
from hub.template.state import RENDER_INFO, RenderInfo

if TYPE_CHECKING:
    from hub.core.clock import Clock
    from hub.core.state import StateMachine

__all__ = (
    "Template",
    "TemplateEngine",
    "TemplateError",
    "RenderBudget",
    "is_template",
    "check_syntax",
    "render_complex",
    "has_template",
    "MAX_STEPS",
    "MAX_OUTPUT",
)

_LOGGER = logging.getLogger(__name__)

#: Largest string/list a ``*`` or ``+`` may build, and largest exponent of ``**``.
_MAX_REPEAT = 256 * 1024
_MAX_POW_BITS = 4096
#: Steps one call costs: a macro or ``loop()`` call sets up frames, contexts
#: and a buffer, about twenty loop iterations' worth of work.
_CALL_STEPS = 20
#: Compiled templates kept per engine.
_CACHE_SIZE = 4096

_MARKERS = ("{{", "{%", "{#")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)$")


def is_template(value: object) -> bool:
    """Return whether ``value`` is a string holding template markup."""
    return isinstance(value, str) and any(m in value for m in _MARKERS)


class _Metered(NodeTransformer):
    """Rewrite a parsed template so its loops, joins and static text are metered.

    The meters are filters (``environment.filters``), not calls: a filter is
    called directly by the compiled code, a call goes through the sandbox's
    checks (and would be charged as a call).  They take the context, which
    also keeps jinja2 from running them at compile time.
    """

    def _meter(self, name: str, value: nodes.Expr, lineno: int) -> nodes.Filter:
        return nodes.Filter(value, name, [], [], None, None, lineno=lineno)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        iterable: nodes.Expr = node.iter  # type: ignore[assignment]  # jinja2 types it as Node
        node.iter = self._meter(_ITER, iterable, node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        parts = nodes.List(list(node.nodes), lineno=node.lineno)
        return self._meter(_CONCAT, parts, node.lineno)

    def visit_Output(self, node: nodes.Output) -> nodes.Node | list[nodes.Node]:
        self.generic_visit(node)
        static = sum(
            len(child.data) if isinstance(child, nodes.TemplateData) else len(str(child.value))
            for child in node.nodes
            if isinstance(child, nodes.TemplateData | nodes.Const)
        )
        if not static:
            return node
        charge = self._meter(_PRODUCE, nodes.Const(static, lineno=node.lineno), node.lineno)
        return [nodes.ExprStmt(charge, lineno=node.lineno), node]


#: The meters' filter names (a template may name them too: they only charge its budget).
_ITER, _CONCAT, _PRODUCE = "budget_iter", "budget_concat", "budget_produce"


@jinja2.pass_context
def _meter_iter(context: jinja2.runtime.Context, iterable: Iterable[Any]) -> Iterator[Any]:
    """One step per loop iteration (every ``{% for %}`` runs through this)."""
    return context.environment.budget.iterate(iterable)  # type: ignore[attr-defined, no-any-return]


@jinja2.pass_context
def _meter_concat(context: jinja2.runtime.Context, parts: list[Any]) -> str:
    """``a ~ b``: sized before the join."""
    check_size(join_size("", parts), "~")
    return "".join(str(part) for part in parts)


@jinja2.pass_context
def _meter_produce(context: jinja2.runtime.Context, chars: int) -> None:
    """Static text about to be written (it may be inside a loop or a macro)."""
    context.environment.budget.produce(chars)  # type: ignore[attr-defined]


class _SizedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, refusing widths and fields that would be huge."""

    def __init__(self, env: jinja2.Environment) -> None:
        super().__init__(env)
        self.built = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        self.built += format_spec_size(value, format_spec)
        check_size(self.built, "format()")
        return super().format_field(value, format_spec)


@jinja2.pass_environment
def _finalize(env: _Sandbox, value: Any) -> Any:
    """Every ``{{ expression }}`` passes here: size and count what it will write.

    Taking the environment also keeps jinja2 from folding constant output at
    compile time, where no budget would see it.
    """
    size = len(value) if isinstance(value, str) else text_size(value, MAX_OUTPUT)
    check_size(size, "{{ }}")
    env.budget.produce(size)
    return value


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, metered: see the module docstring."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.Undefined, autoescape=False, keep_trailing_newline=False)
        self.budget = RenderBudget()
        self.globals["range"] = self._range
        # lipsum(n) writes n paragraphs in one call, urlize copies its ``target`` into every
        # link it makes; nothing in HA's helpers needs either
        self.globals.pop("lipsum", None)
        self.filters.pop("urlize", None)
        for name, meter in ((_ITER, _meter_iter), (_CONCAT, _meter_concat), (_PRODUCE, _meter_produce)):
            setattr(meter, "budget_guard", None)  # noqa: B010 - marks it: guard_filters skips it
            self.filters[name] = meter
        self.finalize = _finalize

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        metered = _Metered().visit(tree)
        metered.set_environment(self)
        return metered  # type: ignore[no-any-return]

    def guard_filters(self) -> None:
        """Wrap every filter (call after every filter is installed): each call is a step,
        and each input is walked or sized by its guard (:data:`FILTER_GUARDS`)."""
        for name, func in list(self.filters.items()):
            if not hasattr(func, "budget_guard"):
                self.filters[name] = self._guarded(func, FILTER_GUARDS.get(name) or default_guard(name))

    def _guarded(self, func: Callable[..., Any], guard: Guard) -> Callable[..., Any]:
        passed = getattr(func, "jinja_pass_arg", None)
        skip = 0 if passed is None else 1

        def filtered(*args: Any, **kwargs: Any) -> Any:
            budget = self.budget
            budget.charge()
            if len(args) > skip:
                value = guard(budget, args[skip], args[skip + 1 :], kwargs)
                args = (*args[:skip], value, *args[skip + 1 :])
            return func(*args, **kwargs)

        update_wrapper(filtered, func)
        filtered.budget_guard = guard  # type: ignore[attr-defined]
        if passed is not None:
            filtered.jinja_pass_arg = passed  # type: ignore[attr-defined]
        return filtered

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        """Refuse, loudly, what the sandbox considers unsafe (``__class__``, ``mro``...)."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    # -- calls and operators ----------------------------------------------------------------------

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Every call is a step; str methods that grow a string are sized first."""
        __self.budget.charge(_CALL_STEPS)
        for arg in (*args, *kwargs.values()):
            # flatten(), union()... build from what they are given: lists nested to share
            # items (``[a, a, a]`` ten deep) are sized first (the walk is charged)
            if isinstance(arg, list | tuple | Mapping | set | frozenset):
                check_size(text_size(arg, MAX_PRODUCED), "call", MAX_PRODUCED)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                items = list(__self.budget.iterate(args[0]))
                check_size(join_size(owner, items), "join()")
                args = (items, *args[1:])
            else:
                size = str_method_size(owner, name, args, kwargs)
                if size is not None:
                    check_size(size, f"{name}()")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``'{:>9}'.format(x)``: formatted by :class:`_SizedFormatter`."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None  # not str.format (every attribute lookup asks)
        owner = getattr(value, "__self__", None)
        if type(owner) is not str:
            return wrapped  # Markup's escaping formatter
        is_map = value.__name__ == "format_map"

        def formatted(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            return str(_SizedFormatter(self).vformat(owner, args, kwargs))

        return update_wrapper(formatted, value)

    def _range(self, *args: int) -> range:
        rng = range(*args)
        self.budget.charge(len(rng))
        return rng

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(count, int)
                    and not isinstance(count, bool)
                ):
                    check_size(len(seq) * count, "*", _MAX_REPEAT)
                    if isinstance(seq, list | tuple):
                        check_size(text_size(seq) * count, "*")
            return left * right
        if operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                check_size(len(left) + len(right), "+", _MAX_REPEAT)
            return left + right
        if operator == "%":
            if isinstance(left, str):
                check_size(percent_size(left, right), "%")
            return left % right
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
        _syntax_env.guard_filters()
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

    def render(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        info: RenderInfo | None = None,
        budget: RenderBudget | None = None,
    ) -> str:
        """Render to text; raise TemplateError on any failure, including an exhausted budget."""
        if self._compiled is None:
            return self.source
        env = self._engine.env
        saved = env.budget
        env.budget = budget if budget is not None else RenderBudget()
        current = CURRENT.set(env.budget)
        token = RENDER_INFO.set(info) if info is not None else None
        try:
            text = self._compiled.render(variables or {})
        except TemplateError:
            raise
        except jinja2.TemplateError as err:
            raise TemplateError(f"{type(err).__name__}: {err.message or err}") from err
        except Exception as err:  # noqa: BLE001 - any failure inside user code must end the render only
            raise TemplateError(f"{type(err).__name__}: {err}") from err
        finally:
            env.budget = saved
            CURRENT.reset(current)
            if token is not None:
                RENDER_INFO.reset(token)
        if len(text) > MAX_OUTPUT:
            raise TemplateError(f"rendered text longer than {MAX_OUTPUT} characters")
        return text

    def render_native(
        self,
        variables: Mapping[str, Any] | None = None,
        *,
        info: RenderInfo | None = None,
        budget: RenderBudget | None = None,
    ) -> Any:
        """Render and turn the text into a number, bool, list... when it looks like one."""
        if self._compiled is None:
            return self.source
        return _parse_result(self.render(variables, info=info, budget=budget))

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
        self.env.guard_filters()
        self._cache: OrderedDict[str, Template] = OrderedDict()

    def compile(self, source: str) -> Template:
        """Return the compiled template for ``source`` (cached); raise TemplateError on bad syntax."""
        cached = self._cache.get(source)
        if cached is not None:
            return cached
        if not is_template(source):
            template = Template(self, str(source), None)
        else:
            saved = self.env.budget
            # constant folding runs filters at compile time: on a budget of its own
            self.env.budget = RenderBudget()
            current = CURRENT.set(self.env.budget)
            try:
                compiled = self.env.from_string(str(source))
            except jinja2.TemplateSyntaxError as err:
                raise TemplateError(f"template syntax error: {err.message}") from err
            finally:
                self.env.budget = saved
                CURRENT.reset(current)
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
