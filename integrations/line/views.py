"""The LINE page (groups, message log, quota gauge, test message, registration codes) and its API.

Pages only read; every change goes through the JSON API under ``/api/line/``
(the page's forms post there with the session's CSRF token), and every
change is audited.  Two routes are public and protect themselves: the
webhook (LINE's signature) and the card's "Details" page (a signed,
expiring link).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.auth import role_at_least
from hub.components.incident import IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.http.routes import Route, current_user, json_error
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from hub.i18n import pair_translator, register_template_pairs
from integrations.line import registration
from integrations.line.cards import short_ref
from integrations.line.const import RUNTIME
from integrations.line.runtime import LineRuntime
from integrations.line.sender import DETAILS_PATH, SendSchema

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)

#: The pages write their words as tr("ไทย", "English") pairs; they join the one catalogue.
register_template_pairs("line.pages", Path(__file__).parent / "templates")


class AliasBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Empty removes the alias (the group goes back to pending).
    alias: str = Field(default="", max_length=32)


class TestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1)
    text: str = Field(default="", max_length=1000)


class CodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_ref: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    sector: str = Field(default="", max_length=60)


def _rt(request: web.Request) -> LineRuntime:
    runtime = request.app[HUB_KEY].data.get(RUNTIME)
    if runtime is None:
        raise web.HTTPServiceUnavailable(text="LINE is not set up")
    return runtime


async def _body(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        raw = await request.json()
    except ValueError as err:
        raise web.HTTPBadRequest(text="body is not JSON") from err
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()
        )
        raise ValueError(problems) from err


def _actor(request: web.Request) -> tuple[str, str]:
    user = current_user(request)
    return (user.username, user.role) if user is not None else ("?", "")


# -- API ---------------------------------------------------------------------------------------


async def status(request: web.Request) -> web.Response:
    """Bot, quota, groups and webhook counters."""
    rt = _rt(request)
    return web.json_response(await _status(rt))


async def _status(rt: LineRuntime) -> dict[str, Any]:
    return {
        "bot": rt.bot,
        "connection_error": rt.connection_error,
        "quota": rt.quota.as_dict(),
        "groups": [g.as_dict() for g in rt.group_rows()],
        "webhook": {
            "received": rt.webhook.received,
            "rejected": rt.webhook.rejected,
            "duplicates": rt.webhook.duplicates,
        },
    }


async def messages(request: web.Request) -> web.Response:
    """The message log, newest first."""
    rt = _rt(request)
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return json_error(400, "limit must be a number")
    rows = await rt.store.messages(limit, request.query.get("incident_id") or None)
    return web.json_response([r.as_dict() for r in rows])


async def set_alias(request: web.Request) -> web.Response:
    """Give a pending group its alias (or take it away)."""
    rt = _rt(request)
    body: AliasBody = await _body(request, AliasBody)
    group_id = request.match_info["group_id"]
    row = await rt.assign_alias(group_id, body.alias.strip() or None)
    who, role = _actor(request)
    await rt.hub.audit.log(
        who, "line.group_alias", group_id, role=role, detail={"alias": row.alias}, ip=request.remote or ""
    )
    rt.publish_state()
    return web.json_response(row.as_dict())


async def send_test(request: web.Request) -> web.Response:
    """Send a test message to a group alias or LINE id."""
    rt = _rt(request)
    body: TestBody = await _body(request, TestBody)
    who, role = _actor(request)
    text = body.text.strip() or (
        f"ข้อความทดสอบจาก {rt.hub.name} ส่งโดย {who} / Test message from {rt.hub.name}"
    )
    result = await rt.sender.send_service(SendSchema(to=body.to, message=text), None)
    await rt.hub.audit.log(
        who, "line.test_message", body.to, role=role, detail=result, ip=request.remote or ""
    )
    return web.json_response(result)


async def refresh_quota(request: web.Request) -> web.Response:
    """Read the quota from LINE now."""
    rt = _rt(request)
    await rt.quota.refresh()
    return web.json_response(rt.quota.as_dict())


async def create_code(request: web.Request) -> web.Response:
    """Make a one-time registration code for a Big 6 member; it is shown only in this answer."""
    rt = _rt(request)
    body: CodeBody = await _body(request, CodeBody)
    who, role = _actor(request)
    code = await registration.create_code(
        rt.hub,
        member_ref=body.member_ref,
        name=body.name,
        sector=body.sector,
        created_by=who,
        ttl_hours=rt.config.code_ttl_hours,
    )
    await rt.hub.audit.log(
        who,
        "line.registration_code",
        body.member_ref,
        role=role,
        detail={"name": body.name, "sector": body.sector},
        ip=request.remote or "",
    )
    return web.json_response(
        {
            "code": code,
            "member_ref": body.member_ref,
            "name": body.name,
            "expires_in_hours": rt.config.code_ttl_hours,
        },
        status=201,
    )


async def members(request: web.Request) -> web.Response:
    """Linked Big 6 members."""
    rt = _rt(request)
    return web.json_response([m.as_dict() for m in await registration.linked_members(rt.hub)])


async def webhook(request: web.Request) -> web.StreamResponse:
    """LINE's webhook (public; the X-Line-Signature HMAC protects it)."""
    return await _rt(request).webhook.handle(request)


# -- pages -------------------------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    """The LINE settings page."""
    rt = _rt(request)
    lang = request_lang(request)
    user = current_user(request)

    tr = pair_translator(lang)

    return render(
        request,
        "line_settings.html",
        tr=tr,
        info=await _status(rt),
        rows=await rt.store.messages(50),
        aliases=sorted((await rt.aliases()).items()),
        is_admin=role_at_least(user.role, "admin"),
        members=await registration.linked_members(rt.hub),
        webhook_url=_webhook_url(rt.hub),
    )


def _webhook_url(hub: Hub) -> str:
    base = hub.core.web.public_url
    return (base.rstrip("/") if base else "https://<hub.web.public_url>") + "/api/line/webhook"


async def incident_page(request: web.Request) -> web.Response:
    """The card's "Details" page: the incident's facts for whoever holds the signed link."""
    hub = request.app[HUB_KEY]
    incident_id = request.match_info["incident_id"]
    party = request.query.get("for", "")
    signed = hub.signer.verify(request.path, request.query.get("exp"), request.query.get("sig"), extra=party)
    user = current_user(request)
    if not signed and user is None:
        return json_error(403, "this link is invalid or has expired / ลิงก์ไม่ถูกต้องหรือหมดอายุ")
    try:
        incident = await hub.data[INCIDENT_RUNTIME].get(incident_id)
    except (IncidentNotFound, KeyError):
        return json_error(404, "no such incident")
    if user is None:
        await hub.audit.log(
            party or "link",
            "line.incident_view",
            incident_id,
            role="link",
            source="signed_link",
            ip=request.remote or "",
            detail={"for": party},
        )
    from integrations.camera import snapshot_link

    # Camera snapshots only (their owner's policy is applied when the link is
    # opened); photos citizens sent in tips are not handed on.
    photos = [
        snapshot_link(hub, a, party=party)
        for entry in incident.timeline
        if entry.kind == "snapshot" and entry.actor.startswith("camera.")
        for a in entry.attachments
    ][:6]
    lang = request_lang(request)

    tr = pair_translator(lang)

    response = render(
        request,
        "line_incident.html",
        tr=tr,
        incident=incident,
        ref=short_ref(incident.id),
        photos=photos,
        full_link=f"/incidents/{incident.id}",
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def routes(hub: Hub) -> list[Route]:
    """Return the LINE routes (they answer 503 while LINE is not set up: it may be set up live)."""
    tags = ("line",)
    return [
        Route(
            "POST",
            "/api/line/webhook",
            webhook,
            public=True,
            csrf=False,
            tags=tags,
            summary="LINE webhook: public, protected by the X-Line-Signature HMAC of the raw body",
        ),
        Route("GET", "/api/line/status", status, role="operator", tags=tags, summary="Bot, quota, groups"),
        Route(
            "GET",
            "/api/line/messages",
            messages,
            role="operator",
            tags=tags,
            summary="Message log with delivery results",
        ),
        Route(
            "POST",
            "/api/line/groups/{group_id}",
            set_alias,
            role="admin",
            tags=tags,
            summary="Give a pending group its alias",
            request_schema=AliasBody.model_json_schema(),
        ),
        Route(
            "POST",
            "/api/line/test",
            send_test,
            role="admin",
            tags=tags,
            summary="Send a test message",
            request_schema=TestBody.model_json_schema(),
        ),
        Route(
            "POST",
            "/api/line/quota/refresh",
            refresh_quota,
            role="admin",
            tags=tags,
            summary="Read the message quota now",
        ),
        Route(
            "POST",
            "/api/line/registration_codes",
            create_code,
            role="admin",
            tags=tags,
            summary="One-time code linking a Big 6 member's LINE account",
            request_schema=CodeBody.model_json_schema(),
        ),
        Route("GET", "/api/line/members", members, role="admin", tags=tags, summary="Linked Big 6 members"),
        Route("GET", "/line", page, role="operator", api=False, tags=("pages",), summary="LINE settings"),
        Route(
            "GET",
            DETAILS_PATH,
            incident_page,
            public=True,
            api=False,
            tags=("pages",),
            summary="Incident facts for the holder of a signed, expiring link from a LINE card",
        ),
    ]
