"""The CCOC command panel's forms: one per allowlisted command, checked on the server.

An officer picks *which light* and *for how long*, *which camera* and *which
preset*, from what the hub's registry lists, instead of typing JSON.  The
page posts the form's values as ``fields``; :func:`parse` checks them and
builds the command's ``data`` (the same shape the JSON API takes), or raises
:class:`FormError` naming each bad field in Thai or English.  A command with
no form here (added later to the allowlist) gets the JSON box as before.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.i18n import register_pairs

__all__ = (
    "Field",
    "CommandForm",
    "Choices",
    "FormError",
    "FORMS",
    "NOT_IN_PANEL",
    "forms_for",
    "choices_for",
    "parse",
)

Kind = Literal["light", "camera", "incident", "number", "percent", "text", "textarea"]


@dataclass(frozen=True)
class Field:
    """One input of a command's form."""

    name: str
    kind: Kind
    th: str
    en: str
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    default: str = ""
    max_length: int = 2000
    #: Lights may be several at once (``entity_id`` a list); cameras and incidents are one.
    multiple: bool = False

    def label(self, lang: str) -> str:
        """Return the label in ``lang``."""
        return self.th if lang == "th" else self.en


@dataclass(frozen=True)
class CommandForm:
    """The form of one command; no fields and ``json`` set means the JSON box."""

    command: str
    th: str
    en: str
    fields: tuple[Field, ...] = ()
    json: bool = False

    def label(self, lang: str) -> str:
        """Return the command's name in ``lang``."""
        return self.th if lang == "th" else self.en


def _lights(th: str = "ไฟ", en: str = "Lights") -> Field:
    return Field("entity_id", "light", th, en, multiple=True)


_INCIDENT = Field("incident_id", "incident", "เหตุ", "Incident")

FORMS: dict[str, CommandForm] = {
    "light.turn_on": CommandForm(
        "light.turn_on",
        "เปิดไฟ",
        "Turn lights on",
        (_lights(), Field("brightness_pct", "percent", "ความสว่าง (%)", "Brightness (%)", required=False)),
    ),
    "light.turn_off": CommandForm("light.turn_off", "ปิดไฟ", "Turn lights off", (_lights(),)),
    "light.flash": CommandForm(
        "light.flash",
        "ไฟกะพริบ",
        "Flash lights",
        (
            _lights(),
            Field(
                "seconds",
                "number",
                "ระยะเวลา (วินาที)",
                "Duration (seconds)",
                minimum=1,
                maximum=3600,
                default="60",
            ),
        ),
    ),
    "camera.ptz_preset": CommandForm(
        "camera.ptz_preset",
        "หันกล้องไปจุดที่ตั้งไว้",
        "Move a camera to a preset",
        (
            Field("entity_id", "camera", "กล้อง", "Camera"),
            Field("preset", "text", "จุดที่ตั้งไว้ (preset)", "Preset", max_length=100),
        ),
    ),
    "camera.snapshot": CommandForm(
        "camera.snapshot",
        "ถ่ายภาพจากกล้อง",
        "Take a snapshot",
        (
            Field("entity_id", "camera", "กล้อง", "Camera"),
            Field(
                "incident_id", "incident", "แนบกับเหตุ (ถ้ามี)", "Attach to incident (optional)", required=False
            ),
        ),
    ),
    "line.send": CommandForm(
        "line.send",
        "ส่งข้อความ LINE",
        "Send a LINE message",
        (
            Field(
                "to",
                "text",
                "ถึงกลุ่ม (ชื่อกลุ่มในฮับ เช่น big6)",
                "To group (the hub's alias, e.g. big6)",
                max_length=64,
            ),
            Field("message", "textarea", "ข้อความ", "Message", max_length=2000),
        ),
    ),
    "incident.ack": CommandForm(
        "incident.ack",
        "รับทราบเหตุ",
        "Acknowledge an incident",
        (_INCIDENT, Field("text", "text", "หมายเหตุ (ถ้ามี)", "Note (optional)", required=False)),
    ),
    "incident.dispatch": CommandForm(
        "incident.dispatch",
        "สั่งการหน่วย",
        "Dispatch a unit",
        (
            _INCIDENT,
            Field("unit", "text", "หน่วยที่ส่งไป", "Unit sent", max_length=200),
            Field("text", "text", "หมายเหตุ (ถ้ามี)", "Note (optional)", required=False),
        ),
    ),
    "incident.note": CommandForm(
        "incident.note",
        "บันทึกในเหตุ",
        "Add a note",
        (_INCIDENT, Field("text", "textarea", "บันทึก", "Note")),
    ),
    "incident.close": CommandForm(
        "incident.close",
        "ปิดเหตุ",
        "Close an incident",
        (_INCIDENT, Field("text", "text", "สรุปผล (ถ้ามี)", "Outcome (optional)", required=False)),
    ),
    "sos.drill": CommandForm(
        "sos.drill",
        "เริ่มการฝึกซ้อม SOS",
        "Start an SOS drill",
        (
            Field(
                "entity_id",
                "text",
                "ปุ่ม SOS (เว้นว่าง = ปุ่มแรกของฮับ)",
                "SOS button (empty: the hub's first)",
                required=False,
                max_length=100,
            ),
        ),
    ),
}
#: Allowlisted commands the panel never offers: a live view opens only through a reasoned
#: view grant (``POST /api/ccoc/views``), never as a bare command.
NOT_IN_PANEL = frozenset({"camera.live"})


def forms_for(commands: Iterable[str]) -> list[CommandForm]:
    """Return a form for each command the panel offers, the JSON box for one without a form here."""
    return [FORMS.get(c) or CommandForm(c, c, c, json=True) for c in commands if c not in NOT_IN_PANEL]


@dataclass
class Choices:
    """What the forms offer: (value, name) pairs from the hub's registry and its open incidents."""

    lights: list[tuple[str, str]] = field(default_factory=list)
    cameras: list[tuple[str, str]] = field(default_factory=list)
    incidents: list[tuple[str, str]] = field(default_factory=list)

    def of(self, kind: str) -> list[tuple[str, str]]:
        """Return the choices of a select kind."""
        return {"light": self.lights, "camera": self.cameras, "incident": self.incidents}.get(kind, [])


def choices_for(registry: Mapping[str, Any] | None, incidents: Sequence[Mapping[str, Any]]) -> Choices:
    """Build the choices from a hub's registry (devices, cameras) and its open incidents."""
    registry = registry if isinstance(registry, Mapping) else {}

    def pairs(items: Any, prefix: str) -> list[tuple[str, str]]:
        out = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue  # a hub's registry is not trusted to be well formed
            entity = item.get("entity_id")
            if isinstance(entity, str) and entity.startswith(prefix):
                name = item.get("name")
                out.append((entity, name if isinstance(name, str) and name else entity))
        return sorted(out)

    return Choices(
        lights=pairs(registry.get("devices"), "light."),
        cameras=pairs(registry.get("cameras"), "camera."),
        incidents=[
            (str(i["id"]), str(i.get("title") or i.get("kind") or i["id"]))
            for i in incidents
            if isinstance(i.get("id"), str)
        ],
    )


#: (Thai, English) of each problem.
_PROBLEMS: dict[str, tuple[str, str]] = {
    "choose": ("ต้องเลือก", "choose one"),
    "required": ("ต้องกรอก", "required"),
    "not_listed": ("“{value}” ไม่มีในรายการของฮับนี้", "{value!r} is not one of this hub's"),
    "number": ("ต้องเป็นตัวเลข {minimum:g}–{maximum:g}", "a number {minimum:g}–{maximum:g}"),
    "too_long": ("ยาวเกิน {max} ตัวอักษร", "longer than {max} characters"),
}
# The forms' words join the one catalogue (hub.i18n): command names, field labels, problems.
register_pairs(
    "station.command_forms",
    {
        **{f"{name}": (form.th, form.en) for name, form in FORMS.items()},
        **{f"{name}.{fld.name}": (fld.th, fld.en) for name, form in FORMS.items() for fld in form.fields},
        **{f"problem.{key}": pair for key, pair in _PROBLEMS.items()},
        "choose": ("— เลือก —", "— choose —"),
        "no_open_incident": ("ฮับนี้ไม่มีเหตุที่เปิดอยู่", "No open incident at this hub"),
    },
    prefix="station.command.",
)
_ENTITY = {
    "light": re.compile(r"^light\.[a-z0-9_]{1,100}$"),
    "camera": re.compile(r"^camera\.[a-z0-9_]{1,100}$"),
}
_INCIDENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FormError(ValueError):
    """Bad form values: ``problems`` are (field, problem key, values)."""

    def __init__(self, form: CommandForm, problems: list[tuple[Field, str, dict[str, Any]]]) -> None:
        self.form = form
        self.problems = problems
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        """Return every problem, each with its field's label, in ``lang``."""
        parts = []
        for fld, key, values in self.problems:
            th, en = _PROBLEMS[key]
            parts.append(f"{fld.label(lang)}: {(th if lang == 'th' else en).format(**values)}")
        return "; ".join(parts)


def _values(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw.strip()] if raw.strip() else []
    if isinstance(raw, list):
        return [v.strip() for v in raw if isinstance(v, str) and v.strip()]
    return []


def parse(command: str, values: Mapping[str, Any], choices: Choices) -> dict[str, Any]:
    """Return the command's ``data`` from a form's ``values``, or raise :class:`FormError`."""
    form = FORMS[command]
    data: dict[str, Any] = {}
    problems: list[tuple[Field, str, dict[str, Any]]] = []
    for fld in form.fields:
        given = _values(values.get(fld.name))
        if not given:
            if fld.required:
                problems.append(
                    (fld, "choose" if fld.kind in ("light", "camera", "incident") else "required", {})
                )
            continue
        if fld.kind in ("light", "camera", "incident"):
            listed = {v for v, _name in choices.of(fld.kind)}
            picked = given if fld.multiple else given[:1]
            for value in picked:
                pattern = _ENTITY.get(fld.kind, _INCIDENT_ID)
                # With a list from the registry only its items; without one, a well-formed id.
                if (listed and value not in listed) or (not listed and not pattern.match(value)):
                    problems.append((fld, "not_listed", {"value": value}))
                    break
            else:
                data[fld.name] = picked if fld.multiple and len(picked) > 1 else picked[0]
        elif fld.kind in ("number", "percent"):
            low = fld.minimum if fld.minimum is not None else (1 if fld.kind == "percent" else 0)
            high = fld.maximum if fld.maximum is not None else 100
            try:
                number = float(given[0])
            except ValueError:
                number = math.nan
            if not low <= number <= high:  # NaN fails too
                problems.append((fld, "number", {"minimum": low, "maximum": high}))
            elif fld.kind == "percent":
                # The hub's light service takes 0–255; officers think in percent.
                data["brightness"] = max(1, round(number * 255 / 100))
            else:
                data[fld.name] = int(number) if number.is_integer() else number
        else:
            text = given[0]
            if len(text) > fld.max_length:
                problems.append((fld, "too_long", {"max": fld.max_length}))
            else:
                data[fld.name] = text
    if problems:
        raise FormError(form, problems)
    return data
