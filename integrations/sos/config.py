"""Schema of the ``sos:`` block: one item per button, with exactly one source."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ("ButtonConfig", "MqttSource", "SiaSource", "WebhookSource", "Location", "SOURCE_KEYS", "PressRule")

SOURCE_KEYS = ("zigbee2mqtt", "mqtt", "webhook", "sia", "simulated")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Location(_Model):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


#: One way a device says "panic": every key must match; a list value means "any of these".
PressRule = dict[str, str | bool | int | list[str | bool | int]]


class MqttSource(_Model):
    topic: str = Field(min_length=1)
    #: The payload (or value_template result) that means a press; None: any non-empty payload.
    payload: str | None = None
    value_template: str | None = None
    qos: int = Field(default=1, ge=0, le=2)

    @field_validator("topic")
    @classmethod
    def _no_wildcards(cls, value: str) -> str:
        if "+" in value or "#" in value:
            raise ValueError("one button listens to one topic: no + or # wildcards")
        return value

    @field_validator("payload", mode="before")
    @classmethod
    def _payload_text(cls, value: Any) -> Any:
        # YAML reads `payload: ON` as True; the device sends the text.
        if isinstance(value, bool):
            return "ON" if value else "OFF"
        if isinstance(value, int | float):
            return str(value)
        return value


class WebhookSource(_Model):
    #: Secret id in the URL; generate with ``python -c "import secrets; print(secrets.token_urlsafe(24))"``.
    id: str = Field(min_length=16)


class SiaSource(_Model):
    account: str = Field(pattern=r"^[0-9A-Fa-f]{3,16}$")
    zone: int = Field(ge=0, le=9999)


class ButtonConfig(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str | None = None
    place: str | None = None
    location: Location | None = None
    zigbee2mqtt: str | None = None
    mqtt: MqttSource | None = None
    webhook: WebhookSource | None = None
    sia: SiaSource | None = None
    #: A button with no device, pressed from the UI or API (demo and drills).
    simulated: bool = False
    #: Zigbee2MQTT only: press rules for this button, instead of its model's (``[{action: single}]``).
    press: list[PressRule] | None = None
    #: Seconds without any message from the button before it is a supervision incident (a
    #: dead battery must not look like a quiet day).  Zigbee buttons report every few hours:
    #: 90000 (25 h) matches Zigbee2MQTT's own timeout for battery devices.  zigbee2mqtt and
    #: mqtt buttons only: the others send nothing between presses.
    silence_limit: float | None = Field(default=None, ge=60, le=90 * 24 * 3600)

    @model_validator(mode="after")
    def _one_source(self) -> ButtonConfig:
        given = [k for k in SOURCE_KEYS if getattr(self, k) not in (None, False)]
        if len(given) != 1:
            raise ValueError(f"give exactly one source of {', '.join(SOURCE_KEYS)} (got {len(given)})")
        if self.press is not None and self.zigbee2mqtt is None:
            raise ValueError("press rules apply to zigbee2mqtt buttons only")
        if self.silence_limit is not None and self.source not in ("zigbee2mqtt", "mqtt"):
            raise ValueError(
                "silence_limit needs a button that reports on its own (zigbee2mqtt or mqtt); "
                f"a {self.source} button sends nothing between presses"
            )
        return self

    @property
    def source(self) -> str:
        """Return which source this button uses."""
        return next(k for k in SOURCE_KEYS if getattr(self, k) not in (None, False))

    def source_config(self) -> Any:
        """Return the source's own settings."""
        return getattr(self, self.source)
