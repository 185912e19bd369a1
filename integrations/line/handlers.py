"""What the hub does with each webhook event: groups, acknowledgements, tips, registrations.

Events arrive parsed into line-bot-sdk models (:mod:`integrations.line.webhook`);
handlers read them by attribute only, so this module needs no SDK import.
Every handler answers with ``reply_message`` where it answers at all: replies
are free, pushes count against the monthly quota.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from hub.components.incident import Incident, IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.context import Context
from integrations.line import registration
from integrations.line.cards import clip, drill_prefix, format_latency, short_ref, text_message
from integrations.line.client import LineApiError
from integrations.line.const import (
    EVENT_GROUP_JOINED,
    EVENT_GROUP_LEFT,
    EVENT_MEMBER_LINKED,
    EVENT_POSTBACK,
    POSTBACK_ACK,
)
from integrations.line.sender import Target
from integrations.line.tips import TipDesk

if TYPE_CHECKING:
    from integrations.line.runtime import LineRuntime

__all__ = ("EventHandlers", "Source")

_LOGGER = logging.getLogger(__name__)
#: Display names are looked up once an hour at most per user.
_NAME_TTL = 3600.0


class Source:
    """Where an event came from: a group, a room or a 1:1 chat, and who sent it."""

    __slots__ = ("kind", "chat_id", "user_id")

    def __init__(self, event: Any) -> None:
        src = getattr(event, "source", None)
        self.kind: str = getattr(src, "type", None) or "unknown"
        self.user_id: str | None = getattr(src, "user_id", None)
        group = getattr(src, "group_id", None) or getattr(src, "room_id", None)
        self.chat_id: str | None = group or self.user_id

    @property
    def group_id(self) -> str | None:
        """Return the group or room id, or None for a 1:1 chat."""
        return self.chat_id if self.kind in ("group", "room") else None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form for events."""
        return {"type": self.kind, "chat_id": self.chat_id, "user_id": self.user_id}


class EventHandlers:
    """Dispatches parsed webhook events by type."""

    def __init__(self, rt: LineRuntime) -> None:
        self.rt = rt
        self.hub = rt.hub
        self.tips = TipDesk(rt, self)
        self._names: dict[str, tuple[str, float]] = {}
        self._ack_locks: dict[str, asyncio.Lock] = {}

    async def handle(self, event: Any) -> None:
        """Handle one event; unknown types are ignored."""
        kind = getattr(event, "type", None)
        mode = getattr(getattr(event, "mode", None), "value", getattr(event, "mode", "active"))
        source = Source(event)
        if source.group_id is not None:
            await self.rt.learn_group(source.group_id)
        if mode == "standby":
            # Another channel is the chat's active module: it answers, not us.
            _LOGGER.debug("LINE: %s event in standby mode ignored", kind)
            return
        handler = {
            "join": self.on_join,
            "leave": self.on_leave,
            "postback": self.on_postback,
            "message": self.on_message,
            "follow": self.on_follow,
            "unfollow": self.on_unfollow,
            "memberJoined": self.on_members,
            "memberLeft": self.on_members,
        }.get(str(kind))
        if handler is None:
            _LOGGER.debug("LINE: %s event ignored", kind)
            return
        await handler(event, source)

    # -- people ----------------------------------------------------------------------------

    async def display_name(self, source: Source) -> str:
        """Return the sender's LINE display name (cached), or a short stand-in."""
        user_id = source.user_id
        if not user_id:
            return "LINE user"
        cached = self._names.get(user_id)
        now = self.hub.clock.time()
        if cached is not None and now - cached[1] < _NAME_TTL:
            return cached[0]
        try:
            name = await self.rt.api.display_name(user_id, source.group_id)
        except LineApiError as err:
            _LOGGER.info("LINE: no display name for %s: %s", user_id, err)
            return cached[0] if cached else f"LINE …{user_id[-4:]}"
        if len(self._names) > 5000:
            self._names.clear()
        self._names[user_id] = (name, now)
        return name

    async def who(self, source: Source) -> tuple[str, registration.LinkedMember | None]:
        """Return (name to show, linked Big 6 member or None)."""
        name = await self.display_name(source)
        member = await registration.member_for_line_user(self.hub, source.user_id) if source.user_id else None
        if member is not None and member.name and member.name != name:
            name = f"{name} ({member.name})"
        return name, member

    async def reply(
        self, event: Any, source: Source, text: str, *, purpose: str, incident_id: str | None = None
    ) -> None:
        """Reply with one text (free of quota)."""
        await self.rt.sender.reply(
            getattr(event, "reply_token", None),
            [text_message(text)],
            purpose=purpose,
            to_id=source.chat_id,
            incident_id=incident_id,
        )

    # -- groups -----------------------------------------------------------------------------

    async def on_join(self, event: Any, source: Source) -> None:
        """The bot was added to a group: it is pending until an admin gives it an alias."""
        group_id = source.group_id
        if group_id is None:
            return
        await self.rt.note_group(group_id, status="joined", joined=True)
        self.hub.create_task(self.rt.refresh_group(group_id), "line group summary")
        group = self.rt.group_row(group_id)
        alias = group.alias if group else None
        status = group.status if group else "pending"
        self.hub.bus.fire(EVENT_GROUP_JOINED, {"group_id": group_id, "alias": alias, "status": status})
        await self.hub.audit.log(
            "line", "line.group_joined", group_id, role="system", detail={"alias": alias, "status": status}
        )
        _LOGGER.warning(
            "LINE: the bot joined group %s (%s)%s",
            group_id,
            alias or "no alias yet",
            "" if alias else ": give it an alias on the LINE page to send alerts there",
        )
        if self.rt.config.welcome:
            if alias:
                text = (
                    f"สวัสดีครับ กลุ่มนี้จะได้รับการแจ้งเหตุจาก {self.hub.name} "
                    f"/ This group will receive alerts from {self.hub.name}."
                )
            else:
                text = (
                    f"สวัสดีครับ นี่คือระบบแจ้งเหตุของ {self.hub.name} ผู้ดูแลระบบต้องยืนยันกลุ่มนี้ในหน้า LINE "
                    "ของระบบก่อน จึงจะได้รับการแจ้งเตือน / Hello! An admin must confirm this group on the hub's "
                    "LINE page before it receives alerts."
                )
            await self.reply(event, source, text, purpose="welcome")

    async def on_leave(self, event: Any, source: Source) -> None:
        """The bot was removed from a group: pushes there would fail from now on."""
        group_id = source.group_id
        if group_id is None:
            return
        group = self.rt.group_row(group_id)
        await self.rt.note_group(group_id, status="left")
        self.hub.bus.fire(EVENT_GROUP_LEFT, {"group_id": group_id, "alias": group.alias if group else None})
        await self.hub.audit.log(
            "line",
            "line.group_left",
            group_id,
            role="system",
            detail={"alias": group.alias if group else None},
        )
        if group is not None and group.alias:
            _LOGGER.error(
                "LINE: the bot was removed from group %s (%s): alerts to it will fail until it is "
                "invited back",
                group.alias,
                group_id,
            )

    async def on_members(self, event: Any, source: Source) -> None:
        """People joined or left a group: refresh its member count."""
        if source.group_id is not None:
            self.hub.create_task(self.rt.refresh_group(source.group_id), "line member count")

    # -- friends and registration ---------------------------------------------------------

    async def on_follow(self, event: Any, source: Source) -> None:
        """Someone added the Official Account as a friend (or unblocked it)."""
        if not source.user_id:
            return
        member = await registration.member_for_line_user(self.hub, source.user_id)
        if member is not None:
            await registration.set_member_status(self.hub, source.user_id, "active")
            if self.rt.config.welcome:
                await self.reply(
                    event, source, f"ยินดีต้อนรับกลับครับ คุณ{member.name} / Welcome back.", purpose="welcome"
                )
            return
        if self.rt.config.welcome:
            await self.reply(
                event,
                source,
                (
                    f"ขอบคุณที่เพิ่มเพื่อนกับ {self.hub.name} ครับ\n"
                    "• สมาชิกภาคีเครือข่าย Big 6: พิมพ์รหัสลงทะเบียน 8 ตัวที่ได้รับจากผู้ดูแล (เช่น K7P2-9QXM)\n"
                    "• แจ้งเหตุหรือเบาะแส: พิมพ์ 'แจ้งเหตุ' ตามด้วยรายละเอียด หรือแชร์ตำแหน่ง/รูปภาพ\n"
                    "Thank you for adding us. Big 6 members: type the 8-character registration code from the admin. "
                    "To report something, type 'แจ้งเหตุ' (report) with the details, or share a location or photo."
                ),
                purpose="welcome",
            )

    async def on_unfollow(self, event: Any, source: Source) -> None:
        """Someone blocked the Official Account: a linked member can no longer be reached."""
        if source.user_id and await registration.set_member_status(self.hub, source.user_id, "blocked"):
            _LOGGER.warning("LINE: linked member %s blocked the Official Account", source.user_id)

    async def try_registration(self, event: Any, source: Source, text: str) -> bool:
        """Treat a 1:1 message shaped like a code as a registration attempt; return whether it was one."""
        code = registration.normalize_code(text)
        if code is None or source.kind != "user" or not source.user_id:
            return False
        name = await self.display_name(source)
        outcome, member = await registration.redeem_code(self.hub, source.user_id, code, name)
        if outcome == "linked" and member is not None:
            self.hub.bus.fire(
                EVENT_MEMBER_LINKED,
                {
                    "user_id": member.user_id,
                    "member_ref": member.member_ref,
                    "name": member.name,
                    "sector": member.sector,
                },
            )
            await self.hub.audit.log(
                f"line:{name}",
                "line.member_linked",
                member.member_ref,
                role="line",
                detail={"user_id": member.user_id, "name": member.name},
            )
            await self.reply(
                event,
                source,
                f"ลงทะเบียนสำเร็จ: {member.name}\nคุณจะได้รับการแจ้งเหตุจาก "
                f"{self.hub.name} / Registered as {member.name}.",
                purpose="registration",
            )
        elif outcome == "invalid":
            await self.reply(
                event,
                source,
                "รหัสไม่ถูกต้อง หมดอายุ หรือถูกใช้แล้ว กรุณาขอรหัสใหม่จากผู้ดูแล / "
                "This code is wrong, expired or already used.",
                purpose="registration",
            )
        else:
            _LOGGER.warning("LINE: registration attempts from %s throttled", source.user_id)
        return True

    # -- acknowledgements -------------------------------------------------------------------

    async def on_postback(self, event: Any, source: Source) -> None:
        """A button was pressed: the card's "acknowledge" acknowledges the incident."""
        data = str(getattr(getattr(event, "postback", None), "data", "") or "")
        query = {k: v[0] for k, v in parse_qs(data, keep_blank_values=True).items() if v}
        incident_id = query.get("i") if query.get("a") == POSTBACK_ACK else None
        self.hub.bus.fire(
            EVENT_POSTBACK, {"data": data, "source": source.as_dict(), "incident_id": incident_id}
        )
        if incident_id:
            lock = self._ack_locks.setdefault(incident_id, asyncio.Lock())
            try:
                async with lock:
                    await self._acknowledge(event, source, incident_id)
            finally:
                if not lock.locked():
                    self._ack_locks.pop(incident_id, None)

    async def _acknowledge(self, event: Any, source: Source, incident_id: str) -> None:
        mgr = self.hub.data[INCIDENT_RUNTIME]
        try:
            incident = await mgr.get(incident_id, timeline=False)
        except IncidentNotFound:
            await self.reply(event, source, "ไม่พบเหตุนี้ในระบบ / Incident not found.", purpose="ack")
            return
        name, member = await self.who(source)
        recipients = await self.rt.store.card_recipients(incident_id)
        if source.chat_id not in {to for to, _ in recipients} and member is None:
            await self.reply(
                event,
                source,
                "ปุ่มนี้ใช้ได้เฉพาะในกลุ่มที่ได้รับการแจ้งเหตุนี้ / "
                "This button only works in the chats that received this alert.",
                purpose="ack",
            )
            return
        if incident.status != "open":
            by = (incident.acknowledged_by or "").removeprefix("line:") or "-"
            await mgr.note(
                incident_id,
                f"{name} กดรับทราบทาง LINE (รับทราบไปแล้วโดย {by}) / {name} also acknowledged on LINE",
                by=f"line:{name}",
                kind="note",
                data={"line_user_id": source.user_id},
            )
            await self.reply(
                event,
                source,
                f"เหตุ {short_ref(incident_id)} รับทราบแล้วโดย {by} / already acknowledged by {by}.",
                purpose="ack",
                incident_id=incident_id,
            )
            return
        latency = self.hub.clock.time() - incident.opened_at
        context = Context(origin="line")
        group_alias = await self.rt.alias_of(source.chat_id) if source.chat_id else None
        await mgr.ack(
            incident_id,
            by=f"line:{name}",
            context=context,
            text=f"รับทราบทาง LINE โดย {name} ภายใน {format_latency(latency)} / "
            f"acknowledged on LINE by {name} after {latency:.0f} s",
            data={
                "line_user_id": source.user_id,
                "display_name": name,
                "latency_s": round(latency, 1),
                "chat": group_alias or source.chat_id,
                "member_ref": member.member_ref if member else None,
            },
        )
        await self.reply(
            event,
            source,
            f"{drill_prefix(incident)}✅ รับทราบโดย {name} ภายใน {format_latency(latency)}\n"
            f"{incident.title} {short_ref(incident_id)}",
            purpose="ack",
            incident_id=incident_id,
        )
        if self.rt.config.notify_ack:
            where = f" (กลุ่ม {group_alias})" if group_alias else ""
            await self.notify_recipients(
                incident,
                f"{drill_prefix(incident)}✅ รับทราบโดย {name}{where} ภายใน {format_latency(latency)}\n"
                f"{incident.title} {short_ref(incident_id)}",
                skip=source.chat_id,
                context=context,
            )

    async def notify_recipients(
        self, incident: Incident, text: str, *, skip: str | None, context: Context | None
    ) -> None:
        """Push a notice to every chat that got the incident's card (except ``skip``)."""
        for to_id, alias in await self.rt.store.card_recipients(incident.id):
            if to_id and to_id != skip:
                await self.rt.sender.push_text(
                    Target(to_id, alias), text, purpose="ack_notice", incident_id=incident.id, context=context
                )

    # -- tips --------------------------------------------------------------------------------

    async def on_message(self, event: Any, source: Source) -> None:
        """A message to the bot: a registration code, or a tip."""
        message = getattr(event, "message", None)
        if message is None:
            return
        text = getattr(message, "text", None)
        if (
            getattr(message, "type", None) == "text"
            and text
            and await self.try_registration(event, source, text)
        ):
            return
        await self.tips.take(event, source, message, clip(text or "", 5000))
