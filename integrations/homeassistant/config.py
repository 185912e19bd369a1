"""The ``homeassistant:`` block: nothing to configure (HA's core keys live under ``hub:``)."""

from __future__ import annotations

from hub.config import BlockModel

__all__ = ("HomeAssistantConfig",)


class HomeAssistantConfig(BlockModel):
    """Empty: present so that a copied ``homeassistant: {}`` is understood, and anything in it refused."""
