"""A station's link to its region: the hub tier's federation, one tier up.

The transport is :class:`integrations.federation.uplink.Federation` itself:
the same SQLite outbox (in a table of its own), the same in-flight window,
batching, ack timeouts and backoff, the same retained health report with the
last will ``offline``, under ``ssz/v1/region/<region>/<station>/<kind>``.
Nothing of the hub's own traffic rides on it: no incidents hook, no events,
no registry, no snapshots, no commands.  What this module adds is *what* goes
up: every ``interval`` it summarises the station's incidents of the last
``incident_days`` and the current and previous month's figures, and queues
only what changed since it was last queued (``region_link_sent``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from integrations.ccoc.const import RUNTIME as CCOC_RUNTIME
from integrations.federation.config import FederationConfig
from integrations.federation.const import PRIO_EVENT, PRIO_INCIDENT
from integrations.federation.uplink import Federation
from integrations.region.const import KIND_INCIDENT, KIND_MONTHLY, REGION_ROOT
from integrations.region_link.config import RegionLinkConfig
from integrations.region_link.const import CONNECTED_ENTITY, OUTBOX_TABLE
from integrations.region_link.summary import incident_summary, monthly_report

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.station.runtime import Station

__all__ = ("RegionUplink", "federation_config")

_LOGGER = logging.getLogger(__name__)


def federation_config(cfg: RegionLinkConfig, station_id: str) -> FederationConfig:
    """Return the federation settings of the region link: transport only, no hub traffic."""
    return FederationConfig.model_validate(
        {
            "station": cfg.region,
            "broker": cfg.broker,
            "username": cfg.username or station_id,
            "password": cfg.password,
            "ca_file": cfg.ca_file,
            "cert_file": cfg.cert_file,
            "key_file": cfg.key_file,
            "tls_insecure": cfg.tls_insecure,
            "client_id": cfg.client_id or f"station-{station_id}",
            "protocol": cfg.protocol,
            "keepalive": cfg.keepalive,
            "health_interval": cfg.health_interval,
            "window": cfg.window,
            "batch": cfg.batch,
            "ack_timeout": cfg.ack_timeout,
            "reconnect_min": cfg.reconnect_min,
            "reconnect_max": cfg.reconnect_max,
            "share": {"incidents": False, "events": [], "registry": False, "snapshots": False, "kpis": False},
            "commands": {"allow": []},
        }
    )


def _digest(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class RegionUplink(Federation):
    """One station's link to its region."""

    connected_entity = CONNECTED_ENTITY
    connected_name_key = "region_link"

    def __init__(self, hub: Hub, cfg: RegionLinkConfig, station: Station) -> None:
        super().__init__(
            hub,
            federation_config(cfg, station.cfg.id),
            root=REGION_ROOT,
            sender=station.cfg.id,
            table=OUTBOX_TABLE,
            name="region link",
        )
        self.link_cfg = cfg
        self.station_rt = station
        self._sent: dict[str, str] = {}
        self.rounds = 0
        self.queued_incidents = 0
        self.queued_months = 0

    async def start(self) -> None:
        """Load what was sent before, connect, and start the summary rounds."""
        rows = await self.hub.storage.fetchall("SELECT key, digest FROM region_link_sent")
        self._sent = {str(r["key"]): str(r["digest"]) for r in rows}
        await super().start()
        self._tasks.append(self.hub.create_background_task(self._rounds(), "region link summaries"))

    async def _rounds(self) -> None:
        while True:
            try:
                await self.summarise()
            except Exception:
                _LOGGER.exception("Region link: could not summarise the station's figures")
            await self.hub.clock.sleep(self.link_cfg.interval)

    async def summarise(self) -> int:
        """Queue every incident summary and monthly report that changed; return how many."""
        self.rounds += 1
        queued = await self._incidents()
        queued += await self._months()
        return queued

    async def _queue(self, key: str, kind: str, body: dict[str, Any], priority: int) -> bool:
        mark = _digest(body)
        if self._sent.get(key) == mark:
            return False
        coalesce = key if kind == KIND_MONTHLY else None
        await self.send(kind, body, priority, coalesce=coalesce)
        self._sent[key] = mark
        await self.hub.storage.execute(
            "INSERT INTO region_link_sent (key, digest, sent_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET digest = excluded.digest, sent_at = excluded.sent_at",
            (key, mark, self.hub.clock.time()),
        )
        return True

    async def _incidents(self) -> int:
        from integrations.station.kpis import hub_zone

        now = self.hub.clock.time()
        facts = await self.station_rt.store.incident_facts(
            now - self.link_cfg.incident_days * 86400, now + 86400
        )
        if not facts:
            return 0
        directory = {h["id"]: h for h in await self.station_rt.store.hubs(full=True)}
        count = 0
        for fact in facts:
            body = incident_summary(fact, hub_zone(directory.get(fact["hub_id"])))
            if await self._queue(
                f"incident:{fact['hub_id']}:{fact['id']}", KIND_INCIDENT, body, PRIO_INCIDENT
            ):
                count += 1
        self.queued_incidents += count
        return count

    async def _months(self) -> int:
        from integrations.station.kpis import shift_month, station_kpis

        this = datetime.fromtimestamp(self.hub.clock.time(), self.hub.clock.tz).strftime("%Y-%m")
        count = 0
        for month in (shift_month(this, -1), this):
            # The same computation as the CCOC's KPI page: the region sees what the station sees.
            kpis = await station_kpis(self.station_rt.store, month, tz=self.hub.clock.tz, name=self.hub.name)
            online = await self._online_share(kpis.station.hub_ids, kpis.start, kpis.end)
            body = monthly_report(kpis, hubs_online_share=online)
            if await self._queue(f"monthly:{month}", KIND_MONTHLY, body, PRIO_EVENT):
                count += 1
        self.queued_months += count
        return count

    async def _online_share(self, hub_ids: list[str], start: float, end: float) -> float | None:
        """Return the share of hub-time online, from the CCOC console's link history if it runs."""
        if self.hub.data.get(CCOC_RUNTIME) is None:
            return None
        from integrations.ccoc.kpi import hubs_online_share

        return await hubs_online_share(self.hub, sorted(hub_ids), start, end)

    def _on_message(self, name: str, payload: bytes, props: Any) -> None:
        # Only acks come down from a region: it sends no commands, and none is run.
        if name.endswith("/ack"):
            super()._on_message(name, payload, props)

    def status(self) -> dict[str, Any]:
        """Return the link, the outbox and the summary counters."""
        return {
            **super().status(),
            "region": self.station,
            "rounds": self.rounds,
            "queued_incidents": self.queued_incidents,
            "queued_months": self.queued_months,
        }
