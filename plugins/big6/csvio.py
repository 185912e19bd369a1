"""CSV export of members and resolutions, and a strict, all-or-nothing member import.

Exports are UTF-8 with a byte-order mark, because that is what makes Excel
on a Thai Windows desktop show Thai instead of mojibake.  Import takes UTF-8
(with or without the mark) or the Thai Windows code page (cp874), which is
what older Excel saves.  Every row is checked before anything is stored; one
bad row refuses the whole file with every problem listed by row and column.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from plugins.big6.const import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    MEMBER_CSV_COLUMNS,
    RESOLUTION_CSV_COLUMNS,
    SECTOR_ALIASES,
    SECTORS,
)
from plugins.big6.problems import describe, field_label
from plugins.big6.store import Member, Resolution

__all__ = (
    "RowError",
    "ImportRefused",
    "MemberRow",
    "parse_members",
    "export_members",
    "export_resolutions",
    "normalize_sector",
    "check_phone",
    "check_line_user_id",
)

#: Header names people use in Thai spreadsheets, mapped to ours.
_HEADER_ALIASES = {
    "ชื่อ": "name",
    "ชื่อ-สกุล": "name",
    "ชื่อ-นามสกุล": "name",
    "ชื่อสกุล": "name",
    "ภาคส่วน": "sector",
    "ภาค": "sector",
    "หน่วยงาน": "organisation",
    "องค์กร": "organisation",
    "organization": "organisation",
    "โทรศัพท์": "phone",
    "เบอร์โทร": "phone",
    "โทร": "phone",
    "telephone": "phone",
    "line": "line_user_id",
    "line user id": "line_user_id",
}
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{2,28}$")
_LINE_USER = re.compile(r"^U[0-9a-f]{32}$")
#: Spreadsheets run a cell starting with these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowError:
    """One problem in an import, where the spreadsheet shows it (row 1 is the header).

    ``key`` and ``params`` say what is wrong (:mod:`.problems`), so the page
    can say it in Thai; ``str()`` is the English the API returns.
    """

    row: int
    column: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """Return the problem in English, without the row."""
        return describe(self.key, "", self.params, "en")

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"

    def text(self, lang: str) -> str:
        """Return the problem with its row and column, for a page in ``lang``."""
        if lang != "th":
            return str(self)
        where = f"แถว {self.row}" + (f", {field_label(self.column, lang)}" if self.column else "")
        return f"{where}: {describe(self.key, '', self.params, lang)}"


class ImportRefused(ValueError):
    """The file was refused; nothing was stored."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:20]) + (" …" if len(errors) > 20 else ""))
        self.errors = list(errors)


@dataclass(frozen=True)
class MemberRow:
    """A checked member from a CSV row."""

    row: int
    name: str
    sector: str
    organisation: str
    phone: str
    line_user_id: str | None


def normalize_sector(value: str) -> str | None:
    """Return the sector id for an id, a Thai or English label or a common alias; None if unknown."""
    text = " ".join(value.strip().lower().split())
    if text in SECTORS:
        return text
    snake = text.replace(" ", "_").replace("-", "_")
    if snake in SECTORS:
        return snake
    return SECTOR_ALIASES.get(text)


def check_phone(value: str) -> str | None:
    """Return an error message for a bad phone number, None if fine (empty is fine)."""
    if value and not _PHONE.match(value):
        return "not a phone number (digits, spaces, - and a leading + only)"
    return None


def check_line_user_id(value: str) -> str | None:
    """Return an error message for a bad LINE user id, None if fine (empty is fine)."""
    if value and not _LINE_USER.match(value):
        return "not a LINE user id (U followed by 32 hex digits)"
    return None


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise ImportRefused([RowError(0, "", "csv_nul")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp874")
    except UnicodeDecodeError as err:
        raise ImportRefused([RowError(0, "", "csv_encoding")]) from err


def _unescape(cell: str) -> str:
    # Our own export guards formulas with a leading apostrophe; take it off again.
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _FORMULA_START:
        return cell[1:]
    return cell


def parse_members(data: bytes, existing: Iterable[Member] = ()) -> list[MemberRow]:
    """Return the checked rows of a member CSV, or raise :class:`ImportRefused` listing every problem."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRefused([RowError(0, "", "csv_too_big", {"kb": MAX_IMPORT_BYTES // 1024})])
    text = _decode(data)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as err:
        raise ImportRefused([RowError(0, "", "csv_malformed", {"detail": str(err)})]) from err
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ImportRefused([RowError(1, "", "csv_empty")])
    header = [_HEADER_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in rows[0]]
    errors: list[RowError] = []
    unknown = [h for h in header if h not in MEMBER_CSV_COLUMNS]
    if unknown:
        errors.append(
            RowError(
                1,
                "",
                "csv_unknown_columns",
                {"columns": ", ".join(unknown), "expected": ", ".join(MEMBER_CSV_COLUMNS)},
            )
        )
    for required in ("name", "sector"):
        if required not in header:
            errors.append(RowError(1, "", "csv_missing_column", {"column": required}))
    if len(set(header)) != len(header):
        errors.append(RowError(1, "", "csv_column_twice"))
    if errors:
        raise ImportRefused(errors)
    if len(rows) - 1 > MAX_IMPORT_ROWS:
        raise ImportRefused([RowError(0, "", "csv_too_many_rows", {"max": MAX_IMPORT_ROWS})])

    seen = {(m.name.casefold(), m.organisation.casefold()) for m in existing}
    out: list[MemberRow] = []
    for index, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank lines at the end of a sheet
        if len(cells) != len(header):
            errors.append(RowError(index, "", "csv_cells", {"n": len(cells), "expected": len(header)}))
            continue
        values = {h: _unescape(c.strip()) for h, c in zip(header, cells, strict=True)}
        name = values.get("name", "")
        organisation = values.get("organisation", "")
        phone = values.get("phone", "")
        line_user = values.get("line_user_id", "")
        if not name:
            errors.append(RowError(index, "name", "required"))
        elif len(name) > 120:
            errors.append(RowError(index, "name", "too_long", {"max": 120}))
        sector = normalize_sector(values.get("sector", ""))
        if sector is None:
            errors.append(RowError(index, "sector", "unknown_sector", {"value": values.get("sector", "")}))
        if len(organisation) > 200:
            errors.append(RowError(index, "organisation", "too_long", {"max": 200}))
        if check_phone(phone) is not None:
            errors.append(RowError(index, "phone", "bad_phone"))
        if check_line_user_id(line_user) is not None:
            errors.append(RowError(index, "line_user_id", "bad_line_user"))
        key = (name.casefold(), organisation.casefold())
        if name and key in seen:
            errors.append(
                RowError(
                    index, "name", "csv_duplicate", {"name": name, "org": organisation or "(no organisation)"}
                )
            )
        seen.add(key)
        if sector is not None:
            out.append(MemberRow(index, name, sector, organisation, phone, line_user or None))
    if errors:
        raise ImportRefused(errors)
    if not out:
        raise ImportRefused([RowError(2, "", "csv_no_members")])
    return out


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def export_members(members: Iterable[Member]) -> bytes:
    """Return the directory as CSV, in the format :func:`parse_members` reads back."""
    return _csv(
        MEMBER_CSV_COLUMNS,
        ((m.name, m.sector, m.organisation, m.phone, m.line_user_id or "") for m in members),
    )


def export_resolutions(items: Iterable[tuple[Resolution, str]]) -> bytes:
    """Return every resolution with its meeting's date as CSV."""
    return _csv(
        RESOLUTION_CSV_COLUMNS,
        (
            (date, r.text, r.owner, r.due_date, r.status, r.status_note, r.id, r.meeting_id)
            for r, date in items
        ),
    )
