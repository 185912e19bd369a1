"""Schema of the ``region_link:`` block: this station reports to its region (DESIGN §14)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel
from integrations.federation.config import normalize_protocol
from integrations.mqtt.config import BrokerAddress

__all__ = ("RegionLinkConfig",)


class RegionLinkConfig(BlockModel):
    """The ``region_link:`` block (printed by ``safetyhub region add-station``)."""

    #: The region's id: ``ssz/v1/region/<region>/<station>/...``.
    region: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    #: The region's broker, ``mqtts://host:8883`` in production.
    broker: str
    #: The station's account at the region: its station id (the region's ACL names it).
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    tls_insecure: bool = False
    client_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive: int = Field(default=30, ge=5, le=3600)
    health_interval: float = Field(default=60.0, ge=5, le=3600)
    #: How often the summaries are rebuilt; only what changed is sent.
    interval: float = Field(default=300.0, ge=1, le=24 * 3600)
    #: Incidents opened this many days back are summarised (and re-sent when they change).
    incident_days: int = Field(default=40, ge=1, le=400)
    window: int = Field(default=200, ge=1, le=10_000)
    batch: int = Field(default=100, ge=1, le=1000)
    ack_timeout: float = Field(default=30.0, ge=1, le=3600)
    reconnect_min: float = Field(default=1.0, gt=0, le=60)
    reconnect_max: float = Field(default=60.0, gt=0, le=3600)

    _protocol = field_validator("protocol", mode="before")(normalize_protocol)

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        BrokerAddress(value)
        return value

    @model_validator(mode="after")
    def _checks(self) -> RegionLinkConfig:
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.reconnect_max < self.reconnect_min:
            raise ValueError("reconnect_max must be at least reconnect_min")
        return self
