"""Tips from LINE: text, locations and photos from members and citizens (ตาสับปะรด).

Every text, location or image message becomes a ``line_tip`` event.  A text
with one of the configured trigger words, or a shared location, opens a
``tip`` incident and the sender gets a reply with its number.  Later messages
from the same person within ``tip_followup_minutes`` are added to that
incident instead of opening another (people send the words first, then the
photo).  Photos are downloaded through LINE's content API only when they
belong to a tip or come to the bot in a 1:1 chat: pictures shared in a busy
group chat are not copied to the hub.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hub.components.incident import IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.context import Context
from integrations.line.cards import clip, short_ref
from integrations.line.client import LineApiError
from integrations.line.const import EVENT_TIP, MAX_TIP_IMAGE

if TYPE_CHECKING:
    from integrations.line.handlers import EventHandlers, Source
    from integrations.line.runtime import LineRuntime

__all__ = ("TipDesk", "matched_words")

_LOGGER = logging.getLogger(__name__)
#: The pseudo-entity tip photos are stored under in the snapshot table.
TIP_ENTITY = "line.tip"


def matched_words(text: str, words: list[str]) -> list[str]:
    """Return the trigger words found in ``text`` (substring, case-insensitive: Thai has no spaces)."""
    folded = text.casefold()
    return [w for w in words if w.casefold() in folded]


class TipDesk:
    """Turns messages into ``line_tip`` events and ``tip`` incidents."""

    def __init__(self, rt: LineRuntime, handlers: EventHandlers) -> None:
        self.rt = rt
        self.hub = rt.hub
        self.handlers = handlers
        #: user id → (incident id, time of their last tip message)
        self._recent: dict[str, tuple[str, float]] = {}

    def _followup(self, user_id: str | None) -> str | None:
        if not user_id:
            return None
        found = self._recent.get(user_id)
        window = self.rt.config.tip_followup_minutes * 60
        if found is None or self.hub.clock.time() - found[1] > window:
            self._recent.pop(user_id, None)
            return None
        return found[0]

    async def take(self, event: Any, source: Source, message: Any, text: str) -> None:
        """Handle one message event's content."""
        mtype = getattr(message, "type", None)
        if mtype not in ("text", "location", "image"):
            return
        mgr = self.hub.data[INCIDENT_RUNTIME]
        name, member = await self.handlers.who(source)
        chat_alias = await self.rt.alias_of(source.chat_id) if source.chat_id else None
        location: dict[str, Any] | None = None
        lat: float | None = None
        lon: float | None = None
        place = ""
        if mtype == "location":
            lat, lon = float(message.latitude), float(message.longitude)
            address = str(getattr(message, "address", None) or "")
            title = str(getattr(message, "title", None) or "")
            location = {"lat": lat, "lon": lon, "address": address, "title": title}
            place = address or title
        words = matched_words(text, self.rt.config.trigger_words) if mtype == "text" else []
        followup = self._followup(source.user_id)
        if followup is not None:
            try:
                if (await mgr.get(followup, timeline=False)).status == "closed":
                    followup = None
            except IncidentNotFound:  # deleted: treat as no follow-up
                followup = None
        context = Context(origin="line")
        incident_id = followup
        opened = False
        if incident_id is None and (words or location is not None):
            group = self.rt.group_row(source.group_id) if source.group_id else None
            where = place or (f"LINE: {group.name or chat_alias or 'กลุ่ม'}" if group else "LINE")
            inc = await mgr.open(
                "tip",
                severity="medium",
                title=clip(f"แจ้งเหตุทาง LINE: {text or where}", 80),
                place=where,
                lat=lat,
                lon=lon,
                text=text or f"ตำแหน่งที่แจ้ง / shared location: {where}",
                context=context,
                actor=f"line:{name}",
                data={
                    "source": "line",
                    "line_user_id": source.user_id,
                    "display_name": name,
                    "chat": chat_alias or source.chat_id,
                    "trigger_words": words,
                    "member_ref": member.member_ref if member else None,
                },
            )
            incident_id, opened = inc.id, True
        elif incident_id is not None and mtype != "image":
            await mgr.note(
                incident_id,
                text or f"ตำแหน่ง / location: {location}",
                by=f"line:{name}",
                kind="tip",
                data={"location": location} if location else None,
                context=context,
            )
        snapshot_id = None
        if mtype == "image" and (incident_id is not None or source.kind == "user"):
            snapshot_id = await self._photo(str(message.id), incident_id, name, context)
        if incident_id is not None and source.user_id:
            self._recent[source.user_id] = (incident_id, self.hub.clock.time())
            if len(self._recent) > 10_000:
                self._recent.clear()
        self.hub.bus.fire(
            EVENT_TIP,
            {
                "message_type": mtype,
                "text": text or None,
                "location": location,
                "snapshot_id": snapshot_id,
                "message_id": str(getattr(message, "id", "")) or None,
                "source": source.as_dict(),
                "chat": chat_alias,
                "display_name": name,
                "member_ref": member.member_ref if member else None,
                "trigger_words": words,
                "incident_id": incident_id,
                "webhook_event_id": getattr(event, "webhook_event_id", None),
            },
            context,
        )
        await self._answer(event, source, incident_id, opened, mtype)

    async def _answer(
        self, event: Any, source: Source, incident_id: str | None, opened: bool, mtype: str
    ) -> None:
        if incident_id is not None:
            ref = short_ref(incident_id)
            if opened:
                text = (
                    f"รับแจ้งเหตุแล้ว หมายเลข {ref} เจ้าหน้าที่กำลังตรวจสอบ ขอบคุณครับ\n"
                    f"Report received: number {ref}. Thank you."
                )
            else:
                text = f"เพิ่มข้อมูลในเหตุ {ref} แล้ว / Added to report {ref}."
            await self.handlers.reply(event, source, text, purpose="tip_reply", incident_id=incident_id)
        elif source.kind == "user" and mtype == "text":
            # A citizen writing to the bot without a trigger word: say how to report.
            await self.handlers.reply(
                event,
                source,
                (
                    "หากต้องการแจ้งเหตุ พิมพ์ 'แจ้งเหตุ' ตามด้วยรายละเอียด หรือแชร์ตำแหน่งที่เกิดเหตุ\n"
                    "To report an incident, type 'แจ้งเหตุ' with the details, or share the location."
                ),
                purpose="tip_hint",
            )

    async def _photo(
        self, message_id: str, incident_id: str | None, name: str, context: Context
    ) -> str | None:
        """Download a photo and store it as a snapshot (attached to the tip incident)."""
        from integrations.camera.entity import is_jpeg, store_snapshot

        try:
            data = await self.rt.api.content(message_id)
        except LineApiError as err:
            _LOGGER.warning("LINE: could not fetch photo %s: %s", message_id, err)
            if incident_id:
                await self.hub.data[INCIDENT_RUNTIME].note(
                    incident_id,
                    f"รูปภาพจาก LINE ดาวน์โหลดไม่ได้ / photo could not be fetched: {err}",
                    by="line",
                    kind="error",
                    context=context,
                )
            return None
        if len(data) > MAX_TIP_IMAGE or not is_jpeg(data):
            why = "too large" if len(data) > MAX_TIP_IMAGE else "not a JPEG"
            _LOGGER.warning("LINE: photo %s not stored: %s", message_id, why)
            return None
        snapshot_id = await store_snapshot(self.hub, TIP_ENTITY, data, incident_id=incident_id, phase="tip")
        if incident_id:
            await self.hub.data[INCIDENT_RUNTIME].note(
                incident_id,
                f"รูปภาพจาก {name} ทาง LINE / photo from {name}",
                by=f"line:{name}",
                attachments=[snapshot_id],
                kind="snapshot",
                context=context,
            )
        return snapshot_id
