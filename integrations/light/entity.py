"""The light entity: commands go to the device; state comes back from it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from hub.core.context import Context
from hub.entity import Entity
from integrations.light.const import ALL_FEATURES, DOMAIN, FLASH_PATTERNS, STATE_OFF, STATE_ON

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("LightEntity", "SimulatedLight")

_LOGGER = logging.getLogger(__name__)


class LightEntity(Entity):
    """Base for lights and relays.  Subclasses implement :meth:`send`.

    The entity's state is set by :meth:`report` when the device says what it
    did, not optimistically when a command is sent: at 2 a.m. the CCOC must
    see whether the street light really came on.
    """

    domain = DOMAIN
    #: Whether the device blinks by itself (Zigbee ``effect: blink``).
    supports_blink = False
    #: What it can do beyond on/off (:data:`integrations.light.fields.ALL_FEATURES`); a relay: nothing.
    features: frozenset[str] = frozenset()

    def __init__(self, hub: Hub, object_id: str, name: str | None = None) -> None:
        super().__init__(hub, object_id, name)
        self.is_on: bool | None = None
        self.brightness: int | None = None
        self.effect: str | None = None
        self._flash_task: asyncio.Task[None] | None = None

    async def send(self, on: bool | None, **options: Any) -> None:
        """Send a command to the device (``on`` None = keep, e.g. effect only)."""
        raise NotImplementedError

    def extra_attributes(self) -> Mapping[str, Any]:
        """Return brightness and effect."""
        return {
            "brightness": self.brightness,
            "effect": self.effect,
            "flashing": self._flash_task is not None and not self._flash_task.done(),
        }

    def report(
        self,
        on: bool | None,
        *,
        brightness: int | None = None,
        effect: str | None = None,
        context: Context | None = None,
        available: bool | None = None,
    ) -> None:
        """Record what the device reported and publish the state."""
        if available is not None:
            self.available = available
        if on is not None:
            self.is_on = on
        if brightness is not None:
            self.brightness = brightness
        self.effect = effect
        self.write_state(STATE_ON if self.is_on else STATE_OFF, context=context)

    async def turn_on(self, **options: Any) -> None:
        """Switch on with optional brightness, color, transition or effect."""
        await self.send(True, **{k: v for k, v in options.items() if v is not None})

    async def turn_off(self, **options: Any) -> None:
        """Switch off."""
        await self.send(False, **{k: v for k, v in options.items() if v is not None})

    async def toggle(self) -> None:
        """Invert the reported state."""
        await self.send(not self.is_on)

    def flash(self, seconds: float, pattern: str = "normal") -> asyncio.Task[None]:
        """Flash for ``seconds``, then restore the state from before."""
        if self._flash_task is not None and not self._flash_task.done():
            self._flash_task.cancel()
        self._flash_task = self.hub.create_task(self._flash(seconds, pattern), f"flash {self.entity_id}")
        return self._flash_task

    async def _flash(self, seconds: float, pattern: str) -> None:
        was_on = bool(self.is_on)
        clock = self.hub.clock
        try:
            if self.supports_blink:
                await self.send(True, effect="blink")
                await clock.sleep(seconds)
                await self.send(None, effect="stop_effect")
            else:
                half = FLASH_PATTERNS.get(pattern, FLASH_PATTERNS["normal"])
                end = clock.time() + seconds
                on = not was_on
                while clock.time() < end:
                    await self.send(on)
                    on = not on
                    await clock.sleep(half)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("Flashing %s failed", self.entity_id)
        finally:
            # Not flashing any more once restoring: a light that reports at once (simulated)
            # must not publish ``flashing: true`` as its last word.
            if self._flash_task is asyncio.current_task():
                self._flash_task = None
            # Restore even when cancelled: a lamp left flashing (or dark) is worse.
            try:
                await self.send(was_on)
            except Exception:
                _LOGGER.exception("Could not restore %s after flashing", self.entity_id)


class SimulatedLight(LightEntity):
    """A light with no device: it reports back exactly what it was told."""

    supports_blink = True
    features = ALL_FEATURES

    def __init__(self, hub: Hub, object_id: str, name: str | None = None) -> None:
        super().__init__(hub, object_id, name)
        self.commands: list[tuple[bool | None, dict[str, Any]]] = []

    async def send(self, on: bool | None, **options: Any) -> None:
        """Record the command and report it as done."""
        self.commands.append((on, options))
        effect = options.get("effect")
        self.report(
            on,
            brightness=options.get("brightness"),
            effect=None if effect in (None, "stop_effect") else effect,
        )


L = TypeVar("L", bound=LightEntity)
_SWITCH_CLASSES: dict[type[LightEntity], type[LightEntity]] = {}


def as_switch(cls: type[L]) -> type[L]:
    """The same device source as a ``switch.<id>``: on, off and toggle, nothing more (HA's switch)."""
    if cls not in _SWITCH_CLASSES:
        _SWITCH_CLASSES[cls] = type(
            f"{cls.__name__}Switch",
            (cls,),
            {"domain": "switch", "features": frozenset(), "__doc__": cls.__doc__},
        )
    return _SWITCH_CLASSES[cls]  # type: ignore[return-value]  # built from cls just above
