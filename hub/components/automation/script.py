"""Running action sequences: the steps, the run, and resuming a run after a restart.

Steps that need no waiting (``event``, ``variables``, ``condition``, and
``choose``/``if``/``sequence`` made only of such steps) run synchronously,
so an automation whose actions are all like that finishes inside the state
change that triggered it, without creating a task.  Anything else runs as a
hub task.

Durable waits: while a ``delay``, ``wait_template`` or ``wait_for_trigger``
is pending, the run is saved as one row holding the *position* of each
pending wait (a path through the action tree, e.g. ``(2, "c1", 0)`` = step 2,
choose option 1, its step 0), the variables in scope there, and the wait's
deadline.  After a restart the run is rebuilt from that row: each sequence
on the path skips to the saved index, each ``choose``/``if``/``repeat``/
``parallel`` re-enters the saved branch, and the wait resumes with its
remaining time (or ends at once if its deadline passed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub.components.automation.conditions import CompiledConditions
from hub.components.automation.durations import Period, resolve_period
from hub.components.automation.specs import StepSpec, TriggerSpec
from hub.components.automation.triggers.common import schedule_at
from hub.components.automation.triggers.template import TemplateWatch
from hub.core.context import Context
from hub.template import TemplateEngine, TemplateError, get_engine, is_template, render_complex

if TYPE_CHECKING:
    from hub.components.automation.automation import Run
    from hub.components.automation.registry import Registry
    from hub.hub import Hub

__all__ = ("Script", "Step", "build_sequence", "StopRun", "ConditionStop", "StepFailed", "Pos", "Wait")

_LOGGER = logging.getLogger(__name__)

#: A position in the action tree (see the module docstring).
Pos = tuple[int | str, ...]
#: A saved wait: {"pos": [...], "kind": ..., "deadline": ..., "vars": {...}, "extra": {...}}.
Wait = dict[str, Any]
Scope = dict[str, Any]


class StopRun(Exception):
    """A ``stop`` step ended the run."""

    def __init__(self, reason: str, error: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


class ConditionStop(Exception):
    """A ``condition`` step was false: the run (or parallel branch) ends quietly."""


class StepFailed(Exception):
    """A step raised; the run ends with this error unless ``continue_on_error``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _sub_waits(resume: list[Wait] | None, depth: int, part: int | str) -> list[Wait] | None:
    if not resume:
        return None
    found = [w for w in resume if len(w["pos"]) > depth and w["pos"][depth] == part]
    return found or None


class Step:
    """One compiled step."""

    is_sync = False

    def __init__(self, spec: StepSpec) -> None:
        self.path = spec.path
        self.alias = spec.alias
        self.enabled = spec.enabled
        self.continue_on_error = spec.continue_on_error

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        """Run a synchronous step (only called when ``is_sync``)."""
        raise NotImplementedError

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        """Run the step; ``resume`` holds saved waits at or below ``pos``."""
        self.run_sync(run, scope, pos)


class Sequence:
    """A list of steps."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self.is_sync = all(s.is_sync or not s.enabled for s in steps)

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        for index, step in enumerate(self.steps):
            _exec_sync(step, run, scope, (*pos, index))

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None = None) -> None:
        start = 0
        depth = len(pos)
        if resume:
            indices = [
                w["pos"][depth] for w in resume if len(w["pos"]) > depth and isinstance(w["pos"][depth], int)
            ]
            start = min(indices) if indices else 0
        for index in range(start, len(self.steps)):
            step = self.steps[index]
            sub = _sub_waits(resume, depth, index) if index == start else None
            await _exec(step, run, scope, (*pos, index), sub)


def _exec_sync(step: Step, run: Run, scope: Scope, pos: Pos) -> None:
    if not step.enabled:
        run.trace.step(step.path, run.now(), {"enabled": False})
        return
    try:
        step.run_sync(run, scope, pos)
    except (StopRun, ConditionStop, StepFailed):
        raise
    except Exception as err:  # noqa: BLE001 - any step failure ends the run (or continues), never the hub
        _step_error(step, run, err)


async def _exec(step: Step, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
    if not step.enabled:
        run.trace.step(step.path, run.now(), {"enabled": False})
        return
    try:
        if step.is_sync and not resume:
            step.run_sync(run, scope, pos)
        else:
            await step.run(run, scope, pos, resume)
    except (StopRun, ConditionStop, StepFailed, asyncio.CancelledError):
        raise
    except Exception as err:  # noqa: BLE001 - any step failure ends the run (or continues), never the hub
        _step_error(step, run, err)


def _step_error(step: Step, run: Run, err: Exception) -> None:
    message = str(err) if isinstance(err, TemplateError) else f"{type(err).__name__}: {err}"
    run.trace.step(step.path, run.now(), None, message)
    if step.continue_on_error:
        _LOGGER.info(
            "Automation %s: %s failed, continuing (continue_on_error): %s", run.name, step.path, message
        )
        return
    raise StepFailed(step.path, message) from err


class Script:
    """An automation's action sequence, compiled."""

    def __init__(self, hub: Hub, specs: list[StepSpec], registry: Registry) -> None:
        self.sequence = build_sequence(hub, specs, registry)
        self.is_sync = self.sequence.is_sync


def build_sequence(hub: Hub, specs: list[StepSpec], registry: Registry) -> Sequence:
    """Compile validated steps."""
    return Sequence([_build(hub, spec, registry) for spec in specs])


# -- the steps ---------------------------------------------------------------------


def _render(engine: TemplateEngine, value: Any, scope: Scope) -> Any:
    return render_complex(engine, value, scope)


class EventStep(Step):
    """``event:`` fires an event with the run's context."""

    is_sync = True

    def __init__(self, hub: Hub, spec: StepSpec) -> None:
        super().__init__(spec)
        self.engine = get_engine(hub)
        self.event = spec.conf["event"]
        self.data = spec.conf["event_data"] or None
        self.event_is_template = is_template(self.event)

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        event = self.engine.render(self.event, scope) if self.event_is_template else self.event
        data = _render(self.engine, self.data, scope) if self.data else {}
        run.hub.bus.fire(event, data, run.context)
        run.trace.step(
            self.path, run.now(), {"event": event, "event_data": data} if data else {"event": event}
        )


class VariablesStep(Step):
    """``variables:`` sets variables in the current scope, each seeing the ones before it."""

    is_sync = True

    def __init__(self, hub: Hub, spec: StepSpec) -> None:
        super().__init__(spec)
        self.engine = get_engine(hub)
        self.variables = spec.conf["variables"]

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        changed: dict[str, Any] = {}
        for name, value in self.variables.items():
            scope[str(name)] = changed[str(name)] = _render(self.engine, value, scope)
        run.trace.step(self.path, run.now(), {"variables": changed})


class ConditionStep(Step):
    """An inline condition: false stops the run (or this parallel branch)."""

    is_sync = True

    def __init__(self, hub: Hub, spec: StepSpec, registry: Registry) -> None:
        super().__init__(spec)
        self.conditions = CompiledConditions(hub, spec.conditions["conditions"], registry.conditions)

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        ok = self.conditions.first_failure(scope) < 0
        run.trace.step(self.path, run.now(), {"result": ok})
        if not ok:
            raise ConditionStop(self.path)


class StopStep(Step):
    """``stop:`` ends the run, as an error if ``error: true``."""

    is_sync = True

    def __init__(self, hub: Hub, spec: StepSpec) -> None:
        super().__init__(spec)
        self.engine = get_engine(hub)
        self.reason = spec.conf["reason"]
        self.error = spec.conf["error"]

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        reason = self.engine.render(self.reason, scope)
        run.trace.step(self.path, run.now(), {"stop": reason, "error": self.error})
        raise StopRun(reason, self.error)


class SequenceStep(Step):
    """``sequence:`` a nested list of steps."""

    def __init__(self, hub: Hub, spec: StepSpec, registry: Registry) -> None:
        super().__init__(spec)
        self.body = build_sequence(hub, spec.sequences["sequence"], registry)
        self.is_sync = self.body.is_sync

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        run.trace.step(self.path, run.now())
        self.body.run_sync(run, scope, (*pos, "s"))

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        if not resume:
            run.trace.step(self.path, run.now())
        await self.body.run(run, scope, (*pos, "s"), _sub_waits(resume, len(pos), "s"))


class ChooseStep(Step):
    """``choose:`` the first option whose conditions hold, else ``default``."""

    def __init__(self, hub: Hub, spec: StepSpec, registry: Registry) -> None:
        super().__init__(spec)
        count = spec.conf.get("options", 0)
        self.options = [
            (
                CompiledConditions(hub, spec.conditions.get(f"option{i}", []), registry.conditions),
                build_sequence(hub, spec.sequences.get(f"option{i}", []), registry),
            )
            for i in range(count)
        ]
        default = spec.sequences.get("default")
        self.default = build_sequence(hub, default, registry) if default is not None else None
        self.is_sync = all(seq.is_sync for _, seq in self.options) and (
            self.default is None or self.default.is_sync
        )

    def _pick(self, scope: Scope) -> tuple[str, Sequence | None]:
        for index, (conditions, sequence) in enumerate(self.options):
            if conditions.first_failure(scope) < 0:
                return f"c{index}", sequence
        return "cd", self.default

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        part, sequence = self._pick(scope)
        run.trace.step(self.path, run.now(), {"choice": part[1:] if part != "cd" else "default"})
        if sequence is not None:
            sequence.run_sync(run, dict(scope), (*pos, part))

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        if resume:
            part = next(str(w["pos"][len(pos)]) for w in resume if len(w["pos"]) > len(pos))
            sequence = self.default if part == "cd" else self.options[int(part[1:])][1]
            branch_scope = dict(resume[0]["vars"])
        else:
            part, sequence = self._pick(scope)
            run.trace.step(self.path, run.now(), {"choice": part[1:] if part != "cd" else "default"})
            branch_scope = dict(scope)
        if sequence is not None:
            await sequence.run(run, branch_scope, (*pos, part), _sub_waits(resume, len(pos), part))


class IfStep(Step):
    """``if:``/``then:``/``else:``."""

    def __init__(self, hub: Hub, spec: StepSpec, registry: Registry) -> None:
        super().__init__(spec)
        self.conditions = CompiledConditions(hub, spec.conditions["if"], registry.conditions)
        self.then = build_sequence(hub, spec.sequences["then"], registry)
        other = spec.sequences.get("else")
        self.otherwise = build_sequence(hub, other, registry) if other is not None else None
        self.is_sync = self.then.is_sync and (self.otherwise is None or self.otherwise.is_sync)

    def run_sync(self, run: Run, scope: Scope, pos: Pos) -> None:
        ok = self.conditions.first_failure(scope) < 0
        run.trace.step(self.path, run.now(), {"result": ok})
        sequence = self.then if ok else self.otherwise
        if sequence is not None:
            sequence.run_sync(run, dict(scope), (*pos, "then" if ok else "else"))

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        if resume:
            part = next(str(w["pos"][len(pos)]) for w in resume if len(w["pos"]) > len(pos))
            branch_scope = dict(resume[0]["vars"])
        else:
            ok = self.conditions.first_failure(scope) < 0
            run.trace.step(self.path, run.now(), {"result": ok})
            part = "then" if ok else "else"
            branch_scope = dict(scope)
        sequence = self.then if part == "then" else self.otherwise
        if sequence is not None:
            await sequence.run(run, branch_scope, (*pos, part), _sub_waits(resume, len(pos), part))


class RepeatStep(Step):
    """``repeat:`` count, while, until or for_each; ``repeat.index/first/last/item`` in scope."""

    #: Iterations of a while/until loop without any await before the loop yields to others.
    _YIELD_EVERY = 100

    def __init__(self, hub: Hub, spec: StepSpec, registry: Registry) -> None:
        super().__init__(spec)
        self.engine = get_engine(hub)
        self.kind = spec.conf["repeat"]
        self.count = spec.conf.get("count")
        self.items = spec.conf.get("for_each")
        cond = spec.conditions.get(self.kind)
        self.conditions = CompiledConditions(hub, cond, registry.conditions) if cond is not None else None
        self.body = build_sequence(hub, spec.sequences["sequence"], registry)

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        loop_key = "/".join(str(p) for p in pos)
        start = 0
        items: list[Any] | None = None
        total: int | None = None
        if resume:
            part = next(str(w["pos"][len(pos)]) for w in resume if len(w["pos"]) > len(pos))
            start = int(part[1:])
            saved = run.loops.get(loop_key, {})
            items = saved.get("items")
            total = saved.get("count")
        else:
            run.trace.step(self.path, run.now(), {"repeat": self.kind})
        if items is None and self.kind == "for_each":
            rendered = _render(self.engine, self.items, scope)
            if isinstance(rendered, str):
                rendered = [rendered]
            if not isinstance(rendered, list):
                raise ValueError(f"for_each: expected a list, got {type(rendered).__name__}")
            items = rendered
        if total is None and self.kind == "count":
            value: Any = (
                self.engine.compile(self.count).render_native(scope)
                if isinstance(self.count, str)
                else self.count
            )
            total = int(value)
        if self.kind == "for_each":
            assert items is not None
            total = len(items)
        run.loops[loop_key] = {"items": items, "count": total}
        try:
            index = start
            while True:
                if total is not None and index >= total:
                    break
                iteration = {"first": index == 0, "index": index + 1}
                if total is not None:
                    iteration["last"] = index == total - 1
                if items is not None:
                    iteration["item"] = items[index]
                body_scope = dict(resume[0]["vars"]) if resume and index == start else dict(scope)
                body_scope["repeat"] = iteration
                if self.kind == "while" and not (resume and index == start):
                    assert self.conditions is not None
                    if self.conditions.first_failure(body_scope) >= 0:
                        break
                part = f"r{index}"
                await self.body.run(
                    run,
                    body_scope,
                    (*pos, part),
                    _sub_waits(resume, len(pos), part) if index == start else None,
                )
                if self.kind == "until":
                    assert self.conditions is not None
                    if self.conditions.first_failure(body_scope) < 0:
                        break
                index += 1
                if index % self._YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        finally:
            run.loops.pop(loop_key, None)


class ParallelStep(Step):
    """``parallel:`` runs branches concurrently; a failed condition ends only its branch."""

    def __init__(self, hub: Hub, spec: StepSpec, registry: Registry) -> None:
        super().__init__(spec)
        self.branches = [
            build_sequence(hub, spec.sequences[k], registry)
            for k in sorted((k for k in spec.sequences if k.startswith("branch")), key=lambda k: int(k[6:]))
        ]

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        if resume:
            chosen = sorted({str(w["pos"][len(pos)]) for w in resume if len(w["pos"]) > len(pos)})
        else:
            run.trace.step(self.path, run.now(), {"branches": len(self.branches)})
            chosen = [f"p{i}" for i in range(len(self.branches))]

        async def branch(part: str) -> None:
            sub = _sub_waits(resume, len(pos), part)
            branch_scope = dict(sub[0]["vars"]) if sub else dict(scope)
            with contextlib.suppress(ConditionStop):
                await self.branches[int(part[1:])].run(run, branch_scope, (*pos, part), sub)

        results = await asyncio.gather(*(branch(part) for part in chosen), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


class ServiceStep(Step):
    """A service call (``action:`` or ``service:``) with ``target``/``data`` and templates."""

    def __init__(self, hub: Hub, spec: StepSpec) -> None:
        super().__init__(spec)
        self.engine = get_engine(hub)
        conf = spec.conf
        self.service = conf["service"]
        self.data = conf["data"]
        self.data_text = conf.get("data_template_text")
        self.target = conf["target"]
        self.response_variable = conf["response_variable"]

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        name = self.engine.render(self.service, scope) if is_template(self.service) else self.service
        domain, _, service = str(name).strip().partition(".")
        data: dict[str, Any] = {}
        if self.data_text is not None:
            rendered = self.engine.compile(self.data_text).render_native(scope)
            if not isinstance(rendered, Mapping):
                raise ValueError("data template did not render a mapping")
            data.update(rendered)
        if self.data:
            data.update(_render(self.engine, self.data, scope))
        if self.target is not None:
            target = _render(self.engine, self.target, scope)
            if isinstance(target, Mapping):
                data["target"] = dict(target)
        started = run.now()
        response = await run.hub.services.call(
            domain, service, data, context=run.context, key=run.call_key(pos)
        )
        result: dict[str, Any] = {"action": f"{domain}.{service}", "data": data}
        if response is not None:
            result["response"] = response
        if self.response_variable:
            scope[self.response_variable] = response
        run.trace.step(self.path, started, result)


class DelayStep(Step):
    """``delay:`` waits on the hub's clock; durable across restarts."""

    def __init__(self, hub: Hub, spec: StepSpec) -> None:
        super().__init__(spec)
        self.engine = get_engine(hub)
        self.delay: Period = spec.conf["delay"]

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        if resume:
            deadline = float(resume[0]["deadline"])
            run.trace.step(self.path, run.now(), {"delay": "resumed", "deadline": deadline})
        else:
            seconds = resolve_period(self.delay, self.engine, scope)
            deadline = run.now() + seconds
            run.trace.step(self.path, run.now(), {"delay": seconds})
        run.wait_started(pos, "delay", deadline, scope)
        try:
            await _sleep_until(run.hub, deadline)
        finally:
            run.wait_ended(pos)


async def _sleep_until(hub: Hub, deadline: float) -> None:
    future: asyncio.Future[None] = hub.loop.create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    cancel = schedule_at(hub, deadline, wake)
    try:
        await future
    finally:
        cancel()


async def _wait(hub: Hub, done: asyncio.Future[Any], deadline: float | None) -> bool:
    """Wait for ``done`` until ``deadline``; return whether it completed."""
    if done.done():
        return True
    if deadline is None:
        await done
        return True
    timeout: asyncio.Future[None] = hub.loop.create_future()

    def expire() -> None:
        if not timeout.done():
            timeout.set_result(None)

    cancel = schedule_at(hub, deadline, expire)
    try:
        await asyncio.wait([done, timeout], return_when=asyncio.FIRST_COMPLETED)
    finally:
        cancel()
        if not timeout.done():
            timeout.cancel()
    return done.done()


class _WaitBase(Step):
    def __init__(self, hub: Hub, spec: StepSpec) -> None:
        super().__init__(spec)
        self.engine = get_engine(hub)
        self.timeout: Period | None = spec.conf["timeout"]
        self.continue_on_timeout: bool = spec.conf["continue_on_timeout"]

    def _deadline(self, run: Run, scope: Scope, resume: list[Wait] | None) -> float | None:
        if resume:
            saved = resume[0].get("deadline")
            return float(saved) if saved is not None else None
        if self.timeout is None:
            return None
        return run.now() + resolve_period(self.timeout, self.engine, scope)

    async def _finish(
        self, run: Run, scope: Scope, completed: bool, deadline: float | None, trigger: Any = None
    ) -> None:
        remaining = max(0.0, deadline - run.now()) if deadline is not None else None
        wait: dict[str, Any] = {"completed": completed, "remaining": remaining}
        if isinstance(self, WaitForTriggerStep):
            wait["trigger"] = trigger
        scope["wait"] = wait
        run.trace.step(self.path, run.now(), {"wait": wait})
        if not completed and not self.continue_on_timeout:
            raise ConditionStop(self.path)


class WaitTemplateStep(_WaitBase):
    """``wait_template:`` waits until a template is true (or the timeout)."""

    def __init__(self, hub: Hub, spec: StepSpec) -> None:
        super().__init__(hub, spec)
        self.template = self.engine.compile(spec.conf["wait_template"])

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        deadline = self._deadline(run, scope, resume)
        done: asyncio.Future[None] = run.hub.loop.create_future()

        def on_result(result: bool, _context: Context | None) -> None:
            if result and not done.done():
                done.set_result(None)

        watch = TemplateWatch(
            run.hub, self.template, lambda: scope, on_result, f"Automation {run.name} {self.path}"
        )
        if watch.evaluate():
            watch.close()
            await self._finish(run, scope, True, deadline)
            return
        run.wait_started(pos, "wait_template", deadline, scope)
        try:
            completed = await _wait(run.hub, done, deadline)
        finally:
            watch.close()
            run.wait_ended(pos)
        await self._finish(run, scope, completed, deadline)


class WaitForTriggerStep(_WaitBase):
    """``wait_for_trigger:`` waits for one of its triggers (or the timeout)."""

    def __init__(self, hub: Hub, spec: StepSpec, registry: Registry) -> None:
        super().__init__(hub, spec)
        self.triggers: list[TriggerSpec] = [t for t in spec.triggers if t.enabled]
        self.registry = registry

    async def run(self, run: Run, scope: Scope, pos: Pos, resume: list[Wait] | None) -> None:
        from hub.components.automation.automation import attach_trigger

        deadline = self._deadline(run, scope, resume)
        done: asyncio.Future[Any] = run.hub.loop.create_future()

        def fire(trigger: dict[str, Any], _context: Context | None) -> None:
            if not done.done():
                done.set_result(trigger)

        detach: list[Callable[[], None]] = []
        try:
            for spec in self.triggers:
                detach.append(
                    await attach_trigger(
                        run.hub, self.registry, spec, fire, f"{run.key}:wait", run.name, scope
                    )
                )
            run.wait_started(pos, "wait_for_trigger", deadline, scope)
            completed = await _wait(run.hub, done, deadline)
        finally:
            for unsub in detach:
                unsub()
            run.wait_ended(pos)
        await self._finish(run, scope, completed, deadline, done.result() if completed else None)


def _build(hub: Hub, spec: StepSpec, registry: Registry) -> Step:
    kind = spec.kind
    simple: dict[str, Callable[[Hub, StepSpec], Step]] = {
        "event": EventStep,
        "variables": VariablesStep,
        "stop": StopStep,
        "service": ServiceStep,
        "delay": DelayStep,
        "wait_template": WaitTemplateStep,
    }
    if kind in simple:
        return simple[kind](hub, spec)
    with_registry: dict[str, Callable[[Hub, StepSpec, Registry], Step]] = {
        "condition": ConditionStep,
        "sequence": SequenceStep,
        "choose": ChooseStep,
        "if": IfStep,
        "repeat": RepeatStep,
        "parallel": ParallelStep,
        "wait_for_trigger": WaitForTriggerStep,
    }
    return with_registry[kind](hub, spec, registry)
