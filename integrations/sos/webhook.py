"""SOS buttons behind a secret URL: ``POST /api/sos/webhook/{id}`` for cheap Wi-Fi buttons.

The route is public (a Shelly Button or an ESP cannot log in); the secret id
in the URL is the protection.  Lookup compares the given id with *every*
configured id in constant time, so the response time does not tell an
attacker how much of a guess was right, and failures are throttled per IP.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from hub.badinput import BadInputLog
from hub.core.context import Context
from hub.http.routes import Route, json_error
from hub.http.server import HUB_KEY
from hub.keys import HubKey
from integrations.sos.entity import SosButton

if TYPE_CHECKING:
    pass

__all__ = ("WEBHOOKS", "WebhookRegistry", "route")

_LOGGER = logging.getLogger(__name__)
_BAD = BadInputLog(_LOGGER)
#: Largest body read (an optional ``{"action": "..."}``).
_MAX_BODY = 4096
#: Failed lookups per IP per window before answering 429.
_MAX_FAILURES = 20
_WINDOW = 300.0


class WebhookRegistry:
    """Secret id → button, with a per-IP failure throttle."""

    def __init__(self) -> None:
        self._hooks: list[tuple[bytes, SosButton]] = []
        self._failures: dict[str, list[float]] = {}

    def add(self, secret: str, button: SosButton) -> None:
        """Register a button's secret id."""
        self._hooks.append((secret.encode(), button))

    def remove(self, button: SosButton) -> None:
        """Forget every secret id of ``button`` (its config changed or it was removed)."""
        self._hooks = [(secret, b) for secret, b in self._hooks if b is not button]

    def find(self, candidate: str) -> SosButton | None:
        """Return the button for ``candidate``, comparing against every id in constant time."""
        given = candidate.encode()
        found: SosButton | None = None
        for secret, button in self._hooks:
            # No early exit: every id is compared whatever matched before.
            if hmac.compare_digest(secret, given):
                found = button
        return found

    def throttled(self, ip: str, now: float) -> bool:
        """Return whether ``ip`` failed too often recently."""
        recent = [t for t in self._failures.get(ip, ()) if now - t < _WINDOW]
        if recent:
            self._failures[ip] = recent
        else:
            self._failures.pop(ip, None)
        return len(recent) >= _MAX_FAILURES

    def fail(self, ip: str, now: float) -> None:
        """Count a failed lookup (bounded memory)."""
        if len(self._failures) > 10_000 and ip not in self._failures:
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(ip, []).append(now)

    def __len__(self) -> int:
        return len(self._hooks)


WEBHOOKS: HubKey[WebhookRegistry] = HubKey("sos_webhooks")


async def handle(request: web.Request) -> web.StreamResponse:
    """Press the button whose secret id is in the URL."""
    hub = request.app[HUB_KEY]
    registry = hub.data.get(WEBHOOKS)
    ip = request.remote or "?"
    now = hub.clock.time()
    if registry is None or registry.throttled(ip, now):
        return json_error(429 if registry is not None else 404, "not found or too many attempts")
    button = registry.find(request.match_info["webhook_id"])
    if button is None:
        registry.fail(ip, now)
        # Never log the id itself: a typo of a real secret is still most of the secret.
        _BAD.warn(f"webhook {ip}", "SOS webhook: unknown id from %s", ip)
        return json_error(404, "not found")
    action = "webhook"
    if request.can_read_body:
        body = await request.content.read(_MAX_BODY + 1)
        if len(body) <= _MAX_BODY and body.strip():
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("action"), str) and data["action"].strip():
                action = data["action"].strip()[:64]
    await button.press(action, "webhook", context=Context(origin="webhook"), data={"remote": ip})
    return web.json_response({"ok": True, "entity_id": button.entity_id})


def route() -> Route:
    """Return the public webhook route."""
    return Route(
        "POST",
        "/api/sos/webhook/{webhook_id}",
        handle,
        public=True,
        csrf=False,
        summary="Press an SOS button: protected by the button's secret id in the URL "
        "(constant-time lookup, failures throttled per IP)",
        tags=("sos",),
    )
