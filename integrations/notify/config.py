"""Schema of the ``notify:`` block."""

from __future__ import annotations

from pydantic import Field

from hub.config import BlockModel

__all__ = ("NotifyConfig",)


class NotifyConfig(BlockModel):
    """Where ``notify.notify`` goes: a list of notify target names."""

    #: ``persistent_notification`` (the hub's UI) and ``line_<group alias>`` for each LINE group.
    default: list[str] = Field(default=["persistent_notification"], min_length=1)
