"""CSV import and export of the Big 6 directory (pure functions)."""

from __future__ import annotations

import csv
import io

import pytest

from plugins.big6.csvio import (
    ImportRefused,
    export_members,
    export_resolutions,
    normalize_sector,
    parse_members,
)
from plugins.big6.store import Member, Resolution

GOOD = (
    "name,sector,organisation,phone,line_user_id\n"
    "ร.ต.อ. สมชาย ใจดี,police,สภ.เมืองอ่างทอง,081-234-5678,U" + "a" * 32 + "\n"
    'สมศรี มีสุข,ภาคประชาชน,"ชุมชนตลาดสด, หมู่ 3",,\n'
    "\n"
    "Khun Dao,Local Government,เทศบาลเมือง,+66 35 611 111,\n"
)


def member(name: str, sector: str = "police", org: str = "", phone: str = "") -> Member:
    return Member("id-" + name, name, sector, org, phone, None, 0.0, 0.0)


def refused(data: bytes, existing: list[Member] | None = None) -> list[str]:
    with pytest.raises(ImportRefused) as err:
        parse_members(data, existing or [])
    return [str(e) for e in err.value.errors]


def test_parses_a_good_file() -> None:
    rows = parse_members(GOOD.encode())
    assert [(r.row, r.name, r.sector, r.organisation, r.phone) for r in rows] == [
        (2, "ร.ต.อ. สมชาย ใจดี", "police", "สภ.เมืองอ่างทอง", "081-234-5678"),
        (3, "สมศรี มีสุข", "citizens", "ชุมชนตลาดสด, หมู่ 3", ""),
        (5, "Khun Dao", "local_government", "เทศบาลเมือง", "+66 35 611 111"),
    ]
    assert rows[0].line_user_id == "U" + "a" * 32 and rows[1].line_user_id is None


def test_thai_headers_bom_and_windows_thai_encoding() -> None:
    text = "ชื่อ,ภาคส่วน,หน่วยงาน,เบอร์โทร\r\nสมปอง,สื่อมวลชน,วิทยุชุมชน,035-000000\r\n"
    assert [r.sector for r in parse_members(("\ufeff" + text).encode())] == ["media"]
    # Older Excel saves Thai CSV in cp874 (TIS-620).
    assert [r.name for r in parse_members(text.encode("cp874"))] == ["สมปอง"]


@pytest.mark.parametrize(
    ("value", "sector"),
    [
        ("police", "police"),
        (" Police ", "police"),
        ("ตำรวจ", "police"),
        ("government agencies", "government_agencies"),
        ("local-government", "local_government"),
        ("อปท.", "local_government"),
        ("เอกชน", "business"),
        ("สื่อ", "media"),
        ("ชุมชน", "citizens"),
        ("aliens", None),
        ("", None),
        ("police,media", None),
    ],
)
def test_sectors(value: str, sector: str | None) -> None:
    assert normalize_sector(value) == sector


def test_unknown_sector_refuses_the_whole_file() -> None:
    data = GOOD.replace("Local Government", "Army").encode()
    errors = refused(data)
    assert errors == [
        "row 5, sector: unknown sector 'Army'; use one of police, citizens, local_government, "
        "business, government_agencies, media"
    ]


def test_every_problem_is_listed_by_row_and_column() -> None:
    data = b"name,sector,phone,line_user_id\n,police,,\nA,media,call me,\nB,media,,U123\nC,media\nA,media,,\n"
    assert refused(data) == [
        "row 2, name: required",
        "row 3, phone: not a phone number (digits, spaces, - and a leading + only)",
        "row 4, line_user_id: not a LINE user id (U followed by 32 hex digits)",
        "row 5: 2 cells, expected 4",
        "row 6, name: 'A' of '(no organisation)' is already in the directory or earlier in this file",
    ]
    # Already in the directory counts too.
    assert refused(b"name,sector\nSomchai,police\n", [member("somchai")])[0].startswith("row 2, name:")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'name,sector\n"unclosed,police\n', "malformed CSV"),
        (b"name,sector\nA,police\x00\n", "NUL bytes"),
        (b"\xff\xfe\xfa\xfb", "neither UTF-8 nor Thai Windows"),
        (b"", "the file is empty"),
        (b"name,organisation\nA,B\n", "column 'sector' is missing"),
        (b"name,sector,email\nA,police,a@b.c\n", "unknown column(s) email"),
        (b"name,sector,name\nA,police,B\n", "a column is named twice"),
        (b"name,sector\n\n\n", "no members in the file"),
    ],
)
def test_malformed_files_are_refused(data: bytes, message: str) -> None:
    assert any(message in e for e in refused(data)), refused(data)


def test_export_round_trips_and_guards_formulas() -> None:
    members = [member("สมชาย", "police", "สภ.เมือง", "+66 81 234 5678"), member("=HYPERLINK(1)", "media")]
    data = export_members(members)
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    # A spreadsheet must not run a cell as a formula...
    assert "'=HYPERLINK(1)" in text and "'+66 81 234 5678" in text
    # ...and importing our own export gives the same people back.
    rows = parse_members(data)
    assert [(r.name, r.sector, r.organisation, r.phone) for r in rows] == [
        ("สมชาย", "police", "สภ.เมือง", "+66 81 234 5678"),
        ("=HYPERLINK(1)", "media", "", ""),
    ]


def test_resolutions_export() -> None:
    res = Resolution("r1", "m1", 0, "ติดไฟซอย 3", "เทศบาล", None, "2026-01-31", "done", "ติดแล้ว 4 ดวง", 0.0)
    text = export_resolutions([(res, "2026-01-05")]).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))
    assert header[:5] == ["meeting_date", "resolution", "owner", "due_date", "status"]
    assert row == ["2026-01-05", "ติดไฟซอย 3", "เทศบาล", "2026-01-31", "done", "ติดแล้ว 4 ดวง", "r1", "m1"]
