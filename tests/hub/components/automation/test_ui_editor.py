"""The visual editor's model and the readable trace, without a hub."""

from __future__ import annotations

from typing import Any

from multidict import MultiDict

from hub.components.automation.strings import translator
from hub.components.automation.ui_blueprint import bilingual, yaml_problem
from hub.components.automation.ui_editor import canonical, from_form, to_config, to_rows
from hub.components.automation.ui_trace import describe_trace

SIMPLE: dict[str, Any] = {
    "id": "lamp_on",
    "alias": "เปิดไฟ",
    "trigger": [
        {"platform": "state", "entity_id": ["binary_sensor.door"], "to": "on", "for": {"minutes": 5}}
    ],
    "condition": [{"condition": "state", "entity_id": "input_boolean.armed", "state": "on"}],
    "action": [
        {"service": "light.turn_on", "target": {"entity_id": "light.lamp"}, "data": {"brightness": 200}},
        {"delay": "00:01:00"},
    ],
}


def test_old_and_new_spellings_round_trip_through_the_rows() -> None:
    editor = to_rows(SIMPLE)
    assert editor is not None
    assert [r.kind for r in editor.rows["t"]] == ["state"]
    assert editor.rows["t"][0].values["for"] == "00:05:00"
    rebuilt = to_config(editor)
    assert rebuilt["triggers"][0] == {
        "trigger": "state",
        "entity_id": "binary_sensor.door",
        "to": "on",
        "for": "00:05:00",
    }
    assert rebuilt["actions"][0]["data"] == {"brightness": 200}
    assert canonical(rebuilt) == canonical(SIMPLE)


def test_parts_the_editor_cannot_show_send_it_to_yaml() -> None:
    with_choose = {**SIMPLE, "action": [{"choose": [{"conditions": "{{ true }}", "sequence": []}]}]}
    assert to_rows(with_choose) is None
    # A key on a trigger that the rows do not carry would be dropped: refused too.
    odd = {**SIMPLE, "trigger": [{**SIMPLE["trigger"][0], "not_from": "unavailable"}]}
    assert to_rows(odd) is None
    assert to_rows({"id": "x", "use_blueprint": {"path": "sos_alert.yaml"}}) is None


def test_the_form_adds_removes_and_checks_rows() -> None:
    form = MultiDict(
        [
            ("id", "Bad Id"),
            ("alias", ""),
            ("t-count", "2"),
            ("t-0-kind", "sos_press"),
            ("t-0-entity_id", "sos.gate"),
            ("t-1-kind", "time"),
            ("t-1-at", "25:99"),
            ("c-count", "0"),
            ("a-count", "1"),
            ("a-0-kind", "service"),
            ("a-0-action", "lightturnon"),
            ("op", "save"),
        ]
    )
    editor, op = from_form(form, new=True)
    assert op == "save"
    assert set(editor.problems) == {"id", "alias"}
    assert editor.rows["t"][1].problems["at"].key == "err.time"
    assert editor.rows["a"][0].problems["action"].key == "err.action_name"
    removed, _op = from_form(MultiDict([*list(form.items())[:-1], ("op", "del-t-0")]), new=True)
    assert [r.kind for r in removed.rows["t"]] == ["time"]
    added, _op = from_form(MultiDict([*list(form.items())[:-1], ("op", "add-c")]), new=True)
    assert [r.kind for r in added.rows["c"]] == ["state"] and not added.problems


def test_yaml_errors_carry_their_line_and_bilingual_labels_split() -> None:
    _value, problem = yaml_problem("a: 1\nb: [\n")
    assert problem is not None and problem.key == "err.yaml" and problem.values["line"] == 3
    assert bilingual("ปุ่ม SOS / SOS button", "th") == "ปุ่ม SOS"
    assert bilingual("ปุ่ม SOS / SOS button", "en") == "SOS button"
    assert bilingual("only one", "th") == "only one"


def test_a_trace_reads_as_steps_in_thai() -> None:
    trace = {
        "run_id": "r1",
        "script_execution": "error",
        "error": "action/1: camera offline",
        "trigger": {
            "platform": "event",
            "event": {"event_type": "sos_pressed", "data": {"entity_id": "sos.gate"}},
        },
        "steps": [
            {"path": "action/0", "timestamp": 1.0, "result": {"action": "incident.open"}, "error": None},
            {"path": "action/1", "timestamp": 2.0, "result": {"result": False}, "error": None},
            {"path": "action/1/then/0", "timestamp": 3.0, "result": None, "error": "camera offline"},
        ],
    }
    config = {
        "actions": [
            {"alias": "เปิดเหตุ SOS / open the SOS incident", "action": "incident.open"},
            {"if": "{{ x }}", "then": [{"action": "camera.snapshot"}]},
        ]
    }
    readable = describe_trace(
        trace, config, translator("th"), "th", lambda e: {"sos.gate": "ปุ่มประตู"}.get(e, e)
    )
    assert readable["trigger"] == "กดปุ่ม SOS ปุ่มประตู"
    assert readable["execution"] == "เกิดข้อผิดพลาด"
    steps = readable["steps"]
    assert [(s["number"], s["title"]) for s in steps] == [
        ("1", "เปิดเหตุ SOS"),
        ("2", "ถ้า…แล้ว"),
        ("2.1", "สั่งงาน"),
    ]
    assert steps[1]["result"] == "ไม่ผ่าน"
    assert steps[2]["failed"] and steps[2]["code"] == "camera.snapshot"
