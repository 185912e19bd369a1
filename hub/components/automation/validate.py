"""Validate one automation config (HA's schema, both spellings) into an :class:`AutomationSpec`.

Every problem becomes a :class:`ConfigError` with the file, the line and the
key path (``config.yaml:14: automation[2].trigger[0].to: ...``) and the
checker goes on, so ``safetyhub check`` lists all of them at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from hub.components.automation import ha_support
from hub.components.automation.conditions import ConditionSpec
from hub.components.automation.const import DEFAULT_MAX_RUNS, DEFAULT_STORED_TRACES, LOG_LEVELS, MODES
from hub.components.automation.durations import parse_period
from hub.components.automation.registry import Registry
from hub.components.automation.specs import AutomationSpec, BlueprintUse, StepSpec, TriggerSpec
from hub.components.automation.triggers.common import jsonable
from hub.config import ConfigError, ConfigWarning, Input, errors_from_validation, format_path, position_of
from hub.config.nodes import Loc
from hub.template import check_syntax, is_template

__all__ = ("Where", "Checker", "validate_automation", "fingerprint", "slugify", "TOP_LEVEL_KEYS")

TOP_LEVEL_KEYS = frozenset(
    {
        "id",
        "alias",
        "description",
        "mode",
        "max",
        "max_exceeded",
        "variables",
        "trigger_variables",
        "initial_state",
        "trace",
        "trigger",
        "triggers",
        "condition",
        "conditions",
        "action",
        "actions",
    }
)
_TRIGGER_COMMON = frozenset({"platform", "trigger", "id", "alias", "enabled", "variables"})
_CONDITION_COMMON = frozenset({"condition", "alias", "enabled"})
_STEP_COMMON = frozenset({"alias", "enabled", "continue_on_error"})
_UNSUPPORTED_CONDITIONS = {
    kind: f"{kind} conditions" for kind, why in ha_support.CONDITIONS.items() if why is not None
}
_SLUG = re.compile(r"[^a-z0-9_]+")

#: Step kinds in HA's order of detection, with the keys each may have.
_STEP_KEYS: dict[str, frozenset[str]] = {
    "delay": frozenset({"delay"}),
    "wait_template": frozenset({"wait_template", "timeout", "continue_on_timeout"}),
    "event": frozenset({"event", "event_data", "event_data_template", "context"}),
    "repeat": frozenset({"repeat"}),
    "choose": frozenset({"choose", "default"}),
    "wait_for_trigger": frozenset({"wait_for_trigger", "timeout", "continue_on_timeout"}),
    "variables": frozenset({"variables"}),
    "if": frozenset({"if", "then", "else"}),
    "service": frozenset(
        {
            "service",
            "service_template",
            "action",
            "data",
            "data_template",
            "target",
            "entity_id",
            "response_variable",
            "metadata",
        }
    ),
    "stop": frozenset({"stop", "error", "response_variable"}),
    "parallel": frozenset({"parallel"}),
    "sequence": frozenset({"sequence"}),
}
_UNSUPPORTED_STEPS = {
    "device_id": "device actions",
    "scene": "scenes",
    "set_conversation_response": "conversations",
}


def slugify(text: str) -> str:
    """Return an entity-id-safe slug (Thai letters are dropped; the caller falls back)."""
    return _SLUG.sub("_", str(text).lower()).strip("_")


def fingerprint(value: Any) -> str:
    """Return a stable short hash of a config value."""

    def default(obj: Any) -> Any:
        if isinstance(obj, Input):
            return f"!input {obj.name}"
        return str(obj)

    text = json.dumps(jsonable_config(value), sort_keys=True, ensure_ascii=False, default=default)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def jsonable_config(value: Any) -> Any:
    """Config as plain data (Input kept) for hashing and display."""
    if isinstance(value, Input):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable_config(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable_config(v) for v in value]
    return jsonable(value)


@dataclass
class Where:
    """How to name places in one automation's config."""

    root: Any
    file: str
    line: int | None
    label: str
    note: str = ""


class Checker:
    """Collects located errors for one automation."""

    def __init__(self, where: Where, registry: Registry) -> None:
        self.where = where
        self.registry = registry
        self.errors: list[ConfigError] = []
        #: Probably wrong, but not sure to fail (``check`` prints them; the automation runs).
        self.warnings: list[ConfigError] = []

    def path(self, loc: Loc) -> str:
        rel = format_path(loc)
        if not rel:
            return self.where.label
        return self.where.label + (rel if rel.startswith("[") else "." + rel)

    def error(self, loc: Loc, message: str) -> None:
        file, line = position_of(self.where.root, loc) or (self.where.file, self.where.line)
        self.errors.append(ConfigError(file, line, self.path(loc), message + self.where.note))

    def warn(self, loc: Loc, message: str) -> None:
        file, line = position_of(self.where.root, loc) or (self.where.file, self.where.line)
        self.warnings.append(ConfigWarning(file, line, self.path(loc), message + self.where.note))

    def model(self, cls: type[pydantic.BaseModel], data: Mapping[str, Any], loc: Loc) -> Any:
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as exc:
            for err in errors_from_validation(exc, self.where.root, loc, self.where.file):
                rel = err.path
                path = self.where.label + (("." + rel) if rel and not rel.startswith("[") else rel)
                self.errors.append(
                    ConfigError(
                        err.file,
                        err.line if err.line is not None else self.where.line,
                        path,
                        err.message + self.where.note,
                    )
                )
            return None
        except (ValueError, TypeError) as exc:  # a plugin schema raising outside pydantic
            self.error(loc, str(exc))
            return None

    def templates(self, value: Any, loc: Loc) -> None:
        """Report template syntax errors anywhere inside ``value``."""
        if isinstance(value, Input):
            self.error(loc, f"!input {value.name} is only allowed inside a blueprint")
        elif isinstance(value, str):
            if (
                is_template(value)
                and not ha_support.unsupported_in_template(value)  # named once, by ha_templates()
                and (problem := check_syntax(value)) is not None
            ):
                self.error(loc, problem)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                self.templates(item, (*loc, str(key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.templates(item, (*loc, index))

    def mapping(self, value: Any, loc: Loc, what: str = "a mapping") -> bool:
        if isinstance(value, Mapping):
            return True
        self.error(loc, f"expected {what}")
        return False

    def period(self, value: Any, loc: Loc) -> Any:
        try:
            return parse_period(value)
        except ValueError as err:
            self.error(loc, str(err))
            return None


def ha_templates(checker: Checker, value: Any, loc: Loc) -> None:
    """Name every HA template function SafetyHub lacks, wherever a template is in the automation."""
    if isinstance(value, str):
        if is_template(value):
            for message in ha_support.unsupported_in_template(value):
                checker.error(loc, message)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            ha_templates(checker, item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            ha_templates(checker, item, (*loc, index))


def _pick(
    checker: Checker, config: Mapping[str, Any], loc: Loc, old: str, new: str
) -> tuple[Any, str | None]:
    """Return the value of ``old`` or ``new`` spelling (error if both) and the key used."""
    if old in config and new in config:
        checker.error((*loc, new), f"give {old} or {new}, not both")
        return config[new], new
    if new in config:
        return config[new], new
    if old in config:
        return config[old], old
    return None, None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# -- triggers ----------------------------------------------------------------------


def validate_triggers(checker: Checker, value: Any, loc: Loc, path: str) -> list[TriggerSpec]:
    """Validate a trigger list (or one trigger)."""
    specs: list[TriggerSpec] = []
    items = _as_list(value)
    for idx, item in enumerate(items):
        iloc = (*loc, idx) if isinstance(value, list) else loc
        spec = _validate_trigger(checker, item, iloc, idx, f"{path}/{idx}")
        if spec is not None:
            specs.append(spec)
    return specs


def _validate_trigger(checker: Checker, item: Any, loc: Loc, idx: int, path: str) -> TriggerSpec | None:
    if not checker.mapping(item, loc, "a trigger (a mapping with platform: or trigger:)"):
        return None
    name, key = _pick(checker, item, loc, "platform", "trigger")
    if key is None:
        checker.error(loc, "required key missing: platform (or trigger)")
        return None
    if not isinstance(name, str):
        checker.error((*loc, key), "expected a trigger platform name")
        return None
    platform = checker.registry.triggers.get(str(name))
    if platform is None:
        known = ", ".join(sorted(checker.registry.triggers))
        why = ha_support.unsupported_trigger(str(name))
        checker.error((*loc, key), why or f"unknown trigger platform '{name}' (available: {known})")
        return None
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        checker.error((*loc, "enabled"), "expected boolean")
    variables = item.get("variables")
    if variables is not None and checker.mapping(variables, (*loc, "variables")):
        checker.templates(variables, (*loc, "variables"))
    rest = {k: v for k, v in item.items() if k not in _TRIGGER_COMMON}
    model = checker.model(platform.schema, rest, loc)
    if model is None:
        return None
    if name in _ENTITY_PLATFORMS and "entity_id" in item:
        check_entities(checker, item["entity_id"], (*loc, "entity_id"))
    trigger_id = item.get("id", idx)
    alias = item.get("alias")
    return TriggerSpec(
        platform=str(name),
        model=model,
        idx=idx,
        id=str(trigger_id),
        path=path,
        alias=str(alias) if alias is not None else None,
        enabled=enabled is not False,
        variables=dict(variables) if isinstance(variables, Mapping) else None,
        fingerprint=fingerprint({"platform": str(name), **rest}),
    )


# -- conditions --------------------------------------------------------------------


def validate_conditions(checker: Checker, value: Any, loc: Loc, path: str) -> list[ConditionSpec]:
    """Validate a condition list (or one condition)."""
    specs: list[ConditionSpec] = []
    for idx, item in enumerate(_as_list(value)):
        iloc = (*loc, idx) if isinstance(value, list) else loc
        spec = validate_condition(checker, item, iloc, f"{path}/{idx}")
        if spec is not None:
            specs.append(spec)
    return specs


def _template_condition(checker: Checker, text: str, loc: Loc, path: str) -> ConditionSpec | None:
    if ha_support.unsupported_in_template(text):
        return None  # named by ha_templates()
    platform = checker.registry.conditions["template"]
    model = checker.model(platform.schema, {"value_template": text}, loc)
    return None if model is None else ConditionSpec("template", path, model)


def validate_condition(checker: Checker, item: Any, loc: Loc, path: str) -> ConditionSpec | None:
    """Validate one condition: a mapping, a shorthand and/or/not, or a template string."""
    if isinstance(item, str):
        if not is_template(item):
            checker.error(loc, "expected a condition: a mapping with condition:, or a template")
            return None
        return _template_condition(checker, item, loc, path)
    if not checker.mapping(item, loc, "a condition"):
        return None
    enabled = item.get("enabled", True)
    alias = item.get("alias")
    if "condition" not in item:
        shorthand = [k for k in ("and", "or", "not") if k in item]
        if len(shorthand) == 1:
            kind = shorthand[0]
            extra = [k for k in item if k not in {kind, "alias", "enabled"}]
            for key in extra:
                checker.error((*loc, key), "unknown key")
            children = validate_conditions(checker, item[kind], (*loc, kind), f"{path}/{kind}")
            return ConditionSpec(kind, path, None, children, enabled is not False, alias)
        checker.error(loc, "required key missing: condition")
        return None
    kind = item["condition"]
    if isinstance(kind, str) and is_template(kind):
        return _template_condition(checker, kind, (*loc, "condition"), path)
    if not isinstance(kind, str):
        checker.error((*loc, "condition"), "expected a condition name")
        return None
    if kind in ("and", "or", "not"):
        extra = [k for k in item if k not in {"condition", "conditions", "alias", "enabled"}]
        for key in extra:
            checker.error((*loc, key), "unknown key")
        if "conditions" not in item:
            checker.error(loc, f"required key missing: conditions (for condition: {kind})")
            return None
        children = validate_conditions(
            checker, item["conditions"], (*loc, "conditions"), f"{path}/conditions"
        )
        return ConditionSpec(kind, path, None, children, enabled is not False, alias)
    if kind in _UNSUPPORTED_CONDITIONS:
        checker.error(
            (*loc, "condition"),
            f"{_UNSUPPORTED_CONDITIONS[kind]} are not supported by SafetyHub "
            f"({ha_support.CONDITIONS[kind]}; see {ha_support.DOCS})",
        )
        return None
    platform = checker.registry.conditions.get(kind)
    if platform is None:
        known = ", ".join(sorted({"and", "or", "not", *checker.registry.conditions}))
        checker.error((*loc, "condition"), f"unknown condition '{kind}' (available: {known})")
        return None
    rest = {k: v for k, v in item.items() if k not in _CONDITION_COMMON}
    model = checker.model(platform.schema, rest, loc)
    if model is None:
        return None
    if kind in _ENTITY_PLATFORMS and "entity_id" in item:
        check_entities(checker, item["entity_id"], (*loc, "entity_id"))
    return ConditionSpec(
        kind, path, model, [], enabled is not False, str(alias) if alias is not None else None
    )


# -- actions -----------------------------------------------------------------------


def validate_sequence(checker: Checker, value: Any, loc: Loc, path: str) -> list[StepSpec]:
    """Validate an action list (or one action)."""
    steps: list[StepSpec] = []
    if value is None:
        return steps
    for idx, item in enumerate(_as_list(value)):
        iloc = (*loc, idx) if isinstance(value, list) else loc
        step = validate_step(checker, item, iloc, f"{path}/{idx}")
        if step is not None:
            steps.append(step)
    return steps


def _step_kind(checker: Checker, item: Mapping[str, Any]) -> str | None:
    if "delay" in item:
        return "delay"
    if "wait_template" in item:
        return "wait_template"
    if any(k in item for k in ("condition", "and", "or", "not")):
        return "condition"
    if "event" in item:
        return "event"
    for key in _UNSUPPORTED_STEPS:
        if key in item:
            return key
    for kind in ("repeat", "choose", "wait_for_trigger", "variables", "if"):
        if kind in item:
            return kind
    if "service" in item or "service_template" in item or isinstance(item.get("action"), str):
        return "service"
    for kind in ("stop", "parallel", "sequence"):
        if kind in item:
            return kind
    return None


def validate_step(checker: Checker, item: Any, loc: Loc, path: str) -> StepSpec | None:
    """Validate one action step."""
    if not checker.mapping(item, loc, "an action (a mapping)"):
        return None
    kind = _step_kind(checker, item)
    if kind is None:
        checker.error(
            loc,
            "unable to determine the action: expected one of service/action, delay, "
            "wait_template, wait_for_trigger, event, condition, choose, if, repeat, parallel, "
            "sequence, variables or stop",
        )
        return None
    if kind in _UNSUPPORTED_STEPS:
        checker.error(
            (*loc, kind),
            f"{_UNSUPPORTED_STEPS[kind]} are not supported by SafetyHub ({ha_support.ACTIONS[kind]}; see {ha_support.DOCS})",
        )
        return None
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        checker.error((*loc, "enabled"), "expected boolean")
    continue_on_error = item.get("continue_on_error", False)
    if not isinstance(continue_on_error, bool):
        checker.error((*loc, "continue_on_error"), "expected boolean")
    alias = item.get("alias")
    step = StepSpec(
        kind,
        path,
        alias=str(alias) if alias is not None else None,
        enabled=enabled is not False,
        continue_on_error=continue_on_error is True,
    )
    if kind == "condition":
        rest = {k: v for k, v in item.items() if k not in {"continue_on_error"}}
        cond = validate_condition(checker, rest, loc, path)
        if cond is None:
            return None
        step.conditions["conditions"] = [cond]
        return step
    allowed = _STEP_KEYS[kind] | _STEP_COMMON
    for key in item:
        if key not in allowed:
            checker.error((*loc, str(key)), f"unknown key for a {kind} action")
    before = len(checker.errors)
    _STEP_VALIDATORS[kind](checker, item, loc, step)
    return step if len(checker.errors) == before else None


def _v_delay(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    step.conf["delay"] = checker.period(item["delay"], (*loc, "delay"))


def _timeout(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    if item.get("timeout") is not None:
        step.conf["timeout"] = checker.period(item["timeout"], (*loc, "timeout"))
    else:
        step.conf["timeout"] = None
    cont = item.get("continue_on_timeout", True)
    if not isinstance(cont, bool):
        checker.error((*loc, "continue_on_timeout"), "expected boolean")
    step.conf["continue_on_timeout"] = cont is not False


def _v_wait_template(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    template = item["wait_template"]
    if not isinstance(template, str):
        checker.error((*loc, "wait_template"), "expected a template")
        return
    checker.templates(template, (*loc, "wait_template"))
    step.conf["wait_template"] = str(template)
    _timeout(checker, item, loc, step)


def _v_wait_for_trigger(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    step.triggers = validate_triggers(
        checker, item["wait_for_trigger"], (*loc, "wait_for_trigger"), f"{step.path}/wait_for_trigger"
    )
    _timeout(checker, item, loc, step)


def _v_event(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    event = item["event"]
    if not isinstance(event, str) or not event:
        checker.error((*loc, "event"), "expected an event type")
        return
    checker.templates(event, (*loc, "event"))
    data: dict[str, Any] = {}
    for key in ("event_data", "event_data_template"):
        if key in item and item[key] is not None and checker.mapping(item[key], (*loc, key)):
            checker.templates(item[key], (*loc, key))
            data.update(item[key])
    step.conf = {"event": str(event), "event_data": data}


def _v_service(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    key = next(k for k in ("action", "service", "service_template") if isinstance(item.get(k), str))
    name = str(item[key])
    if is_template(name):
        checker.templates(name, (*loc, key))
    elif name.count(".") != 1 or not all(name.split(".")):
        checker.error((*loc, key), f"expected domain.service, got {name!r}")
        return
    elif (why := ha_support.unsupported_service(name)) is not None:
        checker.error((*loc, key), why)
        return
    data: dict[str, Any] = {}
    for dkey in ("data", "data_template"):
        value = item.get(dkey)
        if value is None:
            continue
        if isinstance(value, str) and is_template(value):
            checker.templates(value, (*loc, dkey))
            step.conf["data_template_text"] = str(value)
            continue
        if checker.mapping(value, (*loc, dkey)):
            checker.templates(value, (*loc, dkey))
            data.update(value)
    target = item.get("target")
    if target is not None and (
        (isinstance(target, str) and is_template(target)) or checker.mapping(target, (*loc, "target"))
    ):
        checker.templates(target, (*loc, "target"))
    if "entity_id" in item:
        checker.templates(item["entity_id"], (*loc, "entity_id"))
        data.setdefault("entity_id", item["entity_id"])
    if not is_template(name) and "data_template_text" not in step.conf:
        _check_call(checker, name, data, target, item, loc, key)
    response = item.get("response_variable")
    if response is not None and not isinstance(response, str):
        checker.error((*loc, "response_variable"), "expected a variable name")
    step.conf.update(
        {
            "service": name,
            "data": data,
            "target": target,
            "response_variable": str(response) if response is not None else None,
        }
    )


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, Input):
        return True
    if isinstance(value, Mapping):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_template(v) for v in value)
    return False


def entity_ids_in(value: Any) -> list[str]:
    """Return the literal entity ids in an ``entity_id`` value (a string, a list, or "a, b")."""
    if isinstance(value, str) and not is_template(value):
        return [v.strip() for v in value.split(",") if v.strip() and v.strip() != "all"]
    if isinstance(value, list):
        return [v for item in value for v in entity_ids_in(item)]
    return []


def check_entities(checker: Checker, value: Any, loc: Loc) -> None:
    """Report entity ids in ``value`` that the config surely does not create."""
    known = checker.registry.known
    if known is None:
        return
    for entity_id in entity_ids_in(value):
        # Once per automation: a blueprint input reaches its triggers and actions too.
        if known.missing(entity_id) and (checker.where.label, entity_id) not in known.reported:
            known.reported.add((checker.where.label, entity_id))
            checker.error(loc, f"entity {entity_id} does not exist (no entry in the config creates it)")


def _check_call(
    checker: Checker,
    name: str,
    data: Mapping[str, Any],
    target: Any,
    item: Mapping[str, Any],
    loc: Loc,
    key: str,
) -> None:
    """Refuse, at ``check``, a service call that would fail when it fires (issue 15 item 4).

    The service must exist, literal entity ids must exist, and data with no template in it
    must pass the service's schema: ``check`` never passes a broken automation.
    """
    services = checker.registry.services
    domain = name.split(".", 1)[0]
    if services and name not in services and any(s.startswith(domain + ".") for s in services):
        offered = sorted(s.split(".", 1)[1] for s in services if s.startswith(domain + "."))
        checker.error((*loc, key), f"service {name} does not exist ({domain} has: {', '.join(offered)})")
        return
    data_loc = (*loc, "data") if "data" in item else loc
    if isinstance(target, Mapping) and "entity_id" in target:
        check_entities(checker, target["entity_id"], (*loc, "target", "entity_id"))
    elif "entity_id" in item:
        check_entities(checker, item["entity_id"], (*loc, "entity_id"))
    elif "entity_id" in data:
        check_entities(checker, data["entity_id"], (*data_loc, "entity_id"))
    known = checker.registry.known
    if name == "line.send" and known is not None and known.line_aliases is not None:
        to = data.get("to")
        targets = [to] if isinstance(to, str) else list(to) if isinstance(to, list) else []
        for alias in targets:
            if (
                isinstance(alias, str)
                and not _has_template(alias)
                and not _LINE_RAW_ID.match(alias)
                and alias not in known.line_aliases
            ):
                # A warning: an alias can also be named on the LINE page (in the database).
                checker.warn(
                    (*data_loc, "to"),
                    f"LINE alias '{alias}' is not in line.groups "
                    f"({', '.join(sorted(known.line_aliases)) or 'none'}); unless it is named on "
                    "the LINE page, nobody gets this message",
                )
    schema = services.get(name)
    if schema is None or _has_template(data) or _has_template(target):
        return
    merged = dict(data)
    if isinstance(target, Mapping):
        for tkey, tvalue in target.items():
            merged.setdefault(str(tkey), tvalue)
    checker.model(schema, merged, data_loc)


#: Triggers and conditions whose ``entity_id`` names entities that must exist.
_ENTITY_PLATFORMS = frozenset({"state", "numeric_state"})
_LINE_RAW_ID = re.compile(r"^[CRU][0-9a-f]{32}$")


def _v_variables(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    value = item["variables"]
    if checker.mapping(value, (*loc, "variables")):
        checker.templates(value, (*loc, "variables"))
        step.conf["variables"] = dict(value)


def _v_stop(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    reason = item["stop"]
    if not isinstance(reason, str):
        checker.error((*loc, "stop"), "expected the reason as text")
        return
    error = item.get("error", False)
    if not isinstance(error, bool):
        checker.error((*loc, "error"), "expected boolean")
    checker.templates(reason, (*loc, "stop"))
    step.conf = {
        "reason": str(reason),
        "error": error is True,
        "response_variable": item.get("response_variable"),
    }


def _v_sequence(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    step.sequences["sequence"] = validate_sequence(
        checker, item["sequence"], (*loc, "sequence"), f"{step.path}/sequence"
    )


def _v_parallel(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    branches = item["parallel"]
    items = _as_list(branches)
    for idx, branch in enumerate(items):
        bloc = (*loc, "parallel", idx) if isinstance(branches, list) else (*loc, "parallel")
        bpath = f"{step.path}/parallel/{idx}"
        if (
            isinstance(branch, Mapping)
            and set(branch) <= {"sequence", "alias", "enabled"}
            and "sequence" in branch
        ):
            seq = validate_sequence(checker, branch["sequence"], (*bloc, "sequence"), f"{bpath}/sequence")
        else:
            one = validate_step(checker, branch, bloc, f"{bpath}/0")
            seq = [one] if one is not None else []
        step.sequences[f"branch{idx}"] = seq


def _v_choose(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    options = item["choose"]
    for idx, option in enumerate(_as_list(options)):
        oloc = (*loc, "choose", idx) if isinstance(options, list) else (*loc, "choose")
        opath = f"{step.path}/choose/{idx}"
        if not checker.mapping(option, oloc, "a choice with conditions: and sequence:"):
            continue
        for key in option:
            if key not in ("conditions", "sequence", "alias"):
                checker.error((*oloc, str(key)), "unknown key in a choice")
        if "conditions" not in option:
            checker.error(oloc, "required key missing: conditions")
        if "sequence" not in option:
            checker.error(oloc, "required key missing: sequence")
        step.conditions[f"option{idx}"] = validate_conditions(
            checker, option.get("conditions"), (*oloc, "conditions"), f"{opath}/conditions"
        )
        step.sequences[f"option{idx}"] = validate_sequence(
            checker, option.get("sequence"), (*oloc, "sequence"), f"{opath}/sequence"
        )
    step.conf["options"] = len(_as_list(options))
    if item.get("default") is not None:
        step.sequences["default"] = validate_sequence(
            checker, item["default"], (*loc, "default"), f"{step.path}/default"
        )


def _v_if(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    if "then" not in item:
        checker.error(loc, "required key missing: then")
    step.conditions["if"] = validate_conditions(checker, item["if"], (*loc, "if"), f"{step.path}/if")
    step.sequences["then"] = validate_sequence(checker, item.get("then"), (*loc, "then"), f"{step.path}/then")
    if item.get("else") is not None:
        step.sequences["else"] = validate_sequence(checker, item["else"], (*loc, "else"), f"{step.path}/else")


def _v_repeat(checker: Checker, item: Mapping[str, Any], loc: Loc, step: StepSpec) -> None:
    rloc = (*loc, "repeat")
    repeat = item["repeat"]
    if not checker.mapping(repeat, rloc, "a mapping with count/while/until/for_each and sequence"):
        return
    kinds = [k for k in ("count", "while", "until", "for_each") if k in repeat]
    if len(kinds) != 1:
        checker.error(rloc, "give exactly one of count, while, until or for_each")
        return
    for key in repeat:
        if key not in ("count", "while", "until", "for_each", "sequence"):
            checker.error((*rloc, str(key)), "unknown key in repeat")
    kind = kinds[0]
    step.conf["repeat"] = kind
    value = repeat[kind]
    if kind == "count":
        if isinstance(value, str) and is_template(value):
            checker.templates(value, (*rloc, "count"))
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            checker.error((*rloc, "count"), "expected a whole number or a template")
        step.conf["count"] = value
    elif kind == "for_each":
        checker.templates(value, (*rloc, "for_each"))
        step.conf["for_each"] = value
    else:
        step.conditions[kind] = validate_conditions(
            checker, value, (*rloc, kind), f"{step.path}/repeat/{kind}"
        )
    if "sequence" not in repeat:
        checker.error(rloc, "required key missing: sequence")
    step.sequences["sequence"] = validate_sequence(
        checker, repeat.get("sequence"), (*rloc, "sequence"), f"{step.path}/repeat/sequence"
    )


_STEP_VALIDATORS = {
    "delay": _v_delay,
    "wait_template": _v_wait_template,
    "wait_for_trigger": _v_wait_for_trigger,
    "event": _v_event,
    "service": _v_service,
    "variables": _v_variables,
    "stop": _v_stop,
    "sequence": _v_sequence,
    "parallel": _v_parallel,
    "choose": _v_choose,
    "if": _v_if,
    "repeat": _v_repeat,
}


# -- the automation ----------------------------------------------------------------


def validate_automation(
    config: Any, where: Where, registry: Registry, key: str, blueprint: BlueprintUse | None = None
) -> tuple[AutomationSpec | None, list[ConfigError]]:
    """Validate one automation config; return its spec (None if invalid) and every error."""
    checker = Checker(where, registry)
    if not isinstance(config, Mapping):
        checker.error((), "expected an automation (a mapping with triggers and actions)")
        return None, checker.errors + checker.warnings
    ha_templates(checker, config, ())
    for name in config:
        if name not in TOP_LEVEL_KEYS:
            hint = " (use_blueprint needs a path)" if name == "use_blueprint" else ""
            checker.error((str(name),), f"unknown key{hint}")
    triggers_value, trigger_key = _pick(checker, config, (), "trigger", "triggers")
    conditions_value, condition_key = _pick(checker, config, (), "condition", "conditions")
    actions_value, action_key = _pick(checker, config, (), "action", "actions")
    if trigger_key is None:
        checker.error((), "required key missing: triggers (or trigger)")
    if action_key is None:
        checker.error((), "required key missing: actions (or action)")
    mode = config.get("mode", "single")
    if mode not in MODES:
        checker.error(("mode",), f"expected one of: {', '.join(MODES)}")
    max_runs = config.get("max", DEFAULT_MAX_RUNS)
    if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
        checker.error(("max",), "expected a whole number of at least 1")
        max_runs = DEFAULT_MAX_RUNS
    max_exceeded = str(config.get("max_exceeded", "WARNING")).upper()
    if max_exceeded not in LOG_LEVELS:
        checker.error(("max_exceeded",), f"expected one of: {', '.join(LOG_LEVELS)}")
    initial_state = config.get("initial_state")
    if initial_state is not None and not isinstance(initial_state, bool):
        checker.error(("initial_state",), "expected boolean")
    stored = DEFAULT_STORED_TRACES
    trace = config.get("trace")
    if trace is not None and checker.mapping(trace, ("trace",)):
        for name in trace:
            if name != "stored_traces":
                checker.error(("trace", str(name)), "unknown key")
        stored = trace.get("stored_traces", DEFAULT_STORED_TRACES)
        if isinstance(stored, bool) or not isinstance(stored, int) or stored < 1:
            checker.error(("trace", "stored_traces"), "expected a whole number of at least 1")
            stored = DEFAULT_STORED_TRACES
    variables: dict[str, Any] | None = None
    for name in ("variables", "trigger_variables"):
        value = config.get(name)
        if value is not None and checker.mapping(value, (name,)):
            checker.templates(value, (name,))
            if name == "variables":
                variables = dict(value)
    trigger_variables = config.get("trigger_variables")
    triggers = validate_triggers(checker, triggers_value, (trigger_key,), "trigger") if trigger_key else []
    conditions = (
        validate_conditions(checker, conditions_value, (condition_key,), "condition") if condition_key else []
    )
    actions = validate_sequence(checker, actions_value, (action_key,), "action") if action_key else []
    if checker.errors:
        return None, checker.errors + checker.warnings
    alias = config.get("alias")
    auto_id = config.get("id")
    spec = AutomationSpec(
        key=key,
        id=str(auto_id) if auto_id is not None else None,
        alias=str(alias) if alias is not None else key,
        description=str(config.get("description") or ""),
        mode=str(mode),
        max=max_runs,
        max_exceeded=max_exceeded,
        initial_state=initial_state,
        stored_traces=stored,
        variables=variables,
        trigger_variables=dict(trigger_variables) if isinstance(trigger_variables, Mapping) else None,
        triggers=triggers,
        conditions=conditions,
        actions=actions,
        fingerprint=fingerprint(config),
        file=where.file,
        line=where.line,
        raw=config,
        blueprint=blueprint,
    )
    return spec, list(checker.warnings)
