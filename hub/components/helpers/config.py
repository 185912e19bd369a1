"""Config schemas of the helpers, as in HA (``input_boolean:``, ``timer:``...).

Each block maps an object id to its settings; ``armed_after_hours:`` with no
settings is allowed, as in HA.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, field_validator, model_validator

from hub.components.automation.durations import parse_period
from hub.config import BlockModel

__all__ = (
    "ObjectId",
    "InputBooleanConfig",
    "InputNumberConfig",
    "InputSelectConfig",
    "InputTextConfig",
    "InputDatetimeConfig",
    "TimerConfig",
    "CounterConfig",
    "SCHEMAS",
)

ObjectId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+$")]


def _seconds(value: Any) -> float:
    result = parse_period(value)
    if not isinstance(result, float):
        raise ValueError("a helper's duration cannot be a template")
    return result


Seconds = Annotated[float, BeforeValidator(_seconds)]


class _Base(BlockModel):
    name: str | None = None
    icon: str | None = None


class InputBooleanConfig(_Base):
    initial: bool | None = None


class InputNumberConfig(_Base):
    min: float
    max: float
    step: float = Field(default=1.0, gt=0)
    initial: float | None = None
    mode: Literal["slider", "box"] = "slider"
    unit_of_measurement: str | None = None

    @model_validator(mode="after")
    def _range(self) -> InputNumberConfig:
        if self.min >= self.max:
            raise ValueError("max must be greater than min")
        if self.initial is not None and not self.min <= self.initial <= self.max:
            raise ValueError(f"initial must be between {self.min:g} and {self.max:g}")
        return self


class InputSelectConfig(_Base):
    options: list[str] = Field(min_length=1)
    initial: str | None = None

    @field_validator("options", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _initial(self) -> InputSelectConfig:
        if len(set(self.options)) != len(self.options):
            raise ValueError("options must be unique")
        if self.initial is not None and self.initial not in self.options:
            raise ValueError(f"initial {self.initial!r} is not one of the options")
        return self


class InputTextConfig(_Base):
    min: int = Field(default=0, ge=0, le=255)
    max: int = Field(default=100, ge=0, le=255)
    initial: str | None = None
    pattern: str | None = None
    mode: Literal["text", "password"] = "text"


class InputDatetimeConfig(_Base):
    has_date: bool = False
    has_time: bool = False
    initial: str | None = None

    @model_validator(mode="after")
    def _something(self) -> InputDatetimeConfig:
        if not self.has_date and not self.has_time:
            raise ValueError("give has_date, has_time or both")
        return self


class TimerConfig(_Base):
    duration: Seconds = 0.0
    restore: bool = True


class CounterConfig(_Base):
    initial: int = 0
    step: int = Field(default=1, ge=1)
    minimum: int | None = None
    maximum: int | None = None
    restore: bool = True


def _block(model: type[BlockModel], optional: bool = True) -> Any:
    if optional:
        return dict[ObjectId, model | None]  # type: ignore[valid-type]
    return dict[ObjectId, model]  # type: ignore[valid-type]


SCHEMAS: dict[str, Any] = {
    "input_boolean": _block(InputBooleanConfig),
    "input_number": _block(InputNumberConfig, optional=False),
    "input_select": _block(InputSelectConfig, optional=False),
    "input_text": _block(InputTextConfig),
    "input_datetime": _block(InputDatetimeConfig),
    "timer": _block(TimerConfig),
    "counter": _block(CounterConfig),
}
