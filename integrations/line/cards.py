"""LINE message objects (plain LINE JSON) for alerts, acknowledgements and replies.

Everything here is pure: it builds dictionaries in LINE's wire format, which
the SDK turns into its models in :mod:`integrations.line.client`.  Limits that
LINE documents but neither the SDK nor the OpenAPI spec enforces (text
length, label length, HTTPS image URLs) are applied here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any
from urllib.parse import urlencode, urlsplit

from hub.components.incident import Incident
from hub.i18n import format_time, translate
from integrations.line.const import (
    MAX_ALT_TEXT,
    MAX_FLEX_LABEL,
    MAX_QUICK_REPLIES,
    MAX_QUICK_REPLY_LABEL,
    MAX_TEXT,
    MAX_URL,
    POSTBACK_ACK,
)

__all__ = (
    "ack_postback",
    "clip",
    "detail_row",
    "drill_prefix",
    "format_latency",
    "image_message",
    "incident_card",
    "is_https_url",
    "quick_reply",
    "short_ref",
    "text_message",
)

#: Header colour per incident kind: SOS is red everywhere people look.
_KIND_COLOURS = {
    "sos": "#C62828",
    "alarm": "#C62828",
    "tip": "#EF6C00",
    "motion": "#F9A825",
    "manual": "#1565C0",
}
#: A drill is never red: at a glance it must not look like a real SOS (DESIGN §13).
_DRILL_COLOUR = "#1565C0"
DRILL_LABEL = "ฝึกซ้อม / DRILL"
DRILL_NOTICE = "นี่คือการฝึกซ้อม ไม่ใช่เหตุจริง / This is a drill, not a real alarm"


def clip(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_https_url(url: str | None) -> bool:
    """Return whether LINE will fetch this URL (HTTPS, with a host, not too long)."""
    if not url or len(url) > MAX_URL:
        return False
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc)


def short_ref(incident_id: str) -> str:
    """Return the incident number people read and type: the last six characters of its id."""
    return "#" + incident_id[-6:].upper()


def format_latency(seconds: float) -> str:
    """Return a duration the way a Thai reader says it ("45 วินาที", "2 นาที 5 วินาที")."""
    total = max(0, round(seconds))
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} ชั่วโมง")
    if minutes:
        parts.append(f"{minutes} นาที")
    if secs or not parts:
        parts.append(f"{secs} วินาที")
    return " ".join(parts)


def drill_prefix(incident: Incident) -> str:
    """Return the words that start every LINE text about a drill (empty for a real incident)."""
    return f"[{DRILL_LABEL}] " if incident.drill else ""


def ack_postback(incident_id: str) -> str:
    """Return the postback data of an incident's acknowledge button."""
    return urlencode({"a": POSTBACK_ACK, "i": incident_id})


def quick_reply(items: Sequence[str | dict[str, str]]) -> dict[str, Any] | None:
    """Return a LINE ``quickReply`` from labels (sent back as text) or ``{label, text|data}`` items."""
    out: list[dict[str, Any]] = []
    text: str | None
    data: str | None
    for item in list(items)[:MAX_QUICK_REPLIES]:
        if isinstance(item, str):
            label, text, data = item, item, None
        else:
            label = item.get("label") or item.get("text") or item.get("data") or ""
            text, data = item.get("text"), item.get("data")
        label = clip(label.strip(), MAX_QUICK_REPLY_LABEL)
        if not label:
            continue
        if data:
            action: dict[str, Any] = {
                "type": "postback",
                "label": label,
                "data": data[:300],
                "displayText": label,
            }
        else:
            action = {"type": "message", "label": label, "text": clip(text or label, 300)}
        out.append({"type": "action", "action": action})
    return {"items": out} if out else None


def text_message(text: str, quick_replies: Sequence[str | dict[str, str]] | None = None) -> dict[str, Any]:
    """Return a text message (cut to LINE's 5,000 characters)."""
    message: dict[str, Any] = {"type": "text", "text": clip(text.strip() or "-", MAX_TEXT)}
    replies = quick_reply(quick_replies or [])
    if replies:
        message["quickReply"] = replies
    return message


def image_message(url: str) -> dict[str, Any]:
    """Return an image message; ``url`` must be HTTPS (see :func:`is_https_url`)."""
    return {"type": "image", "originalContentUrl": url, "previewImageUrl": url}


def _row(label: str, value: str) -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "baseline",
        "spacing": "sm",
        "contents": [
            {"type": "text", "text": label, "size": "sm", "color": "#666666", "flex": 2, "wrap": True},
            {
                "type": "text",
                "text": clip(value or "-", 300),
                "size": "sm",
                "color": "#111111",
                "flex": 5,
                "wrap": True,
            },
        ],
    }


#: A "label: value" line of a Flex card's body (other integrations' cards use it too).
detail_row = _row


def _both(key: str, value: str) -> str:
    th, en = translate(f"{key}.{value}", "th"), translate(f"{key}.{value}", "en")
    if th == f"{key}.{value}":
        return value
    return th if th == en else f"{th} / {en}"


def incident_card(
    incident: Incident,
    *,
    message: str,
    tz: tzinfo,
    image_url: str | None = None,
    details_url: str | None = None,
    quick_replies: Sequence[str | dict[str, str]] | None = None,
    escalated: bool = False,
) -> dict[str, Any]:
    """Return the Flex card of an incident: kind, place, time, image, status and the two buttons."""
    kind = _both("kind", incident.kind)
    drill = incident.drill
    title = ("🧪 " + DRILL_LABEL + " · " if drill else "⚠️ " if escalated else "🚨 ") + kind
    if escalated:
        title += " · ยังไม่มีผู้รับทราบ / Not yet acknowledged"
    colour = _DRILL_COLOUR if drill else _KIND_COLOURS.get(incident.kind, "#C62828")
    when = format_time(incident.opened_at, "th", tz)
    headline = message.strip() or incident.title
    body: list[dict[str, Any]] = [
        *(
            [
                {
                    "type": "text",
                    "text": DRILL_NOTICE,
                    "weight": "bold",
                    "size": "sm",
                    "color": colour,
                    "wrap": True,
                }
            ]
            if drill
            else []
        ),
        {"type": "text", "text": clip(headline, 2000), "weight": "bold", "size": "md", "wrap": True},
        {"type": "separator", "margin": "md"},
        {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "margin": "md",
            "contents": [
                _row("สถานที่ Place", incident.place),
                _row("เวลา Time", when),
                _row("สถานะ Status", _both("status", incident.status)),
                _row("เลขที่ No.", short_ref(incident.id)),
            ],
        },
    ]
    footer: list[dict[str, Any]] = [
        {
            "type": "button",
            "style": "primary",
            "color": colour,
            "action": {
                "type": "postback",
                "label": clip("รับทราบ / Acknowledge", MAX_FLEX_LABEL),
                "data": ack_postback(incident.id),
                "displayText": "รับทราบ",
            },
        }
    ]
    if details_url and is_https_url(details_url):
        footer.append(
            {
                "type": "button",
                "style": "link",
                "action": {
                    "type": "uri",
                    "label": clip("ดูรายละเอียด / Details", MAX_FLEX_LABEL),
                    "uri": details_url,
                },
            }
        )
    bubble: dict[str, Any] = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "paddingAll": "12px",
            "backgroundColor": colour,
            "contents": [
                {
                    "type": "text",
                    "text": clip(title, 200),
                    "color": "#FFFFFF",
                    "weight": "bold",
                    "size": "lg",
                    "wrap": True,
                }
            ],
        },
        "body": {"type": "box", "layout": "vertical", "contents": body},
        "footer": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": footer},
    }
    if image_url and is_https_url(image_url):
        bubble["hero"] = {
            "type": "image",
            "url": image_url,
            "size": "full",
            "aspectRatio": "16:9",
            "aspectMode": "cover",
        }
    alt = f"{title}: {headline} — {incident.place} {when} ({short_ref(incident.id)})"
    if drill:
        # The notification preview is often all people read: it starts with the word.
        alt = f"[{DRILL_LABEL}] {alt}"
    card: dict[str, Any] = {"type": "flex", "altText": clip(alt, MAX_ALT_TEXT), "contents": bubble}
    replies = quick_reply(quick_replies or [])
    if replies:
        card["quickReply"] = replies
    return card
