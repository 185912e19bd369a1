"""The notifications page: what ``persistent_notification.create`` (and ``notify.*``) left for the admins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from hub.auth import role_at_least
from hub.http.routes import Route, current_user
from hub.http.server import HUB_KEY
from hub.http.templating import render, request_lang
from hub.i18n import register_by_lang
from integrations.notify.const import RUNTIME

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("routes",)

_LABELS = {
    "en": {
        "title": "Notifications",
        "none": "No notifications.",
        "dismiss": "Dismiss",
        "dismiss_all": "Dismiss all",
    },
    "th": {
        "title": "การแจ้งเตือน",
        "none": "ไม่มีการแจ้งเตือน",
        "dismiss": "ปิด",
        "dismiss_all": "ปิดทั้งหมด",
    },
}
# One catalogue for the whole UI: the table is registered with hub.i18n (same shape back).
_LABELS = register_by_lang("notify.page", _LABELS, prefix="notify.page.")


async def notifications(request: web.Request) -> web.StreamResponse:
    """Render the notifications, newest first."""
    hub = request.app[HUB_KEY]
    user = current_user(request)
    rt = hub.data.get(RUNTIME)
    items = list(reversed(rt.notifications.values())) if rt is not None else []
    return render(
        request,
        "notifications.html",
        items=items,
        L=_LABELS.get(request_lang(request), _LABELS["en"]),
        can_dismiss=user is not None and role_at_least(user.role, "operator"),
    )


def routes(hub: Hub) -> list[Route]:
    """Return the page route."""
    return [
        Route(
            "GET",
            "/notifications",
            notifications,
            api=False,
            tags=("pages",),
            summary="Persistent notifications (persistent_notification.create, notify.persistent_notification)",
        )
    ]
