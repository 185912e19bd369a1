"""Schema of the ``line:`` block."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator

from hub.components.incident import KINDS
from hub.config import BlockModel
from integrations.line.const import ALIAS_PATTERN, DEFAULT_API_BASE, DEFAULT_TRIGGER_WORDS

__all__ = ("Alias", "EscalationRule", "LineConfig", "RetryConfig")

Alias = Annotated[str, StringConstraints(pattern=ALIAS_PATTERN)]
GroupId = Annotated[str, StringConstraints(pattern=r"^[CRU][0-9a-f]{32}$")]


class EscalationRule(BlockModel):
    """If nobody acknowledges within ``after`` seconds, send the card to the next alias of ``chain``."""

    after: float = Field(default=60, gt=0, le=24 * 3600)
    chain: list[Alias] = []


class RetryConfig(BlockModel):
    """How hard one logical send tries before it is recorded as failed."""

    attempts: int = Field(default=6, ge=1, le=20)
    #: First backoff in seconds; doubled each retry, jittered, capped at ``max_backoff``.
    backoff: float = Field(default=1.0, gt=0, le=60)
    max_backoff: float = Field(default=60.0, gt=0, le=3600)


class LineConfig(BlockModel):
    """The ``line:`` block: one LINE Official Account (Messaging API channel)."""

    channel_access_token: SecretStr = Field(min_length=10)
    channel_secret: SecretStr = Field(min_length=8)
    #: Tests point this at a local fake; every endpoint (content too) then goes there.
    api_base: str = DEFAULT_API_BASE
    #: Alias → group id.  Groups the bot joins later get their alias in the UI.
    groups: dict[Alias, GroupId] = {}
    #: Seconds each API request may take.
    request_timeout: float = Field(default=10.0, gt=0, le=120)
    retry: RetryConfig = RetryConfig()
    #: Words that turn a message to the bot into a ``tip`` incident.
    trigger_words: list[Annotated[str, StringConstraints(min_length=1, max_length=60)]] = list(
        DEFAULT_TRIGGER_WORDS
    )
    #: Per incident kind (or ``default``): who gets the card when nobody acknowledges.
    escalation: dict[str, EscalationRule] = {}
    #: Follow-up messages from the same person within this many minutes join their last tip.
    tip_followup_minutes: float = Field(default=10, ge=0, le=24 * 60)
    #: Tell the other groups that got a card when someone acknowledges it (costs quota).
    notify_ack: bool = True
    #: Seconds between quota readings; the quota is also read after sends.
    quota_check_every: float = Field(default=3600, ge=60)
    #: Fraction of the monthly quota at which the UI and the log warn.
    quota_warn_at: float = Field(default=0.8, gt=0, lt=1)
    #: Largest webhook body accepted (LINE batches events; 1 MiB is the hub's request limit).
    webhook_max_bytes: int = Field(default=1024 * 1024, ge=4096, le=1024 * 1024)
    #: Hours a registration code stays valid.
    code_ttl_hours: float = Field(default=72, gt=0, le=24 * 90)
    #: Reply with a short welcome when the bot joins a group or someone adds it as a friend.
    welcome: bool = True

    @field_validator("api_base")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http:// or https:// URL such as https://api.line.me")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError("give the server only, without a path (https://api.line.me)")
        return value.rstrip("/")

    @field_validator("escalation")
    @classmethod
    def _kinds(cls, value: dict[str, EscalationRule]) -> dict[str, EscalationRule]:
        allowed = (*KINDS, "default")
        for key in value:
            if key not in allowed:
                raise ValueError(f"escalation key {key!r}: expected an incident kind ({', '.join(allowed)})")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> LineConfig:
        seen: dict[str, str] = {}
        for alias, group_id in self.groups.items():
            if group_id in seen:
                raise ValueError(f"groups: {alias} and {seen[group_id]} name the same group id")
            seen[group_id] = alias
        return self

    def rule_for(self, kind: str) -> EscalationRule | None:
        """Return the escalation rule for an incident kind, if any applies."""
        return self.escalation.get(kind) or self.escalation.get("default")
