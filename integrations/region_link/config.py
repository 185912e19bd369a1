"""Schema of the ``region_link:`` block: this station reports to its region (DESIGN §14)."""

from __future__ import annotations

from pydantic import Field

from integrations.federation.config import UplinkConfig

__all__ = ("RegionLinkConfig",)


class RegionLinkConfig(UplinkConfig):
    """The ``region_link:`` block (printed by ``safetyhub region add-station``).

    The broker keys and the outbox's window, batch and ack timeout are the federation's
    (:class:`~integrations.federation.config.UplinkConfig`): the same uplink, one tier up.
    """

    #: The region's id: ``ssz/v1/region/<region>/<station>/...``.
    region: str = Field(pattern=r"^[a-z0-9-]{1,64}$")
    #: The region's broker, ``mqtts://host:8883`` in production.  The station's account at
    #: the region (``username``) is its station id: the region's ACL names it.
    broker: str
    #: How often the summaries are rebuilt; only what changed is sent.
    interval: float = Field(default=300.0, ge=1, le=24 * 3600)
    #: Incidents opened this many days back are summarised (and re-sent when they change).
    incident_days: int = Field(default=40, ge=1, le=400)
