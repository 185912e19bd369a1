"""The visual automation editor: trigger → condition → action rows, as a plain HTML form.

It covers what the shipped blueprints use (an SOS press, state and numeric
state changes, events, sun and time triggers; state, trigger, time and
template conditions; action calls with a target and data, delays).  An
automation with anything else (``choose``, nested sequences, templates in odd
places) is edited as YAML: :func:`to_rows` returns None for it, found by a
round trip, so the visual editor can never drop a part it does not show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from hub.components.automation.durations import parse_period, parse_time_of_day
from hub.components.automation.ui_blueprint import ID_RE, Problem, yaml_problem

if TYPE_CHECKING:
    from multidict import MultiMapping

__all__ = (
    "Row",
    "Editor",
    "FIELDS",
    "SECTIONS",
    "to_rows",
    "to_config",
    "from_form",
    "canonical",
)

#: Each row kind's fields: (name, widget).  Widgets: entities (many), entity (one),
#: text, duration, time, number, yaml, action, sun, mode.
FIELDS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "t": {
        "sos_press": [("entity_id", "entity_sos"), ("id", "text")],
        "state": [
            ("entity_id", "entities"),
            ("from", "text"),
            ("to", "text"),
            ("for", "duration"),
            ("id", "text"),
        ],
        "numeric_state": [
            ("entity_id", "entities"),
            ("attribute", "text"),
            ("above", "number"),
            ("below", "number"),
            ("id", "text"),
        ],
        "event": [("event_type", "text"), ("id", "text")],
        "sun": [("event", "sun"), ("offset", "duration_neg"), ("id", "text")],
        "time": [("at", "time"), ("id", "text")],
    },
    "c": {
        "state": [("entity_id", "entities"), ("state", "text")],
        "trigger": [("id", "text")],
        "time": [("after", "time"), ("before", "time")],
        "template": [("value_template", "text")],
    },
    "a": {
        "service": [("action", "action"), ("entity_id", "entities"), ("data", "yaml"), ("alias", "text")],
        "delay": [("delay", "duration"), ("alias", "text")],
    },
}
#: Section prefix → the config key it writes.
SECTIONS = {"t": "triggers", "c": "conditions", "a": "actions"}
MODES = ("single", "restart", "queued", "parallel")


@dataclass
class Row:
    """One trigger, condition or action: its kind and its fields as the form holds them."""

    kind: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)


@dataclass
class Editor:
    """The whole automation as the editor shows it."""

    id: str = ""
    alias: str = ""
    description: str = ""
    mode: str = "single"
    rows: dict[str, list[Row]] = field(default_factory=lambda: {"t": [], "c": [], "a": []})
    problems: dict[str, Problem] = field(default_factory=dict)

    @property
    def has_problems(self) -> bool:
        return bool(self.problems) or any(r.problems for rows in self.rows.values() for r in rows)


# -- config → rows -----------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _ids(value: Any) -> list[str]:
    return [str(v) for v in _list(value)]


def _section(config: Mapping[str, Any], new: str, old: str) -> list[Any]:
    return _list(config.get(new, config.get(old)))


def _period_text(value: Any) -> str:
    """A duration as ``HH:MM:SS`` (a mapping like {minutes: 5} or seconds become that)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | int | float):
        seconds = parse_period(value)
        if isinstance(seconds, int | float):
            sign = "-" if seconds < 0 else ""
            total = int(abs(seconds))
            return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
    return str(value)


def _trigger_row(t: Mapping[str, Any]) -> Row | None:
    kind = t.get("trigger", t.get("platform"))
    tid = {"id": str(t["id"])} if "id" in t else {}
    if kind == "event" and t.get("event_type") == "sos_pressed":
        data = t.get("event_data")
        if isinstance(data, Mapping) and set(data) == {"entity_id"} and isinstance(data["entity_id"], str):
            return Row("sos_press", {"entity_id": data["entity_id"], **tid})
        return None
    if kind in ("state", "numeric_state"):
        values: dict[str, Any] = {"entity_id": _ids(t.get("entity_id")), **tid}
        names = ("from", "to") if kind == "state" else ("attribute", "above", "below")
        for name in names:
            if name in t:
                values[name] = str(t[name])
        if kind == "state" and "for" in t:
            values["for"] = _period_text(t["for"])
        return Row(kind, values)
    if kind == "event":
        return Row("event", {"event_type": str(t.get("event_type", "")), **tid})
    if kind == "sun":
        values = {"event": str(t.get("event", "sunset")), **tid}
        if "offset" in t:
            values["offset"] = _period_text(t["offset"])
        return Row("sun", values)
    if kind == "time" and isinstance(t.get("at"), str):
        return Row("time", {"at": t["at"], **tid})
    return None


def _condition_row(c: Any) -> Row | None:
    if isinstance(c, str):
        return Row("template", {"value_template": c})
    if not isinstance(c, Mapping):
        return None
    kind = c.get("condition")
    if kind == "state":
        return Row("state", {"entity_id": _ids(c.get("entity_id")), "state": str(c.get("state", ""))})
    if kind == "trigger":
        return Row("trigger", {"id": str(c.get("id", ""))})
    if kind == "time":
        return Row("time", {k: str(c[k]) for k in ("after", "before") if k in c})
    if kind == "template":
        return Row("template", {"value_template": str(c.get("value_template", ""))})
    return None


def _action_row(a: Any) -> Row | None:
    if not isinstance(a, Mapping):
        return None
    alias = {"alias": str(a["alias"])} if "alias" in a else {}
    if "delay" in a:
        return Row("delay", {"delay": _period_text(a["delay"]), **alias})
    name = a.get("action", a.get("service"))
    if isinstance(name, str):
        target = a.get("target") or {}
        entity_ids = _ids(target.get("entity_id")) if isinstance(target, Mapping) else []
        data = a.get("data")
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False) if data else ""
        return Row("service", {"action": name, "entity_id": entity_ids, "data": text, **alias})
    return None


def to_rows(config: Mapping[str, Any]) -> Editor | None:
    """Return the editor's view of ``config``, or None if it holds parts the editor cannot show."""
    if "use_blueprint" in config:
        return None
    editor = Editor(
        id=str(config.get("id", "")),
        alias=str(config.get("alias", "")),
        description=str(config.get("description", "")),
        mode=str(config.get("mode", "single")),
    )
    for prefix, items, build in (
        ("t", _section(config, "triggers", "trigger"), _trigger_row),
        ("c", _section(config, "conditions", "condition"), _condition_row),
        ("a", _section(config, "actions", "action"), _action_row),
    ):
        for item in items:
            row = build(item)
            if row is None:
                return None
            editor.rows[prefix].append(row)
    rebuilt = to_config(editor)
    return editor if canonical(rebuilt) == canonical(config) else None


# -- rows → config -----------------------------------------------------------------


def _one_or_many(ids: list[str]) -> str | list[str]:
    return ids[0] if len(ids) == 1 else ids


def _number(text: str) -> int | float | str:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _trigger_config(row: Row) -> dict[str, Any]:
    v = row.values
    out: dict[str, Any]
    if row.kind == "sos_press":
        out = {
            "trigger": "event",
            "event_type": "sos_pressed",
            "event_data": {"entity_id": v.get("entity_id", "")},
        }
    elif row.kind in ("state", "numeric_state"):
        out = {"trigger": row.kind, "entity_id": _one_or_many(list(v.get("entity_id") or []))}
        for name in ("from", "to", "for", "attribute"):
            if v.get(name):
                out[name] = v[name]
        for name in ("above", "below"):
            if v.get(name) not in (None, ""):
                out[name] = _number(str(v[name]))
    elif row.kind == "event":
        out = {"trigger": "event", "event_type": v.get("event_type", "")}
    elif row.kind == "sun":
        out = {"trigger": "sun", "event": v.get("event") or "sunset"}
        if v.get("offset"):
            out["offset"] = v["offset"]
    else:
        out = {"trigger": "time", "at": v.get("at", "")}
    if v.get("id"):
        out["id"] = v["id"]
    return out


def _condition_config(row: Row) -> Any:
    v = row.values
    if row.kind == "state":
        return {
            "condition": "state",
            "entity_id": _one_or_many(list(v.get("entity_id") or [])),
            "state": v.get("state", ""),
        }
    if row.kind == "trigger":
        return {"condition": "trigger", "id": v.get("id", "")}
    if row.kind == "time":
        return {"condition": "time", **{k: v[k] for k in ("after", "before") if v.get(k)}}
    return {"condition": "template", "value_template": v.get("value_template", "")}


def _action_config(row: Row) -> dict[str, Any]:
    v = row.values
    out: dict[str, Any] = {"alias": v["alias"]} if v.get("alias") else {}
    if row.kind == "delay":
        out["delay"] = v.get("delay", "")
        return out
    out["action"] = v.get("action", "")
    ids = list(v.get("entity_id") or [])
    if ids:
        out["target"] = {"entity_id": _one_or_many(ids)}
    data = v.get("data")
    if isinstance(data, str) and data.strip():
        parsed = yaml.safe_load(data)
        if parsed:
            out["data"] = parsed
    elif isinstance(data, Mapping) and data:
        out["data"] = dict(data)
    return out


def to_config(editor: Editor) -> dict[str, Any]:
    """Return the automation config the editor's rows describe (new-style keys)."""
    out: dict[str, Any] = {"id": editor.id, "alias": editor.alias}
    if editor.description:
        out["description"] = editor.description
    if editor.mode and editor.mode != "single":
        out["mode"] = editor.mode
    out["triggers"] = [_trigger_config(r) for r in editor.rows["t"]]
    if editor.rows["c"]:
        out["conditions"] = [_condition_config(r) for r in editor.rows["c"]]
    out["actions"] = [_action_config(r) for r in editor.rows["a"]]
    return out


_RENAMES = {
    "platform": "trigger",
    "service": "action",
    "trigger": "triggers",
    "condition": "conditions",
    "action": "actions",
}


def canonical(config: Any, *, top: bool = True) -> Any:
    """Normalise a config for comparison: new-style keys, one-item lists, durations as text."""
    if isinstance(config, Mapping):
        out: dict[str, Any] = {}
        for key, value in config.items():
            if key in (("trigger", "condition", "action") if top else ("platform", "service")):
                key = _RENAMES[key]
            if key == "mode" and top and value == "single":
                continue
            if key in ("for", "offset", "delay") and not isinstance(value, str | list):
                value = _period_text(value)
            if key == "entity_id":
                value = sorted(_ids(value))
            elif key in ("above", "below", "to", "from", "state", "at", "id") and not isinstance(
                value, list | Mapping
            ):
                value = str(value)
            out[str(key)] = canonical(value, top=False)
        if top:
            for key in ("triggers", "conditions", "actions"):
                if key in out:
                    out[key] = _list(out[key])
            if out.get("conditions") == []:
                del out["conditions"]
        return out
    if isinstance(config, list):
        return [canonical(v, top=False) for v in config]
    return config


# -- form → rows --------------------------------------------------------------------


def _check(row: Row, section: str) -> None:
    """Fill ``row.problems`` with what is missing or malformed."""
    v = row.values
    for name, widget in FIELDS[section].get(row.kind, []):
        value = v.get(name)
        required = (widget == "entities" and section != "a") or (
            widget in ("entity_sos", "action", "time") and name in ("entity_id", "action", "at")
        )
        if required and not value:
            row.problems[name] = Problem("err.required")
        elif widget in ("duration", "duration_neg") and value:
            try:
                parse_period(value, allow_negative=widget == "duration_neg")
            except ValueError as err:
                row.problems[name] = Problem("err.duration", detail=str(err))
        elif widget == "time" and value:
            try:
                parse_time_of_day(value)
            except ValueError as err:
                row.problems[name] = Problem("err.time", detail=str(err))
        elif widget == "number" and value:
            if not isinstance(_number(value), int | float):
                row.problems[name] = Problem("err.number")
        elif widget == "yaml" and value:
            parsed, problem = yaml_problem(value)
            if problem is not None:
                row.problems[name] = problem
            elif parsed is not None and not isinstance(parsed, Mapping):
                row.problems[name] = Problem("err.mapping")
    if section == "a" and row.kind == "service" and v.get("action") and "." not in str(v["action"]):
        row.problems["action"] = Problem("err.action_name")
    if section == "a" and row.kind == "delay" and not v.get("delay"):
        row.problems["delay"] = Problem("err.required")
    if section == "t" and row.kind == "event" and not v.get("event_type"):
        row.problems["event_type"] = Problem("err.required")


def from_form(form: MultiMapping[Any], *, new: bool) -> tuple[Editor, str]:
    """Read the editor form; return the editor and the button pressed (``op``).

    ``op`` is ``save``, ``add-t``/``add-c``/``add-a``, ``del-<section>-<n>``
    or ``refresh`` (a row's kind changed).  Rows are checked only on save.
    """
    op = str(form.get("op") or "refresh")
    editor = Editor(
        id=str(form.get("id") or "").strip(),
        alias=str(form.get("alias") or "").strip(),
        description=str(form.get("description") or "").strip(),
        mode=str(form.get("mode") or "single"),
    )
    if editor.mode not in MODES:
        editor.mode = "single"
    for section, kinds in FIELDS.items():
        count = _int(form.get(f"{section}-count"))
        for i in range(count):
            if op == f"del-{section}-{i}":
                continue
            kind = str(form.get(f"{section}-{i}-kind") or "")
            if kind not in kinds:
                kind = next(iter(kinds))
            row = Row(kind)
            for name, widget in kinds[kind]:
                key = f"{section}-{i}-{name}"
                if widget == "entities":
                    row.values[name] = [str(x).strip() for x in form.getall(key, []) if str(x).strip()]
                else:
                    row.values[name] = str(form.get(key) or "").strip()
            editor.rows[section].append(row)
        if op == f"add-{section}":
            editor.rows[section].append(Row(next(iter(kinds))))
    if op == "save":
        if new and not ID_RE.fullmatch(editor.id):
            editor.problems["id"] = Problem("err.id")
        if not editor.alias:
            editor.problems["alias"] = Problem("err.required")
        if not editor.rows["t"]:
            editor.problems["t"] = Problem("err.no_trigger")
        if not editor.rows["a"]:
            editor.problems["a"] = Problem("err.no_action")
        for section, rows in editor.rows.items():
            for row in rows:
                _check(row, section)
    return editor, op


def _int(value: Any) -> int:
    try:
        return max(0, min(50, int(str(value))))
    except ValueError:
        return 0
