"""The ``people_poll.*`` services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hub.core.errors import ServiceValidationError
from plugins.people_poll.const import DOMAIN, MONTH_PATTERN, RUNTIME

if TYPE_CHECKING:
    from hub.core.services import ServiceCall
    from hub.hub import Hub

__all__ = ("register",)


class MonthSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: ``YYYY-MM``; this month when left out.
    month: str | None = Field(default=None, pattern=MONTH_PATTERN)


def register(hub: Hub) -> None:
    """Register the services on a hub whose poll is set up."""
    mgr = hub.data[RUNTIME]

    def link(call: ServiceCall) -> dict[str, Any]:
        month = call.data["month"] or mgr.current_month()
        try:
            path = mgr.link(month)
        except ValueError as err:
            raise ServiceValidationError(f"{DOMAIN}.link: {err}") from err
        base = hub.core.web.public_url
        return {
            "month": month,
            "path": path,
            "url": base.rstrip("/") + path if base else path,
            "closes_at": mgr.closes_at(month),
        }

    async def results(call: ServiceCall) -> dict[str, Any]:
        return await mgr.public_results(call.data["month"] or mgr.current_month())

    hub.services.register(
        DOMAIN,
        "link",
        link,
        MonthSchema,
        role="admin",
        description="Return the signed public link of a month's poll (for a QR or LINE)",
    )
    hub.services.register(
        DOMAIN,
        "results",
        results,
        MonthSchema,
        role="viewer",
        description="Return a month's aggregates (no comments)",
    )
