"""Schema of the ``people_poll:`` block, and the programme's default questions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel

__all__ = ("PollConfig", "Question", "Option", "DEFAULT_QUESTIONS", "parse_hhmm")


def parse_hhmm(value: Any) -> str:
    """Return ``"HH:MM"``; YAML 1.1 reads unquoted ``22:30`` as 1350 (minutes), which is accepted."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1440:
        return f"{value // 60:02d}:{value % 60:02d}"
    if isinstance(value, str):
        hours, sep, mins = value.strip().partition(":")
        if (
            sep
            and hours.isdigit()
            and mins.isdigit()
            and int(hours) < 24
            and len(mins) == 2
            and int(mins) < 60
        ):
            return f"{int(hours):02d}:{mins}"
    raise ValueError(f"expected a time like '09:00', got {value!r}")


class Option(BlockModel):
    """One answer of a ``choice`` question."""

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    text_th: str = Field(min_length=1, max_length=200)
    text_en: str = Field(min_length=1, max_length=200)


class Question(BlockModel):
    """One question of the poll.

    ``scale`` is answered 1–5, ``yes_no`` yes or no, ``choice`` one of
    ``options``, ``text`` free text (phone numbers, e-mail addresses and ID
    numbers are removed before it is stored).
    """

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    type: Literal["scale", "yes_no", "choice", "text"]
    text_th: str = Field(min_length=1, max_length=300)
    text_en: str = Field(min_length=1, max_length=300)
    #: Labels of 1 and 5 on a scale.
    low_th: str = ""
    low_en: str = ""
    high_th: str = ""
    high_en: str = ""
    options: list[Option] = Field(default_factory=list)
    #: Default: required for scale, yes_no and choice; optional for text.
    required: bool | None = None
    max_length: int = Field(default=1000, ge=1, le=5000)
    #: For the trend chart and the KPI: is a lower figure the better one (fear of crime)?
    lower_is_better: bool = False

    @model_validator(mode="after")
    def _options(self) -> Question:
        if self.type == "choice" and len(self.options) < 2:
            raise ValueError("a choice question needs at least 2 options")
        if self.type != "choice" and self.options:
            raise ValueError("options are only for choice questions")
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        return self

    @property
    def is_required(self) -> bool:
        """Return whether the form must answer it."""
        return self.required if self.required is not None else self.type != "text"


DEFAULT_QUESTIONS: tuple[Question, ...] = (
    Question(
        id="fear_of_crime",
        type="scale",
        lower_is_better=True,
        text_th="คุณกังวลว่าจะตกเป็นเหยื่ออาชญากรรมในพื้นที่นี้มากน้อยเพียงใด",
        text_en="How worried are you about becoming a victim of crime in this area?",
        low_th="ไม่กังวลเลย",
        low_en="Not at all",
        high_th="กังวลมากที่สุด",
        high_en="Very worried",
    ),
    Question(
        id="trust_police",
        type="scale",
        text_th="คุณเชื่อมั่นในการทำงานของตำรวจในพื้นที่มากน้อยเพียงใด",
        text_en="How much do you trust the local police?",
        low_th="ไม่เชื่อมั่นเลย",
        low_en="Not at all",
        high_th="เชื่อมั่นมากที่สุด",
        high_en="Completely",
    ),
    Question(
        id="safe_at_night",
        type="yes_no",
        text_th="คุณจะรู้สึกปลอดภัยไหม หากต้องเดินคนเดียวในพื้นที่นี้ตอนกลางคืน",
        text_en="Would you feel safe walking alone here at night?",
    ),
    Question(
        id="comment",
        type="text",
        max_length=1000,
        text_th="ความคิดเห็นหรือข้อเสนอแนะเพิ่มเติม (ไม่ต้องระบุชื่อ)",
        text_en="Any other comment or suggestion? (please do not give your name)",
    ),
)


class PollConfig(BlockModel):
    """The ``people_poll:`` block (every key optional)."""

    title_th: str = Field(default="แบบสำรวจความคิดเห็นประชาชนประจำเดือน", max_length=200)
    title_en: str = Field(default="Monthly People Poll", max_length=200)
    questions: list[Question] = Field(default_factory=lambda: list(DEFAULT_QUESTIONS), min_length=1)
    #: Days after a month ends during which its link still takes answers.
    grace_days: int = Field(default=3, ge=0, le=27)
    #: Answers (and attempts) allowed from one network address, per hour and per month.
    max_per_client_per_hour: int = Field(default=5, ge=1, le=1000)
    max_per_client_per_month: int = Field(default=30, ge=1, le=100_000)
    #: Local time on the 1st when ``people_poll_opened`` is fired with the new link.
    announce_at: str = "09:00"

    @field_validator("announce_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> str:
        return parse_hhmm(value)

    @model_validator(mode="after")
    def _unique(self) -> PollConfig:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"question ids must be unique: {', '.join(dupes)}")
        if self.max_per_client_per_month < self.max_per_client_per_hour:
            raise ValueError("max_per_client_per_month must be at least max_per_client_per_hour")
        return self
