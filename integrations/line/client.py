"""The one LINE API client of the hub: line-bot-sdk v3 async, explicit timeouts, retries.

The SDK is imported here only, and only when the ``line:`` block is
configured: it pulls in ~900 modules, which an unconfigured hub must not pay
for.  Its ``AsyncApiClient`` opens an aiohttp session in its constructor, so
:meth:`LineApi.start` runs inside the hub's loop, and :meth:`LineApi.close`
closes it at shutdown.

The async SDK has no retry of its own, and network failures surface as raw
``TimeoutError``/``aiohttp.ClientError`` rather than ``ApiException``;
:meth:`LineApi.push` is the retry loop.  One X-Line-Retry-Key covers all
attempts of one logical send, so LINE accepts it at most once: a retry after
a timeout that LINE did accept comes back 409, which is success.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from hub.core.retry import Backoff
from integrations.line.const import DEFAULT_API_BASE

if TYPE_CHECKING:
    from hub.core.clock import Clock
    from integrations.line.config import LineConfig

__all__ = ("LineApi", "LineApiError", "SendResult", "is_monthly_limit")

_LOGGER = logging.getLogger(__name__)

#: Longest Retry-After honoured; LINE's rate limits are per second or minute.
MAX_RETRY_AFTER = 120.0


@dataclass
class SendResult:
    """How one logical send ended."""

    status: str  # sent | accepted_earlier | failed
    attempts: int = 0
    request_id: str | None = None
    http_status: int | None = None
    error: str | None = None
    #: LINE's ``details``: ``[{"message": ..., "property": "messages[0].text"}]``.
    details: list[dict[str, Any]] = field(default_factory=list)
    quota_exhausted: bool = False

    @property
    def ok(self) -> bool:
        """Return whether LINE accepted the message (now or on an earlier attempt)."""
        return self.status in ("sent", "accepted_earlier")

    def describe(self) -> str:
        """Return a one-line account for logs and the incident timeline."""
        if self.status == "sent":
            return f"sent (request id {self.request_id or '?'})"
        if self.status == "accepted_earlier":
            return f"already accepted by LINE (request id {self.request_id or '?'})"
        parts = [f"failed after {self.attempts} attempt{'s' if self.attempts != 1 else ''}"]
        if self.http_status:
            parts.append(f"HTTP {self.http_status}")
        if self.error:
            parts.append(self.error)
        text = ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]
        if self.details:
            text += " — " + "; ".join(
                f"{d.get('property') or '?'}: {d.get('message') or ''}".strip() for d in self.details
            )
        return text


class LineApiError(Exception):
    """A LINE API call failed; carries LINE's status, message and details."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        details: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or []
        self.request_id = request_id


def is_monthly_limit(status: int | None, message: str) -> bool:
    """Return whether a 429 means the monthly quota (retrying cannot help) rather than a rate limit."""
    return status == 429 and "monthly limit" in message.lower()


def _error_parts(exc: Any) -> tuple[str, list[dict[str, Any]]]:
    """Return LINE's message and details from an ``ApiException`` body."""
    body = exc.body
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body or "")
    except (ValueError, TypeError):
        return (str(body or exc.reason or "").strip()[:300] or f"HTTP {exc.status}"), []
    if not isinstance(parsed, Mapping):
        return f"HTTP {exc.status}", []
    details = [
        {"message": str(d.get("message", "")), "property": str(d.get("property", ""))}
        for d in parsed.get("details") or []
        if isinstance(d, Mapping)
    ]
    return str(parsed.get("message") or f"HTTP {exc.status}"), details


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        return None
    return str(value) if value is not None else None


def _retry_after(headers: Any) -> float | None:
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER))
    except ValueError:
        return None


class LineApi:
    """The LINE Messaging API as the hub uses it."""

    def __init__(self, config: LineConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.timeout = config.request_timeout
        self._sdk: Any = None
        self._client: Any = None
        self.messaging: Any = None
        self.blob: Any = None

    async def start(self) -> None:
        """Import the SDK (off the loop: it is slow) and open the client in the running loop."""
        loop = asyncio.get_running_loop()
        sdk = await loop.run_in_executor(None, importlib.import_module, "linebot.v3.messaging")
        self._sdk = sdk
        # With ``host`` set, the SDK sends *every* call there, content downloads
        # included; for the real LINE it must stay unset so those go to api-data.
        host = None if self.config.api_base == DEFAULT_API_BASE else self.config.api_base
        conf = sdk.Configuration(access_token=self.config.channel_access_token.get_secret_value(), host=host)
        self._client = sdk.AsyncApiClient(conf)
        self.messaging = sdk.AsyncMessagingApi(self._client)
        self.blob = sdk.AsyncMessagingApiBlob(self._client)

    async def close(self) -> None:
        """Close the client's HTTP session."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    @property
    def started(self) -> bool:
        """Return whether the client is open."""
        return self._client is not None

    # -- sending -----------------------------------------------------------------------

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        retry = self.config.retry
        # Jitter keeps a burst of SOS presses from retrying in lockstep.
        delay = Backoff(retry.backoff, retry.max_backoff, jitter=(0.5, 1.0)).delay(attempt)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    async def push(
        self,
        to: str,
        messages: list[dict[str, Any]],
        retry_key: str,
        *,
        before_retry: Awaitable[Any] | None = None,
    ) -> SendResult:
        """Push ``messages`` (LINE JSON) to one recipient, retrying with one retry key.

        The body goes to the SDK's ``ApiClient.call_api`` as the JSON-ready dict
        it already is, not as a ``PushMessageRequest``: building and dumping the
        SDK's pydantic.v1 models for a Flex card costs ~7 ms of loop time per
        push, a third of the SOS path's budget.  Authentication, the session,
        timeouts and the mapping of errors to ``ApiException`` stay the SDK's;
        the messages' shape is checked by :mod:`~integrations.line.cards`, and
        LINE answers anything else with a 400 and ``details``.

        ``before_retry`` is awaited once before the first retry: the caller's
        write of the retry key to the message log, which the first attempt
        does not wait for (see :meth:`integrations.line.sender.Sender.push`).
        """
        if not 1 <= len(messages) <= 5:
            return SendResult(
                "failed", 0, error=f"LINE takes 1 to 5 messages per request, not {len(messages)}"
            )
        headers = {
            "X-Line-Retry-Key": retry_key,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        body = {"to": to, "messages": messages}
        return await self._with_retries(
            lambda: self._client.call_api(
                "/v2/bot/message/push",
                "POST",
                {},
                [],
                dict(headers),
                body=body,
                post_params=[],
                files={},
                response_types_map={"200": "PushMessageResponse"},
                auth_settings=["Bearer"],
                _request_timeout=self.timeout,
                _host=DEFAULT_API_BASE,
                collection_formats={},
            ),
            self.config.retry.attempts,
            before_retry,
        )

    async def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> SendResult:
        """Answer a webhook event (free of quota); the token is single-use, so one retry at most."""
        try:
            request = self._sdk.ReplyMessageRequest.from_dict(
                {"replyToken": reply_token, "messages": messages}
            )
        except (ValueError, TypeError) as err:
            return SendResult("failed", 0, error=f"message rejected before sending: {err}")
        # A retried reply after a timeout LINE did accept would fail on the used
        # token, never duplicate: so one retry is safe and enough.
        return await self._with_retries(
            lambda: self.messaging.reply_message_with_http_info(request, _request_timeout=self.timeout), 2
        )

    async def _with_retries(
        self, call: Any, attempts: int, before_retry: Awaitable[Any] | None = None
    ) -> SendResult:
        result = SendResult("failed")
        for attempt in range(1, attempts + 1):
            result.attempts = attempt
            retry_after: float | None = None
            try:
                response = await call()
            except self._sdk.ApiException as exc:
                message, details = _error_parts(exc)
                result.http_status, result.error, result.details = exc.status, message, details
                if exc.status == 409:
                    # Accepted on an earlier attempt whose answer we never saw.
                    result.status = "accepted_earlier"
                    result.request_id = _header(exc.headers, "x-line-accepted-request-id") or _header(
                        exc.headers, "x-line-request-id"
                    )
                    result.error, result.details = None, []
                    return result
                if is_monthly_limit(exc.status, message):
                    result.quota_exhausted = True
                    return result
                if exc.status != 429 and exc.status < 500:
                    return result  # the request itself is wrong: retrying repeats the error
                retry_after = _retry_after(exc.headers)
            except (TimeoutError, aiohttp.ClientError) as exc:
                # Maybe accepted, maybe not: the retry key makes the retry safe.
                result.http_status = None
                result.error = f"{type(exc).__name__}: {exc}".rstrip(": ") if str(exc) else type(exc).__name__
                result.details = []
            else:
                result.status = "sent"
                result.http_status = response.status_code
                result.request_id = _header(response.headers, "x-line-request-id")
                result.error, result.details = None, []
                return result
            if attempt < attempts:
                if before_retry is not None:
                    await asyncio.wait([asyncio.ensure_future(before_retry)])
                    before_retry = None
                delay = self._backoff(attempt, retry_after)
                _LOGGER.warning(
                    "LINE request attempt %d failed (%s); retrying in %.1fs", attempt, result.error, delay
                )
                await self.clock.sleep(delay)
        return result

    # -- reading -------------------------------------------------------------------------

    async def _read(self, call: Any) -> Any:
        """Run one read call; raise :class:`LineApiError` with LINE's message on failure."""
        try:
            return await call
        except self._sdk.ApiException as exc:
            message, details = _error_parts(exc)
            raise LineApiError(
                message,
                status=exc.status,
                details=details,
                request_id=_header(exc.headers, "x-line-request-id"),
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise LineApiError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc

    async def bot_info(self, request_timeout: float | None = None) -> dict[str, Any]:
        """Return the bot's display name and ids; a wrong token raises LineApiError(401)."""
        info = await self._read(self.messaging.get_bot_info(_request_timeout=request_timeout or self.timeout))
        return {"user_id": info.user_id, "basic_id": info.basic_id, "display_name": info.display_name}

    async def quota(self) -> tuple[int | None, int]:
        """Return (monthly limit or None when unlimited, messages used this month)."""
        quota = await self._read(self.messaging.get_message_quota(_request_timeout=self.timeout))
        used = await self._read(self.messaging.get_message_quota_consumption(_request_timeout=self.timeout))
        kind = getattr(quota.type, "value", quota.type)
        limit = int(quota.value) if kind == "limited" and quota.value is not None else None
        return limit, int(used.total_usage)

    async def group_summary(self, group_id: str) -> str:
        """Return the group's name."""
        summary = await self._read(self.messaging.get_group_summary(group_id, _request_timeout=self.timeout))
        return str(summary.group_name)

    async def member_count(self, group_id: str) -> int:
        """Return how many people are in the group (the bot not counted)."""
        count = await self._read(
            self.messaging.get_group_member_count(group_id, _request_timeout=self.timeout)
        )
        return int(count.count)

    async def display_name(self, user_id: str, group_id: str | None = None) -> str:
        """Return a user's LINE display name (through the group when the user is not a friend)."""
        if group_id:
            profile = await self._read(
                self.messaging.get_group_member_profile(group_id, user_id, _request_timeout=self.timeout)
            )
        else:
            profile = await self._read(self.messaging.get_profile(user_id, _request_timeout=self.timeout))
        return str(profile.display_name)

    async def content(self, message_id: str) -> bytes:
        """Download the image (or other content) a user sent."""
        data = await self._read(self.blob.get_message_content(message_id, _request_timeout=self.timeout))
        return bytes(data)
