"""Bad input as a stable key, the field it is about and its values, said in Thai or English.

The manager, the CSV import and the service schemas all report problems
through :class:`Problem`, so a Thai page can say "มติข้อที่ 1 · ผู้รับผิดชอบ:
ต้องกรอก" where the API (and its English clients) keep
``resolutions[0].owner: required``.  Pydantic's own messages ("Input should
be a valid date…") never reach a page: :func:`from_validation` turns them
into problems first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from hub.core.errors import ServiceValidationError
from plugins.big6.const import RESOLUTION_STATUSES, SECTOR_LABELS, SECTORS

__all__ = ("Problem", "Refused", "describe", "field_label", "from_validation", "sector_choices")


def sector_choices(lang: str) -> str:
    """Return the six sectors as a reader would type them."""
    if lang == "th":
        return ", ".join(SECTOR_LABELS[s][0] for s in SECTORS)
    return ", ".join(SECTORS)


def _status_choices(lang: str) -> str:
    if lang == "th":
        return ", ".join(_STATUS_TH[s] for s in RESOLUTION_STATUSES)
    return ", ".join(RESOLUTION_STATUSES)


_STATUS_TH = {"open": "ยังไม่เริ่ม", "in_progress": "กำลังดำเนินการ", "done": "เสร็จแล้ว", "dropped": "ยกเลิก"}

#: key → (Thai, English); ``{value}`` is what was given, quoted by the template.
_TEXTS: dict[str, tuple[str, str]] = {
    "required": ("ต้องกรอก", "required"),
    "too_long": ("ยาวเกิน {max} ตัวอักษร", "longer than {max} characters"),
    "bad_date": (
        "ต้องเป็นวันที่ เช่น 2026-01-31 (ได้รับ “{value}”)",
        "expected a date like 2026-01-31, got {value!r}",
    ),
    "future_date": ("{value} ยังมาไม่ถึง", "{value} is in the future"),
    "due_before_meeting": ("ก่อนวันประชุม ({meeting})", "before the meeting ({meeting})"),
    "unknown_sector": (
        "ไม่รู้จักภาคส่วน “{value}” ใช้ได้: {choices_th}",
        "unknown sector {value!r}; use one of {choices_en}",
    ),
    "bad_count": ("ต้องเป็นจำนวนคน 0–1000", "expected a number of people 0–1000"),
    "bad_number": ("ต้องเป็นตัวเลข", "expected a number"),
    "bad_status": ("ต้องเป็น {statuses_th}", "one of {statuses_en}"),
    "bad_phone": (
        "ไม่ใช่เบอร์โทรศัพท์ (ใช้ตัวเลข ช่องว่าง - และ + นำหน้าได้เท่านั้น)",
        "not a phone number (digits, spaces, - and a leading + only)",
    ),
    "bad_line_user": (
        "ไม่ใช่ LINE user id (ตัว U ตามด้วยเลขฐานสิบหก 32 ตัว)",
        "not a LINE user id (U followed by 32 hex digits)",
    ),
    "no_member": ("ไม่พบสมาชิกนี้ในทำเนียบ", "no such member"),
    "no_such_member": ("ไม่พบสมาชิกนี้ในทำเนียบ", "no member {value!r}"),
    "no_such_meeting": ("ไม่พบการประชุมนี้", "no meeting {value!r}"),
    "no_such_resolution": ("ไม่พบมตินี้", "no resolution {value!r}"),
    "name_and_sector": ("ต้องกรอกชื่อและภาคส่วน", "name and sector are required"),
    "line_off": (
        "ยังไม่ได้เปิดใช้ LINE ในฮับนี้ จึงขอรหัสเชื่อม LINE ไม่ได้ (กรอก LINE user id เองได้)",
        "LINE linking is unavailable: the line integration is not set up on this hub",
    ),
    "unknown_field": ("ไม่รู้จักช่องนี้", "unknown field"),
    "invalid": ("ค่าไม่ถูกต้อง", "not valid"),
    "too_many": ("มากเกิน {max} รายการ", "more than {max} items"),
    # The CSV import.
    "csv_nul": ("ไม่ใช่ไฟล์ CSV แบบข้อความ (มีไบต์ NUL)", "not a text CSV file (it contains NUL bytes)"),
    "csv_encoding": (
        "ไฟล์ไม่ใช่ข้อความ UTF-8 หรือภาษาไทยแบบ Windows (cp874)",
        "the file is neither UTF-8 nor Thai Windows (cp874) text",
    ),
    "csv_too_big": ("ไฟล์ใหญ่เกิน {kb} KB", "file larger than {kb} KB"),
    "csv_malformed": ("ไฟล์ CSV ผิดรูปแบบ ({detail})", "malformed CSV: {detail}"),
    "csv_empty": ("ไฟล์ว่าง แถวแรกต้องเป็นชื่อคอลัมน์", "the file is empty; the first row must name the columns"),
    "csv_unknown_columns": (
        "ไม่รู้จักคอลัมน์ {columns} ใช้ได้: {expected}",
        "unknown column(s) {columns}; expected {expected}",
    ),
    "csv_missing_column": ("ไม่มีคอลัมน์ {column}", "column {column!r} is missing"),
    "csv_column_twice": ("มีชื่อคอลัมน์ซ้ำกัน", "a column is named twice"),
    "csv_too_many_rows": ("เกิน {max} แถว", "more than {max} rows"),
    "csv_cells": ("มี {n} ช่อง ต้องมี {expected} ช่อง", "{n} cells, expected {expected}"),
    "csv_duplicate": (
        "“{name}” ของ “{org}” มีอยู่แล้วในทำเนียบหรือซ้ำกับแถวก่อนหน้าในไฟล์นี้",
        "{name!r} of {org!r} is already in the directory or earlier in this file",
    ),
    "csv_no_members": ("ไม่มีสมาชิกในไฟล์", "no members in the file"),
}

#: Field (last part of a path) → (Thai, English) label for pages.
_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("ชื่อ-สกุล", "Name"),
    "sector": ("ภาคส่วน", "Sector"),
    "organisation": ("หน่วยงาน", "Organisation"),
    "phone": ("โทรศัพท์", "Phone"),
    "line_user_id": ("LINE user id", "LINE user id"),
    "member_id": ("สมาชิก", "Member"),
    "date": ("วันที่ประชุม", "Meeting date"),
    "title": ("หัวข้อ", "Title"),
    "agenda": ("วาระการประชุม", "Agenda"),
    "notes": ("บันทึก", "Notes"),
    "attendance": ("ผู้เข้าร่วม", "People present"),
    "resolutions": ("มติ", "Resolutions"),
    "text": ("มติ", "Resolution"),
    "owner": ("ผู้รับผิดชอบ", "Owner"),
    "owner_member_id": ("ผู้รับผิดชอบ", "Owner"),
    "due_date": ("กำหนดเสร็จ", "Due"),
    "status": ("สถานะ", "Status"),
    "note": ("ผลที่ได้", "What came of it"),
    "meeting_id": ("การประชุม", "Meeting"),
    "resolution_id": ("มติ", "Resolution"),
    "csv": ("ไฟล์ CSV", "CSV file"),
}
_PART = re.compile(r"([a-z_]+)(?:\[(\d+)\])?")


def field_label(field: str, lang: str) -> str:
    """Return ``resolutions[0].owner`` as "มติข้อที่ 1 · ผู้รับผิดชอบ", ``attendance.police`` as "ผู้เข้าร่วม (ตำรวจ)"."""
    th = lang == "th"
    parts: list[str] = []
    pieces = field.split(".")
    for i, piece in enumerate(pieces):
        if i > 0 and pieces[i - 1].startswith("attendance") and piece in SECTOR_LABELS:
            sector = SECTOR_LABELS[piece][0 if th else 1]
            parts[-1] = f"{parts[-1]} ({sector})"
            continue
        match = _PART.fullmatch(piece)
        if match is None:
            parts.append(piece)
            continue
        name, index = match.group(1), match.group(2)
        label = _FIELDS.get(name, (name, name))[0 if th else 1]
        if name == "resolutions" and index is not None:
            label = f"มติข้อที่ {int(index) + 1}" if th else f"Resolution {int(index) + 1}"
        parts.append(label)
    return " · ".join(parts)


def describe(key: str, field: str, params: Mapping[str, Any], lang: str, *, raw_field: bool = False) -> str:
    """Return a problem as text; ``raw_field`` keeps the field's path (the API's English form)."""
    th, en = _TEXTS.get(key, _TEXTS["invalid"])
    values = {
        "choices_th": sector_choices("th"),
        "choices_en": sector_choices("en"),
        "statuses_th": _status_choices("th"),
        "statuses_en": _status_choices("en"),
        **params,
    }
    try:
        text = (th if lang == "th" else en).format(**values)
    except (KeyError, IndexError, ValueError):
        text = th if lang == "th" else en
    if not field:
        return text
    return f"{field if raw_field else field_label(field, lang)}: {text}"


class Problem(ValueError):
    """One bad value: a stable ``key``, the ``field`` it is about (a path) and its ``params``."""

    def __init__(self, key: str, field: str = "", /, **params: Any) -> None:
        self.key = key
        self.field = field
        self.params = params
        super().__init__(describe(key, field, params, "en", raw_field=True))

    def text(self, lang: str) -> str:
        """Return the problem for a page in ``lang`` (fields by their labels)."""
        return describe(self.key, self.field, self.params, lang)


class Refused(ServiceValidationError):
    """A ``big6.*`` call refused for bad input, carrying the problems for the pages to translate."""

    def __init__(self, message: str, problems: Sequence[Any]) -> None:
        super().__init__(message)
        #: :class:`Problem` or :class:`~plugins.big6.csvio.RowError` items (both have ``text(lang)``).
        self.problems = list(problems)


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def from_validation(err: pydantic.ValidationError) -> list[Problem]:
    """Return pydantic's errors as problems a page can say in Thai."""
    problems: list[Problem] = []
    for e in err.errors():
        field = _path(e["loc"])
        kind = e["type"]
        given = e.get("input")
        ctx = e.get("ctx") or {}
        last = field.rsplit(".", 1)[-1]
        if kind == "missing" or given in ("", None):
            problems.append(Problem("required", field))
        elif kind.startswith("date") or last in ("date", "due_date"):
            problems.append(Problem("bad_date", field, value=str(given)))
        elif kind == "string_too_short":
            problems.append(Problem("required", field))
        elif kind == "string_too_long":
            problems.append(Problem("too_long", field, max=ctx.get("max_length", "")))
        elif kind == "too_long":
            problems.append(Problem("too_many", field, max=ctx.get("max_length", "")))
        elif kind.startswith("int") and field.startswith("attendance"):
            problems.append(Problem("bad_count", field))
        elif kind.startswith(("int", "float")):
            problems.append(Problem("bad_number", field))
        elif kind == "extra_forbidden":
            problems.append(Problem("unknown_field", field))
        else:
            problems.append(Problem("invalid", field))
    return problems
