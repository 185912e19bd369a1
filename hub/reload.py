"""Apply a saved config block to the running hub, without a restart where possible.

The web UI's writer (`hub.config.ui_writer`) calls `apply_block` after a change
was validated and saved.  Only the changed block is touched:

- ``hub:``: the name, zone, location, language and time zone take effect at
  once; anything else (data_dir, web, recorder) needs a restart;
- a plugin that is set up gets ``config_changed(hub, old, new)``
  (automations reload the way Home Assistant's ``automation.reload`` does:
  unchanged ones keep running, durable timers survive);
- a plugin that was imported at start but not configured (its pages exist) is
  set up now, like at start;
- anything else says a restart is needed, with the reason, instead of
  pretending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.plugins.host import await_maybe

if TYPE_CHECKING:
    from hub.bootstrap import LoadedConfig
    from hub.hub import Hub

__all__ = ("LIVE_CORE_FIELDS", "UI_BLOCKS", "Applied", "apply_block")

_LOGGER = logging.getLogger(__name__)

#: The built-in blocks the web UI's flows configure.  A hub with a config file
#: imports them at start even when unconfigured, so that their pages and webhook
#: routes exist and a first button, camera or LINE channel is set up live.
UI_BLOCKS = ("mqtt", "sos", "light", "onvif", "line")

#: ``hub:`` fields that take effect without a restart.
LIVE_CORE_FIELDS = frozenset({"name", "zone", "location", "language", "timezone"})


@dataclass(frozen=True)
class Applied:
    """What became of one block's change."""

    block: str
    live: bool
    #: Why a restart is needed (for the log and the audit; the page says it in Thai).
    reason: str = ""


async def apply_block(hub: Hub, block: str, loaded: LoadedConfig) -> Applied:
    """Make the running hub follow `block` as saved in `loaded` (validated)."""
    current = hub.loaded
    if current is None:
        return Applied(block, False, "the hub is not running")
    old = current.blocks.get(block)
    # The running view of the config follows the files, so pages and `check`-style
    # cross-checks (an SOS button with no automation) see the change at once.
    current.raw = loaded.raw
    current.warnings = loaded.warnings
    if block == "hub":
        return _apply_core(hub, loaded)
    new = loaded.blocks.get(block)
    info = hub.plugins.get(block)
    if info is None:
        return Applied(block, False, f"the {block} plugin was not loaded when the hub started")
    if info.status == "set_up":
        implemented, result = hub.plugins.hooks.config_changed(block, hub=hub, old=old, new=new)
        if not implemented:
            return Applied(block, False, f"the {block} integration cannot reload its settings")
        if not await await_maybe(result):
            return Applied(block, False, f"{block} asked for a restart")
        # Only now: `blocks` is what runs, so the next change is compared with that.
        _follow(current, block, new)
        return Applied(block, True)
    if info.status in ("loaded", "not_configured") and new is not None:
        _follow(current, block, new)
        return await _set_up_late(hub, block, loaded)
    return Applied(block, False, f"the {block} plugin is {info.status}")


def _follow(current: LoadedConfig, block: str, new: Any) -> None:
    if new is None:
        current.blocks.pop(block, None)
    else:
        current.blocks[block] = new


def _apply_core(hub: Hub, loaded: LoadedConfig) -> Applied:
    from zoneinfo import ZoneInfo

    current = hub.loaded
    assert current is not None
    old, new = current.core, loaded.core
    if old is None or new is None:
        return Applied("hub", False, "hub: block is missing")
    changed = {name for name in type(new).model_fields if getattr(old, name) != getattr(new, name)}
    current.core = new.model_copy(update={name: getattr(old, name) for name in changed - LIVE_CORE_FIELDS})
    if "timezone" in changed:
        hub.clock.tz = ZoneInfo(new.timezone)
    rest = sorted(changed - LIVE_CORE_FIELDS)
    if rest:
        return Applied("hub", False, "hub: " + ", ".join(rest) + " take effect after a restart")
    return Applied("hub", True)


async def _set_up_late(hub: Hub, block: str, loaded: LoadedConfig) -> Applied:
    """Set up a plugin configured for the first time, as start-up would have.

    Its unconfigured dependencies (LINE needs ``camera``) are set up first, with no
    block, as start-up does for dependencies.
    """
    info = hub.plugins.get(block)
    assert info is not None and hub.loaded is not None
    manifest = info.manifest
    for dep in manifest.dependencies if manifest is not None else []:
        dep_info = hub.plugins.get(dep)
        if dep_info is not None and dep_info.status in ("loaded", "not_configured"):
            await _set_up_late(hub, dep, loaded)
        if dep_info is None or dep_info.status != "set_up":
            return Applied(block, False, f"{block} needs {dep}, which is not set up")
    for _info, migrations in hub.plugins.hooks.storage_migrations(only=[block]):
        if migrations:
            await hub.storage.apply_migrations(block, list(migrations))
    info.status = "setting_up"
    if not await hub._setup_one(info, hub.loaded):
        if info.status == "not_ready":
            # A device still booting: retried on the hub clock, as at start.
            hub.create_background_task(hub._retry_setup(info, hub.loaded), f"retry setup of {block}")
            return Applied(block, False, f"{block} is not ready yet ({info.error}); retrying")
        return Applied(block, False, f"{block} did not set up: {info.error}")
    _LOGGER.info("Plugin %s set up while running (configured from the web UI)", block)
    await hub.plugins.hooks.hub_started(hub=hub, only=[block])
    return Applied(block, True)
