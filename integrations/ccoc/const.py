"""Constants of the CCOC console."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "ccoc"
