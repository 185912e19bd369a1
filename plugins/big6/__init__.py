"""Big 6: the six-sector crime-prevention network's directory, monthly meetings and resolutions.

The hooks below only wire the plugin into the hub:

* :mod:`.config` — the ``big6:`` block; :mod:`.const` — the six sectors;
* :mod:`.store` — members, meetings, resolutions; :mod:`.manager` — the rules;
* :mod:`.csvio` — CSV export and the all-or-nothing import;
* :mod:`.line_link` — the seam to the LINE integration's registration codes;
* :mod:`.views` — pages and API; :mod:`.services` — ``big6.*`` services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl
from hub.keys import HubKey
from plugins.big6.const import DOMAIN, EVENT_LINE_LINKED, RUNTIME

if TYPE_CHECKING:
    from hub.http.routes import Route
    from hub.hub import Hub
    from plugins.big6.config import Big6Config
    from plugins.big6.manager import Big6Manager

# Only the hooks' own needs are imported here; the modules that do the work
# are imported when the plugin is set up, so an unconfigured plugin costs the
# hub's start-up next to nothing.

_HERE = Path(__file__).parent
_UNSUB: HubKey[Callable[[], None]] = HubKey("big6_line_listener")


@hookimpl
def config_schema() -> Any:
    """Return the block type; ``big6:`` alone uses the defaults."""
    from plugins.big6.config import Big6Config

    return Big6Config | None


@hookimpl
def storage_migrations() -> Iterable[str]:
    """Return the Big 6 tables."""
    from plugins.big6.migrations import MIGRATIONS

    return MIGRATIONS


@hookimpl
async def setup(hub: Hub, config: Big6Config | None) -> None:
    """Register services and start the daily overdue check."""
    from plugins.big6 import services
    from plugins.big6.config import Big6Config
    from plugins.big6.manager import Big6Manager

    mgr = Big6Manager(hub, config or Big6Config())
    await mgr.load()
    hub.data[RUNTIME] = mgr
    services.register(hub)
    mgr.daily_task.start()
    hub.data[_UNSUB] = hub.bus.listen(EVENT_LINE_LINKED, mgr.on_line_linked)


@hookimpl
def shutdown(hub: Hub) -> None:
    """Stop the daily job."""
    mgr = hub.data.get(RUNTIME)
    if mgr is not None:
        mgr.daily_task.stop()
    unsub = hub.data.pop(_UNSUB)
    if unsub is not None:
        unsub()


@hookimpl
async def hub_started(hub: Hub) -> None:
    """Catch up on the overdue check at start: the hub may have been off at ``check_at``."""
    mgr = hub.data.get(RUNTIME)
    if mgr is not None:
        await mgr.check_overdue()


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the directory, meetings, CSV and JSON routes."""
    if hub.data.get(RUNTIME) is None:
        return []  # not configured: no pages, and the modules behind them stay unimported
    from plugins.big6 import views

    return views.routes(hub)


@hookimpl
def template_dirs() -> list[Path]:
    """Return the plugin's templates (``big6/*.html``)."""
    return [_HERE / "templates"]


@hookimpl
def static_dirs() -> dict[str, Path]:
    """Serve the pages' stylesheet at ``/static/big6/``."""
    return {DOMAIN: _HERE / "static"}


@hookimpl
def nav_links(hub: Hub) -> list[dict[str, str]]:
    """Link the meetings page once the plugin is set up."""
    if hub.data.get(RUNTIME) is None:
        return []
    return [{"href": "/big6/meetings", "label_th": "Big 6", "label_en": "Big 6", "role": "viewer"}]


@hookimpl
async def health_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return whether this and last month had a meeting and how many resolutions are overdue."""
    mgr: Big6Manager | None = hub.data.get(RUNTIME)
    if mgr is None:
        return None
    months = await mgr.months(2)
    return {
        "meeting_this_month": months[0].held,
        # None, not False, for a month before Big 6 ran on this hub: nothing was missed.
        "meeting_last_month": None if months[1].status == "before" else months[1].held,
        "overdue_resolutions": len(await mgr.store.overdue(mgr.today().isoformat())),
    }


@hookimpl
async def kpi_slots(hub: Hub, month: str) -> list[dict[str, Any]]:
    """Return the month's meeting, sectors present and resolutions done (the programme's "concrete results")."""
    mgr: Big6Manager | None = hub.data.get(RUNTIME)
    if mgr is None:
        return []
    meetings = [m for m in await mgr.store.meetings(f"{month}-01") if m.month == month]
    resolutions = [r for m in meetings for r in m.resolutions]
    sectors = max((m.sectors_present for m in meetings), default=0)
    done = sum(1 for r in resolutions if r.status == "done")
    before = mgr.month_status(month, bool(meetings)) == "before"
    return [
        {
            "key": "big6_meeting_held",
            "label_th": "มีการประชุม Big 6",
            "label_en": "Big 6 meeting held",
            "value": None if before else (1 if meetings else 0),
            "unit": "",
        },
        {
            "key": "big6_sectors_present",
            "label_th": "ภาคส่วนที่เข้าประชุม",
            "label_en": "Sectors present",
            "value": sectors,
            "unit": "/6",
            # Combined over the hubs that met (a hub without a meeting has nothing to weigh).
            "n": 1 if meetings else 0,
            "sum": sectors if meetings else None,
        },
        {
            "key": "big6_resolutions",
            "label_th": "มติที่ประชุม",
            "label_en": "Resolutions",
            "value": len(resolutions),
            "unit": "",
        },
        {
            "key": "big6_resolutions_done",
            "label_th": "มติที่ดำเนินการเสร็จ",
            "label_en": "Resolutions done",
            "value": None if not resolutions else round(done / len(resolutions) * 100, 1),
            "unit": "%",
            "n": len(resolutions),
            "sum": done * 100,
        },
    ]
