"""The station's intake: check every message, store a batch, and only then acknowledge.

A message is accepted only if its topic names this station, a registered hub
and a known kind, it fits the size limit, it is our schema, and the hub id
and kind inside agree with the topic.  Anything else is rejected: counted
and logged per hub (rate-limited), and, when it at least carries a message
id from a registered hub, named in the next ``ack`` as refused so the hub
stops re-sending it and shows it in its status.  The station never crashes
on input.

Accepted messages are stored in batches, one transaction each, while the
next batch fills: under load batches grow and the per-message cost falls;
when idle a single SOS is written on its own straight away.  Acks go out
after the commit, so an ack always means "on disk at the station".
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hub.badinput import BadInputLog
from hub.core.retry import REAL_TIME, Backoff
from hub.mqtt import MqttConnection
from integrations.federation.const import (
    EVENT_COMMAND_RESULT as HUB_COMMAND_RESULT,
)
from integrations.federation.const import (
    EVENT_FOOTAGE_STATUS,
    HEALTH_OFFLINE,
    KIND_ACK,
    KIND_CMD,
    KIND_INCIDENT,
    KIND_SNAPSHOT,
    PROTOCOL_VERSION,
    UP_KINDS,
)
from integrations.federation.protocol import (
    EventEnvelope,
    HealthEnvelope,
    IncidentEnvelope,
    RegistryEnvelope,
    SnapshotMeta,
    dumps,
    parse_envelope,
    parse_topic,
    topic,
)
from integrations.station.bodies import check_health, check_incident, check_registry, first_error
from integrations.station.const import (
    ACK_CHUNK,
    EVENT_EVENT,
    EVENT_HUB_OFFLINE,
    EVENT_HUB_ONLINE,
    EVENT_HUB_SILENT,
    EVENT_INCIDENT,
    EVENT_SNAPSHOT,
    HUB_ENTITY_DOMAIN,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    STATUS_SILENT,
    STATUS_UNKNOWN,
)
from integrations.station.store import HubStatus, Inbound

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.station.config import StationConfig
    from integrations.station.store import StationStore

__all__ = ("Ingest", "tune_collector")

_LOGGER = logging.getLogger(__name__)
_ID_IN_JSON = re.compile(rb'"id"\s*:\s*"([0-9A-HJKMNP-TV-Z]{26})"')
#: Most messages held in memory waiting for the database; beyond that new ones are
#: dropped unacknowledged (the hubs keep them and send again).
_MAX_BACKLOG = 200_000
#: An incident acknowledged later than this after it arrived is logged (seconds).
_SLOW_INCIDENT = 0.025
#: Backoff while incidents cannot be stored (seconds, doubling).
_URGENT_RETRY_FIRST = 0.2
_URGENT_RETRY_MAX = 5.0
#: Seconds between re-reads of the registered hubs when an unknown one appears.
_REFRESH_INTERVAL = 5.0
#: Unregistered hubs (and messages each) held until the registrations are read again.
_MAX_UNKNOWN_HUBS = 100
_MAX_UNKNOWN_MESSAGES = 50
#: CPython's cycle collector in a station process: allocations between two collections of the
#: young generation (default 700).  Each message parsed makes a handful of objects that live until
#: its batch is stored, so at the default the collector ran every ~100 messages and went on to
#: walk ever more of the program mid-burst: a third of the worker's CPU per event (bench.scale,
#: one worker: 22-24.5 µs per event at the default, 15.5-18 at 10,000).  The middle generation
#: keeps its default of 10: at 100 it gathered the survivors of 100 young collections (a backlog
#: in flight), and each of its collections then stalled the event loop for 90-285 ms, which an SOS
#: arriving meanwhile waited out (bench.federation at half load: SOS p99 119-334 ms; at 10, with
#: the start-up heap frozen by ``safetyhub run``, 45 ms).  Garbage without cycles is freed at once
#: either way; only cyclic garbage waits longer.
_GC_THRESHOLDS = (10_000, 10)


class Ingest:
    """Subscribes, validates, stores, acknowledges and tracks hubs."""

    def __init__(
        self,
        hub: Hub,
        cfg: StationConfig,
        store: StationStore,
        on_command_result: Callable[[Inbound, dict[str, Any]], Any] | None = None,
    ) -> None:
        self.hub = hub
        self.cfg = cfg
        self.station = cfg.id
        self.store = store
        self.snapshot_dir = hub.data_dir / "station_snapshots"
        self._on_command_result = on_command_result
        # A hub's answer about footage always reaches the station's footage desk.
        self._announced = frozenset(cfg.announce_events) | {EVENT_FOOTAGE_STATUS}
        #: Event types that lead to anything after the commit (see _announce): every other
        #: event is telemetry that only tells its hub was seen.
        self._told = self._announced | ({HUB_COMMAND_RESULT} if on_command_result is not None else set())
        #: An MQTT message may carry several envelopes (one per line), each within max_payload.
        self._max_message = 4 * cfg.max_payload
        base = f"ssz/v1/{cfg.id}/+/#"
        urgent = f"ssz/v1/{cfg.id}/+/{KIND_INCIDENT}"
        share = f"$share/{cfg.share_group}/" if cfg.share_group else ""
        settings = cfg.connection_settings(
            # Workers of one station need ids of their own (the broker drops the older of two
            # connections with one id); id(self) was alike in identical processes.
            default_client_id=f"station-{cfg.id}" + (f"-{secrets.token_hex(4)}" if cfg.share_group else ""),
            config_dir=hub.config_dir,
            subscriptions=(share + base,),
            # Shared-subscription workers use clean sessions: a dead worker's persistent
            # session would keep collecting its share of messages (see the docs).
            clean=cfg.share_group is not None,
            # A station is one client of a broker it usually shares a machine with: after a
            # restart it must be back within a second or two, not after a growing backoff.
            fast_retry_for=cfg.fast_retry_for,
        )

        # The layer hands qos and retain too; the station reads neither.
        def on_message(name: str, payload: bytes, _qos: int, _retain: bool, props: Any) -> None:
            self._on_message(name, payload, props)

        self.link = MqttConnection(settings, on_message, name="station", on_connect=self._flush_acks)
        # Incidents also come on a second connection of their own: the broker queues per
        # connection, so an SOS never waits behind thousands of telemetry messages in the
        # first one's stream.  The copy that arrives second is a repeat, stored once.
        self.urgent_link = MqttConnection(
            replace(settings, client_id=settings.client_id + "-urgent", subscriptions=(share + urgent,)),
            on_message,
            name="station urgent",
            on_connect=self._flush_acks,
        )
        self.registered: set[str] = set()
        self.statuses: dict[str, HubStatus] = {}
        #: Hub → the hub's time on its last "offline" (its goodbye or its will).
        self._goodbyes: dict[str, float] = {}
        #: Hub → the heartbeat interval its health reports say (seconds).
        self.heartbeats: dict[str, float] = {}
        self._batch: list[Inbound] = []
        self._urgent: list[Inbound] = []
        #: Snapshot bytes waiting for the writer, by message id.
        self._jpegs: dict[tuple[str, str], bytes] = {}
        self._nacks: dict[str, list[dict[str, str]]] = defaultdict(list)
        self._rejects: dict[str, tuple[int, str]] = {}
        self._wake = asyncio.Event()
        #: Incidents have a writer task of their own: it never waits for a telemetry batch
        #: being stored, and its writes jump the database's queue.
        self._urgent_wake = asyncio.Event()
        #: Acks that could not be published (no connection yet): sent at the next connect.
        self._unsent_acks: list[tuple[str, bytes]] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._log = BadInputLog(_LOGGER)
        self._last_refresh = 0.0
        self._refreshing = False
        #: Messages of hubs not (yet) registered, until the registrations are read again.
        self._unknown: dict[str, list[tuple[str, bytes, Any]]] = {}
        self._refresh_timer: asyncio.TimerHandle | None = None
        #: Counters since start (also per hub for rejects).
        self.received = 0
        self.stored = 0
        self.duplicates = 0
        self.rejected = 0
        self.dropped = 0
        #: The longest an incident message took from arrival to its ack (seconds).
        self.urgent_slowest = 0.0
        self.rejected_by_hub: dict[str, int] = defaultdict(int)
        self.last_reject: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load hubs, then subscribe and start the writer and the silence check."""
        tune_collector()
        self.registered = await self.store.registered_hubs()
        for status in await self.store.hub_statuses():
            self.statuses[status.hub_id] = status
            self._mirror(status)
        for item in await self.store.hubs(full=True):
            interval = (item.get("health") or {}).get("heartbeat_interval")
            if isinstance(interval, int | float):
                self.heartbeats[item["id"]] = float(interval)
        self.link.start(self.hub.create_background_task)
        self.urgent_link.start(self.hub.create_background_task)
        spawn = self.hub.create_background_task
        self._tasks += [
            spawn(self._writer(), "station writer"),
            spawn(self._urgent_writer(), "station incident writer"),
            spawn(self._silence_loop(), "station silence"),
        ]

    async def stop(self) -> None:
        """Store what is queued, then disconnect."""
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
            self._refresh_timer = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain(), timeout=10)
        await self.link.stop()
        await self.urgent_link.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def stats(self) -> dict[str, Any]:
        """Return counters for the API."""
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "backlog": len(self._batch),
            "urgent_backlog": len(self._urgent),
            "urgent_slowest_ms": round(self.urgent_slowest * 1000, 1),
            "unsent_acks": len(self._unsent_acks),
            "link": self.link.info(),
            "urgent_link": self.urgent_link.info(),
        }

    # -- receiving --------------------------------------------------------------------------------

    def _on_message(self, name: str, payload: bytes, props: Any) -> None:
        self.received += 1
        parts = parse_topic(name)
        if parts is None or parts.station != self.station:
            self._reject("?", f"not a topic of station {self.station}: {name[:120]!r}")
            return
        kind, hub_id = parts.kind, parts.hub
        if kind in (KIND_ACK, KIND_CMD):
            return  # our own traffic (brokers without no_local echo it)
        if hub_id not in self.registered:
            self._hold_unknown(hub_id, name, payload, props)
            return
        if kind not in UP_KINDS:
            self._reject(hub_id, f"unknown kind {kind!r}", _sniff_id(payload))
            return
        now = self.hub.clock.time()
        if kind == KIND_SNAPSHOT:
            item = self._snapshot(hub_id, payload, props, now)
            items = [item] if item is not None else []
        elif len(payload) > self._max_message:
            for line in payload.split(b"\n"):
                self._reject(
                    hub_id,
                    f"{kind}: an MQTT message of {len(payload)} bytes is over the "
                    f"{self._max_message}-byte limit",
                    _sniff_id(line),
                )
            return
        elif b"\n" in payload:
            # A hub sending its backlog: one envelope per line, each checked on its own.
            items = [
                i for line in payload.split(b"\n") if (i := self._json(hub_id, kind, line, now)) is not None
            ]
        else:
            item = self._json(hub_id, kind, payload, now)
            items = [item] if item is not None else []
        if not items:
            return
        if kind == KIND_INCIDENT:
            arrived = self.hub.loop.time()
            for item in items:
                item.arrived = arrived
            self._urgent.extend(items)
            self._urgent_wake.set()
            return
        if len(self._batch) >= _MAX_BACKLOG:
            self.dropped += len(items)
            self._log.warn(
                "backlog",
                "Station: %d messages waiting for the database; dropping new ones "
                "unacknowledged (hubs will send them again)",
                len(self._batch),
            )
            return
        else:
            self._batch.extend(items)
        self._wake.set()

    def _json(self, hub_id: str, kind: str, payload: bytes, now: float) -> Inbound | None:
        if len(payload) > self.cfg.max_payload:
            self._reject(
                hub_id,
                f"{kind}: {len(payload)} bytes is over the {self.cfg.max_payload}-byte limit",
                _sniff_id(payload),
            )
            return None
        try:
            env = parse_envelope(payload)
        except (ValidationError, ValueError) as err:
            self._reject(hub_id, f"{kind}: not our schema: {_first_error(err)}", _sniff_id(payload))
            return None
        if env.hub != hub_id or env.kind != kind or env.station != self.station:
            self._reject(
                hub_id,
                f"payload says {env.station}/{env.hub}/{env.kind} but the topic is "
                f"{self.station}/{hub_id}/{kind}",
                env.id,
            )
            return None
        if type(env) is not EventEnvelope:  # registry, health or incident (the exact type: cheap)
            # What the console renders is checked in full here: one hub's malformed
            # registry must never break a page for every officer.
            check = (
                check_registry
                if isinstance(env, RegistryEnvelope)
                else check_health
                if isinstance(env, HealthEnvelope)
                else check_incident
            )
            try:
                check(json.loads(payload).get("body"))
            except (ValidationError, ValueError) as err:
                self._reject(hub_id, f"{kind}: {first_error(err)}", env.id)
                return None
        return Inbound(env.id, hub_id, kind, env.ts, now, payload, env)

    def _snapshot(self, hub_id: str, payload: bytes, props: Any, now: float) -> Inbound | None:
        pairs = getattr(props, "UserProperty", None) if props is not None else None
        if not pairs:
            self._reject(hub_id, "snapshot without its properties (MQTT v5 is needed for snapshots)")
            return None
        meta_raw = {str(k): str(v) for k, v in pairs}
        try:
            meta = SnapshotMeta.model_validate(meta_raw)
        except ValidationError as err:
            self._reject(hub_id, f"snapshot: not our schema: {_first_error(err)}", meta_raw.get("id"))
            return None
        if meta.hub != hub_id or meta.station != self.station:
            self._reject(
                hub_id, f"snapshot says {meta.station}/{meta.hub}, the topic {self.station}/{hub_id}", meta.id
            )
            return None
        if len(payload) > self.cfg.max_snapshot:
            self._reject(
                hub_id,
                f"snapshot: {len(payload)} bytes is over the {self.cfg.max_snapshot}-byte limit",
                meta.id,
            )
            return None
        if not (payload[:3] == b"\xff\xd8\xff" and payload.rstrip(b"\x00\r\n")[-2:] == b"\xff\xd9"):
            self._reject(hub_id, "snapshot: not a complete JPEG", meta.id)
            return None
        item = Inbound(meta.id, hub_id, KIND_SNAPSHOT, float(meta.ts), now, b"", None, meta)
        item.snapshot_size = len(payload)
        item.snapshot_sha256 = hashlib.sha256(payload).hexdigest()
        item.snapshot_path = str(Path(hub_id) / f"{meta.id}.jpg")
        # The bytes ride along until the writer puts them on disk.
        self._jpegs[(hub_id, meta.id)] = payload
        return item

    def _reject(self, hub_id: str, reason: str, msg_id: str | None = None, *, known: bool = True) -> None:
        self.rejected += 1
        if len(self.rejected_by_hub) < 10_000 or hub_id in self.rejected_by_hub:
            self.rejected_by_hub[hub_id] += 1
            self.last_reject[hub_id] = reason
        self._log.warn(
            f"reject {hub_id}", "Station %s: rejected a message from hub %s: %s", self.station, hub_id, reason
        )
        if known and hub_id in self.registered:
            count, _ = self._rejects.get(hub_id, (0, ""))
            self._rejects[hub_id] = (count + 1, reason[:500])
            if msg_id is not None:
                # Tell the hub, so it stops re-sending what will never be accepted.
                self._nacks[hub_id].append({"id": msg_id, "reason": reason[:500]})
            self._wake.set()

    def _hold_unknown(self, hub_id: str, name: str, payload: bytes, props: Any) -> None:
        """Keep a message of a hub we do not know until the registrations are read again.

        ``station add-hub`` writes the hub into the database from another process; the
        hub's first messages (its retained registry and health, sent once) must not be
        thrown away because this process has not read that row yet.  Bounded: a stranger
        flooding the broker is rejected, not buffered.
        """
        held = self._unknown.get(hub_id)
        if held is None and len(self._unknown) >= _MAX_UNKNOWN_HUBS:
            self._reject(hub_id, "hub is not registered at this station", known=False)
            return
        held = self._unknown.setdefault(hub_id, [])
        if len(held) >= _MAX_UNKNOWN_MESSAGES:
            self._reject(hub_id, "hub is not registered at this station", known=False)
            return
        held.append((name, payload, props))
        self._refresh_registered()

    def _refresh_registered(self) -> None:
        now = self.hub.loop.time()
        if self._refreshing:
            return
        wait = self._last_refresh + _REFRESH_INTERVAL - now
        if wait > 0:
            # Read again as soon as allowed, so held messages never wait for another one.
            if self._refresh_timer is None:
                self._refresh_timer = self.hub.loop.call_later(wait, self._timer_refresh)
            return
        self._last_refresh = now
        self._refreshing = True

        async def refresh() -> None:
            try:
                fresh = await self.store.registered_hubs()
                for hub_id in fresh - self.registered:
                    status = HubStatus(hub_id, STATUS_UNKNOWN, None, None, None)
                    self.statuses.setdefault(hub_id, status)
                    self._mirror(self.statuses[hub_id])
                self.registered = fresh
            finally:
                self._refreshing = False
            self._replay_unknown()

        self.hub.create_task(refresh(), "station hubs refresh")

    def _timer_refresh(self) -> None:
        self._refresh_timer = None
        self._refresh_registered()

    def _replay_unknown(self) -> None:
        """Handle held messages of hubs now registered; reject the others'."""
        held, self._unknown = self._unknown, {}
        for hub_id, messages in held.items():
            for name, payload, props in messages:
                if hub_id in self.registered:
                    self._on_message(name, payload, props)
                else:
                    self._reject(hub_id, "hub is not registered at this station", known=False)

    async def reload_hubs(self) -> None:
        """Re-read the registered hubs now (after ``add-hub``)."""
        self._last_refresh = 0.0
        self._refreshing = False
        fresh = await self.store.registered_hubs()
        for hub_id in fresh - self.registered:
            self.statuses.setdefault(hub_id, HubStatus(hub_id, STATUS_UNKNOWN, None, None, None))
            self._mirror(self.statuses[hub_id])
        self.registered = fresh

    # -- storing --------------------------------------------------------------------------------

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._drain()
            except Exception:
                # Not acknowledged, so the hubs send it all again: nothing is lost.
                _LOGGER.exception("Station: could not store a batch; hubs will re-send it")
                await asyncio.sleep(1)

    async def _urgent_writer(self) -> None:
        backoff = Backoff(_URGENT_RETRY_FIRST, _URGENT_RETRY_MAX)
        while True:
            await self._urgent_wake.wait()
            self._urgent_wake.clear()
            try:
                await self._drain_urgent()
                backoff.reset()
            except Exception:  # noqa: BLE001 - logged (rate-limited, with the traceback) and retried
                # Kept in memory and tried again soon (a full disk, a held lock), sooner than
                # the hubs' ack timeout would bring them back; logged once per stretch.
                self._log.warn(
                    "incident store", "Station: could not store incidents; retrying", exc_info=True
                )
                await backoff.sleep(REAL_TIME)
                self._urgent_wake.set()

    async def _drain_urgent(self) -> None:
        while self._urgent:
            # Incidents in a transaction of their own, ahead of any queued telemetry: riding
            # along with a telemetry batch made an SOS wait seconds for its ack.
            batch, self._urgent = self._urgent, []
            started = self.hub.loop.time()
            try:
                await self._store(batch, {}, {}, urgent=True)
            except BaseException:
                self._urgent[:0] = batch  # kept, in order, for the retry
                raise
            done = self.hub.loop.time()
            waited = done - min(m.arrived for m in batch)
            self.urgent_slowest = max(self.urgent_slowest, waited)
            if waited > _SLOW_INCIDENT:
                # Where an SOS's time goes, in the log: the wait for the writer, or the write.
                self._log.warn(
                    "slow incident",
                    "Station: %d incident message(s) acknowledged %.0f ms after arrival "
                    "(%.0f ms waiting, %.0f ms storing)",
                    len(batch),
                    waited * 1000,
                    (started - min(m.arrived for m in batch)) * 1000,
                    (done - started) * 1000,
                )

    async def _drain(self) -> None:
        await self._drain_urgent()
        while self._batch or self._nacks or self._rejects:
            batch = self._batch[: self.cfg.batch_max]
            del self._batch[: len(batch)]
            nacks, self._nacks = self._nacks, defaultdict(list)
            rejects, self._rejects = self._rejects, {}
            await self._store(batch, nacks, rejects)
        await self._drain_urgent()

    async def _store(
        self,
        batch: list[Inbound],
        nacks: dict[str, list[dict[str, str]]],
        rejects: dict[str, tuple[int, str]],
        *,
        urgent: bool = False,
    ) -> None:
        jpegs = {
            (m.hub_id, m.id): self._jpegs.pop((m.hub_id, m.id), b"") for m in batch if m.snapshot is not None
        }
        if jpegs:
            await self.hub.loop.run_in_executor(None, self._write_jpegs, batch, jpegs)
        counts: dict[str, tuple[int, float, float]] = {}
        for m in batch:
            n, _, sent = counts.get(m.hub_id, (0, 0.0, 0.0))
            counts[m.hub_id] = (n + 1, m.received_at, max(sent, m.sent_at))
        result = await self.store.ingest(batch, counts, rejects, urgent=urgent)
        self.stored += len(result.new_keys)
        self.duplicates += len(batch) - len(result.new_keys) - len(result.conflicts)
        if result.conflicts:
            # Never acknowledged as stored: the hub is told, and keeps its row as refused.
            for (hub_id, msg_id), reason in result.conflicts.items():
                self._reject(hub_id, reason)
                nacks.setdefault(hub_id, []).append({"id": msg_id, "reason": reason})
            batch = [m for m in batch if (m.hub_id, m.id) not in result.conflicts]
        self._acknowledge(batch, nacks, urgent=urgent)
        latest: dict[str, Inbound] = {}
        told = self._told
        for index, m in enumerate(batch):
            if index % 500 == 499:
                await asyncio.sleep(0)  # let an SOS that just arrived in, between two chunks
            latest[m.hub_id] = m
            env = m.env
            if type(env) is EventEnvelope and env.body.type not in told:
                continue  # telemetry told to no one (nearly every message): only its hub was seen
            if m.kind == "health":
                self._seen(m)  # an offline will must be seen in its place in the stream
            if (m.hub_id, m.id) in result.new_keys:
                self._announce(m)
        for m in latest.values():
            if m.kind != "health":
                self._seen(m)

    def _write_jpegs(self, batch: list[Inbound], jpegs: dict[tuple[str, str], bytes]) -> None:
        for m in batch:
            data = jpegs.get((m.hub_id, m.id))
            if m.snapshot is None or not data:
                continue
            path = self.snapshot_dir / m.snapshot_path
            if path.exists():
                # Written by the first copy (a repeat carries the same bytes, and a conflicting
                # one is refused): stored evidence is never overwritten.
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)

    def _acknowledge(
        self, batch: list[Inbound], nacks: dict[str, list[dict[str, str]]], *, urgent: bool = False
    ) -> None:
        by_hub: dict[str, list[str]] = defaultdict(list)
        for m in batch:
            by_hub[m.hub_id].append(m.id)
        now = self.hub.clock.time()
        for hub_id in set(by_hub) | set(nacks):
            ids, refused = by_hub.get(hub_id, []), nacks.get(hub_id, [])
            for start in range(0, max(len(ids), len(refused), 1), ACK_CHUNK):
                chunk, rejected = ids[start : start + ACK_CHUNK], refused[start : start + ACK_CHUNK]
                if rejected:
                    payload = dumps({"v": PROTOCOL_VERSION, "ids": chunk, "rejected": rejected, "ts": now})
                else:
                    # The common case, built by hand: ids are ULIDs (no escaping needed), and
                    # at a busy station json.dumps per ack is a noticeable share of the CPU.
                    payload = b'{"v":%d,"ids":["%s"],"rejected":[],"ts":%.3f}' % (
                        PROTOCOL_VERSION,
                        '","'.join(chunk).encode("ascii"),
                        now,
                    )
                    if not chunk:
                        payload = payload.replace(b'[""]', b"[]")
                self._publish_ack(topic(self.station, hub_id, KIND_ACK), payload, urgent=urgent)

    def _publish_ack(self, name: str, payload: bytes, *, urgent: bool) -> None:
        """Send one ack; keep it for the next connect if no connection can take it now."""
        # An incident's ack goes out on the incident connection, whose socket is not
        # queued full of telemetry acks; either connection will do if the other is down.
        links = (self.urgent_link, self.link) if urgent else (self.link, self.urgent_link)
        for link in links:
            # QoS 0 and not awaited: a lost ack only makes the hub send again (the
            # station stores by id), while QoS 1 would double the packets per event.
            if link.publish_nowait(name, payload, qos=0):
                return
        # After a broker restart, the queued session is delivered before the
        # subscription is confirmed: those acks wait here instead of being dropped,
        # which made hubs wait their ack timeout and send everything again.
        self._unsent_acks.append((name, payload))
        if len(self._unsent_acks) > _MAX_BACKLOG:
            del self._unsent_acks[: len(self._unsent_acks) - _MAX_BACKLOG]

    def _flush_acks(self) -> None:
        """Send the acks kept while no connection was up (called at each connect)."""
        unsent, self._unsent_acks = self._unsent_acks, []
        for name, payload in unsent:
            self._publish_ack(name, payload, urgent=False)

    def _announce(self, m: Inbound) -> None:
        env = m.env
        fire = self.hub.bus.fire
        if isinstance(env, IncidentEnvelope):
            body = env.body
            fire(
                EVENT_INCIDENT,
                {
                    "hub_id": m.hub_id,
                    "incident_id": body.incident.id,
                    "action": body.action,
                    "kind": body.incident.kind,
                    "status": body.incident.status,
                    "severity": body.incident.severity,
                    "title": body.incident.title,
                    "entry": body.entry.model_dump(),
                    "message_id": m.id,
                },
            )
        elif isinstance(env, EventEnvelope):
            if env.body.type == HUB_COMMAND_RESULT and self._on_command_result is not None:
                self.hub.create_task(
                    _maybe_await(self._on_command_result(m, env.body.data)), "command result"
                )
            elif env.body.type not in self._announced:
                return  # stored and queryable; too frequent to put each on the bus
            fire(
                EVENT_EVENT,
                {
                    "hub_id": m.hub_id,
                    "type": env.body.type,
                    "data": env.body.data,
                    "time": env.body.time,
                    "message_id": m.id,
                },
            )
        elif m.snapshot is not None:
            fire(
                EVENT_SNAPSHOT,
                {
                    "hub_id": m.hub_id,
                    "incident_id": m.snapshot.incident or None,
                    "entity_id": m.snapshot.entity,
                    "message_id": m.id,
                },
            )

    # -- hub link states ----------------------------------------------------------------------------

    def _seen(self, m: Inbound) -> None:
        status = self.statuses.get(m.hub_id)
        if status is None:
            status = self.statuses[m.hub_id] = HubStatus(m.hub_id, STATUS_UNKNOWN, None, None, None)
        status.last_seen = m.received_at
        if m.sent_at > (status.last_sent or 0.0):
            status.last_sent = m.sent_at
        health = m.env.body.status if isinstance(m.env, HealthEnvelope) else None
        if health is not None and m.env.body.heartbeat_interval is not None:  # type: ignore[union-attr]
            self.heartbeats[m.hub_id] = m.env.body.heartbeat_interval  # type: ignore[union-attr]
        if health == HEALTH_OFFLINE:
            self._goodbyes[m.hub_id] = m.sent_at
            self._set_status(status, STATUS_OFFLINE, {"reason": m.env.body.reason})  # type: ignore[union-attr]
        elif status.status != STATUS_ONLINE:
            # Something the hub sent before its goodbye (the incident lane's copy, a retained
            # registry replayed on our re-subscribe) says nothing about the hub now: only a
            # later message, or its "online" (sent at every connect), brings it back.
            said_goodbye = self._goodbyes.get(m.hub_id)
            if health is None and said_goodbye is not None and m.sent_at <= said_goodbye:
                return
            self._goodbyes.pop(m.hub_id, None)
            self._set_status(status, STATUS_ONLINE, {})

    def _set_status(self, status: HubStatus, new: str, extra: dict[str, Any]) -> None:
        if status.status == new:
            return
        old, status.status = status.status, new
        now = self.hub.clock.time()
        status.status_since = now
        self._mirror(status)
        event = {
            STATUS_ONLINE: EVENT_HUB_ONLINE,
            STATUS_OFFLINE: EVENT_HUB_OFFLINE,
            STATUS_SILENT: EVENT_HUB_SILENT,
        }[new]
        self.hub.bus.fire(
            event,
            {
                "hub_id": status.hub_id,
                "previous": old,
                "last_seen": status.last_seen,
                **extra,
                "reason": extra.get("reason"),
            },
        )
        log = _LOGGER.warning if new != STATUS_ONLINE else _LOGGER.info
        log("Station: hub %s is %s (was %s)", status.hub_id, new, old)
        self.hub.create_task(self.store.set_status(status.hub_id, new, now), "station hub status")

    def _mirror(self, status: HubStatus) -> None:
        entity_id = f"{HUB_ENTITY_DOMAIN}.{status.hub_id.replace('-', '_')}"
        with contextlib.suppress(Exception):
            self.hub.states.set(
                entity_id,
                status.status,
                {
                    "friendly_name": status.hub_id,
                    "hub_id": status.hub_id,
                    "last_seen": status.last_seen,
                    "last_sent": status.last_sent,
                    "status_since": status.status_since,
                },
            )

    def peer_status(self, hub_id: str, status: str, at: float) -> None:
        """Take a hub's link state from another station worker (it saw the hub's last word).

        Only this worker's view and the state entity change: the worker that saw it
        already fired the station's events and recorded it.
        """
        current = self.statuses.get(hub_id)
        if current is None or current.status == status:
            return
        current.status, current.status_since = status, at
        self._mirror(current)

    async def _merge_last_seen(self) -> None:
        """With several workers each sees a share of a hub's messages: take the latest from the store."""
        for shared in await self.store.hub_statuses():
            mine = self.statuses.get(shared.hub_id)
            if mine is not None and (shared.last_seen or 0.0) > (mine.last_seen or 0.0):
                mine.last_seen = shared.last_seen

    def supervision(self, hub_id: str) -> dict[str, Any]:
        """Return how ``hub_id`` is supervised: interval (and where it comes from) and detection time."""
        sup = self.cfg.supervision
        interval, source = sup.interval(hub_id, self.heartbeats.get(hub_id))
        return {
            "interval": interval,
            "interval_source": source,
            "declared_interval": self.heartbeats.get(hub_id),
            "missed_beats": sup.missed_beats,
            "grace": sup.grace,
            "detection_time": sup.detection_time(interval),
        }

    def check_silence(self) -> list[str]:
        """Mark online hubs quiet for longer than their detection time; return their ids."""
        now = self.hub.clock.time()
        sup = self.cfg.supervision
        silent = []
        for status in list(self.statuses.values()):
            if status.hub_id not in self.registered or status.status not in (STATUS_ONLINE, STATUS_UNKNOWN):
                continue
            interval, _source = sup.interval(status.hub_id, self.heartbeats.get(status.hub_id))
            detection = sup.detection_time(interval)
            if status.last_seen is not None and now - status.last_seen >= detection:
                self._set_status(
                    status,
                    STATUS_SILENT,
                    {
                        "reason": f"nothing for {now - status.last_seen:.0f}s",
                        "detection_time": detection,
                        "interval": interval,
                    },
                )
                silent.append(status.hub_id)
        return silent

    async def _silence_loop(self) -> None:
        while True:
            await self.hub.clock.sleep(self.cfg.supervision.check_interval)
            try:
                if getattr(self.store, "shared", False):
                    await self._merge_last_seen()
                self.check_silence()
            except Exception:
                _LOGGER.exception("Station: silence check failed")


def tune_collector() -> None:
    """Raise the cycle collector's thresholds for a station, each to at least ``_GC_THRESHOLDS``.

    Process-wide, and never lowered: a process that asked for less collecting keeps it.
    """
    current = gc.get_threshold()
    wanted = tuple(max(have, want) for have, want in zip(current, _GC_THRESHOLDS, strict=False))
    if wanted != current[: len(wanted)]:
        gc.set_threshold(*wanted, *current[len(wanted) :])


async def _maybe_await(value: Any) -> None:
    if asyncio.iscoroutine(value):
        await value


def _sniff_id(payload: bytes) -> str | None:
    """Find a message id near the start of a payload we could not parse (to refuse it by id)."""
    match = _ID_IN_JSON.search(payload[:400])
    return match.group(1).decode("ascii") if match else None


def _first_error(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'message'}: {first['msg']}"
    return str(err)[:200]
