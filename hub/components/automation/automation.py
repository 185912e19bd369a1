"""One automation: its entity, its triggers, its runs and their modes.

``trigger()`` is synchronous and cheap: it builds the run's variables,
checks the conditions and the mode, and either runs the whole action list
inline (when every step is synchronous) or starts a hub task.  Each run ends
with its trace queued for the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.components.automation.conditions import CompiledConditions
from hub.components.automation.const import DOMAIN, DURABLE, TRACES
from hub.components.automation.platforms import TriggerFire, TriggerInfo
from hub.components.automation.script import ConditionStop, Pos, Script, StepFailed, StopRun, Wait
from hub.components.automation.selectors import device_class_problem
from hub.components.automation.specs import AutomationSpec, TriggerSpec
from hub.components.automation.trace import Trace, new_run_id, store_trace
from hub.components.automation.triggers.common import jsonable, restore_context
from hub.components.automation.validate import jsonable_config, slugify
from hub.core.bus import Unsubscribe
from hub.core.context import Context
from hub.template import TemplateError, TemplateState, get_engine, render_complex

if TYPE_CHECKING:
    from hub.components.automation.durable import DurableRow
    from hub.components.automation.registry import Registry
    from hub.hub import Hub

__all__ = ("Automation", "Run", "attach_trigger", "entity_id_for")

_LOGGER = logging.getLogger(__name__)
_LEVELS = {
    "CRITICAL": 50,
    "FATAL": 50,
    "ERROR": 40,
    "WARNING": 30,
    "WARN": 30,
    "INFO": 20,
    "DEBUG": 10,
    "NOTSET": 0,
}


async def _await(future: asyncio.Future[None]) -> None:
    await future


def entity_id_for(key: str) -> str:
    """Return ``automation.<slug of key>``."""
    return f"{DOMAIN}.{slugify(key) or 'unnamed'}"


async def attach_trigger(
    hub: Hub,
    registry: Registry,
    spec: TriggerSpec,
    fire: TriggerFire,
    key: str,
    name: str,
    variables: Mapping[str, Any],
) -> Unsubscribe:
    """Arm one trigger; ``fire`` gets ``trigger.*`` with the engine's id, idx and alias added."""
    platform = registry.triggers[spec.platform]
    trigger_id, idx, alias = spec.id, str(spec.idx), spec.alias
    extra = spec.variables

    def on_fire(data: dict[str, Any], context: Context | None) -> None:
        data["id"] = trigger_id
        data["idx"] = idx
        data["alias"] = alias
        if extra:
            data["variables"] = extra
        fire(data, context)

    info = TriggerInfo(key, spec.idx, trigger_id, variables, spec.fingerprint, name)
    result: Any = platform.attach(hub, spec.model, on_fire, info)
    if isinstance(result, Awaitable):
        result = await result
    unsub: Unsubscribe = result
    return unsub


class Run:
    """One run of an automation's actions."""

    def __init__(
        self,
        automation: Automation,
        trigger: dict[str, Any],
        context: Context,
        scope: dict[str, Any],
        *,
        resumed_from: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.automation = automation
        self.hub = automation.hub
        self.key = automation.key
        self.name = automation.name
        self.run_id = run_id or new_run_id()
        self.context = context
        self.scope = scope
        self.trigger = trigger
        # The context object itself: its id is made lazily (often by the recorder)
        # and read when the trace is written, off the event loop.
        self.trace = Trace(
            automation.key,
            self.run_id,
            self.hub.clock.time(),
            trigger,
            None,
            context,
            context.parent_id,
            resumed=resumed_from is not None,
        )
        self.waits: dict[Pos, Wait] = {}
        self.loops: dict[str, Any] = {}
        self.task: asyncio.Task[None] | None = None
        self.resume: list[Wait] | None = None
        self._busy: asyncio.Future[None] | None = None
        #: Saved from its start, so a hub that dies mid-run re-runs it (durable events only).
        self.inflight = False
        #: How many times each step position called a service (its idempotency keys).
        self.calls: dict[Pos, int] = {}

    def busy(self) -> None:
        """Tell ``hub.block_till_done`` that this run is working (not waiting).

        The run's own task is a background task, so that a run sitting in a
        10-minute delay does not hold ``block_till_done`` (and every test on a
        fake clock) hostage; a short-lived foreground task stands in for the
        run while it does real work.
        """
        if self._busy is None or self._busy.done():
            self._busy = self.hub.loop.create_future()
            self.hub.create_task(_await(self._busy), f"automation {self.key} run {self.run_id} busy")

    def idle(self) -> None:
        """The run is waiting (or done): release ``block_till_done``."""
        if self._busy is not None and not self._busy.done():
            self._busy.set_result(None)

    def now(self) -> float:
        """Return the hub clock's time."""
        return self.hub.clock.time()

    @property
    def row_key(self) -> str:
        """Return the durable row key of this run."""
        return f"run:{self.key}:{self.run_id}"

    def wait_started(self, pos: Pos, kind: str, deadline: float | None, scope: Mapping[str, Any]) -> None:
        """Save the run: a durable wait began at ``pos``."""
        self.waits[pos] = {
            "pos": list(pos),
            "kind": kind,
            "deadline": deadline,
            "vars": jsonable({k: v for k, v in scope.items() if k != "this"}),
        }
        self.save()
        self.idle()

    def wait_ended(self, pos: Pos) -> None:
        """Save the run: the wait at ``pos`` is over."""
        self.waits.pop(pos, None)
        self.save()
        self.busy()

    def call_key(self, pos: Pos) -> str:
        """Return the idempotency key of the service call at ``pos`` (stable across a re-run)."""
        count = self.calls.get(pos, 0) + 1
        self.calls[pos] = count
        return f"run:{self.context.id}:{'.'.join(map(str, pos))}#{count}"

    def started(self) -> None:
        """Save the run as in flight (runs started by a durable event only)."""
        self.inflight = True
        self.save()

    def finished(self) -> None:
        """Forget the run's row: it ended (while stopping, the store keeps it for a re-run)."""
        self.inflight = False
        self.waits.clear()
        self.save()

    def save(self) -> None:
        """Write the run's durable row (or delete it: no wait pending, not in flight)."""
        store = self.hub.data.get(DURABLE)
        if store is None:
            return
        if not self.waits and not self.inflight:
            store.delete(self.row_key)
            return
        deadlines = [w["deadline"] for w in self.waits.values() if w["deadline"] is not None]
        data: dict[str, Any] = {}
        if self.automation.retired:
            # The definition this run started with is gone from the config: the row carries
            # it, so a restart before the run ends can finish the run on it.
            data["def"] = self.automation.saved_def
        store.save(
            self.row_key,
            self.key,
            "run",
            min(deadlines) if deadlines else None,
            data
            | {
                "fp": self.automation.spec.fingerprint if self.automation.spec else "",
                "waits": list(self.waits.values()),
                "loops": self.loops,
                "trigger": jsonable(self.trigger),
                "context": {
                    "id": self.context.id,
                    "parent_id": self.context.parent_id,
                    "user_id": self.context.user_id,
                },
                "started": self.trace.start,
                "inflight": self.inflight,
            },
        )


def _durable_trigger(hub: Hub, trigger: Mapping[str, Any]) -> bool:
    """Tell whether a run was started by an event the hub promised not to lose."""
    if not hub.durable_events or trigger.get("platform") != "event":
        return False
    event = trigger.get("event")
    event_type = getattr(event, "event_type", None)
    if event_type is None and isinstance(event, Mapping):
        event_type = event.get("event_type")  # a re-run: the saved trigger is plain data
    return event_type in hub.durable_events


class Automation:
    """An automation (valid or failed) and its entity ``automation.<id>``."""

    def __init__(
        self,
        hub: Hub,
        registry: Registry,
        key: str,
        spec: AutomationSpec | None,
        *,
        error: str | None = None,
        alias: str | None = None,
        file: str = "",
        line: int | None = None,
        raw: Any = None,
        blueprint: Any = None,
    ) -> None:
        self.hub = hub
        self.registry = registry
        self.key = key
        self.spec = spec
        self.entity_id = entity_id_for(key)
        self.name = spec.alias if spec is not None else (alias or key)
        self.error = error
        self.file = spec.file if spec is not None else file
        self.line = spec.line if spec is not None else line
        self.raw = spec.raw if spec is not None else raw
        self.blueprint = spec.blueprint if spec is not None else blueprint
        self.enabled = True
        self.runs: list[Run] = []
        self.last_triggered: float | None = None
        self.last_execution: str | None = None
        self.last_error: str | None = None
        self.conditions: CompiledConditions | None = None
        self.script: Script | None = None
        self._unsubs: list[Unsubscribe] = []
        self._queue_lock = asyncio.Lock()
        self._trigger_variables: dict[str, Any] = {}
        self.armed = False
        #: Replaced or removed by a reload: no triggers, no entity; its runs drain.
        self.retired = False
        #: The definition (plain data) saved in a retired automation's durable rows.
        self.saved_def: Any = None
        #: Called once a retired automation's last run ended (the manager forgets it).
        self.on_drained: Callable[[Automation], None] | None = None
        #: The runs of this key's retired definitions still draining (set by the manager).
        self.draining: Callable[[], list[Run]] | None = None
        if spec is not None and error is None:
            try:
                self.conditions = CompiledConditions(hub, spec.conditions, registry.conditions)
                self.script = Script(hub, spec.actions, registry)
            except Exception as err:  # noqa: BLE001 - a plugin's trigger may raise anything; the automation fails, the hub goes on
                self.error = f"could not be set up: {err}"
                _LOGGER.error(
                    "Automation %s (%s:%s) could not be set up: %s", self.name, self.file, self.line, err
                )

    # -- state -------------------------------------------------------------------

    @property
    def failed(self) -> bool:
        """Return whether the automation is invalid or could not be set up."""
        return self.error is not None or self.spec is None

    def attributes(self) -> dict[str, Any]:
        """Return the entity's attributes (HA's, plus file/line and error)."""
        attrs: dict[str, Any] = {"id": self.spec.id if self.spec else self.key, "friendly_name": self.name}
        if self.failed:
            attrs["error"] = self.error
            attrs["source"] = f"{self.file}:{self.line}" if self.line else self.file
            return attrs
        assert self.spec is not None
        attrs["last_triggered"] = (
            datetime.fromtimestamp(self.last_triggered, UTC) if self.last_triggered is not None else None
        )
        attrs["mode"] = self.spec.mode
        attrs["current"] = len(self.runs)
        if self.spec.mode in ("queued", "parallel"):
            attrs["max"] = self.spec.max
        if self.last_error is not None:
            attrs["last_error"] = self.last_error
        return attrs

    def write_state(self, context: Context | None = None) -> None:
        """Publish ``on``/``off``, or ``unavailable`` with the error."""
        if self.retired:
            return  # the entity belongs to the new definition (or is gone)
        state = "unavailable" if self.failed else ("on" if self.enabled else "off")
        self.hub.states.set(self.entity_id, state, self.attributes(), context=context)

    # -- arming ------------------------------------------------------------------

    async def arm(self) -> None:
        """Attach the triggers (no-op when disabled or failed)."""
        if self.armed or self.failed or not self.enabled:
            return
        assert self.spec is not None
        problem = self._device_class_problem()
        if problem is not None:
            self.error = problem
            _LOGGER.error("Automation %s (%s:%s): %s", self.name, self.file, self.line, problem)
            self.write_state()
            return
        engine = get_engine(self.hub)
        try:
            self._trigger_variables = (
                render_complex(engine, self.spec.trigger_variables, {}) if self.spec.trigger_variables else {}
            )
            for spec in self.spec.triggers:
                if not spec.enabled:
                    continue
                self._unsubs.append(
                    await attach_trigger(
                        self.hub,
                        self.registry,
                        spec,
                        self._fired,
                        self.key,
                        self.name,
                        self._trigger_variables,
                    )
                )
        except Exception as err:  # noqa: BLE001 - logged with its traceback; the run ends with the error
            self.disarm()
            self.error = f"failed to set up triggers: {err}"
            _LOGGER.error(
                "Automation %s (%s:%s) failed to set up triggers: %s", self.name, self.file, self.line, err
            )
            self.write_state()
            return
        self.armed = True

    def _device_class_problem(self) -> str | None:
        """Check blueprint entity inputs' device_class against live states (only known at run time)."""
        use = self.blueprint
        if use is None:
            return None

        def device_class_of(entity_id: str) -> str | None:
            state = self.hub.states.get(entity_id)
            if state is None:
                return None
            return str(state.attributes.get("device_class") or "")

        for name, selector in use.selectors.items():
            options = selector.get("entity") if isinstance(selector, Mapping) else None
            if not isinstance(options, Mapping) or name not in use.inputs:
                continue
            problem = device_class_problem(use.inputs[name], options, device_class_of)
            if problem is not None:
                return (
                    f"blueprint '{use.name}' ({use.path}) input '{name}': {problem} ({self.file}:{self.line})"
                )
        return None

    def disarm(self) -> None:
        """Detach every trigger."""
        for unsub in self._unsubs:
            try:
                unsub()
            except Exception:
                _LOGGER.exception("Automation %s: error detaching a trigger", self.name)
        self._unsubs.clear()
        self.armed = False

    def retire(self) -> None:
        """Detach from the config: disarm, and let the runs in progress finish as they are.

        A reload that changes or removes an automation must never drop a pending SOS run
        or its durable timers: the runs keep this object (its script, conditions and mode)
        and their durable rows are saved again with the definition in them, so a restart
        before they end resumes them on the definition they started with.
        """
        self.disarm()
        self.retired = True
        if self.spec is None:
            return
        self.saved_def = jsonable_config(self.spec.raw)
        if self.spec.trigger_variables and not self._trigger_variables:
            # Rebuilt after a restart, never armed: a re-run still needs them.
            try:
                self._trigger_variables = render_complex(
                    get_engine(self.hub), self.spec.trigger_variables, {}
                )
            except TemplateError as err:
                _LOGGER.error("Automation %s: trigger_variables: %s", self.name, err)
        for run in self.runs:
            if run.waits or run.inflight:
                run.save()

    async def stop_runs(self) -> None:
        """Cancel every run and wait for them to end."""
        tasks = [run.task for run in self.runs if run.task is not None and not run.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    # -- running -----------------------------------------------------------------

    def _fired(self, trigger: dict[str, Any], context: Context | None) -> None:
        self.trigger(trigger, context)

    def _log_exceeded(self, message: str) -> None:
        assert self.spec is not None
        level = self.spec.max_exceeded
        if level != "SILENT":
            _LOGGER.log(_LEVELS.get(level, 30), "Automation %s: %s", self.name, message)

    def trigger(
        self,
        trigger: dict[str, Any],
        context: Context | None = None,
        *,
        skip_condition: bool = False,
        rerun: tuple[Context, str] | None = None,
    ) -> Run | None:
        """Start a run for ``trigger`` (conditions and mode permitting); return it.

        ``rerun`` is the context and run id of a run the hub died in the middle of: the
        run starts again under both, so its service calls carry the same idempotency keys.
        """
        if self.failed or self.script is None:
            return None
        spec = self.spec
        assert spec is not None and self.conditions is not None
        hub = self.hub
        if rerun is not None:
            child = rerun[0]
        else:
            child = Context(
                parent_id=context.id if context is not None else None,
                user_id=context.user_id if context is not None else None,
            )
        state = hub.states.get(self.entity_id)
        scope: dict[str, Any] = {
            "this": TemplateState(state) if state is not None else None,
            "trigger": trigger,
        }
        if self._trigger_variables:
            scope.update(self._trigger_variables)
        extra = trigger.get("variables")
        run = Run(
            self,
            trigger,
            child,
            scope,
            resumed_from=None if rerun is None else rerun[1],
            run_id=None if rerun is None else rerun[1],
        )
        trace = run.trace
        try:
            engine = None
            if extra:
                engine = get_engine(hub)
                for name, value in extra.items():
                    scope[str(name)] = render_complex(engine, value, scope)
            if spec.variables:
                engine = engine or get_engine(hub)
                rendered: dict[str, Any] = {}
                for name, value in spec.variables.items():
                    scope[str(name)] = rendered[str(name)] = render_complex(engine, value, scope)
                # The trace keeps what the automation's variables rendered to
                # (trigger.* is stored on its own; ``this`` is the entity).
                trace.variables = rendered
            if not skip_condition and self.conditions.checks:
                failed = self.conditions.first_failure(scope)
                if failed >= 0:
                    trace.step(self.conditions.paths[failed], hub.clock.time(), {"result": False})
                    self._end(run, "failed_conditions")
                    return None
        except TemplateError as err:
            self._end(run, "error", f"template error: {err}")
            _LOGGER.error("Automation %s: template error: %s", self.name, err)
            return None
        if self.retired:
            pass  # only runs saved before a restart come here: each finishes, whatever the mode
        elif spec.mode == "restart":
            # The newest trigger replaces whatever runs, a retired definition's runs too:
            # that is what the mode promises (and what it does without a reload).
            others = [*self.runs, *(self.draining() if self.draining is not None else [])]
            if others:
                _LOGGER.info("Automation %s: restarting", self.name)
            for other in others:
                if other.task is not None:
                    other.task.cancel()
        elif self.runs:
            # Runs of a retired definition do not count: a fresh SOS press is never
            # refused because a run of a definition that no longer exists still drains.
            mode = spec.mode
            if mode == "single":
                self._log_exceeded("already running")
                self._end(run, "failed_single")
                return None
            if mode in ("queued", "parallel") and len(self.runs) >= spec.max:
                self._log_exceeded(f"maximum number of runs exceeded ({spec.max})")
                self._end(run, "failed_max_runs")
                return None
        self._start(run)
        return run

    def _start(self, run: Run) -> None:
        hub = self.hub
        self.last_triggered = run.trace.start
        script = self.script
        assert script is not None
        if script.is_sync and not self.runs and run.resume is None:
            self.write_state(run.context)
            try:
                script.sequence.run_sync(run, run.scope, ())
            except ConditionStop:
                self._end(run, "aborted")
            except StopRun as stop:
                self._end(run, "error" if stop.error else "finished", stop.reason if stop.error else None)
            except StepFailed as err:
                self._failed_step(run, err)
            else:
                self._end(run, "finished")
            return
        self.runs.append(run)
        self.write_state(run.context)
        if run.resume is None and _durable_trigger(hub, run.trigger):
            run.started()
        run.busy()
        run.task = hub.create_background_task(self._run_async(run), f"automation {self.key} run {run.run_id}")

    async def _run_async(self, run: Run) -> None:
        assert self.script is not None and self.spec is not None
        execution, error = "finished", None
        try:
            if self.spec.mode == "queued":
                if self._queue_lock.locked():
                    run.idle()  # waiting for the run ahead is not work
                async with self._queue_lock:
                    run.busy()
                    await self.script.sequence.run(run, run.scope, (), run.resume)
            else:
                await self.script.sequence.run(run, run.scope, (), run.resume)
        except ConditionStop:
            execution = "aborted"
        except StopRun as stop:
            execution, error = ("error", stop.reason) if stop.error else ("finished", None)
        except StepFailed as err:
            self._failed_step(run, err)
            execution = ""
        except asyncio.CancelledError:
            execution = "cancelled"
            store = self.hub.data.get(DURABLE)
            if store is not None and store.frozen and run.waits:
                error = "the hub stopped; this run resumes at the next start"
            elif store is not None and store.frozen and run.inflight:
                error = "the hub stopped; this run is re-run at the next start"
        except Exception as err:
            _LOGGER.exception("Automation %s: unexpected error", self.name)
            execution, error = "error", f"{type(err).__name__}: {err}"
        finally:
            if run in self.runs:
                self.runs.remove(run)
            run.idle()
            if run.inflight:
                # Deleted unless the hub is stopping (the store is frozen then): a run cut
                # short by a stop is re-run at the next start, like one cut short by a crash.
                run.finished()
        if execution:
            self._end(run, execution, error)
        if self.retired:
            if not self.runs and self.on_drained is not None:
                self.on_drained(self)
            return
        if self.hub.state == "running" and self.hub.states.get(self.entity_id) is not None:
            self.write_state()

    def _failed_step(self, run: Run, err: StepFailed) -> None:
        _LOGGER.error("Automation %s: error in %s: %s", self.name, err.path, err.message)
        self._end(run, "error", f"{err.path}: {err.message}")

    def _end(self, run: Run, execution: str, error: str | None = None) -> None:
        trace = run.trace
        trace.finish = self.hub.clock.time()
        trace.execution = execution
        trace.error = error
        if execution not in ("failed_conditions", "failed_single", "failed_max_runs"):
            self.last_execution = execution
            self.last_error = error
        storage = getattr(self.hub, "storage", None)
        if storage is not None:
            assert self.spec is not None
            buffer = self.hub.data.get(TRACES)
            if buffer is not None:
                buffer.add(trace, self.spec.stored_traces)
            else:
                store_trace(storage, trace, self.spec.stored_traces)

    # -- resuming after a restart ------------------------------------------------------

    def rerun(self, row: DurableRow) -> Run | None:
        """Start again, from the top, a run the hub died in the middle of.

        Only runs started by a durable event (an SOS press) are saved in flight.  The run
        keeps its context and run id, so each service call repeats with the idempotency
        key it had: the incident it opened is found again, a LINE card already delivered
        is not delivered twice.  Conditions passed the first time and are not asked again.
        """
        if self.failed or self.script is None:
            return None
        data = row.data
        saved = data.get("context") or {}
        context = Context(id=saved.get("id"), parent_id=saved.get("parent_id"), user_id=saved.get("user_id"))
        trigger = dict(data.get("trigger") or {})
        trigger["resumed"] = True
        event = trigger.get("event")
        if (
            isinstance(event, dict)
            and isinstance(event.get("data"), dict)
            and event["data"].get("drill") is True
        ):
            # The drill's mark lived in memory; a drill must not come back as a real alarm.
            from hub.components.incident.const import RUNTIME as INCIDENT_RUNTIME

            incidents = self.hub.data.get(INCIDENT_RUNTIME)
            if incidents is not None:
                incidents.mark_drill(context)
        store = self.hub.data.get(DURABLE)
        if store is not None:
            store.delete_key(row.key)
        _LOGGER.warning(
            "Automation %s: re-running a run the hub stopped in the middle of (started %.0f s ago)",
            self.name,
            self.hub.clock.time() - float(data.get("started") or 0.0),
        )
        run_id = row.key.rsplit(":", 1)[-1]
        return self.trigger(trigger, None, skip_condition=True, rerun=(context, run_id))

    def resume(self, row: DurableRow) -> Run | None:
        """Continue a run saved before a restart from its pending waits."""
        if self.failed or self.script is None:
            return None
        data = row.data
        waits: list[Wait] = [dict(w) for w in data.get("waits") or []]
        if not waits:
            return None
        for wait in waits:
            wait["pos"] = tuple(wait["pos"])
        trigger = dict(data.get("trigger") or {})
        trigger["resumed"] = True
        scope = dict(waits[0].get("vars") or {})
        scope["trigger"] = trigger
        state = self.hub.states.get(self.entity_id)
        scope["this"] = TemplateState(state) if state is not None else None
        for wait in waits:
            wait["vars"] = {**(wait.get("vars") or {}), "trigger": trigger, "this": scope["this"]}
        run = Run(self, trigger, restore_context(data.get("context")), scope, resumed_from=row.key)
        run.resume = waits
        run.loops = dict(data.get("loops") or {})
        # Still an SOS run: if the hub dies again after the wait, it is re-run.
        run.inflight = bool(data.get("inflight"))
        store = self.hub.data.get(DURABLE)
        if store is not None:
            store.delete_key(row.key)
        _LOGGER.info(
            "Automation %s: resuming a run interrupted by the restart (%d pending wait(s))",
            self.name,
            len(waits),
        )
        self._start(run)
        return run
