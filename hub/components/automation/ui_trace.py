"""A run's trace as a readable list of steps, in Thai or English, instead of raw JSON.

Each step's path (``action/2/then/0``) is looked up in the automation's own
config so the list shows the step's alias when it has one, else what kind of
step it is ("call light.turn_on", "wait 00:05:00"), numbered like the config
(``3.1``).  The raw JSON stays one click away on the page for whoever needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.components.automation.ui_blueprint import bilingual

__all__ = ("describe_trace", "EXECUTIONS")

#: Every ``script_execution`` value a trace may hold (the catalogue has ``automation.exec.<value>``).
EXECUTIONS = (
    "running",
    "finished",
    "failed_conditions",
    "failed_single",
    "failed_max_runs",
    "error",
    "aborted",
    "cancelled",
    "stopped",
)
_SECTION_ALIASES = {
    "action": ("actions", "action"),
    "condition": ("conditions", "condition"),
    "trigger": ("triggers", "trigger"),
}
#: Step keys in the order they decide a step's kind.
_STEP_KINDS = (
    "action",
    "service",
    "delay",
    "wait_template",
    "wait_for_trigger",
    "event",
    "variables",
    "condition",
    "if",
    "choose",
    "repeat",
    "parallel",
    "sequence",
    "stop",
)


def _node(config: Any, path: str) -> tuple[Any, str]:
    """Return the config node at a trace path and its number (``3.1``)."""
    parts = path.split("/")
    node: Any = config
    numbers: list[str] = []
    for i, part in enumerate(parts):
        if isinstance(node, Mapping):
            if i == 0 and part in _SECTION_ALIASES:
                new, old = _SECTION_ALIASES[part]
                node = node.get(new, node.get(old))
            elif part == "choose" and "choose" in node:
                node = node["choose"]
            elif part in node:
                node = node[part]
            else:
                return None, ".".join(numbers)
        elif isinstance(node, list) and part.isdigit():
            index = int(part)
            numbers.append(str(index + 1))
            node = node[index] if index < len(node) else None
        else:
            return None, ".".join(numbers)
    return node, ".".join(numbers)


def _step_title(node: Any, tr: Callable[..., str], lang: str) -> tuple[str, str]:
    """Return (title, code) of a step: its alias, or its kind; ``code`` is the technical name shown beside it."""
    if isinstance(node, str):
        return tr("step.template"), ""
    if not isinstance(node, Mapping):
        return tr("step.other"), ""
    kind = next((k for k in _STEP_KINDS if k in node), "other")
    code = ""
    if kind in ("action", "service"):
        kind, code = "action", str(node.get("action", node.get("service", "")))
    elif kind == "event":
        code = str(node.get("event", ""))
    elif kind == "delay":
        code = str(node.get("delay", ""))
    elif kind == "condition":
        code = str(node.get("condition", ""))
    alias = node.get("alias")
    if isinstance(alias, str) and alias.strip():
        return bilingual(alias, lang), code
    return tr(f"step.{kind}"), code


def _result_text(result: Any, tr: Callable[..., str]) -> str:
    if not isinstance(result, Mapping):
        return ""
    if result.get("enabled") is False:
        return tr("result.skipped")
    if "result" in result:
        return tr("result.passed") if result["result"] else tr("result.not_passed")
    if "choice" in result:
        choice = str(result["choice"])
        return tr("result.default") if choice == "default" else tr("result.choice", n=int(choice) + 1)
    if "delay" in result:
        return tr("result.waited")
    if "stop" in result:
        return tr("result.stopped")
    if "variables" in result:
        return tr("result.variables")
    return ""


def _trigger_text(trigger: Mapping[str, Any], tr: Callable[..., str], names: Callable[[str], str]) -> str:
    platform = trigger.get("platform")
    if platform is None and trigger.get("id") == "manual":
        return tr("trig.manual")
    entity = trigger.get("entity_id")
    event = trigger.get("event") if isinstance(trigger.get("event"), Mapping) else {}
    if platform == "event":
        event_type = str(event.get("event_type", "")) if event else ""
        data = event.get("data") if event else None
        who = data.get("entity_id") if isinstance(data, Mapping) else None
        if event_type == "sos_pressed" and isinstance(who, str):
            return tr("trig.sos_press", name=names(who))
        return tr("trig.event", event=event_type)
    if platform in ("state", "numeric_state") and isinstance(entity, str):
        return tr("trig.state", name=names(entity))
    if platform in ("sun", "time", "time_pattern", "webhook", "template", "homeassistant"):
        return tr(f"trig.{platform}")
    return tr("trig.other")


def describe_trace(
    trace: Mapping[str, Any],
    config: Any,
    tr: Callable[..., str],
    lang: str,
    names: Callable[[str], str],
) -> dict[str, Any]:
    """Return the readable form of a trace: what started it, how it ended, and each step."""
    execution = str(trace.get("script_execution") or "running")
    trigger = trace.get("trigger")
    steps = []
    for step in trace.get("steps") or []:
        path = str(step.get("path", ""))
        node, number = _node(config, path)
        title, code = _step_title(node, tr, lang)
        if path.startswith("condition"):
            title = tr("step.condition") if not (isinstance(node, Mapping) and node.get("alias")) else title
        steps.append(
            {
                "number": number,
                "title": title,
                "code": code,
                "result": _result_text(step.get("result"), tr),
                "failed": bool(step.get("error")),
                "error": step.get("error") or "",
                "timestamp": step.get("timestamp"),
                "path": path,
            }
        )
    return {
        "run_id": trace.get("run_id"),
        "trigger": _trigger_text(trigger, tr, names) if isinstance(trigger, Mapping) else tr("trig.other"),
        "execution": tr(f"exec.{execution}") if execution in EXECUTIONS else tr("exec.other"),
        "execution_code": execution,
        "ok": execution == "finished",
        "error": trace.get("error") or "",
        "resumed": bool(trace.get("resumed")),
        "start": (trace.get("timestamp") or {}).get("start"),
        "steps": steps,
    }
