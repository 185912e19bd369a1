"""The ``flows:`` block: nothing to configure (the flows write the other integrations' blocks)."""

from __future__ import annotations

from hub.config import BlockModel

__all__ = ("FlowsConfig",)


class FlowsConfig(BlockModel):
    """Empty: the set-up flows need no settings of their own; anything written here is refused."""
