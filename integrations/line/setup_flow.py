"""The LINE set-up flow (``/setup/line``): token and secret verified, webhook URL, groups named, a test.

1. The admin pastes the channel access token and secret.  The hub asks LINE
   who the bot is (``GET /v2/bot/info``, through :class:`~integrations.line.client.LineApi`)
   with a client made for the check only: a refused token is said in Thai
   and nothing is written.  A good pair becomes the ``line:`` block, token
   and secret in ``secrets.yaml``, applied without a restart.
2. The page shows the webhook URL to enter in the LINE console.  Groups the
   bot joins arrive as ``join`` webhook events (the running integration
   records them) and are listed; the admin names each (``big6``,
   ``pineapple_eyes`` or another alias), which is written to
   ``line.groups``, so ``safetyhub check`` knows every alias an automation
   names.
3. A test message to a named group proves the whole path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.http.routes import Route, audit_request
from hub.http.server import HUB_KEY
from hub.http.templating import request_lang
from integrations.flows.common import FlowError, actor, form_text, render_flow, tr, write, writer
from integrations.line.const import ALIAS_RE, DEFAULT_API_BASE, RUNTIME

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes", "verify_channel", "webhook_url")

#: Seconds LINE gets to answer the bot-info check while the admin waits.
VERIFY_TIMEOUT = 10.0
#: Aliases the programme uses, offered first.
KNOWN_ALIASES = ("big6", "pineapple_eyes")


async def verify_channel(hub: Hub, token: str, secret: str, api_base: str) -> dict[str, Any]:
    """Ask LINE for the bot's info with ``token``; return it, or raise FlowError saying what to check."""
    from pydantic import SecretStr, ValidationError

    from integrations.line.client import LineApi, LineApiError
    from integrations.line.config import LineConfig

    if len(secret) != 32 or any(c not in "0123456789abcdef" for c in secret):
        raise FlowError("line.bad_secret")
    try:
        config = LineConfig(
            channel_access_token=SecretStr(token), channel_secret=SecretStr(secret), api_base=api_base
        )
    except ValidationError:
        # Not chained: pydantic's error repeats its input, the channel token and secret.
        raise FlowError("line.refused") from None
    api = LineApi(config, hub.clock)
    try:
        await api.start()
        return await api.bot_info(VERIFY_TIMEOUT)
    except LineApiError as err:
        if err.status in (401, 403):
            raise FlowError("line.refused") from err
        raise FlowError("line.unreachable") from err
    finally:
        await api.close()


def webhook_url(hub: Hub) -> str | None:
    """Return the URL LINE must post to, or None while the hub has no public address."""
    base = hub.core.web.public_url
    return base.rstrip("/") + "/api/line/webhook" if base else None


def _running(hub: Hub) -> Any:
    return hub.data.get(RUNTIME)


async def _page(
    request: web.Request, *, error: FlowError | None = None, notice: str | None = None, status: int = 200
) -> web.Response:
    hub = request.app[HUB_KEY]
    rt = _running(hub)
    groups = []
    if rt is not None:
        for row in rt.group_rows():
            if row.status == "left":
                continue
            groups.append(row)
    return render_flow(
        request,
        "setup_line.html",
        status=status,
        error=error,
        notice=notice,
        rt=rt,
        bot=rt.bot if rt is not None else None,
        groups=groups,
        webhook_url=webhook_url(hub),
        default_api_base=DEFAULT_API_BASE,
        known_aliases=KNOWN_ALIASES,
    )


async def page(request: web.Request) -> web.StreamResponse:
    """Show the LINE flow."""
    notice = request.query.get("notice")
    lang = request_lang(request)
    text = None
    if notice == "connected":
        rt = _running(request.app[HUB_KEY])
        bot = rt.bot if rt is not None and rt.bot else {}
        text = tr("line.connected", lang, name=bot.get("display_name", ""), basic_id=bot.get("basic_id", ""))
    elif notice and notice.startswith("named:"):
        text = tr("line.named", lang, alias=notice.partition(":")[2][:32])
    return await _page(request, notice=text)


async def post_connect(request: web.Request) -> web.StreamResponse:
    """Verify the token and secret with LINE, then write the ``line:`` block."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    token = form_text(form, "token", 1000).replace(" ", "")
    secret = form_text(form, "secret", 100).replace(" ", "").lower()
    api_base = (form_text(form, "api_base", 200) or DEFAULT_API_BASE).rstrip("/")
    lang = request_lang(request)
    try:
        if not token:
            raise FlowError("flow.required", field=tr("line.token", lang))
        bot = await verify_channel(hub, token, secret, api_base)
        ui = writer(hub)
        current, etag = await ui.get_block("line")
        block: dict[str, Any] = dict(current) if isinstance(current, Mapping) else {}
        if api_base != DEFAULT_API_BASE:
            block["api_base"] = api_base
        else:
            block.pop("api_base", None)
        # The writer puts both in secrets.yaml and writes `!secret` references to them.
        await write(
            ui.set_block(
                "line",
                block,
                etag=etag,
                secrets={"channel_access_token": token, "channel_secret": secret},
                actor=actor(request),
            )
        )
    except FlowError as err:
        return await _page(request, error=err, status=422)
    await audit_request(
        request, "setup.line_connected", "line", {"bot": bot.get("basic_id"), "api_base": api_base}
    )
    raise web.HTTPSeeOther("/setup/line?notice=connected")


async def post_name(request: web.Request) -> web.StreamResponse:
    """Name a group the bot joined: ``line.groups.<alias>: <group id>``."""
    hub = request.app[HUB_KEY]
    form = await request.post()
    group_id = form_text(form, "group_id", 40)
    alias = form_text(form, "alias", 40)
    if alias == "other":
        alias = form_text(form, "other", 40).lower()
    try:
        rt = _running(hub)
        if rt is None:
            raise FlowError("line.not_running")
        if rt.group_row(group_id) is None:
            raise FlowError("line.groups_none")
        if not ALIAS_RE.match(alias):
            raise FlowError("line.bad_alias")
        taken = (await rt.aliases()).get(alias)
        if taken is not None and taken != group_id:
            raise FlowError("line.alias_taken", alias=alias)
        ui = writer(hub)
        current, etag = await ui.get_block("line")
        if not isinstance(current, Mapping):
            raise FlowError("line.not_running")
        block = dict(current)
        groups = {k: v for k, v in dict(block.get("groups") or {}).items() if v != group_id}
        groups[alias] = group_id
        block["groups"] = groups
        await write(ui.set_block("line", block, etag=etag, actor=actor(request)))
    except FlowError as err:
        return await _page(request, error=err, status=422)
    await audit_request(request, "line.group_alias", group_id, {"alias": alias, "via": "setup"})
    raise web.HTTPSeeOther(f"/setup/line?notice=named:{alias}")


async def post_test(request: web.Request) -> web.StreamResponse:
    """Send a test message to a named group."""
    from integrations.line.sender import SendSchema

    hub = request.app[HUB_KEY]
    form = await request.post()
    alias = form_text(form, "alias", 40)
    lang = request_lang(request)
    rt = _running(hub)
    if rt is None:
        return await _page(request, error=FlowError("line.not_running"), status=422)
    text = (
        tr("line.test_card", "th", hub=hub.name, alias=alias)
        + "\n"
        + tr("line.test_card", "en", hub=hub.name, alias=alias)
    )
    result = await rt.sender.send_service(SendSchema(to=alias, message=text), None)
    await audit_request(
        request, "line.test_message", alias, {"via": "setup", "results": result.get("results")}
    )
    statuses = [r.get("status") for r in result.get("results") or []]
    if not statuses or "failed" in statuses:
        return await _page(request, error=FlowError("line.test_failed"), status=422)
    return await _page(request, notice=tr("line.test_sent", lang, alias=alias))


def routes() -> list[Route]:
    """Return the LINE flow's page and form routes (admins only)."""
    tags = ("pages",)
    return [
        Route("GET", "/setup/line", page, role="admin", api=False, tags=tags, summary="Connect LINE"),
        Route(
            "POST",
            "/setup/line/connect",
            post_connect,
            role="admin",
            api=False,
            tags=tags,
            summary="Verify a channel token and secret with LINE and save them",
        ),
        Route(
            "POST",
            "/setup/line/name",
            post_name,
            role="admin",
            api=False,
            tags=tags,
            summary="Name a LINE group the bot joined (line.groups)",
        ),
        Route(
            "POST",
            "/setup/line/test",
            post_test,
            role="admin",
            api=False,
            tags=tags,
            summary="Send a test message to a named LINE group",
        ),
    ]
