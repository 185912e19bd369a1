"""The seam between Big 6 and the LINE integration's registration codes.

The LINE integration (:mod:`integrations.line.registration`) issues a
one-time code for a *member reference* and, when someone sends that code to
the hub's LINE bot, links their LINE user id to the reference and fires
``line_member_linked``.  Big 6 uses the reference ``big6:<member id>``.

This module is the only place that knows the LINE integration's functions.
When LINE is not installed or not set up, :func:`linker` returns None: the
pages say linking is unavailable, and a LINE user id can still be entered
by hand or in the CSV.  Tests (and any other messenger plugin) can provide
their own :class:`LineLinker` through ``hub.data[LINKER]``.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hub.keys import HubKey

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("LineLinker", "LineCode", "LINKER", "linker", "member_ref")

_LOGGER = logging.getLogger(__name__)


def member_ref(member_id: str) -> str:
    """Return the reference a member's LINE registration code is issued for."""
    return f"big6:{member_id}"


@dataclass(frozen=True)
class LineCode:
    """A registration code to give to a member (they send it to the LINE bot)."""

    code: str
    expires_at: float | None


class LineLinker(Protocol):
    """What Big 6 needs from a messenger integration."""

    async def issue_code(self, ref: str, name: str, sector: str, created_by: str) -> LineCode:
        """Return a new one-time code for ``ref``."""

    async def linked_user(self, ref: str) -> str | None:
        """Return the LINE user id linked to ``ref``, or None."""


#: A linker provided by a test or another plugin; takes precedence over the LINE integration.
LINKER: HubKey[LineLinker] = HubKey("big6_line_linker")


class _LineRegistration:
    """Adapter over :mod:`integrations.line.registration` (its documented functions)."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def issue_code(self, ref: str, name: str, sector: str, created_by: str) -> LineCode:
        from integrations.line.registration import create_code

        block = self._hub.loaded.blocks.get("line") if self._hub.loaded is not None else None
        ttl_hours = float(getattr(block, "code_ttl_hours", 72))
        code = await create_code(
            self._hub, member_ref=ref, name=name, sector=sector, created_by=created_by, ttl_hours=ttl_hours
        )
        return LineCode(code, self._hub.clock.time() + ttl_hours * 3600)

    async def linked_user(self, ref: str) -> str | None:
        from integrations.line.registration import line_user_for_member

        return await line_user_for_member(self._hub, ref)


def linker(hub: Hub) -> LineLinker | None:
    """Return how to link members to LINE on this hub, or None when it is unavailable."""
    provided = hub.data.get(LINKER)
    if provided is not None:
        return provided
    info = hub.plugins.plugins.get("line")
    # The codes are redeemed by the running LINE bot: without it a code could never be used.
    if info is None or info.status != "set_up":
        return None
    try:
        importlib.import_module("integrations.line.registration")
    except ImportError:
        _LOGGER.warning("big6: the line integration has no registration module; LINE linking is off")
        return None
    return _LineRegistration(hub)
