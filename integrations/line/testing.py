"""Contributor kit: a fake LINE Messaging API on 127.0.0.1 (re-exported by ``hub.testing``).

It speaks LINE's real protocol to the real line-bot-sdk client, so a plugin
that sends LINE messages is tested end to end without the internet::

    async def test_alert(make_hub, fake_line_factory):
        fake = await fake_line_factory(spec_dir)          # spec_dir: LINE's line-openapi checkout
        hub = await make_hub(fake.config_yaml(groups={"big6": BIG6}))
        await hub.services.call("line", "send", {"to": "big6", "message": "ทดสอบ"})
        assert fake.deliveries[0].messages[0]["text"] == "ทดสอบ"
        assert fake.violations == []

What it does:

* **validates every request** against ``messaging-api.yml`` with openapi-core
  when given the spec folder (``messaging-api.yml``, ``webhook.yml`` from
  github.com/line/line-openapi), after making the spec's discriminated
  subtypes binding (:func:`enforce_discriminators`: as published, a text
  message without ``text`` passes); on top it checks what LINE documents but
  the spec cannot say (HTTPS image URLs, text and altText lengths, UUID retry
  keys, no retry key on replies).  Its own answers are validated too.
  Problems are answered 400 with LINE's error shape and kept in ``violations``;
* keeps LINE's promises about ``X-Line-Retry-Key``: a key it accepted is
  answered 409 with ``x-line-accepted-request-id`` ever after, so **no message
  is ever accepted twice**;
* injects faults: ``fail(500)``, ``fail(429, retry_after=2)``, ``delay(3)``
  (accept, then answer too late: a client timeout after LINE accepted);
* counts the monthly quota per group member, like LINE (429 "monthly limit");
* builds signed webhook deliveries (``event_*`` helpers, :meth:`post_webhook`)
  with single-use reply tokens it then accepts on ``/v2/bot/message/reply``.

openapi-core and PyYAML are imported only when a spec folder is given.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web

__all__ = (
    "FakeLineApi",
    "LineDelivery",
    "LineRequest",
    "enforce_discriminators",
    "fake_line_factory",
    "load_line_spec",
    "sign_line_body",
)

FAKE_TOKEN = "fake-line-channel-access-token"
FAKE_SECRET = "0123456789abcdef0123456789abcdef"
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ULID_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PUSH = "/v2/bot/message/push"
_REPLY = "/v2/bot/message/reply"


# -- the spec -------------------------------------------------------------------------------


def enforce_discriminators(spec: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of an OpenAPI spec whose discriminated bases really constrain their subtypes.

    line-openapi writes inheritance as a base schema with ``discriminator.mapping``
    but no ``oneOf``, and subtypes ``allOf: [base, {...}]``.  Validators apply a
    discriminator only next to ``oneOf``/``anyOf``, so as published any
    ``{"type": "..."}`` passes.  Each base ``X`` becomes ``X__Base``; the
    subtypes extend that; ``X`` becomes ``oneOf`` its subtypes with the
    discriminator, so every ``$ref: X`` now picks and checks the subtype.
    """
    spec = copy.deepcopy(spec)
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    bases = [
        name
        for name, s in schemas.items()
        if isinstance(s, dict)
        and "mapping" in (s.get("discriminator") or {})
        and not {"oneOf", "anyOf"} & s.keys()
    ]
    for name in bases:
        base = schemas.pop(name)
        disc = base.pop("discriminator")
        schemas[f"{name}__Base"] = base
        old = f"#/components/schemas/{name}"
        for ref in disc["mapping"].values():
            sub = schemas.get(ref.rsplit("/", 1)[1], {})
            for part in sub.get("allOf", []):
                if part.get("$ref") == old:
                    part["$ref"] = old + "__Base"
        schemas[name] = {
            "oneOf": [{"$ref": r} for r in dict.fromkeys(disc["mapping"].values())],
            "discriminator": disc,
        }
    return spec


def _strip_servers(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("servers", None)
        for value in node.values():
            _strip_servers(value)
    elif isinstance(node, list):
        for value in node:
            _strip_servers(value)


_SPECS: dict[tuple[str, str], dict[str, Any]] = {}
_OPENAPI: dict[tuple[str, str], Any] = {}


def load_line_spec(spec_dir: Path, name: str = "messaging-api.yml") -> dict[str, Any]:
    """Return one line-openapi spec with binding discriminators and a relative server (cached)."""
    import yaml

    key = (str(Path(spec_dir).resolve()), name)
    if key not in _SPECS:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load((Path(spec_dir) / name).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
        spec = enforce_discriminators(raw)
        # Every path (blob ones carry their own api-data server) is served by the fake.
        _strip_servers(spec)
        spec["servers"] = [{"url": "/"}]
        _SPECS[key] = spec
    return _SPECS[key]


def _openapi(spec_dir: Path, name: str) -> Any:
    from openapi_core import OpenAPI

    key = (str(Path(spec_dir).resolve()), name)
    if key not in _OPENAPI:
        _OPENAPI[key] = OpenAPI.from_dict(load_line_spec(spec_dir, name))
    return _OPENAPI[key]


def _problems(err: BaseException) -> list[dict[str, str]]:
    """Turn an openapi-core error into LINE-style ``details``."""
    out: list[dict[str, str]] = []
    seen: set[int] = set()
    node: BaseException | None = err
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        for schema_error in getattr(node, "schema_errors", ()) or ():
            where = ".".join(str(p) for p in getattr(schema_error, "absolute_path", ()) or ())
            out.append(
                {"message": str(getattr(schema_error, "message", schema_error))[:500], "property": where}
            )
        node = node.__cause__ or node.__context__
    if not out:
        out.append({"message": f"{type(err).__name__}: {err}"[:500], "property": ""})
    return out


def sign_line_body(body: bytes, channel_secret: str) -> str:
    """Return the ``X-Line-Signature`` LINE sends with ``body``: base64(HMAC-SHA256(secret, body))."""
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()


def _ulid() -> str:
    return "".join(secrets.choice(_ULID_CHARS) for _ in range(26))


def _line_id(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


# -- records --------------------------------------------------------------------------------


@dataclass
class LineRequest:
    """One request the fake received, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    arrived: float  # time.perf_counter() at arrival
    status: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)

    @property
    def retry_key(self) -> str | None:
        """Return the request's X-Line-Retry-Key."""
        return self.headers.get("X-Line-Retry-Key")


@dataclass
class LineDelivery:
    """A push (or reply) the fake accepted: what a LINE chat would show."""

    kind: str  # push | reply
    to: str
    messages: list[dict[str, Any]]
    request_id: str
    retry_key: str | None
    arrived: float


@dataclass
class _Fault:
    path: str
    times: int
    status: int | None = None
    retry_after: float | None = None
    message: str = ""
    details: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0
    accept: bool = True


@dataclass
class FakeGroup:
    """A LINE group on the fake: name and members (user id → display name)."""

    name: str
    members: dict[str, str] = field(default_factory=dict)


# -- the server -------------------------------------------------------------------------------


class FakeLineApi:
    """LINE's Messaging API on a free 127.0.0.1 port."""

    def __init__(
        self,
        spec_dir: Path | str | None = None,
        *,
        token: str = FAKE_TOKEN,
        channel_secret: str = FAKE_SECRET,
        quota_limit: int | None = 1000,
    ) -> None:
        self.spec_dir = Path(spec_dir) if spec_dir is not None else None
        self.token = token
        self.channel_secret = channel_secret
        self.quota_limit = quota_limit
        self.quota_used = 0
        self.bot = {
            "userId": _line_id("U"),
            "basicId": "@123abcde",
            "displayName": "SafetyHub Test Bot",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }
        self.groups: dict[str, FakeGroup] = {}
        self.profiles: dict[str, str] = {}
        self.contents: dict[str, bytes] = {}
        self.requests: list[LineRequest] = []
        self.deliveries: list[LineDelivery] = []
        #: Problems found in requests (the client's fault) and answers (the fake's fault).
        self.violations: list[str] = []
        self._accepted_keys: dict[str, tuple[str, list[dict[str, str]]]] = {}
        self._reply_tokens: set[str] = set()
        self._faults: list[_Fault] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._validator: Any = None
        self._webhook_validator: Any = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>`` (no trailing slash, as ``line.api_base`` wants)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeLineApi:
        """Load the spec (if any) and listen on a free port."""
        if self.spec_dir is not None:
            loop = asyncio.get_running_loop()
            self._validator = await loop.run_in_executor(None, _openapi, self.spec_dir, "messaging-api.yml")
            self._webhook_validator = await loop.run_in_executor(None, _openapi, self.spec_dir, "webhook.yml")
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = getattr(site, "_server", None)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLineApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def config_yaml(self, groups: dict[str, str] | None = None, extra: str = "") -> str:
        """Return a ``line:`` block pointing the hub at this fake."""
        lines = [
            "line:",
            f"  channel_access_token: {self.token}",
            f"  channel_secret: {self.channel_secret}",
            f"  api_base: {self.base_url}",
        ]
        if groups:
            lines.append("  groups: {" + ", ".join(f"{k}: {v}" for k, v in groups.items()) + "}")
        for line in extra.strip("\n").splitlines():
            lines.append("  " + line)
        return "\n".join(lines) + "\n"

    # -- the world -----------------------------------------------------------------------------

    def add_group(self, name: str, members: dict[str, str] | None = None, group_id: str | None = None) -> str:
        """Create a group with members (user id → display name); return its id."""
        group_id = group_id or _line_id("C")
        self.groups[group_id] = FakeGroup(name, dict(members or {}))
        for user_id, display in (members or {}).items():
            self.profiles.setdefault(user_id, display)
        return group_id

    def add_user(self, display_name: str, user_id: str | None = None) -> str:
        """Create a LINE user; return their id."""
        user_id = user_id or _line_id("U")
        self.profiles[user_id] = display_name
        return user_id

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        path: str = _PUSH,
        retry_after: float | None = None,
        message: str = "",
        details: list[dict[str, str]] | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` (nothing is accepted)."""
        self._faults.append(
            _Fault(
                path, times, status, retry_after, message or f"fault injected ({status})", list(details or [])
            )
        )

    def delay(self, seconds: float, *, times: int = 1, path: str = _PUSH, accept: bool = True) -> None:
        """Answer the next ``times`` requests late; a push is accepted first when ``accept``."""
        self._faults.append(_Fault(path, times, None, delay=seconds, accept=accept))

    @property
    def pushes(self) -> list[LineDelivery]:
        """Return accepted pushes."""
        return [d for d in self.deliveries if d.kind == "push"]

    @property
    def replies(self) -> list[LineDelivery]:
        """Return accepted replies."""
        return [d for d in self.deliveries if d.kind == "reply"]

    async def wait_for(self, predicate: Callable[[FakeLineApi], Any], within: float = 5.0) -> Any:
        """Wait (real time, at most ``within`` seconds) until ``predicate(self)`` is truthy; return its value."""
        deadline = time.monotonic() + within
        while True:
            value = predicate(self)
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"fake LINE: condition not met in {within}s; requests: "
                    f"{[(r.method, r.path, r.status) for r in self.requests[-10:]]}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.05))

    # -- webhook deliveries ---------------------------------------------------------------------

    def _event(
        self, kind: str, source: dict[str, Any], *, reply: bool = True, **extra: Any
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": source,
            "webhookEventId": _ulid(),
            "deliveryContext": {"isRedelivery": False},
        }
        if reply:
            token = secrets.token_hex(16)
            self._reply_tokens.add(token)
            event["replyToken"] = token
        event.update(extra)
        return event

    @staticmethod
    def source(group_id: str | None = None, user_id: str | None = None) -> dict[str, Any]:
        """Return a webhook ``source``: a group (with the sender) or a 1:1 chat."""
        if group_id:
            out: dict[str, Any] = {"type": "group", "groupId": group_id}
            if user_id:
                out["userId"] = user_id
            return out
        return {"type": "user", "userId": user_id or _line_id("U")}

    def event_join(self, group_id: str) -> dict[str, Any]:
        """The bot was invited into a group."""
        return self._event("join", self.source(group_id))

    def event_leave(self, group_id: str) -> dict[str, Any]:
        """The bot was removed from a group."""
        return self._event("leave", self.source(group_id), reply=False)

    def event_follow(self, user_id: str) -> dict[str, Any]:
        """A user added the bot as a friend."""
        return self._event("follow", self.source(user_id=user_id), follow={"isUnblocked": False})

    def event_unfollow(self, user_id: str) -> dict[str, Any]:
        """A user blocked the bot."""
        return self._event("unfollow", self.source(user_id=user_id), reply=False)

    def event_postback(self, data: str, *, user_id: str, group_id: str | None = None) -> dict[str, Any]:
        """A user pressed a postback button."""
        return self._event("postback", self.source(group_id, user_id), postback={"data": data})

    def event_text(self, text: str, *, user_id: str, group_id: str | None = None) -> dict[str, Any]:
        """A user sent a text."""
        return self._event(
            "message",
            self.source(group_id, user_id),
            message={
                "type": "text",
                "id": str(secrets.randbelow(10**17)),
                "quoteToken": secrets.token_hex(8),
                "text": text,
            },
        )

    def event_location(
        self,
        lat: float,
        lon: float,
        *,
        user_id: str,
        group_id: str | None = None,
        address: str = "",
        title: str = "",
    ) -> dict[str, Any]:
        """A user shared a location."""
        message: dict[str, Any] = {
            "type": "location",
            "id": str(secrets.randbelow(10**17)),
            "latitude": lat,
            "longitude": lon,
        }
        if address:
            message["address"] = address
        if title:
            message["title"] = title
        return self._event("message", self.source(group_id, user_id), message=message)

    def event_image(self, content: bytes, *, user_id: str, group_id: str | None = None) -> dict[str, Any]:
        """A user sent a photo (its bytes are served by the content API)."""
        message_id = str(secrets.randbelow(10**17))
        self.contents[message_id] = content
        return self._event(
            "message",
            self.source(group_id, user_id),
            message={
                "type": "image",
                "id": message_id,
                "quoteToken": secrets.token_hex(8),
                "contentProvider": {"type": "line"},
            },
        )

    def webhook_body(self, events: list[dict[str, Any]]) -> bytes:
        """Return a delivery body as LINE writes it, checked against webhook.yml when a spec is loaded."""
        payload = {"destination": self.bot["userId"], "events": events}
        if self._webhook_validator is not None:
            from openapi_core.exceptions import OpenAPIError
            from openapi_core.testing import MockRequest

            request = MockRequest(
                "http://fake",
                "post",
                "/callback",
                data=json.dumps(payload).encode(),
                content_type="application/json",
                headers={"x-line-signature": "x", "Content-Type": "application/json"},
            )
            try:
                self._webhook_validator.validate_request(request)
            except OpenAPIError as err:  # the fake's own event is wrong: fail loudly
                raise AssertionError(
                    f"fake LINE built an event webhook.yml rejects: {_problems(err)}"
                ) from err
        return json.dumps(payload, ensure_ascii=False).encode()

    async def post_webhook(
        self,
        url: str,
        events: list[dict[str, Any]],
        *,
        signature: str | None = None,
        body: bytes | None = None,
    ) -> int:
        """Deliver events to a webhook URL the way LINE does; return the HTTP status."""
        data = body if body is not None else self.webhook_body(events)
        sig = signature if signature is not None else sign_line_body(data, self.channel_secret)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url,
                data=data,
                headers={"Content-Type": "application/json", "X-Line-Signature": sig},
            ) as response,
        ):
            await response.read()
            return response.status

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = LineRequest(request.method, request.path, dict(request.headers), body, arrived)
        self.requests.append(record)
        try:
            response = await self._answer(request, raw, record)
        finally:
            self._changed.set()
        record.status = response.status
        return response

    def _error(
        self,
        record: LineRequest,
        status: int,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        body: dict[str, Any] = {"message": message}
        if details:
            body["details"] = details
        return self._respond(record, status, body, headers)

    def _respond(
        self, record: LineRequest, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> web.Response:
        headers = {"x-line-request-id": str(uuid.uuid4()), **(headers or {})}
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, headers=headers, content_type="image/jpeg")
        data = json.dumps(body, ensure_ascii=False).encode()
        self._check_response(record, status, data)
        return web.Response(status=status, body=data, headers=headers, content_type="application/json")

    def _check_response(self, record: LineRequest, status: int, data: bytes) -> None:
        if self._validator is None or record.problems:
            return
        from openapi_core.exceptions import OpenAPIError
        from openapi_core.testing import MockRequest, MockResponse

        request = MockRequest(
            "http://fake",
            record.method.lower(),
            record.path,
            data=json.dumps(record.body).encode() if record.body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            self._validator.validate_response(
                request, MockResponse(data, status_code=status, content_type="application/json")
            )
        except OpenAPIError as err:
            self.violations.append(f"fake answer {status} to {record.method} {record.path}: {_problems(err)}")

    def _check_request(self, request: web.Request, raw: bytes, record: LineRequest) -> list[dict[str, str]]:
        problems: list[dict[str, str]] = []
        if self._validator is not None:
            from openapi_core.contrib.aiohttp import AIOHTTPOpenAPIWebRequest
            from openapi_core.exceptions import OpenAPIError

            try:
                self._validator.validate_request(AIOHTTPOpenAPIWebRequest(request, body=raw))
            except OpenAPIError as err:
                problems += _problems(err)
        problems += _line_rules(record)
        return problems

    async def _answer(self, request: web.Request, raw: bytes, record: LineRequest) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(
                record,
                401,
                "Authentication failed. Confirm that the access token in the authorization header is valid.",
            )
        problems = self._check_request(request, raw, record)
        if problems:
            record.problems = problems
            self.violations.append(f"{record.method} {record.path}: {problems}")
            return self._error(record, 400, "The request body has errors", problems)
        fault = next((f for f in self._faults if f.times > 0 and record.path.startswith(f.path)), None)
        if fault is not None:
            fault.times -= 1
            if fault.status is not None:
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
                return self._error(record, fault.status, fault.message, fault.details or None, headers)
            if not fault.accept:
                await asyncio.sleep(fault.delay)
                fault = None
        response = await self._route(request, record)
        if fault is not None:
            # LINE did the work, but the answer arrives after the client gave up.
            await asyncio.sleep(fault.delay)
        return response

    async def _route(self, request: web.Request, record: LineRequest) -> web.StreamResponse:
        path, method = record.path, request.method
        if method == "POST" and path == _PUSH:
            return self._push(record)
        if method == "POST" and path == _REPLY:
            return self._reply(record)
        if method == "GET" and path == "/v2/bot/info":
            return self._respond(record, 200, self.bot)
        if method == "GET" and path == "/v2/bot/message/quota":
            body: dict[str, Any] = (
                {"type": "none"}
                if self.quota_limit is None
                else {"type": "limited", "value": self.quota_limit}
            )
            return self._respond(record, 200, body)
        if method == "GET" and path == "/v2/bot/message/quota/consumption":
            return self._respond(record, 200, {"totalUsage": self.quota_used})
        if method == "GET" and (m := re.fullmatch(r"/v2/bot/group/([^/]+)/(summary|members/count)", path)):
            group = self.groups.get(m.group(1))
            if group is None:
                return self._error(record, 404, "Not found")
            if m.group(2) == "summary":
                return self._respond(record, 200, {"groupId": m.group(1), "groupName": group.name})
            return self._respond(record, 200, {"count": len(group.members)})
        if method == "GET" and (m := re.fullmatch(r"/v2/bot/group/([^/]+)/member/([^/]+)", path)):
            group = self.groups.get(m.group(1))
            if group is None or m.group(2) not in group.members:
                return self._error(record, 404, "Not found")
            return self._respond(
                record, 200, {"userId": m.group(2), "displayName": group.members[m.group(2)]}
            )
        if method == "GET" and (m := re.fullmatch(r"/v2/bot/profile/([^/]+)", path)):
            if m.group(1) not in self.profiles:
                return self._error(record, 404, "Not found")
            return self._respond(
                record, 200, {"userId": m.group(1), "displayName": self.profiles[m.group(1)]}
            )
        if method == "GET" and (m := re.fullmatch(r"/v2/bot/message/([^/]+)/content", path)):
            content = self.contents.get(m.group(1))
            if content is None:
                return self._error(record, 404, "Not found")
            return self._respond(record, 200, content)
        return self._error(record, 404, f"the fake LINE API does not implement {method} {path}")

    def _push(self, record: LineRequest) -> web.Response:
        key = record.retry_key
        if key is not None and key in self._accepted_keys:
            request_id, sent = self._accepted_keys[key]
            return self._error_409(record, request_id, sent)
        to = record.body["to"]
        recipients = len(self.groups[to].members) if to in self.groups else 1
        if self.quota_limit is not None and self.quota_used + recipients > self.quota_limit:
            return self._error(record, 429, "You have reached your monthly limit.")
        self.quota_used += recipients
        request_id = str(uuid.uuid4())
        sent = [
            {"id": str(secrets.randbelow(10**17)), "quoteToken": secrets.token_hex(8)}
            for _ in record.body["messages"]
        ]
        if key is not None:
            self._accepted_keys[key] = (request_id, sent)
        self.deliveries.append(
            LineDelivery("push", to, record.body["messages"], request_id, key, record.arrived)
        )
        return self._respond(record, 200, {"sentMessages": sent}, {"x-line-request-id": request_id})

    def _error_409(self, record: LineRequest, request_id: str, sent: list[dict[str, str]]) -> web.Response:
        return self._respond(
            record,
            409,
            {"message": "The retry key is already accepted", "sentMessages": sent},
            {"x-line-accepted-request-id": request_id},
        )

    def _reply(self, record: LineRequest) -> web.Response:
        token = record.body["replyToken"]
        if token not in self._reply_tokens:
            return self._error(record, 400, "Invalid reply token")
        self._reply_tokens.discard(token)
        request_id = str(uuid.uuid4())
        sent = [
            {"id": str(secrets.randbelow(10**17)), "quoteToken": secrets.token_hex(8)}
            for _ in record.body["messages"]
        ]
        self.deliveries.append(
            LineDelivery("reply", token, record.body["messages"], request_id, None, record.arrived)
        )
        return self._respond(record, 200, {"sentMessages": sent}, {"x-line-request-id": request_id})


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        out.append((path, node))
        for key, value in node.items():
            out += _walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _walk(value, f"{path}[{index}]")
    return out


def _line_rules(record: LineRequest) -> list[dict[str, str]]:
    """Check what LINE's documentation requires and the OpenAPI spec does not express."""
    problems: list[dict[str, str]] = []
    key = record.retry_key
    if record.path == _REPLY and key is not None:
        problems.append(
            {"message": "X-Line-Retry-Key is not allowed on reply", "property": "X-Line-Retry-Key"}
        )
    if key is not None and not _UUID_RE.match(key):
        problems.append({"message": "X-Line-Retry-Key must be a UUID", "property": "X-Line-Retry-Key"})
    if not isinstance(record.body, dict):
        return problems
    for where, node in _walk(record.body.get("messages")):
        prefix = f"messages{where}"
        if node.get("type") == "text" and len(str(node.get("text", ""))) > 5000:
            problems.append({"message": "Length must be between 0 and 5000", "property": f"{prefix}.text"})
        if "altText" in node and len(str(node["altText"])) > 400:
            problems.append({"message": "Length must be between 0 and 400", "property": f"{prefix}.altText"})
        for url_key in ("originalContentUrl", "previewImageUrl", "url", "uri"):
            url = node.get(url_key)
            if isinstance(url, str) and (url_key != "uri" or node.get("type") == "uri"):
                if not url.startswith("https://") and not (
                    url_key == "uri" and url.startswith(("line://", "tel:"))
                ):
                    problems.append({"message": "must be an HTTPS URL", "property": f"{prefix}.{url_key}"})
                if len(url) > 2000:
                    problems.append(
                        {"message": "URL longer than 2000 characters", "property": f"{prefix}.{url_key}"}
                    )
        if "label" in node and "type" in node:
            limit = 20 if "quickReply" in prefix else 40
            if len(str(node["label"])) > limit:
                problems.append(
                    {"message": f"label longer than {limit} characters", "property": f"{prefix}.label"}
                )
        if node.get("type") == "postback" and len(str(node.get("data", ""))) > 300:
            problems.append({"message": "data longer than 300 characters", "property": f"{prefix}.data"})
    return problems


@pytest_asyncio.fixture
async def fake_line_factory() -> AsyncIterator[Callable[..., Any]]:
    """Start fake LINE APIs (``await fake_line_factory(spec_dir)``); all are closed after the test."""
    fakes: list[FakeLineApi] = []

    async def _make(spec_dir: Path | str | None = None, **kwargs: Any) -> FakeLineApi:
        fake = FakeLineApi(spec_dir, **kwargs)
        await fake.start()
        fakes.append(fake)
        return fake

    yield _make
    for fake in fakes:
        await fake.close()
