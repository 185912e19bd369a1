"""Reading a submitted form and adding answers up: pure functions, no hub, no database."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plugins.people_poll.config import Question

__all__ = ("AnswerError", "read_answers", "scrub", "QuestionResult", "aggregate", "SCALE")

SCALE = (1, 2, 3, 4, 5)

# What would make a free comment identify someone, matched on a copy of the
# text with Thai digits (๐–๙) read as 0–9, so "๐๘๑-๒๓๔-๕๖๗๘" goes the way of
# "081-234-5678".  Order matters: e-mail first (its "@" is not a LINE id), then
# LINE ids, then any long number.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "@somchai99" (an @ not preceded by an e-mail's local part) ...
_LINE_AT = re.compile(r"(?<![A-Za-z0-9._%+-])@[A-Za-z0-9._-]{2,}")
# ... "ไลน์ somchai99", "ไอดีไลน์: x", and in English only with "id" or a colon
# ("line at the bank" is not a LINE id).
_LINE_TH = re.compile(
    r"(?<!ออน)(?:ไลน์|ไลน|ไอดี)\s*(?:ไอดี|id)?\s*[:：=]?\s*@?[A-Za-z0-9._-]{3,}", re.IGNORECASE
)
_LINE_EN = re.compile(
    r"\bline\s*(?:id\s*[:：=]?|[:：=])\s*@?[A-Za-z0-9._-]+|\bline\s*[:：=]\s*\S+", re.IGNORECASE
)
# Phone numbers (9–10 digits, +66 …) and 13-digit ID numbers, however they are
# grouped: any run of 9 or more digits with single spaces, dots, dashes or
# brackets between them.  Dates (12/05/2567), times (22.30) and years are shorter.
_LONG_NUMBER = re.compile(r"\(?\+?(?<!\d)\d(?:[\s.\-–()]{0,2}\d){8,}(?!\d)")
_PERSONAL = (_EMAIL, _LINE_AT, _LINE_TH, _LINE_EN, _LONG_NUMBER)
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AnswerError(ValueError):
    """A form that cannot be stored; ``question`` names the offending question."""

    def __init__(self, question: str, reason: str) -> None:
        super().__init__(f"{question}: {reason}")
        self.question = question
        self.reason = reason


def scrub(text: str) -> str:
    """Remove control characters and anything that looks like contact or ID details."""
    text = _CONTROL.sub("", text).strip()
    for pattern in _PERSONAL:
        # Matched on a copy with ASCII digits (one character for one, so the
        # spans are the same), replaced in the text as written.
        probe = text.translate(_THAI_DIGITS)
        for match in reversed(list(pattern.finditer(probe))):
            text = text[: match.start()] + "[…]" + text[match.end() :]
    return text


def read_answers(questions: Sequence[Question], form: Mapping[str, Any]) -> dict[str, Any]:
    """Return the answers to keep from a submitted form, or raise :class:`AnswerError`.

    Only known question ids are read; anything else in the form is ignored
    and never stored.
    """
    answers: dict[str, Any] = {}
    for q in questions:
        raw = form.get(q.id)
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            if q.is_required:
                raise AnswerError(q.id, "required")
            continue
        if q.type == "scale":
            if value not in {str(n) for n in SCALE}:
                raise AnswerError(q.id, "must be 1 to 5")
            answers[q.id] = int(value)
        elif q.type == "yes_no":
            if value not in ("yes", "no"):
                raise AnswerError(q.id, "must be yes or no")
            answers[q.id] = value
        elif q.type == "choice":
            if value not in {o.id for o in q.options}:
                raise AnswerError(q.id, "not one of the options")
            answers[q.id] = value
        else:
            if len(value) > q.max_length:
                raise AnswerError(q.id, f"longer than {q.max_length} characters")
            cleaned = scrub(value)
            if cleaned:
                answers[q.id] = cleaned
    if not answers:
        raise AnswerError("form", "no answers")
    return answers


@dataclass
class QuestionResult:
    """One question's results for one month."""

    question: Question
    n: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    mean: float | None = None
    share_yes: float | None = None
    comments: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """Return the aggregate alone (never the comments): what may go to the station."""
        out: dict[str, Any] = {"id": self.question.id, "type": self.question.type, "n": self.n}
        if self.question.type != "text":
            out["counts"] = dict(self.counts)
        if self.mean is not None:
            out["mean"] = round(self.mean, 3)
        if self.share_yes is not None:
            out["share_yes"] = round(self.share_yes, 4)
        return out


def aggregate(
    questions: Sequence[Question], responses: Iterable[Mapping[str, Any]]
) -> dict[str, QuestionResult]:
    """Add up answers per question: counts, mean of scales, share of yes, comment texts."""
    results = {q.id: QuestionResult(q) for q in questions}
    for q in questions:
        res = results[q.id]
        if q.type == "scale":
            res.counts = {str(n): 0 for n in SCALE}
        elif q.type == "yes_no":
            res.counts = {"yes": 0, "no": 0}
        elif q.type == "choice":
            res.counts = {o.id: 0 for o in q.options}
    for answers in responses:
        for qid, value in answers.items():
            found = results.get(qid)
            if found is None:
                continue  # a question since removed from the config
            if found.question.type == "text":
                found.n += 1
                found.comments.append(str(value))
            elif str(value) in found.counts:
                found.n += 1
                found.counts[str(value)] += 1
            # else: an answer the question no longer offers (its options changed) is left out
    for res in results.values():
        if res.n and res.question.type == "scale":
            res.mean = sum(int(k) * v for k, v in res.counts.items()) / res.n
        elif res.n and res.question.type == "yes_no":
            res.share_yes = res.counts["yes"] / res.n
    return results
