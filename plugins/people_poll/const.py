"""Constants of the people_poll plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.keys import HubKey

if TYPE_CHECKING:
    from plugins.people_poll.manager import PollManager

DOMAIN: Final = "people_poll"

#: Fired on the 1st of each month with the month's public link (e.g. to post it to LINE).
EVENT_OPENED: Final = "people_poll_opened"
#: Fired when a month's poll has closed, with its aggregates only (for the station).
EVENT_RESULTS: Final = "people_poll_results"

#: Cookie marking that this browser has answered a month (``pp_done_2026-01``).
DONE_COOKIE_PREFIX: Final = "pp_done_"
#: Double-submit cookie of the public form: a cross-site page cannot send it.
FORM_COOKIE: Final = "pp_form"
COOKIE_PATH: Final = "/people_poll/"
#: ``YYYY-MM`` with a real month.
MONTH_PATTERN: Final = r"^\d{4}-(0[1-9]|1[0-2])$"
#: Months shown in the trend.
TREND_MONTHS: Final = 12

#: Where the running plugin keeps its manager (``hub.data[RUNTIME]``); absent when not set up.
RUNTIME: Final[HubKey[PollManager]] = HubKey(DOMAIN)
