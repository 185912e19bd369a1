"""The automation manager: builds automations, arms them, reloads them one by one.

Reload re-reads the config and compares each automation's fingerprint (a
hash of its config after blueprint substitution).  Unchanged automations are
left alone: their triggers stay armed, their runs keep running and their
pending ``delay``/``for:`` keep their deadlines.  Changed and removed
automations are *retired*: their triggers are detached at once (new triggers go
to the new definition) but their runs in progress are not cancelled.  They
finish on the definition they started with, and their durable rows carry that
definition, so a restart before they end resumes them on it (HA stops
everything; a reload in the middle of an alarm must not drop the alarm).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from hub.components.automation.automation import Automation, Run
from hub.components.automation.const import (
    ARMED,
    DOMAIN,
    DURABLE,
    EVENT_AUTOMATION_RELOADED,
    HUB_TRIGGERS,
    TRACES,
)
from hub.components.automation.durable import DurableRow, DurableStore
from hub.components.automation.loader import Entry, collect
from hub.components.automation.registry import Registry, registry_for
from hub.components.automation.sun import SunEntity
from hub.components.automation.trace import TraceBuffer, load_traces, prune_traces
from hub.components.automation.validate import Where, validate_automation
from hub.config import ConfigError, ConfigWarning, load_config_file
from hub.core.context import Context
from hub.template import get_engine

if TYPE_CHECKING:
    from hub.hub import Hub

__all__ = ("AutomationManager", "ReloadResult")

_LOGGER = logging.getLogger(__name__)

#: How old a run cut short by a crash may be and still be re-run at start-up (seconds).
RERUN_WINDOW = 600

ENABLED_MIGRATION = """
CREATE TABLE automation_enabled (
    automation TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    updated REAL NOT NULL
);
"""


class _Entities(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str]


class _TriggerCall(_Entities):
    skip_condition: bool = True
    variables: dict[str, Any] = {}


class _TurnOff(_Entities):
    stop_actions: bool = True


class _Reload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity_id: str | list[str] | None = None


class ReloadResult(BaseModel):
    """What a reload changed."""

    unchanged: list[str] = []
    changed: list[str] = []
    added: list[str] = []
    removed: list[str] = []
    failed: list[str] = []
    errors: list[str] = []


class AutomationManager:
    """Every automation of one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.registry: Registry = registry_for(hub.plugins)
        self.automations: dict[str, Automation] = {}
        #: Changed or removed automations whose runs still drain (see :meth:`_retire`).
        self.retired: list[Automation] = []
        self.store = DurableStore(hub.storage, hub.clock.time)
        hub.data[DURABLE] = self.store
        hub.data[ARMED] = asyncio.Event()
        self.traces = TraceBuffer(hub.storage)
        hub.data[TRACES] = self.traces
        self._saved_enabled: dict[str, bool] = {}
        self.sun: SunEntity | None = None
        self.started = False
        self._reload_lock = asyncio.Lock()
        get_engine(hub)

    # -- loading -------------------------------------------------------------------

    def _collect(self, raw: Any, file_label: str) -> tuple[list[Entry], list[ConfigError]]:
        return collect(raw, file_label, self.hub.config_dir, self.registry, self.hub.plugins)

    def _make(self, entry: Entry) -> Automation:
        automation = Automation(
            self.hub,
            self.registry,
            entry.key,
            entry.spec,
            error=entry.error,
            alias=entry.alias,
            file=entry.file,
            line=entry.line,
            raw=entry.raw,
            blueprint=entry.blueprint,
        )
        if automation.failed:
            _LOGGER.error("Automation %s is invalid and will not run: %s", automation.name, automation.error)
        saved = self._saved_enabled.get(entry.key)
        if saved is not None:
            automation.enabled = saved
        elif entry.spec is not None and entry.spec.initial_state is not None:
            automation.enabled = entry.spec.initial_state
        automation.draining = lambda: self._draining_runs(entry.key)
        return automation

    def _draining_runs(self, key: str) -> list[Run]:
        return [run for old in self.retired if old.key == key for run in old.runs]

    def _drained(self, automation: Automation) -> None:
        if automation in self.retired:
            self.retired.remove(automation)
            _LOGGER.info("Automation %s: the last run of its previous definition ended", automation.name)

    async def setup(self) -> None:
        """Build every automation from the loaded config (not armed yet)."""
        await self.store.load()
        rows = await self.hub.storage.fetchall("SELECT automation, enabled FROM automation_enabled")
        self._saved_enabled = {row["automation"]: bool(row["enabled"]) for row in rows}
        loaded = self.hub.loaded
        assert loaded is not None
        entries = getattr(loaded, "_automation_entries", None)
        if entries is None:
            entries, _errors = self._collect(loaded.raw, loaded.file_label)
        for entry in entries:
            automation = self._make(entry)
            self.automations[automation.key] = automation
            automation.write_state()
        self._register_services()

    async def start(self) -> None:
        """Arm every automation, resume interrupted runs, then fire ``hub`` start triggers."""
        if self.hub.core.location is not None and self.hub.states.get(SunEntity.entity_id) is None:
            self.sun = SunEntity(self.hub)
            self.sun.start()
        for automation in list(self.automations.values()):
            await automation.arm()
            automation.write_state()
        if self.sun is not None:
            self.sun.refresh()  # every minute if an automation now follows the sun
        for automation in list(self.automations.values()):
            self._resume(automation)
        self._resume_removed()
        keep = {a.key for a in self.automations.values() if a.failed}
        self.store.forget_unclaimed(keep)
        self.started = True
        self.hub.data[ARMED].set()
        self.hub.create_background_task(self._prune_loop(), "automation traces: prune")
        self.hub.create_background_task(self._write_loop(), "automation traces: write")
        for callback in list((self.hub.data.get(HUB_TRIGGERS) or {}).get("start", [])):
            callback()

    def _resume(self, automation: Automation) -> None:
        rows = self.store.claim_prefix(f"run:{automation.key}:")
        for row in rows:
            if row.automation != automation.key:
                continue
            if row.data.get("def") is not None and (
                automation.spec is None or row.data.get("fp") != automation.spec.fingerprint
            ):
                self._resume_retired(row, automation)
                continue
            if (
                not automation.enabled
                or automation.spec is None
                or row.data.get("fp") != automation.spec.fingerprint
            ):
                _LOGGER.warning(
                    "Automation %s: a run interrupted by the restart is dropped (%s)",
                    automation.name,
                    "the automation is disabled"
                    if not automation.enabled
                    else "its config changed while the hub was down",
                )
                self.store.delete_key(row.key)
                continue
            if row.data.get("waits"):
                automation.resume(row)
            elif row.data.get("inflight"):
                age = self.hub.clock.time() - float(row.data.get("started") or 0.0)
                if age <= RERUN_WINDOW:
                    automation.rerun(row)
                else:
                    # An alert an hour late helps nobody and would confuse everyone.
                    _LOGGER.warning(
                        "Automation %s: a run the hub stopped in the middle of %.0f s ago is not re-run "
                        "(older than %d s)",
                        automation.name,
                        age,
                        RERUN_WINDOW,
                    )
                    self.store.delete_key(row.key)
            else:
                self.store.delete_key(row.key)  # nothing left to resume

    def _resume_removed(self) -> None:
        """Resume the runs of automations a reload removed before the restart."""
        rows = [r for r in self.store.pending.values() if r.kind == "run" and r.data.get("def") is not None]
        for row in rows:
            if row.automation in self.automations:
                continue  # a broken automation's rows wait for it to be fixed
            if self.store.claim(row.key) is not None:
                self._resume_retired(row, None)

    def _retired_for(self, row: DurableRow) -> Automation | None:
        """Rebuild, once per definition, the retired automation a saved run started on."""
        fp = row.data.get("fp")
        for old in self.retired:
            if old.key == row.automation and old.spec is not None and old.spec.fingerprint == fp:
                return old
        config = row.data.get("def")
        if not isinstance(config, dict):
            return None
        where = Where(root=config, file="(saved run)", line=None, label="automation")
        try:
            spec, _problems = validate_automation(config, where, self.registry, row.automation)
        except Exception:
            _LOGGER.exception("Automation %s: its saved definition could not be read", row.automation)
            return None
        if spec is None:
            return None
        old = Automation(self.hub, self.registry, row.automation, spec)
        if old.failed:
            return None
        old.retire()
        old.on_drained = self._drained
        self.retired.append(old)
        return old

    def _resume_retired(self, row: DurableRow, current: Automation | None) -> None:
        """Finish a run of a changed or removed definition, saved before the restart.

        If that definition can no longer be built (a plugin it used is gone), an SOS
        run (saved in flight) is re-run from the top on the current definition (its
        service calls keep their idempotency keys), so its alarm still goes out;
        any other run is dropped, with a warning.
        """
        age = self.hub.clock.time() - float(row.data.get("started") or 0.0)
        old = self._retired_for(row)
        if old is not None:
            _LOGGER.warning(
                "Automation %s: finishing a run of its previous definition (saved before the restart)",
                old.name,
            )
            if row.data.get("waits"):
                old.resume(row)
            elif row.data.get("inflight") and age <= RERUN_WINDOW:
                old.rerun(row)
            else:
                # Same rule as for a current definition's run (see _resume).
                if row.data.get("inflight"):
                    _LOGGER.warning("Automation %s: the saved run is not re-run (%.0f s old)", old.name, age)
                self.store.delete_key(row.key)
            if not old.runs:
                self._drained(old)  # ended at once (a synchronous re-run) or never started
            return
        if row.data.get("inflight") and current is not None and not current.failed and age <= RERUN_WINDOW:
            _LOGGER.error(
                "Automation %s: the definition a run started with cannot be rebuilt; "
                "the run is started again on the current definition",
                current.name,
            )
            current.rerun(row)
            return
        _LOGGER.error(
            "Automation %s: a run of a changed or removed definition is dropped: "
            "its definition cannot be rebuilt",
            row.automation,
        )
        self.store.delete_key(row.key)

    async def _write_loop(self) -> None:
        # Real time, not the hub clock: traces reach the disk within a second
        # even in tests whose fake clock stands still.
        while True:
            await asyncio.sleep(1.0)
            self.traces.write()

    async def traces_of(self, key: str) -> list[dict[str, Any]]:
        """Return an automation's stored traces, newest first."""
        return await load_traces(self.hub.storage, key, buffer=self.traces)

    async def _prune_loop(self) -> None:
        while True:
            await self.hub.clock.sleep(60)
            try:
                await prune_traces(self.hub.storage)
            except Exception:
                _LOGGER.exception("Pruning automation traces failed")

    async def shutdown(self) -> None:
        """Fire ``hub`` shutdown triggers, then stop everything, keeping durable rows."""
        for callback in list((self.hub.data.get(HUB_TRIGGERS) or {}).get("shutdown", [])):
            callback()
        everything = [*self.automations.values(), *self.retired]
        # Runs parked in a durable wait (a delay, `wait_for_trigger`) are not waited for:
        # their rows resume them at the next start, and waiting on one in a long delay only
        # held every stop up by the whole grace.
        busy = [r.task for a in everything for r in a.runs if r.task is not None and not r.waits]
        if busy:
            # Give shutdown automations (and runs about to finish) a moment.
            await asyncio.wait(busy, timeout=2)
        self.store.frozen = True
        if self.sun is not None:
            self.sun.stop()
        for automation in self.automations.values():
            automation.disarm()
        await asyncio.gather(*(a.stop_runs() for a in everything))
        try:
            self.traces.write()
            await self.hub.storage.flush()
            await prune_traces(self.hub.storage)
        except Exception:
            _LOGGER.exception("Pruning automation traces at stop failed")

    # -- queries -------------------------------------------------------------------

    def get(self, key_or_entity: str) -> Automation | None:
        """Return an automation by key, id or entity id."""
        found = self.automations.get(key_or_entity)
        if found is not None:
            return found
        for automation in self.automations.values():
            if automation.entity_id == key_or_entity:
                return automation
        return None

    def resolve(self, entity_ids: str | list[str] | None) -> list[Automation]:
        """Return the automations named by a service's ``entity_id`` (``all`` for every one)."""
        if entity_ids is None:
            return []
        if isinstance(entity_ids, str):
            if entity_ids == "all":
                return list(self.automations.values())
            entity_ids = [e.strip() for e in entity_ids.split(",") if e.strip()]
        found = []
        for entity_id in entity_ids:
            automation = self.get(entity_id)
            if automation is None:
                raise ValueError(f"no automation {entity_id!r}")
            found.append(automation)
        return found

    # -- enable / disable / trigger ------------------------------------------------------

    async def set_enabled(self, automation: Automation, enabled: bool, *, stop_actions: bool = True) -> None:
        """Turn an automation on or off; the choice survives restarts."""
        automation.enabled = enabled
        if enabled:
            await automation.arm()
        else:
            automation.disarm()
            if stop_actions:
                await automation.stop_runs()
                for old in [a for a in self.retired if a.key == automation.key]:
                    await old.stop_runs()
        automation.write_state()
        self._saved_enabled[automation.key] = enabled
        await self.hub.storage.execute(
            "INSERT OR REPLACE INTO automation_enabled (automation, enabled, updated) VALUES (?, ?, ?)",
            (automation.key, int(enabled), self.hub.clock.time()),
        )

    def trigger(
        self,
        automation: Automation,
        *,
        skip_condition: bool = True,
        variables: dict[str, Any] | None = None,
        context: Context | None = None,
    ) -> Any:
        """Run an automation by hand (``automation.trigger``)."""
        trigger: dict[str, Any] = {
            "platform": None,
            "id": "manual",
            "idx": "manual",
            "alias": None,
            "description": "triggered by hand",
        }
        if variables:
            trigger["variables"] = variables
        return automation.trigger(trigger, context, skip_condition=skip_condition)

    # -- reload --------------------------------------------------------------------------

    async def reload(self, only: Iterable[str] | None = None) -> ReloadResult:
        """Re-read the config; restart only what changed (``only``: these automation keys)."""
        result = ReloadResult()
        path = self.hub.config_path
        if path is None:
            result.errors.append("no config file to reload (embedded demo)")
            return result
        async with self._reload_lock:
            raw, load_errors = await self.hub.loop.run_in_executor(None, load_config_file, path)
            load_errors = [e for e in load_errors if not isinstance(e, ConfigWarning)]
            fatal = [e for e in load_errors if "automation" in e.path or not e.path]
            if fatal and not isinstance(raw, dict):
                result.errors.extend(str(e) for e in fatal)
                return result
            result.errors.extend(str(e) for e in load_errors)
            entries, _errors = self._collect(raw or {}, path.name)
            wanted = set(only) if only is not None else None
            new_keys = {e.key for e in entries}
            if wanted is not None:
                missing = [k for k in wanted if k not in new_keys and k not in self.automations]
                for key in missing:
                    result.errors.append(f"no automation {key!r}")
            for entry in entries:
                if wanted is not None and entry.key not in wanted:
                    continue
                await self._apply(entry, result)
            for key in list(self.automations):
                if key in new_keys or (wanted is not None and key not in wanted):
                    continue
                old = self.automations.pop(key)
                self._retire(old)
                self.hub.states.remove(old.entity_id)
                result.removed.append(key)
        self.hub.bus.fire(EVENT_AUTOMATION_RELOADED, result.model_dump())
        _LOGGER.info(
            "Automations reloaded: %d unchanged, %d changed, %d added, %d removed, %d failed",
            len(result.unchanged),
            len(result.changed),
            len(result.added),
            len(result.removed),
            len(result.failed),
        )
        return result

    async def _apply(self, entry: Entry, result: ReloadResult) -> None:
        old = self.automations.get(entry.key)
        if (
            old is not None
            and not old.failed
            and entry.spec is not None
            and old.spec is not None
            and old.spec.fingerprint == entry.spec.fingerprint
        ):
            result.unchanged.append(entry.key)
            return
        # A trigger's pending ``for:`` (the door open 4 of its 5 minutes) goes on under the new
        # definition when that trigger did not change and its state still holds.
        holds = self.store.holds_of(entry.key) if old is not None else []
        if old is not None:
            self._retire(old)
        automation = self._make(entry)
        self.automations[automation.key] = automation
        self.store.hand_over(holds)
        if self.started:
            await automation.arm()
        self.store.drop_unclaimed(holds)
        automation.write_state()
        (result.changed if old is not None else result.added).append(entry.key)
        if automation.failed:
            result.failed.append(entry.key)

    def _retire(self, automation: Automation) -> None:
        """Detach a changed or removed automation; its runs in progress drain, not cancelled."""
        if automation.failed:
            # Rows kept at start-up for a broken automation: nothing will resume them now.
            self.store.forget_pending(automation.key)
        automation.retire()
        if automation.runs:
            automation.on_drained = self._drained
            self.retired.append(automation)
            _LOGGER.info(
                "Automation %s: %d run(s) of the previous definition finish on it",
                automation.name,
                len(automation.runs),
            )

    # -- services ------------------------------------------------------------------------

    def _register_services(self) -> None:
        hub = self.hub

        async def svc_trigger(call: Any) -> dict[str, Any]:
            runs = []
            for automation in self.resolve(call.data["entity_id"]):
                run = self.trigger(
                    automation,
                    skip_condition=call.data["skip_condition"],
                    variables=call.data["variables"],
                    context=call.context,
                )
                if run is not None:
                    runs.append(run.run_id)
            return {"run_ids": runs}

        async def svc_turn_on(call: Any) -> None:
            for automation in self.resolve(call.data["entity_id"]):
                await self.set_enabled(automation, True)

        async def svc_turn_off(call: Any) -> None:
            for automation in self.resolve(call.data["entity_id"]):
                await self.set_enabled(automation, False, stop_actions=call.data["stop_actions"])

        async def svc_toggle(call: Any) -> None:
            for automation in self.resolve(call.data["entity_id"]):
                await self.set_enabled(automation, not automation.enabled)

        async def svc_reload(call: Any) -> dict[str, Any]:
            only = None
            if call.data.get("entity_id") is not None:
                only = [a.key for a in self.resolve(call.data["entity_id"])]
            return (await self.reload(only)).model_dump()

        reg = hub.services.register
        reg(
            DOMAIN,
            "trigger",
            svc_trigger,
            _TriggerCall,
            description="Run an automation's actions",
            role="admin",
        )
        reg(DOMAIN, "turn_on", svc_turn_on, _Entities, description="Enable automations", role="admin")
        reg(DOMAIN, "turn_off", svc_turn_off, _TurnOff, description="Disable automations", role="admin")
        reg(
            DOMAIN, "toggle", svc_toggle, _Entities, description="Enable or disable automations", role="admin"
        )
        reg(
            DOMAIN,
            "reload",
            svc_reload,
            _Reload,
            description="Reload automations from the config (unchanged ones keep running)",
            role="admin",
        )
