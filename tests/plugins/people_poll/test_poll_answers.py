"""Reading poll forms and adding answers up (pure functions)."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from plugins.people_poll.answers import AnswerError, aggregate, read_answers, scrub
from plugins.people_poll.config import DEFAULT_QUESTIONS, PollConfig, Question

QUESTIONS = list(DEFAULT_QUESTIONS)
GOOD = {"fear_of_crime": "2", "trust_police": "4", "safe_at_night": "yes", "comment": "ไฟดับซอย 5"}


def test_reads_only_known_questions() -> None:
    answers = read_answers(QUESTIONS, {**GOOD, "name": "สมชาย", "phone": "0812345678"})
    assert answers == {"fear_of_crime": 2, "trust_police": 4, "safe_at_night": "yes", "comment": "ไฟดับซอย 5"}
    # The comment is optional.
    assert "comment" not in read_answers(QUESTIONS, {**GOOD, "comment": "   "})


@pytest.mark.parametrize(
    ("change", "question", "reason"),
    [
        ({"fear_of_crime": ""}, "fear_of_crime", "required"),
        ({"fear_of_crime": "6"}, "fear_of_crime", "must be 1 to 5"),
        ({"trust_police": "4.5"}, "trust_police", "must be 1 to 5"),
        ({"safe_at_night": "maybe"}, "safe_at_night", "must be yes or no"),
        ({"comment": "x" * 1001}, "comment", "longer than 1000 characters"),
    ],
)
def test_refuses_bad_answers(change: dict[str, str], question: str, reason: str) -> None:
    with pytest.raises(AnswerError) as err:
        read_answers(QUESTIONS, {**GOOD, **change})
    assert (err.value.question, err.value.reason) == (question, reason)


def test_scrub_removes_contact_details() -> None:
    text = "โทร 081-234-5678 หรือ +66 81 234 5678, mail somchai@example.co.th, บัตร 1-1037-00123-45-6, line: somchai99"
    cleaned = scrub(text)
    for personal in (
        "081-234-5678",
        "+66 81 234 5678",
        "somchai@example.co.th",
        "1-1037-00123-45-6",
        "somchai99",
    ):
        assert personal not in cleaned
    assert cleaned.startswith("โทร […]")
    assert scrub("ซอย 5 มีไฟดับ 3 ดวง ตั้งแต่ปี 2567\x00") == "ซอย 5 มีไฟดับ 3 ดวง ตั้งแต่ปี 2567"


def test_aggregate() -> None:
    responses: list[dict[str, Any]] = [
        {"fear_of_crime": 1, "trust_police": 5, "safe_at_night": "yes", "comment": "ดี"},
        {"fear_of_crime": 4, "trust_police": 3, "safe_at_night": "no"},
        {"fear_of_crime": 4, "safe_at_night": "yes", "retired_question": 3},
        {"trust_police": 9},  # an answer the scale no longer offers is left out
    ]
    results = aggregate(QUESTIONS, responses)
    fear, trust, night, comment = (results[q.id] for q in QUESTIONS)
    assert (fear.n, fear.mean, fear.counts) == (3, 3.0, {"1": 1, "2": 0, "3": 0, "4": 2, "5": 0})
    assert (trust.n, trust.mean) == (2, 4.0)
    assert (night.n, night.share_yes, night.counts) == (3, 2 / 3, {"yes": 2, "no": 1})
    assert (comment.n, comment.comments) == (1, ["ดี"])
    assert "comments" not in str(comment.public()) and "ดี" not in str(comment.public())
    assert aggregate(QUESTIONS, [])["fear_of_crime"].mean is None


def test_configurable_questions() -> None:
    cfg = PollConfig.model_validate(
        {
            "questions": [
                {
                    "id": "lights",
                    "type": "choice",
                    "text_th": "ไฟถนนพอไหม",
                    "text_en": "Enough street lights?",
                    "options": [
                        {"id": "enough", "text_th": "พอ", "text_en": "Enough"},
                        {"id": "few", "text_th": "น้อย", "text_en": "Too few"},
                    ],
                },
                {
                    "id": "idea",
                    "type": "text",
                    "text_th": "ข้อเสนอ",
                    "text_en": "Idea",
                    "required": True,
                    "max_length": 50,
                },
            ],
            "announce_at": 570,
        }
    )
    assert cfg.announce_at == "09:30"
    assert read_answers(cfg.questions, {"lights": "few", "idea": "เพิ่มไฟ"}) == {
        "lights": "few",
        "idea": "เพิ่มไฟ",
    }
    with pytest.raises(AnswerError, match="not one of the options"):
        read_answers(cfg.questions, {"lights": "dark", "idea": "x"})
    with pytest.raises(AnswerError, match="required"):
        read_answers(cfg.questions, {"lights": "few"})
    with pytest.raises(pydantic.ValidationError, match="at least 2 options"):
        Question.model_validate(
            {
                "id": "q",
                "type": "choice",
                "text_th": "ก",
                "text_en": "A",
                "options": [{"id": "a", "text_th": "ก", "text_en": "A"}],
            }
        )
    with pytest.raises(pydantic.ValidationError, match="unique"):
        PollConfig.model_validate({"questions": [QUESTIONS[0].model_dump(), QUESTIONS[0].model_dump()]})


@pytest.mark.parametrize(
    ("comment", "personal"),
    [
        ("ติดต่อ @somchai99 ได้", "somchai99"),
        ("แอดไลน์มาที่ @som.chai_99 นะ", "som.chai_99"),
        ("ไลน์ somchai99", "somchai99"),
        ("ไลน์: somchai99", "somchai99"),
        ("ไอดีไลน์ somchai99 ครับ", "somchai99"),
        ("LINE ID somchai99", "somchai99"),
        ("line id: @somchai99", "somchai99"),
        ("Line: somchai99", "somchai99"),
        ("โทร ๐๘๑-๒๓๔-๕๖๗๘", "๕๖๗๘"),
        ("โทร ๐๘๑๒๓๔๕๖๗๘", "๐๘๑๒๓๔๕๖๗๘"),
        ("โทร 081 234 5678", "5678"),
        ("โทร 081.234.5678", "5678"),
        ("โทร 0812345678", "0812345678"),
        ("เบอร์บ้าน 02-123-4567", "4567"),
        ("เบอร์บ้าน (02) 123 4567", "4567"),
        ("โทร +66 81 234 5678", "5678"),
        ("โทร +66812345678", "812345678"),
        ("บัตร 1-1037-00123-45-6", "00123"),
        ("บัตร 1 1037 00123 45 6", "00123"),
        ("บัตร 1103700123456", "1103700123456"),
        ("บัตร ๑-๑๐๓๗-๐๐๑๒๓-๔๕-๖", "๐๐๑๒๓"),
        ("บัตร ๑๑๐๓๗๐๐๑๒๓๔๕๖", "๑๑๐๓๗"),
        ("เลขบัตร 1-1037-00123-45-6 โทร 081-234-5678", "45-6"),
        ("mail somchai@example.co.th", "somchai@example.co.th"),
    ],
)
def test_scrub_removes_every_form_of_contact_and_id(comment: str, personal: str) -> None:
    cleaned = scrub(comment)
    assert personal not in cleaned and "[…]" in cleaned, cleaned
    # No digit of the number is left behind ("most of a Thai ID number" was kept before).
    tail = cleaned.split("[…]", 1)[1]
    assert not any(ch.isdigit() for ch in tail), cleaned


@pytest.mark.parametrize(
    "comment",
    [
        "ซอย 5 มีไฟดับ 3 ดวง ตั้งแต่ปี 2567",
        "ไฟดับ ๓ ดวง ตั้งแต่ ๒๒.๓๐ น.",
        "คิวที่ธนาคารยาว line at the bank is long",
        "เกิดเหตุวันที่ 12/05/2567 เวลา 22.30 น.",
        "ส่งอีเมล @ ที่ว่าการอำเภอ",
        "ซื้อของออนไลน์ Shopee แล้วโดนโกง",
    ],
)
def test_scrub_keeps_ordinary_comments(comment: str) -> None:
    assert scrub(comment) == comment
