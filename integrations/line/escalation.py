"""Escalation: when nobody acknowledges a card in time, send it to the next alias of the chain.

The policy is per incident kind (``line.escalation``): ``{sos: {after: 60,
chain: [big6, police_desk]}}``.  The first card sent for an incident starts
the clock; each step that finds the incident still open sends the card to
the first alias of the chain that has not had it, writes an ``escalated``
entry on the timeline, and starts the clock again.  Acknowledging, dispatching
or closing the incident stops it.  State is kept in ``line_escalations`` and
timers run on ``hub.clock``, so a restart resumes where it was and tests
drive it with a FakeClock.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from hub.components.incident import Incident, IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.bus import Event
from hub.core.clock import Cancel
from hub.core.context import Context
from integrations.line.cards import format_latency
from integrations.line.const import EVENT_ESCALATED

if TYPE_CHECKING:
    from integrations.line.runtime import LineRuntime
    from integrations.line.sender import Target

__all__ = ("Escalator",)

_LOGGER = logging.getLogger(__name__)


class Escalator:
    """Runs the escalation policy for every incident whose card went out."""

    def __init__(self, rt: LineRuntime) -> None:
        self.rt = rt
        self.hub = rt.hub
        self._timers: dict[str, Cancel] = {}

    async def load(self) -> None:
        """Re-arm escalations that were waiting when the hub stopped."""
        rows = await self.hub.storage.fetchall(
            "SELECT incident_id, deadline FROM line_escalations WHERE state = 'waiting'"
        )
        for row in rows:
            self._arm(row["incident_id"], float(row["deadline"] or self.hub.clock.time()))

    def listen(self) -> Any:
        """Stop escalating once an incident is no longer open; return the unsubscribe callable."""

        def on_updated(event: Event) -> None:
            incident_id = event.data.get("incident_id")
            status = (event.data.get("incident") or {}).get("status")
            if incident_id in self._timers and status not in (None, "open"):
                self.hub.create_task(self.stop(incident_id, status), "line escalation stop")

        return self.hub.bus.listen("incident_updated", on_updated)

    def cancel_all(self) -> None:
        """Drop every timer (shutdown); the rows stay for the next start."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()

    async def started(
        self, incident: Incident, delivered: list[Target], message: str, context: Context | None
    ) -> None:
        """Note a card sent for ``incident``; start its escalation clock if the policy has a chain."""
        rule = self.rt.config.rule_for(incident.kind)
        if rule is None or not rule.chain or incident.status != "open":
            return
        sent = [t.alias or t.to_id for t in delivered] + [t.to_id for t in delivered]
        row = await self.hub.storage.fetchone(
            "SELECT * FROM line_escalations WHERE incident_id = ?", (incident.id,)
        )
        now = self.hub.clock.time()
        if row is not None:
            merged = sorted(set(json.loads(row["sent_to"])) | set(sent))
            await self.hub.storage.execute(
                "UPDATE line_escalations SET sent_to = ?, updated_at = ? WHERE incident_id = ?",
                (json.dumps(merged), now, incident.id),
            )
            return
        deadline = now + rule.after
        await self.hub.storage.execute(
            "INSERT INTO line_escalations (incident_id, kind, level, deadline, sent_to, message, state, updated_at) "
            "VALUES (?, ?, 0, ?, ?, ?, 'waiting', ?)",
            (incident.id, incident.kind, deadline, json.dumps(sorted(set(sent))), message, now),
        )
        self._arm(incident.id, deadline)

    async def stop(self, incident_id: str, why: str) -> None:
        """Stop escalating an incident (acknowledged, dispatched, closed)."""
        cancel = self._timers.pop(incident_id, None)
        if cancel is not None:
            cancel()
        await self.hub.storage.execute(
            "UPDATE line_escalations SET state = ?, deadline = NULL, updated_at = ? "
            "WHERE incident_id = ? AND state = 'waiting'",
            (why, self.hub.clock.time(), incident_id),
        )

    def _arm(self, incident_id: str, deadline: float) -> None:
        old = self._timers.pop(incident_id, None)
        if old is not None:
            old()

        def due() -> None:
            self._timers.pop(incident_id, None)
            self.hub.create_task(self._step(incident_id), "line escalation")

        self._timers[incident_id] = self.hub.clock.call_at(deadline, due)

    async def _step(self, incident_id: str) -> None:
        row = await self.hub.storage.fetchone(
            "SELECT * FROM line_escalations WHERE incident_id = ?", (incident_id,)
        )
        if row is None or row["state"] != "waiting":
            return
        try:
            incident = await self.hub.data[INCIDENT_RUNTIME].get(incident_id, timeline=False)
        except IncidentNotFound:
            await self.stop(incident_id, "gone")
            return
        if incident.status != "open":
            await self.stop(incident_id, incident.status)
            return
        rule = self.rt.config.rule_for(incident.kind)
        sent: set[str] = set(json.loads(row["sent_to"]))
        aliases = await self.rt.aliases()
        waited = format_latency(self.hub.clock.time() - incident.opened_at)
        nxt = next(
            (a for a in (rule.chain if rule else []) if a not in sent and aliases.get(a) not in sent), None
        )
        mgr = self.hub.data[INCIDENT_RUNTIME]
        if nxt is None or rule is None:
            await self.stop(incident_id, "exhausted")
            await mgr.note(
                incident_id,
                f"ยังไม่มีผู้รับทราบใน LINE หลัง {waited} และไม่มีกลุ่มถัดไปให้ส่งต่อ / "
                "no acknowledgement on LINE and nobody left in the escalation chain",
                by="line",
                kind="escalated",
                data={"level": row["level"], "to": None},
            )
            return
        level = int(row["level"]) + 1
        context = Context(origin="line_escalation")
        await mgr.note(
            incident_id,
            f"ไม่มีผู้รับทราบภายใน {waited}: ส่งต่อถึง {nxt} (ขั้นที่ {level}) / "
            f"not acknowledged after {waited}: escalated to {nxt} (level {level})",
            by="line",
            kind="escalated",
            data={"level": level, "to": nxt},
            context=context,
        )
        self.hub.bus.fire(EVENT_ESCALATED, {"incident_id": incident_id, "level": level, "to": nxt}, context)
        targets, problems = await self.rt.sender.resolve([nxt])
        sent.add(nxt)
        for name, why in problems:
            await mgr.note(
                incident_id,
                f"LINE escalation → {name}: {why}",
                by="line",
                kind="line",
                data={"to": name, "status": "failed", "error": why},
                context=context,
            )
        for target in targets:
            sent.add(target.to_id)
            await self.rt.sender.send_card(
                target, incident, row["message"], context, purpose="escalation", escalated=True
            )
        deadline = self.hub.clock.time() + rule.after
        await self.hub.storage.execute(
            "UPDATE line_escalations SET level = ?, sent_to = ?, deadline = ?, updated_at = ? "
            "WHERE incident_id = ? AND state = 'waiting'",
            (level, json.dumps(sorted(sent)), deadline, self.hub.clock.time(), incident_id),
        )
        current = await self.hub.storage.fetchone(
            "SELECT state FROM line_escalations WHERE incident_id = ?", (incident_id,)
        )
        if current is not None and current["state"] == "waiting":
            self._arm(incident_id, deadline)
