"""Constants for the LINE integration."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from integrations.line.runtime import LineRuntime

DOMAIN: Final = "line"
#: The hub's LINE entity: state ok / quota_warning / quota_exhausted / unreachable.
BOT_ENTITY: Final = "line.bot"

EVENT_POSTBACK: Final = "line_postback"
EVENT_TIP: Final = "line_tip"
EVENT_GROUP_JOINED: Final = "line_group_joined"
EVENT_GROUP_LEFT: Final = "line_group_left"
EVENT_MEMBER_LINKED: Final = "line_member_linked"
EVENT_ESCALATED: Final = "line_escalated"
#: Fired on every quota level change (ok → warning → exhausted and back).
EVENT_QUOTA: Final = "line_quota"
#: Fired once when the monthly quota is used up: the station picks this up.
EVENT_QUOTA_EXHAUSTED: Final = "line_quota_exhausted"

#: LINE's production API; blob endpoints (message content) live on api-data.
DEFAULT_API_BASE: Final = "https://api.line.me"

#: Group (C…), room (R…) and user (U…) ids as LINE issues them.
RAW_ID_RE: Final = re.compile(r"^[CRU][0-9a-f]{32}$")
ALIAS_PATTERN: Final = r"^[a-z][a-z0-9_]{0,31}$"
ALIAS_RE: Final = re.compile(ALIAS_PATTERN)

#: Postback data of the card's acknowledge button: ``a=ack&i=<incident id>``.
POSTBACK_ACK: Final = "ack"

#: Limits LINE documents but neither the SDK nor the OpenAPI spec checks.
MAX_TEXT: Final = 5000
MAX_ALT_TEXT: Final = 400
MAX_URL: Final = 2000
MAX_QUICK_REPLY_LABEL: Final = 20
MAX_QUICK_REPLIES: Final = 13
MAX_FLEX_LABEL: Final = 40

#: How long pending sends found at start-up are still worth sending (an SOS
#: card an hour late does more harm than good); older ones are abandoned.
RESUME_WINDOW: Final = 15 * 60
#: How long webhook event ids are kept for de-duplication (LINE redelivers for a while).
DEDUPE_KEEP: Final = 7 * 24 * 3600
#: Largest image fetched from LINE's content API for a tip.
MAX_TIP_IMAGE: Final = 8 * 1024 * 1024
#: Failed registration code attempts allowed per LINE user per hour.
MAX_CODE_FAILURES: Final = 5
#: Registration codes: unambiguous letters and digits, typed by hand in LINE.
CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 8
CODE_RE: Final = re.compile(r"^\s*([A-Za-z2-9]{4})[-\s]?([A-Za-z2-9]{4})\s*$")

#: Words that turn a LINE message into a ``tip`` incident (Thai first; matched
#: as substrings, case-insensitively, because Thai has no spaces between words).
DEFAULT_TRIGGER_WORDS: Final = (
    "ช่วยด้วย",
    "แจ้งเหตุ",
    "เหตุด่วน",
    "ขโมย",
    "โจร",
    "ปล้น",
    "วิ่งราว",
    "ทำร้าย",
    "ทะเลาะวิวาท",
    "ยิง",
    "แทง",
    "อาวุธ",
    "ไฟไหม้",
    "อุบัติเหตุ",
    "ยาเสพติด",
    "คนแปลกหน้า",
    "น่าสงสัย",
    "help",
    "sos",
    "robbery",
    "theft",
    "fire",
    "accident",
)

#: The LINE channel, its queue and its registrations: the plugin's runtime object, reached as ``hub.data[RUNTIME]``.
RUNTIME: HubKey[LineRuntime] = HubKey(DOMAIN)
