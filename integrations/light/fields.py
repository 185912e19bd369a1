"""HA's ``light.turn_on`` fields, and what each light source can do with them.

Home Assistant blueprints set brightness as ``brightness_pct`` or a step, colour as
``color_temp_kelvin``, ``rgb_color``, ``hs_color``, ``xy_color`` or a CSS ``color_name``, and
``flash: short|long``.  :class:`TurnOnSchema` takes all of them (as HA does: one colour field at a
time, one brightness field at a time) and :func:`to_command` reduces them to one
:class:`LightCommand` that each source maps onto its protocol.  A field a light cannot do is an
error naming the light and the field, never dropped: at ``check`` when the target is written in the
config, and at run time otherwise.
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import webcolors
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from integrations.light.const import ALL_FEATURES

__all__ = (
    "ALL_FEATURES",
    "FIELD_FEATURE",
    "LightCommand",
    "TurnOnSchema",
    "hs_to_hex",
    "to_command",
    "unsupported",
    "xy_to_hex",
)

#: The feature each turn_on field needs (``flash`` needs none: every light can be switched on and off).
FIELD_FEATURE: Mapping[str, str] = {
    "brightness": "brightness",
    "brightness_pct": "brightness",
    "brightness_step": "brightness",
    "brightness_step_pct": "brightness",
    "color_temp": "color_temp",
    "color_temp_kelvin": "color_temp",
    "kelvin": "color_temp",
    "rgb_color": "color",
    "hs_color": "color",
    "xy_color": "color",
    "color_name": "color",
    "hex_color": "color",
    "transition": "transition",
    "effect": "effect",
}
_COLOR_FIELDS = (
    "rgb_color",
    "hs_color",
    "xy_color",
    "color_name",
    "hex_color",
    "color_temp",
    "color_temp_kelvin",
    "kelvin",
)
_BRIGHTNESS_FIELDS = ("brightness", "brightness_pct", "brightness_step", "brightness_step_pct")
#: HA's flash lengths, in seconds (its MQTT lights use 2 and 10).
FLASH_SECONDS: Mapping[str, float] = {"short": 2.0, "long": 10.0}


class TurnOnSchema(BaseModel):
    """``light.turn_on`` with HA's full field set (and SafetyHub's ``hex_color``)."""

    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]
    brightness: int | None = Field(default=None, ge=0, le=255)
    brightness_pct: float | None = Field(default=None, ge=0, le=100)
    brightness_step: int | None = Field(default=None, ge=-255, le=255)
    brightness_step_pct: float | None = Field(default=None, ge=-100, le=100)
    #: Mireds, as HA's deprecated ``color_temp``.
    color_temp: int | None = Field(default=None, ge=50, le=1000)
    color_temp_kelvin: int | None = Field(default=None, ge=1000, le=20000)
    kelvin: int | None = Field(default=None, ge=1000, le=20000)
    rgb_color: tuple[int, int, int] | None = None
    hs_color: tuple[float, float] | None = None
    xy_color: tuple[float, float] | None = None
    color_name: str | None = None
    hex_color: str | None = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")
    flash: Literal["short", "long"] | None = None
    transition: float | None = Field(default=None, ge=0, le=300)
    effect: str | None = Field(default=None, max_length=50)

    @field_validator("rgb_color")
    @classmethod
    def _rgb(cls, value: tuple[int, int, int] | None) -> tuple[int, int, int] | None:
        if value is not None and not all(0 <= c <= 255 for c in value):
            raise ValueError("each of red, green and blue must be 0–255")
        return value

    @field_validator("hs_color")
    @classmethod
    def _hs(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (0 <= value[0] <= 360 and 0 <= value[1] <= 100):
            raise ValueError("hue must be 0–360 and saturation 0–100")
        return value

    @field_validator("xy_color")
    @classmethod
    def _xy(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not all(0 <= c <= 1 for c in value):
            raise ValueError("x and y must be 0–1")
        return value

    @field_validator("color_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            webcolors.name_to_hex(value.strip().lower())
        except ValueError as err:
            raise ValueError(f"{value!r} is not a CSS colour name (e.g. red, orange, navy)") from err
        return value.strip().lower()

    @model_validator(mode="after")
    def _one_each(self) -> TurnOnSchema:
        colours = [f for f in _COLOR_FIELDS if getattr(self, f) is not None]
        if len(colours) > 1:
            raise ValueError(f"give one colour field, not {' and '.join(colours)}")
        levels = [f for f in _BRIGHTNESS_FIELDS if getattr(self, f) is not None]
        if len(levels) > 1:
            raise ValueError(f"give one brightness field, not {' and '.join(levels)}")
        return self


@dataclass(frozen=True, slots=True)
class LightCommand:
    """What to send, in one unit each: brightness 0–255, mireds, and one colour form."""

    brightness: int | None = None
    color_temp: int | None = None
    #: ``#RRGGBB``; or ``hs`` (hue 0–360, saturation 0–100); or ``xy`` (CIE 1931).
    hex_color: str | None = None
    hs: tuple[float, float] | None = None
    xy: tuple[float, float] | None = None
    transition: float | None = None
    effect: str | None = None
    #: Seconds to flash after switching on (HA's ``flash: short|long``).
    flash: float | None = None

    def options(self) -> dict[str, Any]:
        """The fields that are set, by name."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


def _mired(kelvin: int) -> int:
    return round(1_000_000 / kelvin)


def to_command(data: Mapping[str, Any], current_brightness: int | None) -> LightCommand:
    """Reduce validated ``light.turn_on`` data to one command (steps need the current brightness)."""
    brightness: int | None = data.get("brightness")
    if data.get("brightness_pct") is not None:
        brightness = round(float(data["brightness_pct"]) * 255 / 100)
    step: float | None = None
    if data.get("brightness_step") is not None:
        step = float(data["brightness_step"])
    elif data.get("brightness_step_pct") is not None:
        step = float(data["brightness_step_pct"]) * 255 / 100
    if step is not None:
        # As HA: a step from an unknown brightness starts from 0 (off).
        brightness = max(0, min(255, round((current_brightness or 0) + step)))
    color_temp: int | None = data.get("color_temp")
    kelvin = data.get("color_temp_kelvin") or data.get("kelvin")
    if kelvin is not None:
        color_temp = _mired(int(kelvin))
    hex_color: str | None = data.get("hex_color")
    if data.get("rgb_color") is not None:
        r, g, b = data["rgb_color"]
        hex_color = f"#{r:02X}{g:02X}{b:02X}"
    if data.get("color_name") is not None:
        hex_color = webcolors.name_to_hex(data["color_name"]).upper()
    flash = data.get("flash")
    return LightCommand(
        brightness=brightness,
        color_temp=color_temp,
        hex_color=hex_color.upper() if hex_color else None,
        hs=tuple(data["hs_color"]) if data.get("hs_color") is not None else None,
        xy=tuple(data["xy_color"]) if data.get("xy_color") is not None else None,
        transition=data.get("transition"),
        effect=data.get("effect"),
        flash=FLASH_SECONDS[flash] if flash else None,
    )


def unsupported(data: Mapping[str, Any], features: frozenset[str]) -> list[str]:
    """The fields in ``data`` that a light with ``features`` cannot do."""
    return [f for f, need in FIELD_FEATURE.items() if data.get(f) is not None and need not in features]


def hs_to_hex(hue: float, saturation: float, brightness: float = 100.0) -> str:
    """``#RRGGBB`` of an HSB colour, for protocols that take only RGB."""
    r, g, b = colorsys.hsv_to_rgb(hue / 360, saturation / 100, brightness / 100)
    return f"#{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"


def xy_to_hex(x: float, y: float) -> str:
    """``#RRGGBB`` of a CIE 1931 xy colour at full brightness (sRGB, D65), for RGB-only protocols."""
    if y <= 0:
        return "#000000"
    big_y = 1.0
    big_x = big_y / y * x
    big_z = big_y / y * (1 - x - y)
    rgb = [
        big_x * 3.2406 - big_y * 1.5372 - big_z * 0.4986,
        -big_x * 0.9689 + big_y * 1.8758 + big_z * 0.0415,
        big_x * 0.0557 - big_y * 0.2040 + big_z * 1.0570,
    ]
    rgb = [12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055 for c in rgb]
    rgb = [max(0.0, c) for c in rgb]
    top = max(rgb) or 1.0
    r, g, b = (round(c / top * 255) for c in rgb)
    return f"#{r:02X}{g:02X}{b:02X}"
