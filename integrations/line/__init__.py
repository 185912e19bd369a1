"""LINE for the Big 6 and ตาสับปะรด networks: alert cards with acknowledge, tips, escalation.

Thin hook implementations; the work is in :mod:`integrations.line.runtime` and
the modules it builds.  Nothing heavy is imported here: the hub imports every
built-in integration at start, and line-bot-sdk is loaded only when the
``line:`` block is configured (see :mod:`integrations.line.client`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl
from hub.metrics import METRICS
from integrations.line.config import LineConfig
from integrations.line.const import DOMAIN, RUNTIME
from integrations.line.notify import add_notify_targets
from integrations.line.runtime import LineRuntime
from integrations.line.sender import SendSchema
from integrations.line.store import MIGRATIONS

if TYPE_CHECKING:
    from hub.http.routes import Route
    from hub.hub import Hub

__all__ = ("LINE", "LineConfig", "LineRuntime")

_HERE = Path(__file__).resolve().parent


@hookimpl
def config_schema() -> Any:
    """Return the ``line:`` block type."""
    return LineConfig


@hookimpl
def storage_migrations() -> Any:
    """Return LINE's tables."""
    return MIGRATIONS


@hookimpl
async def setup(hub: Hub, config: LineConfig | None) -> None:
    """Connect to LINE (a refused token fails only this plugin) and register ``line.send``."""
    if config is None:
        return
    rt = LineRuntime(hub, config)
    await rt.start()
    hub.data[RUNTIME] = rt

    async def send(call: Any) -> dict[str, Any]:
        answer = await rt.sender.send_service(call.model, call.context, key=call.key)
        metrics = hub.data.get(METRICS)
        if metrics is not None:
            for result in answer.get("results") or []:
                metrics.record_line("failed" if result.get("status") == "failed" else "sent")
        return answer

    hub.services.register(
        DOMAIN,
        "send",
        send,
        SendSchema,
        role="operator",
        description="Send a message or an incident's card (with acknowledge button) to LINE groups by alias",
        idempotent=True,
    )
    add_notify_targets(hub, config)


@hookimpl
def config_changed(hub: Hub, old: LineConfig | None, new: LineConfig | None) -> bool:
    """Apply new group aliases live; a new token, secret or other setting needs a restart.

    Aliases are read from the config at each send, so swapping it is enough; the client,
    webhook validator and workers keep what they were built with, so anything else
    changed is left to a restart rather than half-applied.
    """
    rt = hub.data.get(RUNTIME)
    if rt is None or old is None or new is None:
        return False
    if old.model_copy(update={"groups": new.groups}) != new:
        return False
    rt.config = new
    rt.publish_state()
    add_notify_targets(hub, new)
    return True


@hookimpl
def repairs(hub: Hub) -> list[dict[str, str]] | None:
    """A monthly message quota near its end (LINE alerts stop when it runs out)."""
    from hub.components.onboarding.checks import item

    rt = hub.data.get(RUNTIME)
    if rt is None or rt.quota.level == "ok":
        return None
    severity = "error" if rt.quota.level == "exhausted" else "warning"
    percent = rt.quota.as_dict()["percent"]
    percent = "?" if percent is None else percent
    return [
        item(
            "line_quota",
            severity,
            "repairs.line_quota",
            "repairs.line_quota_detail",
            "/line",
            percent=percent,
        )
    ]


@hookimpl
async def shutdown(hub: Hub) -> None:
    """Close the LINE client."""
    rt = hub.data.pop(RUNTIME)
    if rt is not None:
        await rt.stop()


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the webhook, the API and the pages (only when LINE is set up)."""
    from integrations.line.views import routes

    return routes(hub)


@hookimpl
def template_dirs() -> list[Path]:
    """Return the LINE page templates."""
    return [_HERE / "templates"]


@hookimpl
def static_dirs() -> Mapping[str, Path]:
    """Return the LINE page's stylesheet and script."""
    return {"line": _HERE / "static"}


@hookimpl
def nav_links(hub: Hub, user: Mapping[str, Any] | None) -> list[Mapping[str, str]]:
    """Link the LINE page for operators and admins."""
    if RUNTIME not in hub.data:
        return []
    return [{"href": "/line", "label_th": "LINE", "label_en": "LINE", "role": "operator"}]


@hookimpl
def health_info(hub: Hub) -> Mapping[str, Any] | None:
    """Report the quota level and the bot's reachability to the station."""
    rt = hub.data.get(RUNTIME)
    if rt is None:
        return None
    quota = rt.quota.as_dict()
    return {"quota_level": quota["level"], "quota_percent": quota["percent"], "reachable": rt.bot is not None}


@hookimpl
def service_schemas() -> Any:
    """Return ``line.send``'s schema (for ``check``)."""
    return {"line.send": SendSchema}


@hookimpl
def streamed_events() -> list[str]:
    """The LINE page shows the monthly quota as it changes."""
    from integrations.line.const import EVENT_QUOTA

    return [EVENT_QUOTA]
