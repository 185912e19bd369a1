"""``line.send`` and every other push or reply the hub makes, with the message log.

Each logical send to one recipient gets its own X-Line-Retry-Key, written to
the log *before* the first attempt: if the hub stops mid-send, the row is
found at start-up and re-sent with the same key, so LINE delivers it once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.components.incident import Incident, IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.context import Context
from hub.core.errors import HubError, Refused
from hub.entity import EntityNotFound
from integrations.line.cards import clip, image_message, incident_card, is_https_url, text_message
from integrations.line.client import SendResult
from integrations.line.const import MAX_TEXT, RAW_ID_RE, RESUME_WINDOW

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.line.runtime import LineRuntime

__all__ = ("DETAILS_TTL", "QuickReplyItem", "SendSchema", "Sender", "Target")

_LOGGER = logging.getLogger(__name__)

#: How long the card's "Details" link stays valid.
DETAILS_TTL = 3 * 24 * 3600
#: Where the card's "Details" link leads (a read-only page for link holders).
DETAILS_PATH = "/line/incidents/{incident_id}"


class QuickReplyItem(BaseModel):
    """A quick-reply button: sends ``text`` back, or a postback with ``data``."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=20)
    text: str | None = Field(default=None, max_length=300)
    data: str | None = Field(default=None, max_length=300)


class SendSchema(BaseModel):
    """Data of ``line.send``."""

    model_config = ConfigDict(extra="forbid")
    #: Group aliases, or raw LINE ids (C…/R…/U…); an empty list sends nothing.
    to: str | list[str]
    #: The text; in an automation it is a template rendered by the automation engine.
    message: str = Field(default="", max_length=MAX_TEXT)
    #: A camera entity (a fresh snapshot) or a snapshot id.
    image: str | None = None
    #: With an incident the message is its Flex card with the acknowledge button.
    incident_id: str | None = None
    quick_replies: list[str | QuickReplyItem] = Field(default=[], max_length=13)

    @model_validator(mode="after")
    def _something(self) -> SendSchema:
        if not self.message.strip() and not self.incident_id and not self.image:
            raise ValueError("give a message, an incident_id or an image")
        return self

    def targets(self) -> list[str]:
        """Return ``to`` as a list without repeats, in order."""
        items = [self.to] if isinstance(self.to, str) else self.to
        return list(dict.fromkeys(t.strip() for t in items if t and t.strip()))

    def replies(self) -> list[str | dict[str, str]]:
        """Return quick replies in the form :func:`~integrations.line.cards.quick_reply` takes."""
        return [q if isinstance(q, str) else q.model_dump(exclude_none=True) for q in self.quick_replies]


@dataclass(frozen=True)
class Target:
    """One recipient: a LINE id and the alias it was addressed by (None for raw ids)."""

    to_id: str
    alias: str | None

    @property
    def label(self) -> str:
        """Return the name people know the recipient by."""
        return self.alias or self.to_id


class Sender:
    """Builds messages, sends them, logs the outcome, and notes it on incidents."""

    def __init__(self, rt: LineRuntime) -> None:
        self.rt = rt
        self.hub: Hub = rt.hub

    # -- incidents ------------------------------------------------------------------------

    async def incident(self, incident_id: str) -> Incident:
        """Return an incident; the one ``incident.open`` just made is answered from memory."""
        try:
            return await self.hub.data[INCIDENT_RUNTIME].get(incident_id, timeline=False)
        except IncidentNotFound as err:
            raise Refused(f"line.send: incident {incident_id} not found") from err

    # -- addressing ----------------------------------------------------------------------

    async def resolve(self, names: Sequence[str]) -> tuple[list[Target], list[tuple[str, str]]]:
        """Return (targets, [(name, why not)]) for aliases and raw ids."""
        aliases = await self.rt.aliases()
        left = await self.rt.left_groups()
        targets: list[Target] = []
        problems: list[tuple[str, str]] = []
        for name in names:
            if name in aliases:
                target = Target(aliases[name], name)
            elif RAW_ID_RE.match(name):
                by_id = {v: k for k, v in aliases.items()}
                target = Target(name, by_id.get(name))
            else:
                problems.append((name, "unknown group alias (give it in line.groups or in the LINE page)"))
                continue
            if target.to_id in left:
                problems.append((name, "the bot has left this group"))
                continue
            if target not in targets:
                targets.append(target)
        return targets, problems

    # -- line.send -------------------------------------------------------------------------

    async def send_service(
        self, data: SendSchema, context: Context | None, *, key: str | None = None
    ) -> dict[str, Any]:
        """Run ``line.send``: resolve, build, send to every target at once, report.

        With an idempotency ``key`` (an automation step, an API client's header) each
        recipient's LINE retry key is derived from it, so the same call again, even after
        a crash, is refused by LINE as already accepted instead of delivered twice.
        """
        targets, problems = await self.resolve(data.targets())
        incident: Incident | None = None
        if data.incident_id:
            incident = await self.incident(data.incident_id)
        for name, why in problems:
            _LOGGER.error("line.send: %s: %s", name, why)
            if incident is not None:
                await self.hub.data[INCIDENT_RUNTIME].note(
                    incident.id,
                    f"LINE → {name}: {why}",
                    by="line",
                    kind="line",
                    data={"to": name, "status": "failed", "error": why},
                    context=context,
                )
        results: list[dict[str, Any]] = [{"to": n, "status": "failed", "error": why} for n, why in problems]
        if not targets:
            return {"results": results}
        snapshot = await self._snapshot_for(data.image, incident, context)
        purpose = "card" if incident else "message"
        # One timeline entry for the whole send, written after every recipient
        # is done: each entry costs several database round trips.
        sends = [
            self._send_one(
                t,
                data,
                incident,
                snapshot,
                context,
                purpose=purpose,
                note=False,
                retry_key=_retry_key(key, t),
            )
            for t in targets
        ]
        sent = await asyncio.gather(*sends)
        results += sent
        if incident is not None:
            await self._note(incident.id, purpose, list(sent), context)
            delivered = [
                t for t, r in zip(targets, results[len(problems) :], strict=True) if r["status"] != "failed"
            ]
            await self.rt.escalation.started(incident, delivered, data.message, context)
        return {"results": results}

    async def send_card(
        self,
        target: Target,
        incident: Incident,
        message: str,
        context: Context | None,
        *,
        purpose: str,
        escalated: bool = False,
    ) -> dict[str, Any]:
        """Send an incident's card to one recipient (escalation, re-sends)."""
        snapshot = await self._snapshot_for(None, incident, context)
        data = SendSchema(to=target.label, message=message, incident_id=incident.id)
        return await self._send_one(
            target, data, incident, snapshot, context, purpose=purpose, escalated=escalated
        )

    async def _send_one(
        self,
        target: Target,
        data: SendSchema,
        incident: Incident | None,
        snapshot: tuple[str, Any] | None,
        context: Context | None,
        *,
        purpose: str,
        escalated: bool = False,
        note: bool = True,
        retry_key: str | None = None,
    ) -> dict[str, Any]:
        image_url = await self._image_url(snapshot, target, incident)
        if incident is not None:
            messages = [
                incident_card(
                    incident,
                    message=data.message,
                    tz=self.hub.clock.tz,
                    image_url=image_url,
                    details_url=self.details_url(incident.id, target),
                    quick_replies=data.replies(),
                    escalated=escalated,
                )
            ]
            # The log's "kind" column says it is a card; the summary is the words people read.
            summary = data.message or incident.title
        else:
            messages = []
            if data.message.strip():
                messages.append(text_message(data.message, data.replies() if not image_url else None))
            if image_url:
                image = image_message(image_url)
                if data.quick_replies:
                    image["quickReply"] = text_message("-", data.replies()).get("quickReply")
                messages.append(image)
            if not messages:
                messages.append(text_message(data.message or "(ภาพไม่พร้อมส่ง / image not available)"))
            summary = data.message or "image"
        result = await self.push(
            target,
            messages,
            purpose=purpose,
            incident_id=incident.id if incident else None,
            summary=summary,
            context=context,
            note=note,
            retry_key=retry_key,
        )
        return {"to": target.label, "to_id": target.to_id, **_result_dict(result)}

    # -- pushes and replies -------------------------------------------------------------------

    async def push(
        self,
        target: Target,
        messages: list[dict[str, Any]],
        *,
        purpose: str,
        incident_id: str | None = None,
        summary: str = "",
        context: Context | None = None,
        retry_key: str | None = None,
        row_id: int | None = None,
        note: bool = True,
    ) -> SendResult:
        """Push to one recipient with one retry key; log it and (with ``note``) note it on the incident.

        The log row with the retry key is written *while* the first attempt is
        in flight, and always before any retry: on the SOS path the database
        thread is the busiest queue in the hub, and waiting for it before the
        first attempt made up most of the press-to-LINE time under load.  A send
        that needs a retry is therefore always durable (resumed after a restart
        with its key); a first attempt that dies with the hub in the few
        milliseconds before the row is written is lost exactly as it would be
        if the hub had died just before writing the row first.
        """
        key = retry_key or str(uuid.uuid4())
        logged: asyncio.Task[int] | None = None
        if row_id is None:
            logged = asyncio.ensure_future(
                self.rt.store.log_start(
                    kind="push",
                    purpose=purpose,
                    to_id=target.to_id,
                    alias=target.alias,
                    incident_id=incident_id,
                    retry_key=key,
                    summary=summary,
                    payload=messages,
                )
            )
        result = await self.rt.api.push(target.to_id, messages, key, before_retry=logged)
        if logged is not None:
            try:
                row_id = await logged
            except (sqlite3.Error, RuntimeError) as err:  # the database refused: the send still happened
                _LOGGER.error("LINE: could not log the send to %s: %s", target.label, err)
        await self._finish(row_id, result, target, purpose, incident_id if note else None, context)
        return result

    async def push_text(
        self,
        target: Target,
        text: str,
        *,
        purpose: str,
        incident_id: str | None = None,
        context: Context | None = None,
    ) -> SendResult:
        """Push a plain text (acknowledgement notices, quota warnings)."""
        return await self.push(
            target,
            [text_message(text)],
            purpose=purpose,
            incident_id=incident_id,
            summary=text,
            context=context,
        )

    async def reply(
        self,
        reply_token: str | None,
        messages: list[dict[str, Any]],
        *,
        purpose: str,
        to_id: str | None,
        incident_id: str | None = None,
        context: Context | None = None,
    ) -> SendResult:
        """Answer a webhook event with its reply token (free of quota); log the outcome."""
        summary = " / ".join(str(m.get("text") or m.get("altText") or m.get("type")) for m in messages)
        if not reply_token:
            return SendResult("failed", error="event has no reply token")
        row_id = await self.rt.store.log_start(
            kind="reply",
            purpose=purpose,
            to_id=to_id,
            alias=None,
            incident_id=incident_id,
            retry_key=None,
            summary=summary,
            payload=None,
        )
        result = await self.rt.api.reply(reply_token, messages)
        target = Target(to_id or "?", await self.rt.alias_of(to_id) if to_id else None)
        await self._finish(row_id, result, target, purpose, incident_id, context)
        return result

    async def _finish(
        self,
        row_id: int | None,
        result: SendResult,
        target: Target,
        purpose: str,
        incident_id: str | None,
        context: Context | None,
    ) -> None:
        if row_id is not None:
            await self.rt.store.log_finish(
                row_id,
                status=result.status,
                attempts=result.attempts,
                request_id=result.request_id,
                http_status=result.http_status,
                error=result.error,
                details=result.details,
            )
        self.rt.quota.after_send(result)
        if result.ok:
            _LOGGER.info("LINE %s → %s: %s", purpose, target.label, result.describe())
        else:
            _LOGGER.error("LINE %s → %s: %s", purpose, target.label, result.describe())
        if incident_id:
            await self._note(
                incident_id,
                purpose,
                [
                    {
                        "to": target.label,
                        "to_id": target.to_id,
                        **_result_dict(result),
                        "text": result.describe(),
                    }
                ],
                context,
            )

    async def _note(
        self, incident_id: str, purpose: str, results: list[dict[str, Any]], context: Context | None
    ) -> None:
        """Write the outcome of a send (one or more recipients) on the incident's timeline."""
        text = "; ".join(f"{r['to']}: {r.get('text') or _describe(r)}" for r in results)
        data: dict[str, Any] = {"purpose": purpose, **{k: v for k, v in results[0].items() if k != "text"}}
        if len(results) > 1:
            data = {
                "purpose": purpose,
                "to": [r["to"] for r in results],
                "status": "sent" if all(r["status"] != "failed" for r in results) else "failed",
                "results": [{k: v for k, v in r.items() if k != "text"} for r in results],
            }
        try:
            await self.hub.data[INCIDENT_RUNTIME].note(
                incident_id, f"LINE {purpose} → {text}", by="line", kind="line", data=data, context=context
            )
        except (IncidentNotFound, ValueError) as err:
            _LOGGER.warning("LINE: could not note the send on incident %s: %s", incident_id, err)

    async def resume_pending(self) -> None:
        """Re-send pushes the hub stopped in the middle of, with their original retry keys."""
        now = self.hub.clock.time()
        for row, payload in await self.rt.store.pending():
            if now - row.created_at > RESUME_WINDOW or not payload or not row.to_id or not row.retry_key:
                await self.rt.store.log_finish(
                    row.id,
                    status="abandoned",
                    attempts=row.attempts,
                    request_id=None,
                    http_status=None,
                    error="the hub stopped before it was sent; too old to send now",
                    details=[],
                )
                continue
            _LOGGER.info(
                "LINE: resuming %s to %s interrupted by a restart", row.purpose, row.alias or row.to_id
            )
            self.hub.create_task(
                self.push(
                    Target(row.to_id, row.alias),
                    payload,
                    purpose=row.purpose,
                    incident_id=row.incident_id,
                    retry_key=row.retry_key,
                    row_id=row.id,
                ),
                "line resume send",
            )

    # -- images and links -----------------------------------------------------------------------

    def public_base(self) -> str | None:
        """Return the hub's public HTTPS address, or None with the reason logged by callers."""
        url = self.hub.core.web.public_url
        if url and is_https_url(url):
            return url.rstrip("/")
        return None

    def details_url(self, incident_id: str, target: Target) -> str | None:
        """Return the signed link to the incident's read-only page for this recipient."""
        base = self.public_base()
        if base is None:
            return None
        party = f"line:{target.label}"
        signed = self.hub.signer.sign(DETAILS_PATH.format(incident_id=incident_id), DETAILS_TTL, extra=party)
        return f"{base}{signed}&for={quote(party, safe='')}"

    async def _snapshot_for(
        self, image: str | None, incident: Incident | None, context: Context | None
    ) -> tuple[str, Any] | None:
        """Return (snapshot id, camera entity or None) for the message's picture."""
        from integrations.camera.entity import CameraEntity

        if image and image.startswith("camera."):
            if not self.hub.services.has("camera", "snapshot"):
                _LOGGER.warning(
                    "line.send: %s: the camera integration is not set up; sending without image", image
                )
                return None
            try:
                taken = await self.hub.services.call(
                    "camera",
                    "snapshot",
                    {"entity_id": image, "incident_id": incident.id if incident else None},
                    context=context,
                )
            except HubError as err:  # a broken camera must not stop the alert
                _LOGGER.warning("line.send: snapshot from %s failed (%s); sending without image", image, err)
                return None
            ids = (taken or {}).get("snapshot_ids") or []
            if not ids:
                _LOGGER.warning("line.send: %s gave no snapshot; sending without image", image)
                return None
            return ids[0], self._camera(image, CameraEntity)
        query = "SELECT id, entity_id FROM snapshots WHERE id = ?"
        params: tuple[Any, ...] = (image,)
        if not image:
            if incident is None or not self.hub.entities.domain("camera"):
                return None  # no camera on this hub: no snapshot to look for
            query = "SELECT id, entity_id FROM snapshots WHERE incident_id = ? ORDER BY ts DESC LIMIT 1"
            params = (incident.id,)
        try:
            row = await self.hub.storage.fetchone(query, params)
        except sqlite3.Error as err:  # no snapshot table: the camera integration never ran here
            _LOGGER.warning("line.send: cannot read snapshots (%s); sending without image", err)
            return None
        if row is None:
            if image:
                raise Refused(f"line.send: image {image!r} is neither a camera entity nor a snapshot id")
            return None
        return row["id"], self._camera(row["entity_id"], CameraEntity)

    def _camera(self, entity_id: str, kind: type[Any]) -> Any:
        try:
            return self.hub.entities.get(entity_id, kind)
        except EntityNotFound:  # the camera was removed from the config since the snapshot
            return None

    async def _image_url(
        self, snapshot: tuple[str, Any] | None, target: Target, incident: Incident | None
    ) -> str | None:
        """Return the public, signed image URL for this recipient, or None (reason logged)."""
        if snapshot is None:
            return None
        snap_id, camera = snapshot
        base = self.public_base()
        if base is None:
            _LOGGER.warning(
                "LINE: not sending image %s: LINE only fetches images from a public HTTPS address and "
                "hub.web.public_url is %s; sending text only",
                snap_id,
                "not set" if not self.hub.core.web.public_url else "not https://",
            )
            return None
        party_name = f"line:{target.label}"
        if camera is None:
            _LOGGER.warning(
                "LINE: not sending image %s: its camera is no longer configured, so its sharing "
                "policy cannot be checked",
                snap_id,
            )
            return None
        from integrations.camera import snapshot_link
        from integrations.camera.policy import Party, check_and_audit

        decision = await check_and_audit(
            self.hub,
            camera,
            Party.link(party_name),
            "snapshot",
            detail={"snapshot_id": snap_id, "incident_id": incident.id if incident else None, "via": "line"},
        )
        if not decision:
            _LOGGER.warning(
                "LINE: not sending image from %s to %s: %s",
                camera.entity_id,
                target.label,
                decision.text("en"),
            )
            return None
        url = base + snapshot_link(self.hub, snap_id, party=party_name)
        if not is_https_url(url):
            _LOGGER.warning(
                "LINE: image link is too long for LINE (%d characters); sending text only", len(url)
            )
            return None
        return url


#: Namespace of retry keys derived from idempotency keys (any fixed UUID would do; this one is ours).
_RETRY_KEY_NS = uuid.UUID("5b1c8f0e-6f3a-4d55-9a57-3f4e9d2c7a10")


def _retry_key(key: str | None, target: Target) -> str | None:
    """Return the LINE retry key (a UUID, as LINE requires) for one recipient of a keyed call."""
    return str(uuid.uuid5(_RETRY_KEY_NS, f"{key}|{target.to_id}")) if key else None


def _describe(result: dict[str, Any]) -> str:
    """Describe a result dict the way :meth:`SendResult.describe` does."""
    return SendResult(
        result["status"],
        result.get("attempts", 0),
        result.get("request_id"),
        result.get("http_status"),
        result.get("error"),
        list(result.get("details") or []),
    ).describe()


def _result_dict(result: SendResult) -> dict[str, Any]:
    out: dict[str, Any] = {"status": result.status, "attempts": result.attempts}
    if result.request_id:
        out["request_id"] = result.request_id
    if result.http_status:
        out["http_status"] = result.http_status
    if result.error:
        out["error"] = clip(result.error, 500)
    if result.details:
        out["details"] = result.details
    return out
