"""People Poll: a monthly, anonymous resident survey with a public form and trend charts.

The hooks below only wire the plugin into the hub:

* :mod:`.config` — the ``people_poll:`` block and the default questions;
* :mod:`.answers` — reading a form and adding answers up (pure functions);
* :mod:`.store` — anonymous responses and salted-hash throttling;
* :mod:`.manager` — links, submissions, results and the monthly events;
* :mod:`.charts` — server-rendered SVG; :mod:`.views` — the pages;
* :mod:`.services` — ``people_poll.link`` and ``people_poll.results``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import hookimpl
from plugins.people_poll.const import DOMAIN, RUNTIME

if TYPE_CHECKING:
    from hub.http.routes import Route
    from hub.hub import Hub
    from plugins.people_poll.config import PollConfig
    from plugins.people_poll.manager import PollManager

# Only the hooks' own needs are imported here; the modules that do the work
# are imported when the plugin is set up, so an unconfigured plugin costs the
# hub's start-up next to nothing.

_HERE = Path(__file__).parent


@hookimpl
def config_schema() -> Any:
    """Return the block type; ``people_poll:`` alone runs the default questions."""
    from plugins.people_poll.config import PollConfig

    return PollConfig | None


@hookimpl
def storage_migrations() -> Iterable[str]:
    """Return the poll's tables."""
    from plugins.people_poll.migrations import MIGRATIONS

    return MIGRATIONS


@hookimpl
def setup(hub: Hub, config: PollConfig | None) -> None:
    """Start the poll: services and the daily job (announce, publish totals, purge hashes)."""
    from plugins.people_poll import services
    from plugins.people_poll.config import PollConfig
    from plugins.people_poll.manager import PollManager

    mgr = PollManager(hub, config or PollConfig())
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
    """Return the public form and the results pages."""
    if hub.data.get(RUNTIME) is None:
        return []  # not configured: no pages, and the modules behind them stay unimported
    from plugins.people_poll import views

    return views.routes(hub)


@hookimpl
def template_dirs() -> list[Path]:
    """Return the plugin's templates (``people_poll/*.html``)."""
    return [_HERE / "templates"]


@hookimpl
def static_dirs() -> dict[str, Path]:
    """Serve the poll's stylesheet at ``/static/people_poll/``."""
    return {DOMAIN: _HERE / "static"}


@hookimpl
def nav_links(hub: Hub) -> list[dict[str, str]]:
    """Link the results page once the poll is set up."""
    if hub.data.get(RUNTIME) is None:
        return []
    return [{"href": "/people_poll", "label_th": "แบบสำรวจ", "label_en": "People Poll", "role": "viewer"}]


@hookimpl
async def kpi_slots(hub: Hub, month: str) -> list[dict[str, Any]]:
    """Return the month's aggregates (the station is evaluated on them); never a comment."""
    mgr: PollManager | None = hub.data.get(RUNTIME)
    if mgr is None:
        return []
    n, results = await mgr.results(month)
    slots: list[dict[str, Any]] = [
        {
            "key": "poll_responses",
            "label_th": "ผู้ตอบแบบสำรวจ",
            "label_en": "Poll responses",
            "value": n,
            "unit": "",
        }
    ]
    for res in results.values():
        q = res.question
        if q.type == "scale":
            slots.append(
                {
                    "key": f"poll_{q.id}",
                    "label_th": q.text_th,
                    "label_en": q.text_en,
                    "value": None if res.mean is None else round(res.mean, 2),
                    "unit": "/5",
                    "n": res.n,
                    "sum": res.mean * res.n if res.mean is not None else None,
                    "lower_is_better": q.lower_is_better,
                }
            )
        elif q.type == "yes_no":
            slots.append(
                {
                    "key": f"poll_{q.id}",
                    "label_th": q.text_th,
                    "label_en": q.text_en,
                    "value": None if res.share_yes is None else round(res.share_yes * 100, 1),
                    "unit": "%",
                    "n": res.n,
                    "sum": res.share_yes * res.n * 100 if res.share_yes is not None else None,
                    "lower_is_better": q.lower_is_better,
                }
            )
    return slots
