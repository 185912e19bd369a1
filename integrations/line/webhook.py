"""``POST /api/line/webhook``: LINE's events, checked, answered at once, handled after.

The route is public (LINE cannot log in); its protection is the
``X-Line-Signature`` header, an HMAC-SHA256 of the **raw** body with the
channel secret, checked before anything else is done with the body.  A
missing header, a bad signature, or a body that is not UTF-8 JSON changes
nothing.  Events are queued per chat (so one group's events keep their
order), the answer is 200 straight away (LINE times out slow webhooks), and
each event is de-duplicated on ``webhookEventId`` before it is handled,
because LINE redelivers.  Ids are remembered for ``DEDUPE_KEEP``; an event
whose ``timestamp`` is older than that (less an hour for clock skew) is
refused, or a captured signed delivery could be replayed once its id has been
forgotten.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.http.routes import json_error
from integrations.line.const import DEDUPE_KEEP

if TYPE_CHECKING:
    from integrations.line.runtime import LineRuntime

__all__ = ("WebhookIntake", "chat_key", "parse_event")

_LOGGER = logging.getLogger(__name__)
_SIGNATURE = "X-Line-Signature"
#: Oldest event accepted: inside the dedupe window, with an hour to spare for clock skew.
MAX_EVENT_AGE = DEDUPE_KEEP - 3600


def parse_event(raw: Any, event_cls: Any) -> Any | None:
    """Return the SDK model of one event dict, or None for unknown or malformed events.

    ``event_cls`` is ``linebot.v3.webhooks.Event``.  LINE adds event types over
    time; an unknown one is skipped rather than failing the whole batch.
    """
    if not isinstance(raw, dict):
        return None
    try:
        return event_cls.from_dict(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        # pydantic.v1's ValidationError is a ValueError: the SDK's models are v1.
        _LOGGER.info(
            "LINE: webhook event of type %r skipped: %s", raw.get("type"), str(err).splitlines()[0][:200]
        )
        return None


def chat_key(raw: dict[str, Any]) -> str:
    """Return the chat an event belongs to, so events of one chat are handled in order."""
    source = raw.get("source")
    if isinstance(source, dict):
        for key in ("groupId", "roomId", "userId"):
            value = source.get(key)
            if isinstance(value, str) and value:
                return value
    return "-"


class WebhookIntake:
    """Checks, queues and handles webhook deliveries."""

    def __init__(self, rt: LineRuntime) -> None:
        self.rt = rt
        self.hub = rt.hub
        self._validator: Any = None
        self._event_cls: Any = None
        self._tails: dict[str, asyncio.Task[None]] = {}
        self.received = 0
        self.rejected = 0
        self.duplicates = 0
        self.stale = 0

    async def start(self) -> None:
        """Import the SDK's webhook side (off the loop) and build the signature validator."""
        loop = asyncio.get_running_loop()
        webhook = await loop.run_in_executor(None, importlib.import_module, "linebot.v3.webhook")
        models = await loop.run_in_executor(None, importlib.import_module, "linebot.v3.webhooks")
        self._validator = webhook.SignatureValidator(self.rt.config.channel_secret.get_secret_value())
        self._event_cls = models.Event

    # -- the route ----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Check the delivery, queue its events, answer 200."""
        limit = self.rt.config.webhook_max_bytes
        if request.content_length is not None and request.content_length > limit:
            return self._reject(request, 413, f"body larger than {limit} bytes")
        body = await _read_limited(request, limit)
        if body is None:
            return self._reject(request, 413, f"body larger than {limit} bytes")
        signature = request.headers.get(_SIGNATURE)
        if not signature:
            return self._reject(request, 401, "missing X-Line-Signature")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return self._reject(request, 401, "invalid signature")
        # The SDK validator compares in constant time, over the raw body as LINE signed it.
        if self._validator is None or not self._validator.validate(text, signature):
            return self._reject(request, 401, "invalid signature")
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):
            # RecursionError: signed, but nested deeper than any LINE body (100,000 levels)
            return self._reject(request, 400, "body is not JSON")
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            return self._reject(request, 400, "body has no events list")
        self.received += 1
        for raw in events:
            if isinstance(raw, dict):
                self._queue(raw)
        # LINE's console "Verify" button sends an empty events list: 200 as well.
        return web.json_response({})

    def _reject(self, request: web.Request, status: int, why: str) -> web.Response:
        self.rejected += 1
        _LOGGER.warning("LINE webhook from %s refused (%d): %s", request.remote, status, why)
        return json_error(status, why)

    # -- queueing -----------------------------------------------------------------------

    def _queue(self, raw: dict[str, Any]) -> None:
        key = chat_key(raw)
        previous = self._tails.get(key)
        task = self.hub.create_task(self._after(previous, raw), f"line webhook {raw.get('type')}")
        self._tails[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tails.get(key) is done:
                del self._tails[key]

        task.add_done_callback(forget)

    async def _after(self, previous: asyncio.Task[None] | None, raw: dict[str, Any]) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        await self.process(raw)

    async def process(self, raw: dict[str, Any]) -> None:
        """De-duplicate, parse and handle one event; nothing it contains can stop the others."""
        event_id = raw.get("webhookEventId")
        if not isinstance(event_id, str) or not event_id:
            _LOGGER.info("LINE: webhook event without webhookEventId skipped")
            return
        stamp = raw.get("timestamp")
        if (
            isinstance(stamp, bool)
            or not isinstance(stamp, int | float)
            or stamp / 1000 < self.hub.clock.time() - MAX_EVENT_AGE
        ):
            self.stale += 1
            _LOGGER.warning(
                "LINE: webhook event %s is older than the dedupe window (or undated); refused", event_id
            )
            return
        try:
            if not await self.rt.store.first_sighting(event_id):
                self.duplicates += 1
                _LOGGER.debug("LINE: webhook event %s already handled (redelivery)", event_id)
                return
            event = parse_event(raw, self._event_cls)
            if event is None:
                return
            await self.rt.handlers.handle(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("LINE: handling webhook event %s (%s) failed", event_id, raw.get("type"))

    async def prune_loop(self) -> None:
        """Forget old webhook event ids once a day."""
        while True:
            try:
                await self.rt.store.prune_seen(self.hub.clock.time() - DEDUPE_KEEP)
            except Exception:
                _LOGGER.exception("LINE: pruning webhook ids failed")
            await self.hub.clock.sleep(24 * 3600)


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """Read the body, giving up (None) as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = await request.content.read(64 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    except web.HTTPRequestEntityTooLarge:
        return None
    return b"".join(chunks)
