"""The ``patrol_qr.*`` services: what the pages, the REST API and automations call.

Check-ins are not a service on purpose: a check-in must come from a scanned
sheet, and a service anyone with a token could call would prove nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.core.errors import ServiceValidationError
from plugins.patrol_qr import links
from plugins.patrol_qr.const import DOMAIN, RUNTIME
from plugins.patrol_qr.problems import PatrolError, Refused

if TYPE_CHECKING:
    from hub.core.services import ServiceCall
    from hub.hub import Hub

__all__ = ("register",)


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddCheckpoint(_Schema):
    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    name: str = Field(min_length=1, max_length=120)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    risk: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _both(self) -> AddCheckpoint:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class CheckpointId(_Schema):
    id: str = Field(min_length=1, max_length=40)


class IssueVolunteer(_Schema):
    name: str = Field(min_length=1, max_length=80)
    phone: str = Field(default="", max_length=30)


class VolunteerId(_Schema):
    volunteer_id: str = Field(min_length=1, max_length=40)


class CheckinId(_Schema):
    checkin_id: str = Field(min_length=1, max_length=40)


class Empty(_Schema):
    pass


def _refusing(handler: Callable[[ServiceCall], Awaitable[Any]]) -> Callable[[ServiceCall], Awaitable[Any]]:
    """Report a ValueError from the manager as bad input (HTTP 400), not as a crash."""

    @functools.wraps(handler)
    async def wrapped(call: ServiceCall) -> Any:
        try:
            return await handler(call)
        except PatrolError as err:
            raise Refused(f"{DOMAIN}.{call.service}: {err}", [err]) from err
        except ValueError as err:
            raise ServiceValidationError(f"{DOMAIN}.{call.service}: {err}") from err

    return wrapped


def register(hub: Hub) -> None:
    """Register the services on a hub whose patrol manager is set up."""
    mgr = hub.data[RUNTIME]

    async def add_checkpoint(call: ServiceCall) -> dict[str, Any]:
        d = call.data
        cp = await mgr.add_checkpoint(d["id"], d["name"].strip(), d["lat"], d["lon"], d["risk"].strip())
        return cp.public()

    async def remove_checkpoint(call: ServiceCall) -> None:
        await mgr.remove_checkpoint(call.data["id"])

    async def new_sheet(call: ServiceCall) -> dict[str, Any]:
        await mgr.new_sheet(call.data["id"])
        return await sheet_link(call)

    async def sheet_link(call: ServiceCall) -> dict[str, Any]:
        cp = await mgr.store.checkpoint(call.data["id"])
        if cp is None:
            raise PatrolError("no_checkpoint", id=call.data["id"])
        path = mgr.signed_link(cp)
        return {"url": links.absolute_url(hub, path), "path": path, "expires": links.link_expiry(path)}

    async def issue_volunteer_link(call: ServiceCall) -> dict[str, Any]:
        vol, path = await mgr.issue_volunteer(
            call.data["name"].strip(), call.data["phone"].strip(), await hub.auth.actor(call.context)
        )
        return {"volunteer_id": vol.id, "name": vol.name, "path": path, "url": links.absolute_url(hub, path)}

    async def revoke_volunteer(call: ServiceCall) -> None:
        await mgr.revoke_volunteer(call.data["volunteer_id"])

    async def move_volunteer(call: ServiceCall) -> dict[str, Any]:
        path = await mgr.move_volunteer(call.data["volunteer_id"])
        return {"volunteer_id": call.data["volunteer_id"], "path": path, "url": links.absolute_url(hub, path)}

    async def accept_checkin(call: ServiceCall) -> dict[str, Any]:
        return await mgr.accept_checkin(call.data["checkin_id"], await hub.auth.actor(call.context))

    async def check_gaps(call: ServiceCall) -> dict[str, Any]:
        return {"gaps": await mgr.check_gaps()}

    def reg(
        service: str,
        handler: Callable[[ServiceCall], Awaitable[Any]],
        schema: type[BaseModel],
        *,
        role: str,
        description: str,
    ) -> None:
        hub.services.register(DOMAIN, service, _refusing(handler), schema, role=role, description=description)

    reg(
        "add_checkpoint",
        add_checkpoint,
        AddCheckpoint,
        role="admin",
        description="Add a patrol checkpoint (red box)",
    )
    reg(
        "remove_checkpoint",
        remove_checkpoint,
        CheckpointId,
        role="admin",
        description="Remove a checkpoint added in the UI; its check-ins stay in the reports",
    )
    reg(
        "new_sheet",
        new_sheet,
        CheckpointId,
        role="admin",
        description="Make a new QR sheet for a checkpoint; older prints stop working",
    )
    reg(
        "sheet_link",
        sheet_link,
        CheckpointId,
        role="admin",
        description="Return the signed check-in link printed on a checkpoint's sheet",
    )
    reg(
        "issue_volunteer_link",
        issue_volunteer_link,
        IssueVolunteer,
        role="admin",
        description="Create a volunteer and return their personal check-in link (shown once)",
    )
    reg(
        "revoke_volunteer",
        revoke_volunteer,
        VolunteerId,
        role="admin",
        description="Revoke a volunteer's personal link",
    )
    reg(
        "move_volunteer",
        move_volunteer,
        VolunteerId,
        role="admin",
        description="Move a volunteer's link to a new phone: a new link (shown once); the old link and "
        "phone stop working",
    )
    reg(
        "accept_checkin",
        accept_checkin,
        CheckinId,
        role="admin",
        description="Accept a flagged check-in (far, too fast, no position) as a proven visit",
    )
    reg(
        "check_gaps",
        check_gaps,
        Empty,
        role="operator",
        description="Run the gap check now and fire patrol_gap for each gap",
    )
