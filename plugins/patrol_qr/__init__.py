"""ตู้แดง QR patrol checkpoints: signed QR sheets, check-ins, joint patrols and coverage.

This file only wires hooks to the modules that do the work:

* :mod:`.config` — the ``patrol_qr:`` block;
* :mod:`.store` — tables; :mod:`.manager` — the rules at run time;
* :mod:`.patrols` — joint patrols, shifts and coverage as pure functions;
* :mod:`.links` — signed links and tokens; :mod:`.sheet` — the A4 sheet;
* :mod:`.checkin` — the phone's pages; :mod:`.views` — hub users' pages and API;
* :mod:`.services` — ``patrol_qr.*`` services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl
from plugins.patrol_qr.const import DOMAIN, RUNTIME

if TYPE_CHECKING:
    from hub.http.routes import Route
    from hub.hub import Hub
    from plugins.patrol_qr.config import PatrolConfig
    from plugins.patrol_qr.manager import PatrolManager

# Only the hooks' own needs are imported here; the modules that do the work
# are imported when the plugin is set up, so an unconfigured plugin costs the
# hub's start-up next to nothing.

_HERE = Path(__file__).parent


@hookimpl
def config_schema() -> Any:
    """Return the block type; ``patrol_qr:`` with nothing under it uses the defaults."""
    from plugins.patrol_qr.config import PatrolConfig

    return PatrolConfig | None


@hookimpl
def storage_migrations() -> Iterable[str]:
    """Return the plugin's tables."""
    from plugins.patrol_qr.migrations import MIGRATIONS

    return MIGRATIONS


@hookimpl
async def setup(hub: Hub, config: PatrolConfig | None) -> None:
    """Sync config checkpoints, register services, start the daily gap check."""
    from plugins.patrol_qr import services
    from plugins.patrol_qr.config import PatrolConfig
    from plugins.patrol_qr.manager import PatrolManager

    mgr = PatrolManager(hub, config or PatrolConfig())
    await mgr.load()
    hub.data[RUNTIME] = mgr
    services.register(hub)
    mgr.daily_task.start()


@hookimpl
def shutdown(hub: Hub) -> None:
    """Stop the daily job."""
    mgr = hub.data.get(RUNTIME)
    if mgr is not None:
        mgr.daily_task.stop()


@hookimpl
def register_routes(hub: Hub) -> list[Route]:
    """Return the check-in pages, the hub users' pages and the JSON API."""
    if hub.data.get(RUNTIME) is None:
        return []  # not configured: no pages, and the modules behind them stay unimported
    from plugins.patrol_qr import views

    return views.routes(hub)


@hookimpl
def template_dirs() -> list[Path]:
    """Return the plugin's templates (``patrol_qr/*.html``)."""
    return [_HERE / "templates"]


@hookimpl
def static_dirs() -> dict[str, Path]:
    """Serve the check-in page's script at ``/static/patrol_qr/``."""
    return {DOMAIN: _HERE / "static"}


@hookimpl
def nav_links(hub: Hub) -> list[dict[str, str]]:
    """Link the patrol page once the plugin is set up."""
    if hub.data.get(RUNTIME) is None:
        return []
    return [{"href": "/patrol_qr", "label_th": "ตู้แดง", "label_en": "Patrols", "role": "viewer"}]


@hookimpl
def registry_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return the checkpoints for the station's map (never a sheet link)."""
    mgr = hub.data.get(RUNTIME)
    if mgr is None:
        return None
    return {"checkpoints": [cp.public() for cp in mgr.checkpoints]}


@hookimpl
async def health_info(hub: Hub) -> Mapping[str, Any] | None:
    """Return the last week's coverage and the open gaps."""
    mgr: PatrolManager | None = hub.data.get(RUNTIME)
    if mgr is None:
        return None
    grid = await mgr.coverage()
    return {
        "checkpoints": len(mgr.checkpoints),
        "coverage": grid.ratio(),
        "coverage_days": mgr.config.report_days,
        "gaps": [{"checkpoint_id": g.checkpoint_id, "shift": g.shift_id, "days": g.days} for g in grid.gaps],
        "last_checkin": await mgr.store.last_checkin(),
        # Each box's latest proven visit, for the station's map (ตู้แดง with their last check-in).
        # A list, not a mapping: a box id must never be mistaken for a secret-looking key.
        "last_visits": [
            {"checkpoint_id": cp_id, "ts": ts}
            for cp_id, ts in sorted((await mgr.store.last_visits()).items())
        ],
        # Check-ins kept but not counted (far, too fast, no position) that no admin has accepted yet.
        "flagged": await mgr.store.flagged_open(hub.clock.time() - mgr.config.report_days * 86400),
    }


@hookimpl
async def kpi_slots(hub: Hub, month: str) -> list[dict[str, Any]]:
    """Return the month's patrol coverage and joint-patrol figures."""
    mgr: PatrolManager | None = hub.data.get(RUNTIME)
    if mgr is None:
        return []
    fig = await mgr.month_figures(month)
    joint_share = fig["mixed"] / fig["patrols"] if fig["patrols"] else None
    return [
        {
            "key": "patrol_coverage",
            "label_th": "ความครอบคลุมการตรวจตู้แดง",
            "label_en": "Patrol coverage",
            "value": None if fig["coverage"] is None else round(fig["coverage"] * 100, 1),
            "unit": "%",
            # What the share is over, so the station can combine hubs (finished checkpoint × shift slots).
            "n": fig["finished"],
            "sum": fig["coverage"] * fig["finished"] * 100 if fig["coverage"] is not None else None,
        },
        {
            "key": "patrols",
            "label_th": "จำนวนรอบตรวจ",
            "label_en": "Patrols",
            "value": fig["patrols"],
            "unit": "",
        },
        {
            "key": "patrol_officer_volunteer",
            "label_th": "ตรวจร่วมตำรวจ + อาสา",
            "label_en": "Officer + volunteer patrols",
            "value": None if joint_share is None else round(joint_share * 100, 1),
            "unit": "%",
            "n": fig["patrols"],
            "sum": fig["mixed"] * 100,
        },
        {
            "key": "patrol_checkins",
            "label_th": "จำนวนการลงชื่อ",
            "label_en": "Check-ins",
            "value": fig["checkins"],
            "unit": "",
        },
        {
            "key": "patrol_flagged",
            "label_th": "การลงชื่อที่ถูกตั้งข้อสังเกต (ไม่นับ)",
            "label_en": "Flagged check-ins (not counted)",
            "value": fig["flagged"],
            "unit": "",
        },
    ]
