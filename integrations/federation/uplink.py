"""The hub side of federation: what goes up, when, and what comes back.

Up (through the outbox, so nothing is lost): incidents with each timeline
entry and the snapshots the camera's owner lets the station have (both
written in the incident change's own transaction, see
:meth:`Federation.incident_rows`), the selected events, the retained registry
and the retained health report.  Down: ``ack``
(delete those outbox rows) and ``cmd`` (see :mod:`.commands`).

Two clocks on purpose: what a person would call time (health every minute,
armed hours, timestamps in messages) follows ``hub.clock``, which tests move
by hand; what is about the network (ack timeouts, reconnect backoff) follows
the event loop's monotonic clock, which a wrong wall clock cannot upset.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from hub.core.bus import Event
from hub.core.clock import Cancel
from hub.core.ids import ulid
from hub.core.retry import Backoff
from hub.i18n import entity_name
from hub.mqtt import MqttConnection, publish_properties
from integrations.federation.collect import build_health, build_registry, scrub
from integrations.federation.commands import CommandRunner
from integrations.federation.config import FederationConfig, parse_window
from integrations.federation.const import (
    EVENT_REGISTRY_CHANGED,
    EVENT_SOS_PRESSED,
    HEALTH_OFFLINE,
    KIND_ACK,
    KIND_CMD,
    KIND_EVENT,
    KIND_HEALTH,
    KIND_INCIDENT,
    KIND_REGISTRY,
    KIND_SNAPSHOT,
    MAX_JSON_BYTES,
    MAX_SNAPSHOT_BYTES,
    PRIO_EVENT,
    PRIO_HEALTH,
    PRIO_INCIDENT,
    PRIO_REGISTRY,
    PRIO_SNAPSHOT,
    PRIO_SOS,
    TOPIC_ROOT,
)
from integrations.federation.kpi_report import KpiReporter
from integrations.federation.outbox import DEFAULT_TABLE, Outbox, OutboxItem
from integrations.federation.protocol import AckDoc, dumps, entry_id, envelope, parse_topic, stable_id, topic

if TYPE_CHECKING:
    from hub.components.incident import Incident, IncidentRows, TimelineEntry
    from hub.hub import Hub

__all__ = ("Federation", "CONNECTED_ENTITY")

_LOGGER = logging.getLogger(__name__)

#: Shows whether the hub is connected to its station's broker.
CONNECTED_ENTITY = "binary_sensor.federation_connected"
#: Longest wait between re-sends while the station does not answer (backoff cap).
_MAX_ACK_TIMEOUT = 600.0
_OVERDUE_CHECK = 1.0
#: Pause after the MQTT client refused a publish (its connection is dropping).
_RETRY_AFTER_REFUSAL = 0.5


def batches(items: list[OutboxItem], most: int) -> list[list[OutboxItem]]:
    """Group consecutive rows of one JSON kind into one MQTT message (one envelope per line).

    Per-packet cost dominates both MQTT clients and the broker, so a hub that
    has a backlog (after an outage, or a burst) sends it in few packets; a row
    that is alone goes alone and at once, so an SOS never waits for company.
    Retained and binary (snapshot) rows always go alone.
    """
    groups: list[list[OutboxItem]] = []
    size = 0
    for item in items:
        length = len(item.payload or b"") + 1
        last = groups[-1] if groups else None
        if (
            last is not None
            and len(last) < most
            and item.kind == last[0].kind
            and not item.retain
            and not item.props
            and not last[0].retain
            and not last[0].props
            and size + length <= MAX_JSON_BYTES
        ):
            last.append(item)
            size += length
        else:
            groups.append([item])
            size = length
    return groups


class Federation:
    """One hub's link to its station."""

    #: The entity that shows the link (a subclass one tier up names its own).
    connected_entity = CONNECTED_ENTITY
    #: Catalogue key of the link entity's name (``entity_name.<key>``).
    connected_name_key = "station_link"

    def __init__(
        self,
        hub: Hub,
        cfg: FederationConfig,
        *,
        root: str = TOPIC_ROOT,
        sender: str | None = None,
        table: str = DEFAULT_TABLE,
        name: str = "federation",
    ) -> None:
        """Link ``hub`` to ``cfg.station``.

        The same link carries a station to its region (DESIGN §14): then ``root`` is
        ``ssz/v1/region``, ``cfg.station`` the region, ``sender`` the station's id and
        ``table`` the station's own outbox table, and nothing else changes.
        """
        self.hub = hub
        self.cfg = cfg
        self.root = root
        self.station = cfg.station
        self.hub_id = sender or hub.id
        self.outbox = Outbox(
            hub.storage, time_fn=hub.clock.time, window=cfg.window, spawn=hub.create_task, table=table
        )
        self.outbox.on_ready = self._wake_sender
        settings = cfg.connection_settings(
            username=cfg.username or self.hub_id,
            default_client_id=f"{'hub' if sender is None else 'station'}-{self.hub_id}",
            config_dir=hub.config_dir,
            subscriptions=(self.topic(KIND_ACK), self.topic(KIND_CMD)),
        )
        self.link = MqttConnection(
            settings,
            lambda topic, payload, _qos, _retain, props: self._on_message(topic, payload, props),
            name=name,
            will=self._will,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
        )
        self.commands = CommandRunner(hub, cfg, self._send_command_result)
        self.kpis = KpiReporter(hub, self.send_event, interval=cfg.kpi_interval, debounce=cfg.kpi_debounce)
        self._armed = [parse_window(w) for w in cfg.share.armed_hours]
        self._wake = asyncio.Event()
        #: How long to wait for an ack: doubled while the station is silent, reset by an ack.
        self._ack_wait = Backoff(cfg.ack_timeout, _MAX_ACK_TIMEOUT)
        self._acks: list[str] = []
        self._ack_task: asyncio.Task[None] | None = None
        self._registry_hash: str | None = None
        self._registry_started = False
        self._registry_due: Cancel | None = None
        self._unsubs: list[Any] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.bad_messages = 0

    # -- lifecycle -------------------------------------------------------------------------

    def topic(self, kind: str) -> str:
        """Return this hub's topic of ``kind``."""
        return topic(self.station, self.hub_id, kind, self.root)

    async def start(self) -> None:
        """Load the outbox, follow the bus, and connect."""
        await self.outbox.load()
        bus = self.hub.bus
        for event_type in dict.fromkeys(self.cfg.share.events):
            self._unsubs.append(bus.listen(event_type, self._forward_event))
        if self.cfg.share.registry:
            self._unsubs.append(bus.listen(EVENT_REGISTRY_CHANGED, self._registry_changed))
        self._write_state()
        self.link.start(self.hub.create_background_task)
        spawn = self.hub.create_background_task
        self._tasks += [
            spawn(self._sender(), "federation sender"),
            spawn(self._overdue_loop(), "federation ack timeouts"),
            spawn(self._health_loop(), "federation health"),
        ]

    def hub_started(self) -> None:
        """Start the registry once every plugin is set up (they all contribute to it)."""
        if self.cfg.share.registry:
            self._registry_started = True
            self._tasks.append(self.hub.create_background_task(self._registry_loop(), "federation registry"))
        if self.cfg.share.kpis:
            # Like the registry, only once every plugin is set up: they compute the figures.
            self.kpis.start()
            self._tasks.append(self.hub.create_background_task(self.kpis.loop(), "federation kpis"))

    def _registry_changed(self, _event: Event) -> None:
        """Re-send the registry soon: one rebuild for a burst of changes (an admin adding boxes)."""
        if not self._registry_started or self._registry_due is not None:
            return  # before start the first send covers it; a send is already due
        self._registry_due = self.hub.clock.call_later(
            self.cfg.registry_debounce, self._send_changed_registry
        )

    def _send_changed_registry(self) -> None:
        self._registry_due = None
        self.hub.create_task(self._safe(self.send_registry()), "federation registry change")

    async def stop(self) -> None:
        """Say ``offline`` (retained, like the will) and disconnect; the outbox keeps the rest."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self.kpis.stop()
        if self._registry_due is not None:
            self._registry_due()
            self._registry_due = None
        # The sender goes first: "offline" must be the last thing on the wire.  While the
        # goodbye waited for its PUBACK, an ack freeing the window (or a re-send) let the
        # sender publish after it, and the station, seeing that message, took the hub for
        # online again until its silence gave it away minutes later.
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        offline = self._health_payload(HEALTH_OFFLINE, "hub stopped")
        await self.link.stop(last_words=(self.topic(KIND_HEALTH), offline, 1, True))
        await self.outbox.close()

    def _health_payload(self, status: str, reason: str) -> bytes:
        return envelope(
            ulid(),
            self.station,
            self.hub_id,
            KIND_HEALTH,
            self.hub.clock.time(),
            {"status": status, "reason": reason, "version": self.hub.version},
        )

    def _will(self) -> tuple[str, bytes, int, bool]:
        # Made at each connect: the broker publishes it if the hub vanishes.
        return self.topic(KIND_HEALTH), self._health_payload(HEALTH_OFFLINE, "connection lost"), 1, True

    def _on_connect(self) -> None:
        self.outbox.requeue_all()
        self._ack_wait.reset()
        self._write_state()
        # The will may have said "offline" while we were away: say "online" again.
        self.hub.create_task(self._safe(self.send_health()), "federation health")
        self._wake_sender()

    def _on_disconnect(self) -> None:
        self.outbox.requeue_all()
        self._write_state()

    def _write_state(self) -> None:
        with contextlib.suppress(Exception):
            self.hub.states.set(
                self.connected_entity,
                "on" if self.link.connected else "off",
                {
                    "friendly_name": entity_name(self.connected_name_key, self.hub),
                    "device_class": "connectivity",
                    "station": self.station,
                    "status": self.link.status,
                    "pending": self.outbox.pending,
                },
            )

    async def _safe(self, coro: Any) -> None:
        try:
            await coro
        except Exception:
            _LOGGER.exception("Federation: could not queue a message")

    # -- queueing -------------------------------------------------------------------------

    async def send(
        self,
        kind: str,
        body: dict[str, Any],
        priority: int,
        *,
        retain: bool = False,
        coalesce: str | None = None,
        msg_id: str | None = None,
    ) -> str:
        """Write one message to the outbox (committed on return) and return its id."""
        msg_id = msg_id or ulid()
        payload = envelope(msg_id, self.station, self.hub_id, kind, self.hub.clock.time(), body)
        if len(payload) > MAX_JSON_BYTES:
            # Refused here, loudly, rather than queued to be refused by the station forever.
            raise ValueError(
                f"{kind} message of {len(payload)} bytes is over the {MAX_JSON_BYTES}-byte limit"
            )
        await self.outbox.add(OutboxItem(msg_id, kind, priority, retain, payload, coalesce=coalesce))
        return msg_id

    async def send_event(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        priority: int = PRIO_EVENT,
        time_fired: float | None = None,
        msg_id: str | None = None,
        coalesce: str | None = None,
    ) -> str:
        """Queue an ``event`` message (``msg_id``: the caller's idempotency key).

        ``coalesce``: a newer unsent event with the same key replaces this one (a month's
        figures: the station only needs the latest).
        """
        body = {
            "type": event_type,
            "data": scrub(data),
            "time": self.hub.clock.time() if time_fired is None else time_fired,
        }
        return await self.send(KIND_EVENT, body, priority, msg_id=msg_id, coalesce=coalesce)

    async def _send_command_result(self, body: dict[str, Any]) -> str:
        body = {**body, "time": self.hub.clock.time()}
        return await self.send(KIND_EVENT, body, PRIO_INCIDENT)

    async def send_health(self) -> str:
        """Queue the health report (retained; a newer one replaces an unsent older one)."""
        body = await build_health(
            self.hub,
            {
                "outbox": self.outbox.stats(),
                "link": {"connects": self.link.connects, "refused_publishes": self.link.refused_publishes},
                # The station derives its failure-detection time from this (station.supervision).
                "heartbeat_interval": self.cfg.health_interval,
                "schema": dict(self.hub.schema_versions),
            },
        )
        return await self.send(KIND_HEALTH, body, PRIO_HEALTH, retain=True, coalesce=KIND_HEALTH)

    async def send_registry(self, *, force: bool = False) -> str | None:
        """Queue the registry if it changed (or ``force``); return the message id."""
        body = await build_registry(self.hub, self.station)
        digest = hashlib.sha256(dumps(body)).hexdigest()
        if digest == self._registry_hash and not force:
            return None
        msg_id = await self.send(KIND_REGISTRY, body, PRIO_REGISTRY, retain=True, coalesce=KIND_REGISTRY)
        self._registry_hash = digest
        return msg_id

    async def _snapshot_item(self, snapshot_id: str, incident_id: str | None) -> OutboxItem | None:
        """Return a stored snapshot's outbox item if the owner's policy lets it go (audited), else None."""
        from integrations.camera.entity import CameraEntity
        from integrations.camera.policy import Party, check_and_audit

        if not self.cfg.share.snapshots:
            return None
        if not self.link.v5:
            _LOGGER.warning("Federation: snapshots need MQTT v5 (protocol: 5); %s not sent", snapshot_id)
            return None
        row = await self.hub.storage.fetchone("SELECT * FROM snapshots WHERE id = ?", (snapshot_id,))
        if row is None:
            return None
        try:
            camera = self.hub.entities.get(row["entity_id"], CameraEntity)
        except LookupError:
            return None
        msg_id = stable_id(float(row["ts"]), 0, self.hub_id, "snapshot", snapshot_id)
        decision = await check_and_audit(
            self.hub,
            camera,
            Party.station(self.station),
            "snapshot",
            detail={"snapshot_id": snapshot_id, "incident_id": incident_id},
        )
        if not decision:
            return None
        path = self.hub.data_dir / row["path"]
        data = await self.hub.loop.run_in_executor(None, path.read_bytes)
        if len(data) > MAX_SNAPSHOT_BYTES:
            _LOGGER.warning(
                "Federation: snapshot %s is %d bytes, over the limit; not sent", snapshot_id, len(data)
            )
            return None
        props = [
            ("v", "1"),
            ("id", msg_id),
            ("station", self.station),
            ("hub", self.hub_id),
            ("ts", f"{float(row['ts']):.3f}"),
            ("incident", incident_id or ""),
            ("entity", camera.entity_id),
            ("snapshot", snapshot_id),
        ]
        return OutboxItem(msg_id, KIND_SNAPSHOT, PRIO_SNAPSHOT, False, data, props)

    # -- bus listeners ----------------------------------------------------------------------

    def incident_rows(
        self, incident: Incident, entry: TimelineEntry
    ) -> IncidentRows | Awaitable[IncidentRows] | None:
        """Return the outbox rows of one incident change, for the change's own transaction.

        The ``incident_written`` hook: the entry's message (and, for a snapshot entry, the
        pictures the owner lets the station have) is committed with the incident, so it
        reaches the station exactly when the hub has it.  The message id is fixed by the
        entry's row id, so the station, which stores by id, keeps it once.
        """
        if not self.cfg.share.incidents:
            return None
        from hub.components.incident import IncidentRows

        item = self._entry_item(incident, entry)
        if entry.kind == "snapshot" and entry.attachments and self.cfg.share.snapshots:
            # Reading the pictures costs a file read and an audit entry: only for this kind.
            return self._with_snapshots(incident.id, entry.attachments, item)
        return IncidentRows([self.outbox.row(item)], lambda: self.outbox.committed([item]))

    def _entry_item(self, incident: Incident, entry: TimelineEntry) -> OutboxItem:
        inc = incident.as_dict(timeline=False)
        inc.pop("entity_id", None)
        action = {"opened": "opened", "closed": "closed"}.get(entry.kind, "updated")
        priority = PRIO_SOS if incident.kind == "sos" else PRIO_INCIDENT
        msg_id = entry_id(self.hub_id, incident.id, entry.id, entry.ts)
        body = scrub({"action": action, "incident": inc, "entry": entry.as_dict()})
        payload = envelope(msg_id, self.station, self.hub_id, KIND_INCIDENT, self.hub.clock.time(), body)
        if len(payload) > MAX_JSON_BYTES:
            # Refused here, loudly, rather than queued to be refused by the station forever.
            raise ValueError(
                f"incident {incident.id}: entry of {len(payload)} bytes is over the {MAX_JSON_BYTES}-byte limit"
            )
        return OutboxItem(msg_id, KIND_INCIDENT, priority, False, payload)

    async def _with_snapshots(
        self, incident_id: str, snapshot_ids: list[str], item: OutboxItem
    ) -> IncidentRows:
        from hub.components.incident import IncidentRows

        items = [item]
        for snapshot_id in snapshot_ids:
            try:
                found = await self._snapshot_item(str(snapshot_id), incident_id)
            except Exception:
                # The entry still goes: a picture that cannot be read must not hold back the text.
                _LOGGER.exception("Federation: could not prepare snapshot %s", snapshot_id)
                continue
            if found is not None:
                items.append(found)
        return IncidentRows([self.outbox.row(i) for i in items], lambda: self.outbox.committed(items))

    def armed(self) -> bool:
        """Return whether motion is forwarded now (armed hours or the armed entity)."""
        entity = self.cfg.share.armed_entity
        if entity:
            state = self.hub.states.get(entity)
            if state is not None and (state.state == "on" or state.state.startswith("armed")):
                return True
        now = self.hub.clock.now().time()
        for start, end in self._armed:
            if (start <= now < end) if start <= end else (now >= start or now < end):
                return True
        return False

    async def _forward_event(self, event: Event) -> None:
        if event.event_type == "camera_motion" and not self.armed():
            return
        priority = PRIO_SOS if event.event_type == EVENT_SOS_PRESSED else PRIO_EVENT
        try:
            await self.send_event(
                event.event_type, dict(event.data), priority=priority, time_fired=event.time_fired
            )
        except Exception:
            _LOGGER.exception("Federation: could not queue %s", event.event_type)

    # -- sending ------------------------------------------------------------------------------

    def _wake_sender(self) -> None:
        self._wake.set()

    async def _sender(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.link.connected:
                continue
            items = self.outbox.take(loop.time())
            if not items:
                continue
            try:
                items = await self.outbox.fill(items)
            except Exception:
                _LOGGER.exception("Federation: could not read queued messages")
                self.outbox.requeue(items)
                await asyncio.sleep(1)
                continue
            groups = batches(items, self.cfg.batch)
            refused = False
            for index, group in enumerate(groups):
                first = group[0]
                props = (
                    publish_properties(content_type="image/jpeg", user=first.props) if first.props else None
                )
                payload = b"\n".join(i.payload for i in group if i.payload is not None)
                if not self.link.publish_nowait(
                    self.topic(first.kind), payload, qos=1, retain=first.retain, properties=props
                ):
                    self.outbox.requeue([i for g in groups[index:] for i in g])
                    refused = True
                    break
                self.outbox.sent += len(group)
                for item in group:
                    if not item.cached:
                        item.payload = None  # read again from disk if it must be re-sent
            if refused:
                # The client is going down under us: wait for the reconnect (which wakes us)
                # instead of spinning on a dead socket and starving the loop.
                await asyncio.sleep(_RETRY_AFTER_REFUSAL)
                continue
            self._wake.set()  # more may fit in the window
            await asyncio.sleep(0)

    async def _overdue_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_OVERDUE_CHECK)
            if not self.link.connected:
                continue
            late = self.outbox.overdue(loop.time(), self._ack_wait.current)
            if late:
                count = self.outbox.requeue(late)
                _LOGGER.warning(
                    "Federation: no ack from station %s for %d messages in %.0fs; sending again",
                    self.station,
                    count,
                    self._ack_wait.current,
                )
                # Back off while the station is silent: don't flood a broker queue.
                self._ack_wait.next()

    async def _health_loop(self) -> None:
        while True:
            await self.hub.clock.sleep(self.cfg.health_interval)
            await self._safe(self.send_health())
            self._write_state()

    async def _registry_loop(self) -> None:
        while True:
            await self._safe(self.send_registry())
            await self.hub.clock.sleep(self.cfg.registry_interval)

    # -- from the station -----------------------------------------------------------------------

    def _on_message(self, name: str, payload: bytes, _props: Any) -> None:
        parts = parse_topic(name, self.root)
        if parts is None or parts.station != self.station or parts.hub != self.hub_id:
            return
        if parts.kind == KIND_ACK:
            try:
                doc = AckDoc.model_validate_json(payload)
            except ValueError:
                self.bad_messages += 1
                _LOGGER.warning("Federation: ignored a malformed ack (%d bytes)", len(payload))
                return
            if doc.ts is not None:
                self.commands.station_clock(doc.ts)
            self._acks.extend(doc.ids)
            for rejected in doc.rejected:
                self.hub.create_task(self._safe(self.outbox.reject(rejected.id, rejected.reason)))
            if self._ack_task is None or self._ack_task.done():
                self._ack_task = self.hub.create_task(self._apply_acks(), "federation acks")
        elif parts.kind == KIND_CMD:
            self.hub.create_task(self.commands.handle(payload), "federation command")

    async def _apply_acks(self) -> None:
        # Acks that arrive while a delete runs are applied together in the next one.
        while self._acks:
            ids, self._acks = self._acks, []
            try:
                if await self.outbox.ack(ids):
                    self._ack_wait.reset()
            except Exception:
                _LOGGER.exception("Federation: could not apply %d acks (they will be re-sent)", len(ids))

    def status(self) -> dict[str, Any]:
        """Return the link and outbox state for the API and health."""
        return {
            "station": self.station,
            "hub": self.hub_id,
            "link": self.link.info(),
            "outbox": self.outbox.stats(),
            "commands": {"handled": self.commands.handled, "refused": self.commands.refused},
            "bad_messages": self.bad_messages,
            "armed": self.armed(),
        }
