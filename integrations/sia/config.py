"""Schema of the ``sia:`` block."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hub.config import BlockModel

__all__ = ("SiaConfig", "SiaAccountConfig")

_HEX = re.compile(r"^[0-9A-Fa-f]+$")


class SiaAccountConfig(BlockModel):
    """One alarm panel account."""

    account: str = Field(pattern=r"^[0-9A-Fa-f]{3,16}$")
    name: str | None = None
    #: AES key as the panel shows it: 32, 48 or 64 hex digits (AES-128/192/256).
    key: str | None = None
    #: ``hex`` (panels, ioBroker) or ``ascii`` (16/24/32 characters used as the key bytes).
    key_format: Literal["hex", "ascii"] = "hex"
    #: Zones to create ``sos.<account>_<zone>`` for at start (others appear on their first press).
    zones: list[int] = []
    #: Seconds an encrypted message's timestamp may lag behind / run ahead of the hub's clock.
    allowed_timeband: tuple[int, int] = (40, 20)

    @model_validator(mode="after")
    def _key(self) -> SiaAccountConfig:
        if self.key is None:
            return self
        if self.key_format == "hex":
            if not _HEX.match(self.key) or len(self.key) not in (32, 48, 64):
                raise ValueError("key must be 32, 48 or 64 hex digits (AES-128/192/256)")
        elif len(self.key) not in (16, 24, 32):
            raise ValueError("an ascii key must be 16, 24 or 32 characters")
        return self

    def key_bytes(self) -> bytes | None:
        """Return the AES key bytes."""
        if self.key is None:
            return None
        return bytes.fromhex(self.key) if self.key_format == "hex" else self.key.encode("ascii")


class SiaConfig(BlockModel):
    """The ``sia:`` block: a DC-09 receiver on a TCP/UDP port."""

    #: Panels are on the shop's LAN: listen on every interface by default.
    host: str = "0.0.0.0"
    #: 0 picks a free port (tests).
    port: int = Field(default=7777, ge=0, le=65535)
    protocol: Literal["tcp", "udp", "both"] = "tcp"
    accounts: list[SiaAccountConfig] = Field(min_length=1)
    #: Extra SIA codes that count as SOS presses (PA panic and HA hold-up/duress always do).
    panic_codes: list[str] = []

    @field_validator("panic_codes")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ValueError(f"{code!r} is not a two-letter SIA code")
        return value

    @model_validator(mode="after")
    def _unique(self) -> SiaConfig:
        seen = [a.account.upper() for a in self.accounts]
        if len(seen) != len(set(seen)):
            raise ValueError("each account may appear once")
        return self
