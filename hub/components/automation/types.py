"""Pydantic field types shared by the trigger, condition and action schemas.

They accept what HA accepts and a little more where YAML gets in the way: an
unquoted ``on`` is read by YAML as ``True``, which HA rejects for state
values; here it means the state ``"on"``, which is what everyone meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from hub.components.automation.durations import Period, parse_period, parse_time_of_day
from hub.core.state import valid_entity_id
from hub.template import check_syntax, is_template

__all__ = (
    "PlatformModel",
    "EntityIds",
    "EntityId",
    "StateValue",
    "StateValues",
    "PeriodField",
    "TemplateText",
    "TimeOfDay",
    "state_text",
    "as_list",
)


class PlatformModel(BaseModel):
    """Base of every platform schema: unknown keys are errors, ``from``/``for`` by alias."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, arbitrary_types_allowed=True
    )


def state_text(value: Any) -> Any:
    """Turn YAML's booleans and numbers back into the state strings that were meant."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return str(value)
    return value


def as_list(value: Any) -> Any:
    """Accept one item or a list; split ``"a.b, c.d"`` like HA."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _entity_ids(value: list[str]) -> list[str]:
    out = []
    for item in value:
        item = str(item).strip().lower()
        if not valid_entity_id(item):
            raise ValueError(f"invalid entity id {item!r} (expected domain.object_id)")
        out.append(item)
    return out


def _entity_id(value: str) -> str:
    value = str(value).strip().lower()
    if not valid_entity_id(value):
        raise ValueError(f"invalid entity id {value!r} (expected domain.object_id)")
    return value


def _state_values(value: Any) -> Any:
    if isinstance(value, list):
        return [state_text(v) for v in value]
    return [state_text(value)]


def _period(value: Any) -> Period:
    return parse_period(value)


def _template(value: str) -> str:
    problem = check_syntax(value)
    if problem is not None:
        raise ValueError(problem)
    return str(value)


def _time_of_day(value: Any) -> Any:
    if isinstance(value, str) and (is_template(value) or "." in value and not value[0].isdigit()):
        return str(value)  # an input_datetime / sensor entity id, or a template
    return parse_time_of_day(value)


def _mapping(value: Any) -> Any:
    if value is not None and not isinstance(value, Mapping):
        raise ValueError("expected a mapping")
    return value


EntityIds = Annotated[list[str], BeforeValidator(as_list), AfterValidator(_entity_ids)]
EntityId = Annotated[str, AfterValidator(_entity_id)]
StateValue = Annotated[str, BeforeValidator(state_text)]
#: One state or a list, normalised to a list.
StateValues = Annotated[list[str], BeforeValidator(_state_values)]
PeriodField = Annotated[Any, BeforeValidator(_period)]
TemplateText = Annotated[str, AfterValidator(_template)]
TimeOfDay = Annotated[Any, BeforeValidator(_time_of_day)]
MappingField = Annotated[Any, BeforeValidator(_mapping)]
