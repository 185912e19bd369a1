"""The region's intake: check each station's message, store a batch, then acknowledge.

The station tier's rules one tier up (``docs/federation.md``): a message is
accepted only if its topic names this region, a **registered** station and a
kind stations may send (incident, monthly, health), it fits the size limit, it
is our closed schema, and region, station and kind inside match the topic.
Anything else is refused: counted and named per station (the console shows
the count and the last reason), logged at most once per station per five
minutes, and, when it carries an id, named in the next ``ack`` as refused so
the station stops sending it.  A malformed KPI payload is one such message: the
station's last good figures stay, and no page ever reads what was refused.

Accepted messages are stored in batches by (station, message id) and only
then acknowledged, on ``ssz/v1/region/<region>/<station>/ack`` in the hub
tier's ack format, which the station's outbox (the hub's, reused) applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hub.badinput import BadInputLog
from hub.mqtt import MqttConnection
from integrations.federation.const import HEALTH_OFFLINE, KIND_HEALTH, PROTOCOL_VERSION
from integrations.federation.protocol import dumps, parse_topic, topic
from integrations.region.const import (
    DOWN_KINDS,
    EVENT_REJECTED,
    EVENT_STATION_OFFLINE,
    EVENT_STATION_ONLINE,
    EVENT_STATION_SILENT,
    REGION_ROOT,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    STATUS_SILENT,
    STATUS_UNKNOWN,
    UP_KINDS,
)
from integrations.region.protocol import RegionEnvelope, parse_region_envelope
from integrations.region.store import RegionStore, Reject

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.region.config import RegionConfig

__all__ = ("RegionIngest",)

_LOGGER = logging.getLogger(__name__)
_ID_IN_JSON = re.compile(rb'"id"\s*:\s*"([0-9A-HJKMNP-TV-Z]{26})"')
#: Ids per ack message.
_ACK_CHUNK = 500
#: Most messages held in memory waiting for the database; beyond, new ones are left
#: unacknowledged (the stations keep them in their outbox and send again).
_MAX_BACKLOG = 200_000
_RETRY_FIRST = 0.2
_RETRY_MAX = 5.0
#: Seconds between re-reads of the registrations when an unknown station appears.
_REFRESH_INTERVAL = 5.0


def _sniff_id(payload: bytes) -> str | None:
    match = _ID_IN_JSON.search(payload[:400])
    return match.group(1).decode("ascii") if match else None


def _where(err: Exception) -> str:
    """Return the path of the first wrong field (``body.kpis.sos_ack_p90``), or ''."""
    if isinstance(err, ValidationError) and err.errors():
        return ".".join(str(p) for p in err.errors()[0]["loc"])[:120]
    return ""


def _first_error(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'message'}: {first['msg']}"[:300]
    return str(err)[:300]


class RegionIngest:
    """Subscribes, validates, stores, acknowledges and tracks each station's link."""

    def __init__(self, hub: Hub, cfg: RegionConfig, store: RegionStore) -> None:
        self.hub = hub
        self.cfg = cfg
        self.region = cfg.id
        self.store = store
        self._max_message = 4 * cfg.max_payload
        settings = cfg.connection_settings(
            default_client_id=f"region-{cfg.id}",
            config_dir=hub.config_dir,
            subscriptions=(f"{REGION_ROOT}/{cfg.id}/+/#",),
            fast_retry_for=cfg.fast_retry_for,
        )
        self.link = MqttConnection(
            settings,
            lambda topic, payload, _qos, _retain, props: self._on_message(topic, payload, props),
            name="region",
            on_connect=self._flush_unsent,
        )
        self.registered: set[str] = set()
        self.statuses: dict[str, str] = {}
        self.last_seen: dict[str, float] = {}
        self._batch: list[tuple[RegionEnvelope, float]] = []
        self._nacks: dict[str, list[dict[str, str]]] = defaultdict(list)
        self._unsent: list[tuple[str, bytes]] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._log = BadInputLog(_LOGGER)
        self._last_refresh = 0.0
        self._refreshing: asyncio.Task[None] | None = None
        self._pending_rejects: dict[str, Reject] = {}
        self.received = 0
        self.stored = 0
        self.duplicates = 0
        self.rejected = 0
        self.rejected_by_station: dict[str, int] = defaultdict(int)
        self.last_reject: dict[str, str] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the stations, subscribe, and start the writer and the silence check."""
        for row in await self.store.stations():
            self.registered.add(row["id"])
            self.statuses[row["id"]] = row["status"] or STATUS_UNKNOWN
            if row["last_seen"] is not None:
                self.last_seen[row["id"]] = float(row["last_seen"])
        self.link.start(self.hub.create_background_task)
        spawn = self.hub.create_background_task
        self._tasks += [
            spawn(self._writer(), "region writer"),
            spawn(self._silence(), "region silence check"),
        ]

    async def stop(self) -> None:
        """Store what is queued (acknowledging it), then disconnect."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain(), timeout=5)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refreshing
        await self.link.stop()

    async def _drain(self) -> None:
        while self._batch or self._nacks:
            await self._store_once()

    async def reload_stations(self) -> None:
        """Read the registrations again (``add-station`` ran while we were up)."""
        self.registered = await self.store.registered()
        self._last_refresh = self.hub.loop.time()

    def status(self) -> dict[str, Any]:
        """Return counters for ``GET /api/region``."""
        return {
            "region": self.region,
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_by_station": dict(self.rejected_by_station),
            "queued": len(self._batch),
            "link": self.link.info(),
        }

    # -- receiving --------------------------------------------------------------------------------

    def _on_message(self, name: str, payload: bytes, _props: Any) -> None:
        self.received += 1
        parts = parse_topic(name, REGION_ROOT)
        if parts is None or parts.station != self.region:
            self._reject("?", f"not a topic of region {self.region}: {name[:120]!r}", code="topic")
            return
        station, kind = parts.hub, parts.kind
        if kind in DOWN_KINDS:
            return  # our own acks, echoed back by the broker
        if station not in self.registered:
            self._reject(
                station, f"station {station!r} is not registered at region {self.region}", code="unregistered"
            )
            self._maybe_refresh()
            return
        if kind not in UP_KINDS:
            # Pictures, video, anything else: never taken at a region.
            self._reject(
                station,
                f"a station may not send {kind!r} to its region",
                _sniff_id(payload),
                code="kind",
                where=kind,
            )
            return
        if len(payload) > self._max_message:
            self._reject(
                station,
                f"{kind}: {len(payload)} bytes is over the {self._max_message}-byte limit",
                code="size",
            )
            return
        now = self.hub.clock.time()
        accepted = 0
        for line in payload.split(b"\n"):
            doc = self._check(station, kind, line)
            if doc is not None:
                self._batch.append((doc, now))
                accepted += 1
        if accepted:
            self._seen(station, now)
            self._wake.set()

    def _check(self, station: str, kind: str, line: bytes) -> RegionEnvelope | None:
        if len(line) > self.cfg.max_payload:
            self._reject(
                station,
                f"{kind}: {len(line)} bytes is over the {self.cfg.max_payload}-byte limit",
                _sniff_id(line),
                code="size",
            )
            return None
        try:
            doc = parse_region_envelope(line)
        except (ValidationError, ValueError) as err:
            self._reject(
                station,
                f"{kind}: not our schema: {_first_error(err)}",
                _sniff_id(line),
                code="schema",
                where=_where(err),
            )
            return None
        if doc.hub != station or doc.kind != kind or doc.station != self.region:
            self._reject(
                station,
                f"payload says {doc.station}/{doc.hub}/{doc.kind} but the topic is {self.region}/{station}/{kind}",
                doc.id,
                code="mismatch",
            )
            return None
        if len(self._batch) >= _MAX_BACKLOG:
            self._log.warn(
                "backlog", "Region: %d messages wait for the database; new ones wait", len(self._batch)
            )
            return None
        return doc

    def _reject(
        self, station: str, reason: str, msg_id: str | None = None, *, code: str, where: str = ""
    ) -> None:
        """Count and name a refused message (``code`` and ``where`` are what the pages show)."""
        self.rejected += 1
        self.rejected_by_station[station] += 1
        self.last_reject[station] = reason
        self._log.warn(station, "Region: refused a message from station %s: %s", station, reason)
        if station in self.registered:
            count = self._pending_rejects[station].count + 1 if station in self._pending_rejects else 1
            self._pending_rejects[station] = Reject(count, reason, code, where)
            if msg_id is not None:
                self._nacks[station].append({"id": msg_id, "reason": reason})
            self._wake.set()
        with contextlib.suppress(Exception):
            self.hub.bus.fire(EVENT_REJECTED, {"station_id": station, "reason": reason})

    def _maybe_refresh(self) -> None:
        now = self.hub.loop.time()
        if now - self._last_refresh < _REFRESH_INTERVAL or (self._refreshing and not self._refreshing.done()):
            return
        self._last_refresh = now
        self._refreshing = self.hub.create_task(self.reload_stations(), "region stations reload")

    # -- link states ---------------------------------------------------------------------------------

    def _seen(self, station: str, now: float) -> None:
        self.last_seen[station] = now
        if self.statuses.get(station) != STATUS_ONLINE:
            self._set_status(station, STATUS_ONLINE, now)

    def _set_status(self, station: str, status: str, now: float) -> None:
        self.statuses[station] = status
        event = {
            STATUS_ONLINE: EVENT_STATION_ONLINE,
            STATUS_OFFLINE: EVENT_STATION_OFFLINE,
            STATUS_SILENT: EVENT_STATION_SILENT,
        }[status]
        self.hub.bus.fire(event, {"station_id": station})
        self.hub.create_task(self.store.set_status(station, status, now), "region station status")

    async def _silence(self) -> None:
        while True:
            await self.hub.clock.sleep(self.cfg.check_interval)
            now = self.hub.clock.time()
            for station, status in list(self.statuses.items()):
                seen = self.last_seen.get(station)
                if status == STATUS_ONLINE and seen is not None and now - seen > self.cfg.silent_after:
                    self._set_status(station, STATUS_SILENT, now)

    # -- storing and acknowledging ----------------------------------------------------------------------

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._store_once()
            if self._batch:
                self._wake.set()

    async def _store_once(self) -> None:
        batch, self._batch = self._batch[: self.cfg.batch_max], self._batch[self.cfg.batch_max :]
        nacks, self._nacks = self._nacks, defaultdict(list)
        rejects, self._pending_rejects = self._pending_rejects, {}
        delay = _RETRY_FIRST
        while batch:
            try:
                results = await self.store.store([d for d, _ in batch], batch[-1][1])
                break
            except Exception:
                # Nothing is acknowledged that was not committed: keep the batch and retry.
                _LOGGER.exception("Region: could not store %d messages; retrying", len(batch))
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
        else:
            results = []
        ids: dict[str, list[str]] = defaultdict(list)
        for (doc, _), result in zip(batch, results, strict=True):
            if result.outcome == "conflict":
                self._reject(doc.hub, result.reason, None, code="conflict")
                nacks[doc.hub].append({"id": doc.id, "reason": result.reason})
                continue
            if result.outcome == "duplicate":
                self.duplicates += 1
            else:
                self.stored += 1
            ids[doc.hub].append(doc.id)
            if doc.kind == KIND_HEALTH and doc.body.status == HEALTH_OFFLINE:
                self._set_status(doc.hub, STATUS_OFFLINE, self.hub.clock.time())
        now = self.hub.clock.time()
        for station, rej in rejects.items():
            with contextlib.suppress(Exception):
                await self.store.note_reject(station, rej, now)
        self._acknowledge(ids, nacks, now)

    def _acknowledge(
        self, ids: dict[str, list[str]], nacks: dict[str, list[dict[str, str]]], now: float
    ) -> None:
        for station in set(ids) | set(nacks):
            got, refused = ids.get(station, []), nacks.get(station, [])
            for start in range(0, max(len(got), len(refused), 1), _ACK_CHUNK):
                payload = dumps(
                    {
                        "v": PROTOCOL_VERSION,
                        "ids": got[start : start + _ACK_CHUNK],
                        "rejected": refused[start : start + _ACK_CHUNK],
                        "ts": now,
                    }
                )
                self._publish(topic(self.region, station, "ack", REGION_ROOT), payload)

    def _publish(self, name: str, payload: bytes) -> None:
        # QoS 0 like the station's acks: a lost ack only makes the station send again.
        if not self.link.publish_nowait(name, payload, qos=0):
            self._unsent.append((name, payload))

    def _flush_unsent(self) -> None:
        unsent, self._unsent = self._unsent, []
        for name, payload in unsent:
            self._publish(name, payload)
