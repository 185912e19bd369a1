"""Button supervision: a button that stops reporting is a supervision incident, never an idle button.

A Zigbee panic button sends a report every few hours (battery, link quality)
even when nobody presses it; a flat battery or a button torn off the wall
sends nothing at all, and looked exactly like a quiet day.  A button with a
``silence_limit`` is *heard* on every message of its own (a report, a press,
its ``availability`` saying online); when nothing comes for that long:

* the button becomes ``unavailable`` with ``supervision: silent`` (the devices
  page says so in Thai first: it must not look idle);
* ``sos_supervision`` fires with ``problem: silent`` (forwarded to the station
  like the battery and offline problems);
* an incident of kind ``supervision`` opens (severity high), which federates
  like every incident.  It is never an SOS: no ``sos_pressed``, no SOS kind,
  no drill marking, and the ``sos_alert`` automations do not run.

When the button is heard again it is available again, the incident gets a
note saying how long it was silent and is closed.  A press always counts as
heard, and a press on a "silent" button is handled as the SOS it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from hub.components.incident import IncidentNotFound
from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME
from hub.core.context import Context
from hub.i18n import translate
from integrations.sos.const import EVENT_SOS_SUPERVISION

if TYPE_CHECKING:
    from hub.hub import Hub
    from integrations.sos.entity import SosButton

__all__ = ("ButtonSupervisor", "KIND_SUPERVISION")

_LOGGER = logging.getLogger(__name__)

KIND_SUPERVISION = "supervision"
#: Check at least this often (seconds); a short limit is checked more often.
_MAX_CHECK = 60.0


class ButtonSupervisor:
    """Watches every button that has a silence limit."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.buttons: dict[str, SosButton] = {}
        self._task: asyncio.Task[None] | None = None
        self._started = hub.clock.time()

    def watch(self, button: SosButton) -> None:
        """Supervise ``button`` (it has a ``silence_limit``)."""
        assert button.silence_limit is not None
        self.buttons[button.entity_id] = button
        button.supervisor = self
        button.last_heard = None

    def configure(self, button: SosButton, limit: float | None) -> None:
        """Watch, re-limit or stop watching ``button`` (set-up and every reload of ``sos:``)."""
        button.silence_limit = limit
        if limit is None:
            self.buttons.pop(button.entity_id, None)
            button.supervisor = None
        elif button.entity_id not in self.buttons:
            self.watch(button)

    def start(self) -> None:
        """Start the periodic check (nothing to do without supervised buttons; idempotent)."""
        if self.buttons and self._task is None:
            self._started = self.hub.clock.time()
            self._task = self.hub.create_background_task(self._loop(), "sos supervision")

    async def stop(self) -> None:
        """Stop checking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        try:
            await self.recover()
        except Exception:
            _LOGGER.exception("SOS: could not read open supervision incidents")
        while True:
            # Worked out each round: a reload may change the limits.
            shortest = min((b.silence_limit or _MAX_CHECK for b in self.buttons.values()), default=_MAX_CHECK)
            await self.hub.clock.sleep(max(1.0, min(_MAX_CHECK, shortest / 4)))
            try:
                await self.check()
            except Exception:
                _LOGGER.exception("SOS: supervision check failed")

    async def check(self) -> list[str]:
        """Mark buttons silent past their limit; return the ones that just went silent."""
        now = self.hub.clock.time()
        went: list[str] = []
        for button in list(self.buttons.values()):
            limit = button.silence_limit
            if limit is None or button.silent:
                continue
            since = button.last_heard if button.last_heard is not None else self._started
            if now - since >= limit:
                went.append(button.entity_id)
                await self._silent(button, since, now)
        return went

    def heard(self, button: SosButton) -> None:
        """The button said something of its own: note it, and end a silence."""
        button.last_heard = self.hub.clock.time()
        if button.silent:
            self.hub.create_task(self._back(button), f"sos supervision back {button.entity_id}")

    # -- the two changes ------------------------------------------------------------------

    def _event(self, button: SosButton, problem: str, **extra: Any) -> None:
        self.hub.bus.fire(
            EVENT_SOS_SUPERVISION,
            {
                "entity_id": button.entity_id,
                "problem": problem,
                "source": button.source,
                "battery": button.telemetry.get("battery"),
                "last_seen": button.last_heard,
                "silence_limit": button.silence_limit,
                "place": button.place,
                **extra,
            },
            Context(origin="sos"),
        )

    async def _silent(self, button: SosButton, since: float, now: float) -> None:
        button.silent = True
        button.available = False
        current = button.state
        button.write_state(
            current.state if current is not None and current.state != "unavailable" else "idle"
        )
        hours = (now - since) / 3600
        _LOGGER.warning(
            "SOS %s: nothing heard for %.1f h (limit %.0f s): supervision incident",
            button.entity_id,
            hours,
            button.silence_limit,
        )
        self._event(button, "silent")
        mgr = self.hub.data.get(INCIDENT_RUNTIME)
        if mgr is None:
            return
        lang = self.hub.core.language
        battery = button.telemetry.get("battery")
        inc = await mgr.open(
            KIND_SUPERVISION,
            severity="high",
            title=translate("supervision.button_silent_title", lang, name=button.name),
            place=button.place or "",
            lat=button.location[0] if button.location else None,
            lon=button.location[1] if button.location else None,
            entities=[button.entity_id],
            text=translate(
                "supervision.button_silent_text",
                lang,
                hours=f"{hours:.1f}",
                battery="–" if battery is None else f"{battery}%",
            ),
            data={
                "check": "button_silent",
                "entity_id": button.entity_id,
                "last_heard": button.last_heard,
                "silence_limit": button.silence_limit,
                "battery": battery,
            },
            context=Context(origin="sos"),
            actor="sos",
            # One per silence, however often the check runs or the hub restarts within it.
            key=f"sos-silent:{button.entity_id}:{since:.0f}",
        )
        button.silence_incident = inc.id

    async def _back(self, button: SosButton) -> None:
        if not button.silent:
            return
        button.silent = False
        button.available = True
        current = button.state
        button.write_state(
            current.state if current is not None and current.state != "unavailable" else "idle"
        )
        self._event(button, "heard_again")
        incident_id, button.silence_incident = button.silence_incident, None
        mgr = self.hub.data.get(INCIDENT_RUNTIME)
        if mgr is None or incident_id is None:
            return
        try:
            inc = await mgr.get(incident_id, timeline=False)
        except IncidentNotFound:
            return
        if inc.status == "closed":
            return
        text = translate("supervision.button_back_text", self.hub.core.language)
        await mgr.close(incident_id, by="sos", text=text, context=Context(origin="sos"))

    async def recover(self) -> None:
        """After a restart: a button whose silence incident is still open is still silent."""
        mgr = self.hub.data.get(INCIDENT_RUNTIME)
        if mgr is None:
            return
        for inc in await mgr.open_or_closed_since(self.hub.clock.time()):
            button = self.buttons.get(str((inc.data or {}).get("entity_id")))
            if inc.kind != KIND_SUPERVISION or inc.status == "closed" or button is None:
                continue
            button.silent, button.silence_incident, button.available = True, inc.id, False
            current = button.state
            button.write_state(
                current.state if current is not None and current.state != "unavailable" else "idle"
            )
