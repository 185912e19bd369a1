"""``Idempotency-Key`` for every state-changing API call.

A client that repeats a call (its connection dropped, the hub was killed
before it answered) sends the same key and gets the first call's answer,
without the call running twice.  Services whose effect and key are written
together honour keys themselves (``incident.open`` finds the incident it
opened, ``line.send`` hands LINE its retry key): they are registered with
``idempotent=True`` and get the key passed on.  Every other call
(``incident.ack``/``note``/``dispatch``/``close``, ``federation.send``,
``light.turn_on``...) goes through this module:

1. the key (scoped to the user) and a fingerprint of the request are
   committed with state ``running`` before the call;
2. the answer is committed with state ``done`` before it is sent;
3. a repeat with state ``done`` gets the stored answer
   (``Idempotent-Replayed: true``); a repeat with a different request gets
   422; a repeat while the first is still running gets 409; a repeat of a
   call the hub died in the middle of gets 409 too, saying the outcome is
   unknown (check, then retry with a new key): never a second run.

A call that fails with a server error (5xx) leaves no record, so it may be
retried with the same key.  Records are kept for :data:`KEEP_SECONDS`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from hub.http.routes import json_error
from hub.keys import HubKey

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("IDEMPOTENCY", "IdempotencyStore", "KEEP_SECONDS", "MIGRATIONS", "check_key", "idempotent")

#: How long a key is remembered (a day covers any sensible retry).
KEEP_SECONDS = 24 * 3600
#: Longest key accepted.
MAX_KEY = 200

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE api_idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        boot TEXT NOT NULL,
        state TEXT NOT NULL,
        status INTEGER,
        response TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX ix_api_idempotency_created ON api_idempotency (created_at);
    """,
)

Call = Callable[[], Awaitable[web.Response]]


class IdempotencyStore:
    """The table of keys, answers and the calls in flight."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        #: This process: a ``running`` row of another boot was cut off by a crash.
        self.boot = secrets.token_hex(8)
        self._ready = False
        self._writes = 0

    async def _migrate(self) -> None:
        if not self._ready:
            await self.hub.storage.apply_migrations("idempotency", MIGRATIONS)
            self._ready = True

    async def run(self, key: str, fingerprint: str, call: Call) -> web.Response:
        """Run ``call`` once per ``key``; repeats get its answer (or a 409/422 saying why not)."""
        await self._migrate()
        storage = self.hub.storage
        now = self.hub.clock.time()
        claimed = await storage.execute_rowcount(
            "INSERT OR IGNORE INTO api_idempotency (key, fingerprint, boot, state, created_at) "
            "VALUES (?, ?, ?, 'running', ?)",
            (key, fingerprint, self.boot, now),
        )
        if not claimed:
            return await self._repeat(key, fingerprint)
        try:
            response = await call()
        except BaseException:
            await storage.execute("DELETE FROM api_idempotency WHERE key = ?", (key,))
            raise
        if response.status >= 500:
            await storage.execute("DELETE FROM api_idempotency WHERE key = ?", (key,))
            return response
        body = response.body if isinstance(response.body, bytes) else b""
        # Committed before the answer leaves: a client told "done" finds it after any crash.
        await storage.execute(
            "UPDATE api_idempotency SET state = 'done', status = ?, response = ? WHERE key = ?",
            (response.status, body.decode("utf-8", "replace"), key),
        )
        self._writes += 1
        if self._writes % 500 == 1:
            await storage.execute("DELETE FROM api_idempotency WHERE created_at < ?", (now - KEEP_SECONDS,))
        return response

    async def _repeat(self, key: str, fingerprint: str) -> web.Response:
        row = await self.hub.storage.fetchone(
            "SELECT fingerprint, boot, state, status, response FROM api_idempotency WHERE key = ?", (key,)
        )
        if row is None:  # deleted between the insert and now: the first call failed
            return json_error(409, "the first call with this Idempotency-Key failed; retry it")
        if row["fingerprint"] != fingerprint:
            return json_error(422, "this Idempotency-Key was used for a different request")
        if row["state"] == "done":
            return web.Response(
                status=int(row["status"]),
                body=str(row["response"] or "").encode(),
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        if row["boot"] == self.boot:
            response = json_error(409, "a call with this Idempotency-Key is still running")
            response.headers["Retry-After"] = "1"
            return response
        return json_error(
            409,
            "a call with this Idempotency-Key was interrupted by a restart and its outcome is unknown: "
            "check the result, then retry with a new key",
        )


IDEMPOTENCY: HubKey[IdempotencyStore] = HubKey("api_idempotency")


def check_key(request: web.Request) -> str | None | web.Response:
    """Return the caller's ``Idempotency-Key`` scoped to them, None without one, or a 400."""
    from hub.http.routes import current_user

    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY or not key.isprintable():
        return json_error(400, f"Idempotency-Key must be 1 to {MAX_KEY} printable characters")
    user = current_user(request)
    # Per user: one client's key can never return another's result.
    return f"api:{user.id if user else '-'}:{key}"


async def idempotent(request: web.Request, key: str, body: Any, call: Call) -> web.Response:
    """Run ``call`` under ``key`` (from :func:`check_key`) with the request as its fingerprint."""
    from hub.http.server import HUB_KEY

    hub = request.app[HUB_KEY]
    store = hub.data.get(IDEMPOTENCY)
    if store is None:
        store = hub.data[IDEMPOTENCY] = IdempotencyStore(hub)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    fingerprint = hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()
    return await store.run(key, fingerprint, call)
