"""The "use this blueprint" form: one field per blueprint input, built from its selector.

The form is plain HTML (works on any phone, no script needed); the values a
user sends come back as strings and are turned into the types the selector
wants (lists, numbers, booleans, ``HH:MM:SS``) here.  Every problem is a
catalogue key plus values, so the page says it in Thai or English, never a
library's English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from hub.components.automation.blueprints import MISSING, Blueprint, BlueprintInput
from hub.components.automation.durations import parse_period, parse_time_of_day
from hub.components.automation.selectors import device_class_problem, entity_filters, value_problem

if TYPE_CHECKING:
    from multidict import MultiMapping

    from hub.hub import Hub

__all__ = (
    "Problem",
    "FormField",
    "bilingual",
    "entity_choices",
    "blueprint_fields",
    "parse_blueprint_form",
    "ID_RE",
    "yaml_problem",
)

#: Automation ids the UI writes: a slug, so it is also a safe entity object id.
ID_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")
#: Field name prefix of blueprint inputs in the form.
PREFIX = "input."


@dataclass(frozen=True)
class Problem:
    """A user-facing problem: a catalogue key (``automation.<key>``) and its values."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)
    #: A library's own words (YAML parser, selector check): shown in English pages only.
    detail: str = ""


@dataclass
class FormField:
    """One input of the form as the template draws it."""

    name: str
    label: str
    description: str
    kind: str
    required: bool
    value: Any
    options: list[tuple[str, str]] = field(default_factory=list)
    multiple: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    problem: Problem | None = None


def bilingual(text: str, lang: str) -> str:
    """Pick one side of a ``ไทย / English`` label (the shipped blueprints write both).

    Text without `` / `` is returned whole: a blueprint from elsewhere has one language.
    """
    if not text or " / " not in text:
        return text
    thai, _sep, english = text.partition(" / ")
    return thai.strip() if lang == "th" else english.strip()


def _integration_of(hub: Hub, entity_id: str) -> str:
    """The integration that owns an entity: the package its class lives in."""
    try:
        entity: object = hub.entities.get(entity_id)
    except Exception:  # noqa: BLE001 - a state with no entity object (an automation, a template)
        return entity_id.partition(".")[0]
    parts = type(entity).__module__.split(".")
    return parts[1] if len(parts) > 1 and parts[0] in ("integrations", "plugins") else parts[0]


def entity_choices(hub: Hub, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return ``(entity_id, name)`` of every entity the selector accepts, by name.

    Filters as HA: an entity passes if one filter matches its domain,
    integration and device_class (each filter key is a list; empty = any).
    """
    filters = entity_filters(options)
    include = {str(e) for e in _as_list(options.get("include_entities"))}
    exclude = {str(e) for e in _as_list(options.get("exclude_entities"))}
    out: list[tuple[str, str]] = []
    for state in hub.states.all():
        entity_id = state.entity_id
        if entity_id in exclude:
            continue
        domain = entity_id.partition(".")[0]
        device_class = str(state.attributes.get("device_class") or "")
        ok = entity_id in include or not filters
        for f in filters:
            if (
                (not f["domain"] or domain in f["domain"])
                and (not f["device_class"] or device_class in f["device_class"])
                and (not f["integration"] or _integration_of(hub, entity_id) in f["integration"])
            ):
                ok = True
                break
        if ok:
            name = str(state.attributes.get("friendly_name") or entity_id)
            out.append((entity_id, name))
    return sorted(out, key=lambda c: (c[1], c[0]))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _kind(selector: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(selector, Mapping) and len(selector) == 1:
        kind, options = next(iter(selector.items()))
        return str(kind), options if isinstance(options, Mapping) else {}
    return "object", {}


def _select_options(options: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    """(value, label) of each option; a ``ไทย / English`` label shows the reader's side."""
    out = []
    for option in _as_list(options.get("options")):
        if isinstance(option, Mapping):
            out.append(
                (str(option.get("value")), bilingual(str(option.get("label", option.get("value"))), lang))
            )
        else:
            out.append((str(option), str(option)))
    return out


def _shown(value: Any, kind: str, options: Mapping[str, Any]) -> Any:
    """Turn a stored value into what the field shows (a list stays a list for pickers)."""
    if value is MISSING or value is None:
        return [] if _is_multi(kind, options) else ""
    if kind in ("entity", "target", "select") and _is_multi(kind, options):
        if kind == "target" and isinstance(value, Mapping):
            value = value.get("entity_id")
        return [str(v) for v in _as_list(value)]
    if kind == "text" and options.get("multiple"):
        return "\n".join(str(v) for v in _as_list(value))
    if kind in ("action", "object") or isinstance(value, list | Mapping):
        return "" if value in ([], {}) else yaml.safe_dump(value, allow_unicode=True, sort_keys=False)
    if isinstance(value, bool):
        return value
    return str(value)


def _is_multi(kind: str, options: Mapping[str, Any]) -> bool:
    return kind == "target" or bool(options.get("multiple"))


def blueprint_fields(
    hub: Hub,
    blueprint: Blueprint,
    lang: str,
    values: Mapping[str, Any] | None = None,
    problems: Mapping[str, Problem] | None = None,
) -> list[FormField]:
    """Return the form's fields: ``values`` as entered (or the defaults) and their problems."""
    fields = []
    for name, spec in blueprint.inputs.items():
        kind, options = _kind(spec.selector)
        value = values[name] if values is not None and name in values else spec.default
        f = FormField(
            name=PREFIX + name,
            label=bilingual(spec.label or name, lang),
            description=bilingual(spec.description, lang),
            kind=kind,
            required=spec.default is MISSING,
            value=_shown(value, kind, options),
            multiple=_is_multi(kind, options),
            problem=(problems or {}).get(name),
        )
        if kind in ("entity", "target"):
            entity_options = options.get("entity", {}) if kind == "target" else options
            f.options = entity_choices(hub, entity_options if isinstance(entity_options, Mapping) else {})
        elif kind == "select":
            f.options = _select_options(options, lang)
        elif kind == "number":
            f.attrs = {k: options[k] for k in ("min", "max") if isinstance(options.get(k), int | float)}
            step = options.get("step")
            f.attrs["step"] = step if isinstance(step, int | float) or step == "any" else "any"
            f.attrs["unit"] = str(options.get("unit_of_measurement") or "")
        elif kind == "text":
            f.attrs = {"multiline": bool(options.get("multiline")) or bool(options.get("multiple"))}
        elif kind == "duration":
            f.attrs = {"negative": bool(options.get("enable_negative"))}
        fields.append(f)
    return fields


def yaml_problem(text: str) -> tuple[Any, Problem | None]:
    """Parse YAML typed in a form; a syntax error becomes a Problem with its line and column."""
    try:
        return yaml.safe_load(text), None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        column = mark.column + 1 if mark is not None else 1
        detail = " ".join(str(p) for p in (err.context, err.problem) if p)
        return None, Problem("err.yaml", {"line": line, "column": column}, detail)
    except yaml.YAMLError as err:
        return None, Problem("err.yaml", {"line": 1, "column": 1}, str(err))


def _parse_one(spec: BlueprintInput, form: MultiMapping[Any]) -> tuple[Any, Problem | None]:
    """Return (value, problem) of one input; MISSING when left empty."""
    kind, options = _kind(spec.selector)
    key = PREFIX + spec.name
    multi = _is_multi(kind, options)
    if kind in ("entity", "target", "select") and multi:
        picked = [v.strip() for v in form.getall(key, []) if isinstance(v, str) and v.strip()]
        if not picked:
            return MISSING, None
        return ({"entity_id": picked} if kind == "target" else picked), None
    raw = form.get(key)
    text = raw.strip() if isinstance(raw, str) else ""
    if kind == "boolean":
        return text in ("on", "true", "1"), None
    if not text:
        return MISSING, None
    if kind == "number":
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            return MISSING, Problem("err.number")
        low, high = options.get("min"), options.get("max")
        if isinstance(low, int | float) and number < low:
            return MISSING, Problem("err.min", {"min": low})
        if isinstance(high, int | float) and number > high:
            return MISSING, Problem("err.max", {"max": high})
        return (int(number) if number.is_integer() else number), None
    if kind == "text":
        if options.get("multiple"):
            return [line.strip() for line in text.splitlines() if line.strip()], None
        return (raw if isinstance(raw, str) else text), None
    if kind == "duration":
        try:
            parse_period(text, allow_negative=bool(options.get("enable_negative")))
        except ValueError as err:
            return MISSING, Problem("err.duration", detail=str(err))
        return text, None
    if kind == "time":
        try:
            parse_time_of_day(text)
        except ValueError as err:
            return MISSING, Problem("err.time", detail=str(err))
        return (text + ":00" if re.fullmatch(r"\d{1,2}:\d{2}", text) else text), None
    if kind in ("entity", "select", "device", "area"):
        return text, None
    # action, object and every selector the form has no widget for: YAML.
    return yaml_problem(text)


def parse_blueprint_form(
    hub: Hub, blueprint: Blueprint, form: MultiMapping[Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Problem]]:
    """Return (inputs to save, values as entered, problems by input name).

    Inputs left empty that have a default are not saved (the blueprint's
    default applies and follows the blueprint if it changes).
    """
    inputs: dict[str, Any] = {}
    entered: dict[str, Any] = {}
    problems: dict[str, Problem] = {}

    def device_class_of(entity_id: str) -> str | None:
        state = hub.states.get(entity_id)
        return None if state is None else str(state.attributes.get("device_class") or "")

    for name, spec in blueprint.inputs.items():
        value, problem = _parse_one(spec, form)
        kind, options = _kind(spec.selector)
        if _is_multi(kind, options) and kind in ("entity", "target", "select"):
            entered[name] = value if value is not MISSING else []
        else:
            raw = form.get(PREFIX + name)
            entered[name] = (raw in ("on", "true", "1")) if kind == "boolean" else (raw or "")
        if problem is not None:
            problems[name] = problem
            continue
        if value is MISSING:
            if spec.default is MISSING:
                problems[name] = Problem("err.required")
            continue
        detail = value_problem(spec.selector, value)
        if detail is None and kind == "entity":
            detail = device_class_problem(value, options, device_class_of)
        if detail is not None:
            problems[name] = Problem("err.value", detail=detail)
            continue
        inputs[name] = value
    return inputs, entered, problems
