"""Constants of the big6 plugin: the six sectors, statuses and the overdue event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from plugins.big6.manager import Big6Manager

DOMAIN: Final = "big6"

#: The six sectors of the crime-prevention network, in the programme's order.
SECTORS: Final = ("police", "citizens", "local_government", "business", "government_agencies", "media")
SECTOR_LABELS: Final[dict[str, tuple[str, str]]] = {
    "police": ("ตำรวจ", "Police"),
    "citizens": ("ภาคประชาชน", "Citizens"),
    "local_government": ("องค์กรปกครองส่วนท้องถิ่น", "Local government"),
    "business": ("ภาคธุรกิจ/เอกชน", "Business"),
    "government_agencies": ("หน่วยงานราชการ", "Government agencies"),
    "media": ("สื่อมวลชน", "Media"),
}
#: Other ways people write a sector in a spreadsheet (matched after lower-casing and trimming).
SECTOR_ALIASES: Final[dict[str, str]] = {
    "ตำรวจ": "police",
    "สถานีตำรวจ": "police",
    "ประชาชน": "citizens",
    "ภาคประชาชน": "citizens",
    "citizen": "citizens",
    "ชุมชน": "citizens",
    "ท้องถิ่น": "local_government",
    "อปท": "local_government",
    "อปท.": "local_government",
    "องค์กรปกครองส่วนท้องถิ่น": "local_government",
    "local government": "local_government",
    "เทศบาล": "local_government",
    "อบต": "local_government",
    "อบต.": "local_government",
    "ธุรกิจ": "business",
    "เอกชน": "business",
    "ภาคธุรกิจ": "business",
    "ภาคเอกชน": "business",
    "ภาคธุรกิจ/เอกชน": "business",
    "ราชการ": "government_agencies",
    "หน่วยงานราชการ": "government_agencies",
    "government agencies": "government_agencies",
    "government": "government_agencies",
    "สื่อ": "media",
    "สื่อมวลชน": "media",
}

RESOLUTION_STATUSES: Final = ("open", "in_progress", "done", "dropped")
#: Statuses still expected to produce something; past their due date they are overdue.
OPEN_STATUSES: Final = ("open", "in_progress")

#: Fired by the daily check for each resolution past its due date (automations: LINE reminders).
EVENT_OVERDUE: Final = "big6_resolution_overdue"
#: Tells federation the month's figures changed (``kpi_slots``), so the station's KPI page
#: follows within a minute (federation's ``kpi_changed``; named here, not imported).
EVENT_KPI_CHANGED: Final = "kpi_changed"
#: Fired by the LINE integration when someone redeems a registration code.
EVENT_LINE_LINKED: Final = "line_member_linked"

MEMBER_CSV_COLUMNS: Final = ("name", "sector", "organisation", "phone", "line_user_id")
RESOLUTION_CSV_COLUMNS: Final = (
    "meeting_date",
    "resolution",
    "owner",
    "due_date",
    "status",
    "status_note",
    "resolution_id",
    "meeting_id",
)
#: Largest CSV accepted for import.
MAX_IMPORT_BYTES: Final = 512 * 1024
MAX_IMPORT_ROWS: Final = 2000

#: Where the running plugin keeps its manager (``hub.data[RUNTIME]``); absent when not set up.
RUNTIME: Final[HubKey[Big6Manager]] = HubKey(DOMAIN)
