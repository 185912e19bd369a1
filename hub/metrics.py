"""``/api/metrics``: the hub's figures in Prometheus' text format, behind a token.

Each hub has its own registry (tests run several hubs in one process).  What is counted as it
happens (SOS presses and their latency, LINE sends, event-loop lag, database write latency) is
kept in counters and histograms; what is a level (outbox depth and age, link state, cameras,
incidents by state) is read when scraped.

Labels never carry personal data or secrets: entity ids, states and outcomes only — no names,
phone numbers, LINE ids, reasons or message text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from hub.core.bus import Event
from hub.keys import HubKey

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("CONTENT_TYPE_LATEST", "METRICS", "HubMetrics")

_LOGGER = logging.getLogger(__name__)

#: How often the event loop's lag and a database write are sampled.
SAMPLE_EVERY = 1.0
DB_PROBE_EVERY = 30.0
#: Presses whose incident has not come after this long are forgotten (no automation handled them).
PRESS_WINDOW = 60.0
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HubMetrics:
    """The registry and the instruments of one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sos_presses = Counter(
            "safetyhub_sos_presses", "SOS presses, drills apart", ["drill"], registry=r
        )
        self.sos_latency = Histogram(
            "safetyhub_sos_incident_seconds",
            "From an SOS press to its incident committed on the hub",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.line_sends = Counter(
            "safetyhub_line_messages",
            "LINE messages by outcome (sent, failed, refused)",
            ["result"],
            registry=r,
        )
        self.line_quota = Gauge(
            "safetyhub_line_quota_used_ratio",
            "LINE monthly quota used (0–1; absent when unlimited)",
            registry=r,
        )
        self.loop_lag = Histogram(
            "safetyhub_event_loop_lag_seconds",
            "How late the event loop ran a timer (sampled each second)",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )
        self.db_write = Histogram(
            "safetyhub_db_write_seconds",
            "A small committed write to the hub's database (sampled every 30 s)",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "safetyhub_outbox_messages", "Messages waiting for the station's acknowledgement", registry=r
        )
        self.outbox_age = Gauge(
            "safetyhub_outbox_oldest_seconds", "Age of the oldest message waiting for the station", registry=r
        )
        self.federation = Gauge(
            "safetyhub_federation_connected", "1 when the link to the station is up", registry=r
        )
        self.cameras = Gauge(
            "safetyhub_camera_online",
            "1 when the camera answers (per camera entity)",
            ["entity_id"],
            registry=r,
        )
        self.incidents = Gauge(
            "safetyhub_incidents", "Incidents by state (drills apart)", ["state", "drill"], registry=r
        )
        self._presses: dict[str, float] = {}
        self._unsubs = [
            hub.bus.listen("sos_pressed", self._on_press),
            hub.bus.listen("incident_opened", self._on_incident),
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            self.hub.create_background_task(self._lag_loop(), "metrics: event-loop lag"),
            self.hub.create_background_task(self._db_loop(), "metrics: database write"),
        ]

    def stop(self) -> None:
        for unsub in self._unsubs:
            unsub()
        for task in self._tasks:
            task.cancel()

    # -- counted as it happens ------------------------------------------------------------------

    def _on_press(self, event: Event) -> None:
        drill = bool(event.data.get("drill"))
        self.sos_presses.labels(drill=str(drill).lower()).inc()
        now = time.monotonic()
        self._presses[event.context.id] = now
        for key, at in list(self._presses.items()):
            if now - at > PRESS_WINDOW:
                del self._presses[key]

    def _on_incident(self, event: Event) -> None:
        ctx = event.context
        for key in (ctx.id, ctx.parent_id):
            if key is not None and key in self._presses:
                self.sos_latency.observe(time.monotonic() - self._presses.pop(key))
                return

    async def _lag_loop(self) -> None:
        # Real time: the lag of the loop itself, whatever the hub's clock says.
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(SAMPLE_EVERY)
            self.loop_lag.observe(max(0.0, loop.time() - start - SAMPLE_EVERY))

    async def _db_loop(self) -> None:
        while True:
            await asyncio.sleep(DB_PROBE_EVERY)
            await self.probe_db()

    async def probe_db(self) -> None:
        storage = self.hub.storage
        start = time.monotonic()
        try:
            await storage.execute(
                "INSERT INTO kv (key, value) VALUES ('metrics_probe', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(time.time()),),
            )
        except Exception as err:  # noqa: BLE001 - a failing probe is a figure, not a crash
            _LOGGER.debug("metrics: database probe failed: %s", err)
            return
        self.db_write.observe(time.monotonic() - start)

    # -- read when scraped ----------------------------------------------------------------------

    async def refresh(self) -> None:
        """Read the levels: outbox, link, cameras, incidents."""
        hub = self.hub
        storage = hub.storage
        if storage is not None:  # a hub that failed before its storage opened
            try:
                rows = await storage.fetchall("SELECT COUNT(*), MIN(created) FROM federation_outbox")
                count, oldest = rows[0][0], rows[0][1]
                self.outbox_depth.set(count)
                self.outbox_age.set(max(0.0, hub.clock.time() - oldest) if oldest is not None else 0.0)
            except Exception:  # noqa: BLE001 - no federation: no outbox table
                self.outbox_depth.set(0)
                self.outbox_age.set(0)
            try:
                self.incidents.clear()
                for status, drill, n in await storage.fetchall(
                    "SELECT status, COALESCE(drill, 0), COUNT(*) FROM incidents GROUP BY 1, 2"
                ):
                    self.incidents.labels(state=str(status), drill=str(bool(drill)).lower()).set(n)
            except Exception:  # noqa: BLE001 - before the drill column exists
                for status, n in await storage.fetchall("SELECT status, COUNT(*) FROM incidents GROUP BY 1"):
                    self.incidents.labels(state=str(status), drill="false").set(n)
        bot = hub.states.get("line.bot")
        percent = bot.attributes.get("quota_percent") if bot is not None else None
        if isinstance(percent, int | float):
            self.line_quota.set(float(percent) / 100)
        link = hub.states.get("binary_sensor.federation_connected")
        if link is not None:
            self.federation.set(1 if link.state == "on" else 0)
        self.cameras.clear()
        for state in hub.states.all("camera"):
            self.cameras.labels(entity_id=state.entity_id).set(0 if state.state == "unavailable" else 1)

    async def render(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry)

    def record_line(self, result: str) -> None:
        """Count one LINE message by outcome: ``sent``, ``failed`` or ``refused``."""
        self.line_sends.labels(result=result).inc()


METRICS: HubKey[HubMetrics] = HubKey("metrics")


def install(hub: Hub) -> HubMetrics:
    """Create and start the hub's metrics (``Hub.start`` calls this)."""
    metrics = HubMetrics(hub)
    hub.data[METRICS] = metrics
    metrics.start()
    return metrics
