"""The ``big6.*`` services: what the pages, the REST API and automations call."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from hub.core.errors import ServiceValidationError
from plugins.big6.const import DOMAIN, RESOLUTION_STATUSES, RUNTIME
from plugins.big6.csvio import ImportRefused
from plugins.big6.problems import Problem, Refused

if TYPE_CHECKING:
    from hub.core.services import ServiceCall
    from hub.hub import Hub

__all__ = ("register",)


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberFields(_Schema):
    name: str = Field(min_length=1, max_length=120)
    #: police, citizens, local_government, business, government_agencies or media (Thai names accepted).
    sector: str = Field(min_length=1, max_length=60)
    organisation: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=30)
    line_user_id: str = Field(default="", max_length=40)


class MemberUpdate(_Schema):
    member_id: str
    name: str | None = Field(default=None, min_length=1, max_length=120)
    sector: str | None = Field(default=None, max_length=60)
    organisation: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    line_user_id: str | None = Field(default=None, max_length=40)


class MemberId(_Schema):
    member_id: str


class ImportCsv(_Schema):
    #: The CSV text (header: name,sector,organisation,phone,line_user_id).
    csv: str = Field(max_length=512 * 1024)


class ResolutionFields(_Schema):
    text: str = Field(min_length=1, max_length=1000)
    #: Who carries it out; a member's exact name links it to them (LINE reminders).
    owner: str = Field(default="", max_length=120)
    #: Or the member by id (then ``owner`` may be left out: the member's name is used).
    owner_member_id: str | None = None
    due_date: dt.date
    status: str = "open"


class MeetingFields(_Schema):
    date: dt.date
    title: str = Field(default="", max_length=200)
    agenda: str = Field(default="", max_length=5000)
    #: People present per sector: ``{police: 2, citizens: 5, ...}``.
    attendance: dict[str, int] = Field(default_factory=dict)
    notes: str = Field(default="", max_length=5000)
    resolutions: list[ResolutionFields] = Field(default_factory=list, max_length=100)


class AddResolution(ResolutionFields):
    meeting_id: str


class StatusUpdate(_Schema):
    resolution_id: str
    status: str = Field(description=", ".join(RESOLUTION_STATUSES))
    note: str | None = Field(default=None, max_length=1000)


class Empty(_Schema):
    pass


def _refusing(handler: Callable[[ServiceCall], Awaitable[Any]]) -> Callable[[ServiceCall], Awaitable[Any]]:
    """Report bad input from the manager as a validation error (HTTP 400), not a crash."""

    @functools.wraps(handler)
    async def wrapped(call: ServiceCall) -> Any:
        try:
            return await handler(call)
        except ImportRefused as err:
            raise Refused(f"{DOMAIN}.{call.service}: nothing imported: {err}", err.errors) from err
        except Problem as err:
            raise Refused(f"{DOMAIN}.{call.service}: {err}", [err]) from err
        except ValueError as err:
            raise ServiceValidationError(f"{DOMAIN}.{call.service}: {err}") from err

    return wrapped


def register(hub: Hub) -> None:
    """Register the services on a hub where Big 6 is set up."""
    mgr = hub.data[RUNTIME]

    async def add_member(call: ServiceCall) -> dict[str, Any]:
        return (await mgr.add_member(call.data)).as_dict()

    async def update_member(call: ServiceCall) -> dict[str, Any]:
        values = {k: v for k, v in call.data.items() if k != "member_id" and v is not None}
        return (await mgr.update_member(call.data["member_id"], values)).as_dict()

    async def remove_member(call: ServiceCall) -> None:
        await mgr.remove_member(call.data["member_id"])

    async def import_members(call: ServiceCall) -> dict[str, Any]:
        members = await mgr.import_members(call.data["csv"].encode("utf-8"))
        return {"imported": len(members), "member_ids": [m.id for m in members]}

    async def record_meeting(call: ServiceCall) -> dict[str, Any]:
        return (await mgr.record_meeting(call.data, await hub.auth.actor(call.context))).as_dict()

    async def add_resolution(call: ServiceCall) -> dict[str, Any]:
        data = dict(call.data)
        return (await mgr.add_resolution(data.pop("meeting_id"), data)).as_dict()

    async def update_resolution(call: ServiceCall) -> dict[str, Any]:
        d = call.data
        return (await mgr.set_status(d["resolution_id"], d["status"], d["note"])).as_dict()

    async def line_code(call: ServiceCall) -> dict[str, Any]:
        code = await mgr.line_code(call.data["member_id"], await hub.auth.actor(call.context))
        return {"code": code.code, "expires_at": code.expires_at}

    async def check_overdue(call: ServiceCall) -> dict[str, Any]:
        return {"overdue": await mgr.check_overdue()}

    def reg(
        service: str,
        handler: Callable[[ServiceCall], Awaitable[Any]],
        schema: type[BaseModel],
        *,
        role: str,
        description: str,
    ) -> None:
        hub.services.register(DOMAIN, service, _refusing(handler), schema, role=role, description=description)

    reg("add_member", add_member, MemberFields, role="admin", description="Add a member to the directory")
    reg("update_member", update_member, MemberUpdate, role="admin", description="Change a member's details")
    reg("remove_member", remove_member, MemberId, role="admin", description="Take a member off the directory")
    reg(
        "import_members",
        import_members,
        ImportCsv,
        role="admin",
        description="Import members from CSV text: all rows or none, with every problem listed",
    )
    reg(
        "record_meeting",
        record_meeting,
        MeetingFields,
        role="operator",
        description="Record a monthly meeting: date, attendance by sector, agenda and resolutions",
    )
    reg(
        "add_resolution",
        add_resolution,
        AddResolution,
        role="operator",
        description="Add a resolution to a recorded meeting",
    )
    reg(
        "update_resolution",
        update_resolution,
        StatusUpdate,
        role="operator",
        description="Set a resolution's status (open, in_progress, done, dropped) and what came of it",
    )
    reg(
        "line_code",
        line_code,
        MemberId,
        role="admin",
        description="Get a LINE registration code for a member (needs the line integration)",
    )
    reg(
        "check_overdue",
        check_overdue,
        Empty,
        role="operator",
        description="Run the overdue check now; fires big6_resolution_overdue",
    )
