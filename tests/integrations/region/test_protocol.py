"""What a region accepts: closed, bounded models; nothing personal rides along."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from integrations.federation.protocol import envelope
from integrations.region.protocol import MonthlyReport, parse_region_envelope

ID = "01JD0000000000000000000000"


def _monthly(**body: object) -> bytes:
    doc = {"month": "2026-01", "kpis": {"sos_ack_p90": 42.0}, **body}
    return envelope(ID, "region-9", "st-a", "monthly", 1767225600.0, doc)


def test_a_good_monthly_report_parses() -> None:
    doc = parse_region_envelope(_monthly(poll={"responses": 12, "questions": {"trust_police": 4.2}}))
    assert doc.kind == "monthly" and doc.hub == "st-a"
    assert isinstance(doc.body, MonthlyReport) and doc.body.poll.questions == {"trust_police": 4.2}


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"kpis": {"sos_ack_p90": "fast"}}, "kpis.sos_ack_p90"),
        ({"kpis": {"Bad Key": 1}}, "kpis.Bad Key"),
        ({"poll": {"responses": 3, "comments": ["ร้านนี้ขายยา 081-234-5678"]}}, "poll.comments"),
        ({"respondents": [{"phone": "0812345678"}]}, "respondents"),
        ({"snapshot": "/9j/4AAQSkZJRg=="}, "snapshot"),
        ({"month": "2026-13"}, "month"),
        ({"big6": {"sectors_present": 9}}, "big6.sectors_present"),
    ],
)
def test_bad_reports_are_refused_by_field(body: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_region_envelope(_monthly(**body))
    locs = [".".join(str(p) for p in e["loc"]) for e in err.value.errors()]
    assert any(where in loc for loc in locs), locs


def test_non_finite_kpis_are_refused() -> None:
    line = _monthly().replace(b"42.0", b"NaN")
    with pytest.raises(ValueError):
        parse_region_envelope(line)
    big = json.loads(_monthly())
    big["body"]["kpis"] = {f"k{i}": i for i in range(201)}
    with pytest.raises(ValidationError, match="at most 200"):
        parse_region_envelope(json.dumps(big).encode())


def test_incident_summary_has_no_room_for_text() -> None:
    body = {
        "id": "inc-1",
        "hub": "hub-a",
        "kind": "sos",
        "status": "open",
        "opened_at": 1767225600.0,
        "title": "นายสมชาย ใจดี",
    }
    with pytest.raises(ValidationError, match="title"):
        parse_region_envelope(envelope(ID, "region-9", "st-a", "incident", 1767225600.0, body))
    del body["title"]
    assert (
        parse_region_envelope(envelope(ID, "region-9", "st-a", "incident", 1767225600.0, body)).kind
        == "incident"
    )
