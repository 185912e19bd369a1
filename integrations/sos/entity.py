"""The SOS button entity: a press is never debounced or dropped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hub.core.context import Context
from hub.entity import Entity
from hub.metrics import METRICS
from integrations.sos.const import DOMAIN, EVENT_SOS_PRESSED, STATE_IDLE, STATE_TRIGGERED

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("SosButton",)


class SosButton(Entity):
    """A panic button in a market, bank or gold shop."""

    domain = DOMAIN

    def __init__(
        self,
        hub: Hub,
        object_id: str,
        name: str | None = None,
        *,
        source: str,
        place: str | None = None,
        location: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(hub, object_id, name)
        self.source = source
        self.place = place or self.name
        self.location = location
        self.last_press: float | None = None
        self.presses = 0
        #: Whether the last press was a drill.
        self.last_drill = False
        #: id(automation spec) → (spec, whether it triggers on this button).
        self._handled_by: dict[int, tuple[Any, bool]] = {}
        self.telemetry: dict[str, Any] = {}
        #: The open "unrecognised press" incident, if any (see :mod:`.incidents`).
        self.unrecognised_incident: str | None = None
        #: Supervision (:mod:`.supervision`): seconds of silence allowed, when it was last
        #: heard (hub clock), whether it is silent now and the incident that says so.
        self.silence_limit: float | None = None
        self.last_heard: float | None = None
        self.silent = False
        self.silence_incident: str | None = None
        self.supervisor: Any = None

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return the SOS attributes of DESIGN §6."""
        attrs: dict[str, Any] = {
            "source": self.source,
            "place": self.place,
            "last_press": self.last_press,
            "presses": self.presses,
            "drill": self.last_drill,
            **self.telemetry,
        }
        if self.location is not None:
            attrs["latitude"], attrs["longitude"] = self.location
        if self.silence_limit is not None:
            attrs.update(
                silence_limit=self.silence_limit,
                last_heard=self.last_heard,
                supervision="silent" if self.silent else "ok",
            )
        return attrs

    def heard(self) -> None:
        """The device said something of its own (a report, a press): it is alive."""
        if self.supervisor is not None:
            self.supervisor.heard(self)

    async def press(
        self,
        action: str,
        source: str | None = None,
        *,
        context: Context | None = None,
        data: Mapping[str, Any] | None = None,
        drill: bool = False,
    ) -> None:
        """Record a press: state ``triggered``, ``sos_pressed`` fired and written to disk at once.

        Every press is a new event, even while already triggered: a second
        press may be the only sign that the first alert was not seen.

        A ``drill`` (a test press, DESIGN §13) goes the same way, so the drill tests the
        real path, but its event says ``drill: true`` and every incident its automations
        open under its context is a drill (:meth:`IncidentManager.mark_drill`).
        """
        context = context or Context(origin=source or self.source)
        if drill:
            from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

            incidents = self.hub.data.get(INCIDENT_RUNTIME)
            if incidents is not None:
                incidents.mark_drill(context)
        now = self.hub.clock.time()
        self.heard()
        self.last_press = now
        self.presses += 1
        self.last_drill = drill
        self.write_state(STATE_TRIGGERED, context=context, force_update=True)
        payload = {
            "entity_id": self.entity_id,
            "action": action,
            "source": source or self.source,
            "place": self.place,
            **(data or {}),
            "drill": drill,
        }
        metrics = self.hub.data.get(METRICS)
        if metrics is not None:
            # Counted here, not by a listener: the event's listeners are the automations' index.
            metrics.pressed(context, drill)
        self.hub.bus.fire(EVENT_SOS_PRESSED, payload, context)
        if not self.handled():
            # No automation listens: the press must still reach someone (issue 15 item 3).
            from integrations.sos.incidents import open_unhandled

            self.hub.create_task(
                open_unhandled(self.hub, self, payload, context), f"sos default {self.entity_id}"
            )
        await self.hub.recorder.record_now(
            EVENT_SOS_PRESSED, payload, now, context.id, context.parent_id, context.user_id, "local"
        )

    def handled(self) -> bool:
        """Return whether an enabled, working automation triggers on this button's presses."""
        from hub.components.automation.const import RUNTIME as AUTOMATION_RUNTIME
        from integrations.sos.handled import listened_to

        manager = self.hub.data.get(AUTOMATION_RUNTIME)
        if manager is None:
            return False
        # Per spec (a reload makes new ones), so a press costs a dict lookup per automation,
        # not a walk through every trigger.
        cache = self._handled_by
        if len(cache) > 2 * len(manager.automations) + 16:
            cache.clear()  # specs of automations reloaded since: let them go
        for automation in manager.automations.values():
            spec = automation.spec
            if not automation.enabled or automation.failed or spec is None:
                continue
            known = cache.get(id(spec))
            if known is None or known[0] is not spec:
                known = cache[id(spec)] = (spec, listened_to(spec.triggers, self.entity_id))
            if known[1]:
                return True
        return False

    def reset(self, context: Context | None = None) -> None:
        """Return the button to idle."""
        self.write_state(STATE_IDLE, context=context)

    def update_telemetry(self, **values: Any) -> None:
        """Merge battery, linkquality, last_seen... and republish the current state."""
        changed = {k: v for k, v in values.items() if v is not None and self.telemetry.get(k) != v}
        if not changed:
            return
        self.telemetry.update(changed)
        current = self.state
        self.write_state(current.state if current is not None else STATE_IDLE)
