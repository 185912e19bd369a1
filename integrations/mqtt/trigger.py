"""The ``mqtt`` automation trigger (HA's: topic, payload, value_template, qos, encoding)."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.badinput import payload_text
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.core.context import Context
from integrations.mqtt.client import MqttMessage
from integrations.mqtt.matcher import validate_filter
from integrations.mqtt.templating import ValueTemplate, compile_template

if TYPE_CHECKING:
    from hub.core.bus import Unsubscribe
    from hub.hub import Hub

__all__ = ("MqttTrigger", "MqttTriggerConfig")


class MqttTriggerConfig(BaseModel):
    """``trigger: mqtt`` block."""

    model_config = ConfigDict(extra="forbid")

    topic: str
    #: Fire only when the payload (or the value_template's result) equals this.
    payload: str | None = None
    value_template: str | None = None
    qos: int = Field(default=0, ge=0, le=2)
    #: ``utf-8`` (default) or ``""`` to pass raw bytes as ``trigger.payload``.
    encoding: str = "utf-8"

    @field_validator("topic")
    @classmethod
    def _valid_filter(cls, value: str) -> str:
        validate_filter(value)
        return value

    @field_validator("payload", mode="before")
    @classmethod
    def _payload_text(cls, value: Any) -> Any:
        # YAML reads `payload: ON` as True and `payload: 1` as 1; HA compares as text.
        if isinstance(value, bool):
            return "ON" if value else "OFF"
        if isinstance(value, int | float):
            return str(value)
        return value


class MqttTrigger:
    """Arms one subscription per trigger on the shared client."""

    schema = MqttTriggerConfig

    def attach(self, hub: Hub, config: Any, fire: TriggerFire, info: TriggerInfo) -> Unsubscribe:
        """Subscribe ``config.topic``; fire with HA's ``trigger.*`` variables."""
        from integrations.mqtt import get_client

        cfg = config if isinstance(config, MqttTriggerConfig) else MqttTriggerConfig.model_validate(config)
        client = get_client(hub)
        template: ValueTemplate | None = (
            compile_template(hub, cfg.value_template) if cfg.value_template else None
        )
        limit = client.max_payload

        def on_message(message: MqttMessage) -> None:
            raw: Any
            if cfg.encoding:
                try:
                    raw = message.payload.decode(cfg.encoding)
                except (UnicodeDecodeError, LookupError):
                    return
            else:
                raw = message.payload
            text = raw if isinstance(raw, str) else payload_text(raw, limit)
            compared = text
            if template is not None:
                if text is None:
                    return
                compared = template.render(text)
                if compared is None:
                    return
            if cfg.payload is not None and compared != cfg.payload:
                return
            variables: dict[str, Any] = {
                "platform": "mqtt",
                "topic": message.topic,
                "payload": raw,
                "qos": message.qos,
                "description": f"mqtt topic {message.topic}",
            }
            if text is not None:
                with contextlib.suppress(ValueError, RecursionError):
                    variables["payload_json"] = json.loads(text)
            fire(variables, Context(origin="mqtt"))

        return client.subscribe(cfg.topic, on_message, cfg.qos)
