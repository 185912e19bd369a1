"""The automation REST API, the webhook endpoint and the UI pages.

API (JSON):

- ``GET  /api/automations``                 every automation with state, last run and errors
- ``GET  /api/automations/{id}``            one automation
- ``POST /api/automations/{id}``            ``{"enabled": true|false}`` (admin)
- ``POST /api/automations/{id}/trigger``    run it by hand (admin)
- ``POST /api/automations/reload``          reload all; unchanged automations keep running (admin)
- ``POST /api/automations/{id}/reload``     reload only this one (admin)
- ``GET  /api/automations/{id}/traces``     its stored traces, newest first
- ``GET  /api/blueprints``                  the blueprints found
- ``POST /api/webhook/{webhook_id}``        public; the secret id is the protection
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.components.automation import ui_pages
from hub.components.automation.blueprints import list_blueprints, search_dirs
from hub.components.automation.const import RUNTIME, WEBHOOKS
from hub.components.automation.strings import translator
from hub.components.automation.ui_trace import EXECUTIONS, describe_trace
from hub.config.secrets import redact as redact_secrets
from hub.http.routes import Route, current_user, json_error, read_json_object
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang

if TYPE_CHECKING:
    from hub.components.automation.automation import Automation
    from hub.components.automation.manager import AutomationManager
    from hub.hub import Hub

__all__ = ("routes", "automation_summary")

_LOGGER = logging.getLogger(__name__)


def _manager(request: web.Request) -> AutomationManager:
    manager = request.app[HUB_KEY].data.get(RUNTIME)
    if manager is None:
        raise web.HTTPServiceUnavailable(
            text=json.dumps({"error": "automations are not set up"}), content_type="application/json"
        )
    return manager


def _automation(request: web.Request) -> Automation:
    automation = _manager(request).get(request.match_info["automation_id"])
    if automation is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": "no such automation"}), content_type="application/json"
        )
    return automation


def automation_summary(automation: Automation) -> dict[str, Any]:
    """Return what the list view and the API show of one automation."""
    state = automation.hub.states.get(automation.entity_id)
    spec = automation.spec
    return {
        "id": automation.key,
        "entity_id": automation.entity_id,
        "alias": automation.name,
        "description": spec.description if spec else "",
        "state": state.state if state is not None else ("unavailable" if automation.failed else "unknown"),
        "enabled": automation.enabled,
        "failed": automation.failed,
        "error": automation.error,
        "mode": spec.mode if spec else None,
        "current": len(automation.runs),
        "last_triggered": automation.last_triggered,
        "last_execution": automation.last_execution,
        "last_error": automation.last_error,
        "source": f"{automation.file}:{automation.line}" if automation.line else automation.file,
        "blueprint": (
            {"path": automation.blueprint.path, "name": automation.blueprint.name}
            if automation.blueprint is not None
            else None
        ),
    }


async def _audit(
    request: web.Request, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    hub = request.app[HUB_KEY]
    user = current_user(request)
    await hub.audit.log(
        user.username if user else "api",
        action,
        target,
        role=user.role if user else "",
        detail=detail,
        source="api",
        ip=request.remote or "",
    )


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "on", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "off", "0", "no"):
        return False
    raise ValueError("'enabled' must be true or false")


def _redacted_dumps(value: Any) -> str:
    """JSON with every `!secret` value masked: configs, errors and traces may hold one."""
    return redact_secrets(json.dumps(value, ensure_ascii=False))


async def list_automations(request: web.Request) -> web.Response:
    manager = _manager(request)
    return web.json_response(
        [automation_summary(a) for a in manager.automations.values()], dumps=_redacted_dumps
    )


async def get_automation(request: web.Request) -> web.Response:
    automation = _automation(request)
    out = automation_summary(automation)
    out["config"] = _plain(automation.raw)
    return web.json_response(out, dumps=_redacted_dumps)


async def set_automation(request: web.Request) -> web.Response:
    automation = _automation(request)
    body = await read_json_object(request)
    if "enabled" not in body:
        return json_error(400, "body needs 'enabled': true or false")
    enabled = _as_bool(body["enabled"])
    await _manager(request).set_enabled(automation, enabled)
    await _audit(request, "automation.turn_on" if enabled else "automation.turn_off", automation.entity_id)
    return web.json_response(automation_summary(automation), dumps=_redacted_dumps)


async def trigger_automation(request: web.Request) -> web.Response:
    automation = _automation(request)
    if automation.failed:
        return json_error(409, f"automation is invalid: {automation.error}")
    body = await read_json_object(request)
    from hub.core.context import Context

    user = current_user(request)
    context = Context(user_id=user.id if user else None, origin="api")
    skip = _as_bool(body.get("skip_condition", True))
    run = _manager(request).trigger(automation, skip_condition=skip, context=context)
    await _audit(request, "automation.trigger", automation.entity_id)
    return web.json_response(
        {"run_id": run.run_id if run is not None else None, **automation_summary(automation)},
        dumps=_redacted_dumps,
    )


async def reload_all(request: web.Request) -> web.Response:
    result = await _manager(request).reload()
    await _audit(request, "automation.reload", "all", result.model_dump())
    return web.json_response(result.model_dump(), dumps=_redacted_dumps)


async def reload_one(request: web.Request) -> web.Response:
    manager = _manager(request)
    key = request.match_info["automation_id"]
    existing = manager.get(key)
    result = await manager.reload([existing.key if existing is not None else key])
    await _audit(request, "automation.reload", key, result.model_dump())
    return web.json_response(result.model_dump(), dumps=_redacted_dumps)


async def get_traces(request: web.Request) -> web.Response:
    automation = _automation(request)
    traces = await _manager(request).traces_of(automation.key)
    return web.json_response(traces, dumps=_redacted_dumps)


def _blueprints(hub: Hub) -> list[dict[str, Any]]:
    return [b.as_dict() for b in list_blueprints(search_dirs(hub.config_dir))]


async def get_blueprints(request: web.Request) -> web.Response:
    return web.json_response(_blueprints(request.app[HUB_KEY]))


async def webhook(request: web.Request) -> web.Response:
    """Fire the webhook trigger with this id; unknown ids get the same answer (nothing to probe)."""
    hub = request.app[HUB_KEY]
    handler = (hub.data.get(WEBHOOKS) or {}).get(request.match_info["webhook_id"])
    if handler is None:
        return web.Response(status=200)
    raw = await request.read() if request.can_read_body else b""
    payload: dict[str, Any] = {"query": dict(request.query), "json": None, "data": None}
    if raw:
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            payload["data"] = dict(await request.post())
        else:
            try:
                payload["json"] = json.loads(raw)
            except ValueError:
                payload["data"] = raw.decode("utf-8", "replace")
    if not handler(request.method, request.remote, payload):
        _LOGGER.info("Webhook call refused (method %s from %s)", request.method, request.remote)
    return web.Response(status=200)


def _plain(value: Any) -> Any:
    from hub.components.automation.validate import jsonable_config

    converted = jsonable_config(value)
    return json.loads(json.dumps(converted, default=str, ensure_ascii=False))


# -- pages ---------------------------------------------------------------------------


async def _editable(request: web.Request) -> tuple[set[str], str]:
    """Ids of the automations the web UI wrote (it may change only those) and the block's etag."""
    writer = request.app[HUB_KEY].ui_config
    if writer is None:
        return set(), ""
    try:
        items, etag = await writer.list_items(ui_pages.BLOCK)
    except Exception:  # noqa: BLE001 - a broken config must not take the list page down with it
        _LOGGER.exception("Could not list the UI's automations")
        return set(), ""
    return {str(i.get("id")) for i in items if i.get("_editable")}, etag


async def page_list(request: web.Request) -> web.Response:
    manager = _manager(request)
    items = [automation_summary(a) for a in manager.automations.values()]
    editable, etag = await _editable(request)
    return render(
        request,
        "automations.html",
        automations=items,
        editable=editable,
        etag=etag,
        deleted=request.query.get("deleted") == "1",
        tr=translator(request_lang(request)),
    )


async def page_automation(request: web.Request) -> web.Response:
    automation = _automation(request)
    traces = await _manager(request).traces_of(automation.key)
    chosen = request.query.get("run")
    trace = next((t for t in traces if t.get("run_id") == chosen), traces[0] if traces else None)
    config = redact_secrets(json.dumps(_plain(automation.raw), ensure_ascii=False, indent=2))
    summary = json.loads(_redacted_dumps(automation_summary(automation)))
    lang = request_lang(request)
    tr = translator(lang)
    hub = request.app[HUB_KEY]

    def name_of(entity_id: str) -> str:
        state = hub.states.get(entity_id)
        return str(state.attributes.get("friendly_name") or entity_id) if state is not None else entity_id

    readable = describe_trace(trace, _plain(automation.raw), tr, lang, name_of) if trace is not None else None
    editable, etag = await _editable(request)
    return render(
        request,
        "automation.html",
        automation=summary,
        traces=[
            {
                **t,
                "execution_text": tr(f"exec.{t.get('script_execution')}")
                if t.get("script_execution") in EXECUTIONS
                else tr("exec.other"),
            }
            for t in traces
        ],
        trace=trace,
        readable=readable,
        config=config,
        editable=automation.key in editable,
        uses_blueprint=automation.blueprint is not None,
        etag=etag,
        saved=request.query.get("saved") == "1",
        tr=tr,
    )


async def page_blueprints(request: web.Request) -> web.Response:
    return render(
        request,
        "blueprints.html",
        blueprints=_blueprints(request.app[HUB_KEY]),
        tr=translator(request_lang(request)),
    )


def routes() -> list[Route]:
    """Return every route of the automation engine (fixed paths before ``{id}`` ones)."""
    tags = ("automations",)
    return [
        Route("GET", "/api/automations", list_automations, summary="List automations", tags=tags),
        Route(
            "POST",
            "/api/automations/reload",
            reload_all,
            role="admin",
            summary="Reload all automations; unchanged ones keep their runs and timers",
            tags=tags,
        ),
        Route("GET", "/api/automations/{automation_id}", get_automation, summary="One automation", tags=tags),
        Route(
            "POST",
            "/api/automations/{automation_id}",
            set_automation,
            role="admin",
            summary='Enable or disable: {"enabled": true|false}',
            tags=tags,
            request_schema={
                "type": "object",
                "properties": {"enabled": {"type": "boolean"}},
                "required": ["enabled"],
            },
        ),
        Route(
            "POST",
            "/api/automations/{automation_id}/trigger",
            trigger_automation,
            role="admin",
            summary="Run an automation's actions now",
            tags=tags,
        ),
        Route(
            "POST",
            "/api/automations/{automation_id}/reload",
            reload_one,
            role="admin",
            summary="Reload only this automation",
            tags=tags,
        ),
        Route(
            "GET",
            "/api/automations/{automation_id}/traces",
            get_traces,
            summary="Stored traces of an automation, newest first",
            tags=tags,
        ),
        Route("GET", "/api/blueprints", get_blueprints, summary="Blueprints found", tags=("blueprints",)),
        Route(
            "POST",
            "/api/webhook/{webhook_id}",
            webhook,
            public=True,
            tags=("automations",),
            summary="Fire a webhook trigger; public, protected by the secret webhook id",
        ),
        Route("GET", "/automations", page_list, api=False, summary="Automations page"),
        # The editor's fixed paths (/automations/new...) go before /automations/{id}.
        *ui_pages.routes(),
        Route(
            "GET", "/automations/{automation_id}", page_automation, api=False, summary="Automation and traces"
        ),
        Route("GET", "/blueprints", page_blueprints, api=False, summary="Blueprints page"),
    ]
